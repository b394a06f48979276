"""The molecule suites' helpers that read the host in one call (molecule/shared/tests/helpers.py).

Every host.run, and every attribute of testinfra's host.file and host.user, is one `docker exec` (about 80 ms of CPU
on this machine). The suites' snapshots used to read each managed file attribute by attribute; file_facts reads them
all in one call, units_show the properties of several units, and the gateway user's uid and home are read once per
host. A stand-in host runs each command in a local shell and counts the calls.
"""
import hashlib
import importlib.util
import os
import subprocess
from types import SimpleNamespace

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
_SPEC = importlib.util.spec_from_file_location("helpers", os.path.join(REPO, "molecule", "shared", "tests", "helpers.py"))
helpers = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(helpers)


class LocalHost:
    """What the helpers use of a testinfra host: run() in a local shell, and backend.get_pytest_id()."""

    def __init__(self, name="local", answers=None):
        self.calls = []
        self.answers = answers or {}
        self.backend = SimpleNamespace(get_pytest_id=lambda: "test://" + name)

    def run(self, command):
        self.calls.append(command)
        for prefix, stdout in self.answers.items():
            if command.startswith(prefix):
                return SimpleNamespace(rc=0, stdout=stdout, stderr="")
        res = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=False)
        return SimpleNamespace(rc=res.returncode, stdout=res.stdout, stderr=res.stderr)


def test_file_facts_reads_every_path_in_one_call(tmp_path):
    regular = tmp_path / "config.json"
    regular.write_text('{"a": 1}\n')
    regular.chmod(0o600)
    directory = tmp_path / "workspace"
    directory.mkdir(mode=0o700)
    link = tmp_path / "cli"
    link.symlink_to(regular)
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    host = LocalHost()
    paths = [str(p) for p in (regular, directory, link, dangling, tmp_path / "missing")]
    facts = helpers.file_facts(host, paths)
    assert len(host.calls) == 1
    md5 = hashlib.md5(b'{"a": 1}\n').hexdigest()
    assert facts[str(regular)] == {"type": "file", "mode": "600", "user": facts[str(regular)]["user"],
                                   "mtime": int(os.lstat(regular).st_mtime), "link": None, "md5": md5}
    assert facts[str(directory)]["type"] == "directory" and facts[str(directory)]["md5"] is None
    assert facts[str(directory)]["mode"] == "700"
    # a link: its target's content, its own mtime and where it points (a relinked CLI differs)
    assert facts[str(link)]["md5"] == md5 and facts[str(link)]["link"] == str(regular)
    assert facts[str(link)]["mtime"] == int(os.lstat(link).st_mtime)
    # as `test -e`: a dangling link and a missing path do not exist
    assert facts[str(dangling)] is None and facts[str(tmp_path / "missing")] is None


def test_file_facts_sees_a_change_of_content_mode_or_target(tmp_path):
    regular = tmp_path / "unit"
    regular.write_text("a")
    other = tmp_path / "other"
    other.write_text("a")
    link = tmp_path / "cli"
    link.symlink_to(regular)
    host = LocalHost()
    paths = [str(regular), str(link)]
    before = helpers.file_facts(host, paths)
    regular.chmod(0o640)
    link.unlink()
    link.symlink_to(other)
    os.utime(link, (0, 0), follow_symlinks=False)
    after = helpers.file_facts(host, paths)
    assert before[str(regular)]["mode"] != after[str(regular)]["mode"]
    assert before[str(link)]["link"] != after[str(link)]["link"]


SHOW = """MainPID=101
ExecMainStartTimestampMonotonic=5000

MainPID=0
ExecMainStartTimestampMonotonic=0
"""


def test_units_show_maps_each_block_to_its_unit(monkeypatch):
    monkeypatch.setattr(helpers, "_ACCOUNTS", {"test://local": (1000, "/home/user")})
    host = LocalHost(answers={"runuser -u user": SHOW})
    shown = helpers.units_show(host, ["a.service", "b.service"], "MainPID", "ExecMainStartTimestampMonotonic")
    assert shown == {"a.service": {"MainPID": "101", "ExecMainStartTimestampMonotonic": "5000"},
                     "b.service": {"MainPID": "0", "ExecMainStartTimestampMonotonic": "0"}}
    assert len(host.calls) == 1 and "-p MainPID -p ExecMainStartTimestampMonotonic a.service b.service" in host.calls[0]
    # one block short (systemctl printed less than was asked): refused, not mapped to the wrong unit
    with pytest.raises(AssertionError):
        helpers.units_show(host, ["a.service", "b.service", "c.service"], "MainPID")


def test_the_gateway_account_is_read_once_per_host(monkeypatch):
    monkeypatch.setattr(helpers, "_ACCOUNTS", {})
    one = LocalHost("one", answers={"getent passwd user": "user:x:1000:1000::/home/user:/bin/bash\n"})
    two = LocalHost("two", answers={"getent passwd user": "user:x:999:999::/srv/gateway:/bin/bash\n"})
    read = [helpers.gateway_home(one), helpers.gateway_uid(one), helpers.gateway_home(one)]
    assert read == ["/home/user", 1000, "/home/user"]
    assert (helpers.gateway_home(two), helpers.gateway_uid(two)) == ("/srv/gateway", 999)
    assert len(one.calls) == 1 and len(two.calls) == 1
