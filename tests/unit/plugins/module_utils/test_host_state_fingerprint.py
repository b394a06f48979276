# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the host digest (module_utils/host_state.py fingerprint(), run by the module host_fingerprint and
as a plain script by converge_stamp): what changes it, what does not, and that nothing of the content leaks."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json
import os
import subprocess
import sys
from contextlib import redirect_stdout

from ansible_collections.homelab.clawdbot.plugins.module_utils import host_state as hs
from ansible_collections.homelab.clawdbot.plugins.modules import host_fingerprint

TOKEN = "gw-token-0123456789abcdef0123456789abcdef"


class Fake(object):
    """A module without systemctl or dpkg-query: units and packages read as absent."""

    def get_bin_path(self, name):
        return None

    def run_command(self, argv, environ_update=None):
        raise AssertionError(argv)

    def fail_json(self, msg, **kw):
        raise AssertionError(msg)


def digest(requests, paths=()):
    state, counted = hs.fingerprint(Fake(), requests, list(paths))
    return hs.digest_of(state), counted


def test_content_mode_and_links_count_but_times_do_not(tmp_path):
    cfg = tmp_path / "openclaw.json"
    cfg.write_text('{"gateway": {"auth": {"token": "%s"}}}' % TOKEN)
    os.chmod(str(cfg), 0o600)
    link = tmp_path / "openclaw"
    os.symlink("versions/2026.9.6/x", str(link))
    req = [{"paths": [str(tmp_path), str(link)], "secret_files": [str(cfg)], "users": ["root"]}]
    first, counted = digest(req)
    assert counted == 4
    os.utime(str(cfg), (1, 1))
    assert digest(req)[0] == first
    cfg.write_text('{"gateway": {"auth": {"token": "%s"}}, "update": {"checkOnStart": true}}' % TOKEN)
    second = digest(req)[0]
    assert second != first
    os.chmod(str(cfg), 0o644)
    assert digest(req)[0] != second
    os.chmod(str(cfg), 0o600)
    assert digest(req)[0] == second
    os.unlink(str(link))
    os.symlink("versions/2026.9.5/x", str(link))
    assert digest(req)[0] != second


def test_requests_merge_and_order_does_not_matter(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("a")
    b.write_text("b")
    one = digest([{"paths": [str(a)]}, {"read": [str(b)]}], [str(a)])[0]
    assert one == digest([{"manifests": [str(b)], "paths": [str(a)]}])[0]
    assert one != digest([{"paths": [str(a)]}])[0]


def test_units_and_packages_are_read_per_user(tmp_path):
    calls = []

    class Module(Fake):
        def get_bin_path(self, name):
            return "/usr/bin/" + name

        def run_command(self, argv, environ_update=None):
            calls.append(argv)
            if argv[0].endswith("dpkg-query"):
                return 0, "acl\tinstalled\t2.3.1-3\n", ""
            units = argv[7:]
            return 0, "\n\n".join("ActiveState=active\nMainPID=%d" % (10 + i) for i, dummy in enumerate(units)), ""

    reqs = [{"user_units": {"user": "gw", "units": ["b.service"]}, "packages": ["acl"]},
            {"user_units": {"user": "gw", "units": ["a.service", "b.service"]}},
            {"user_units": {"user": "ops", "units": ["c.service"]}}]
    state, counted = hs.fingerprint(Module(), reqs, [])
    assert counted == 4
    assert state["packages"] == {"acl": "2.3.1-3"}
    assert state["user_units"]["gw"]["units"]["a.service"]["ActiveState"] == "active"
    assert [c[2] for c in calls if "systemctl" in c[0]] == ["--machine=gw@.host", "--machine=ops@.host"]


def test_script_and_module_give_the_same_digest_and_no_content(tmp_path, module_main):
    cfg = tmp_path / "openclaw.json"
    cfg.write_text('{"token": "%s"}' % TOKEN)
    args = {"requests": [{"secret_files": [str(cfg)], "paths": [str(tmp_path)]}], "paths": [str(tmp_path / "gone")]}
    src = open(hs.__file__).read() + "\nscript_main(json.loads(%r))\n" % json.dumps(args)
    proc = subprocess.run([sys.executable, "-"], input=src, capture_output=True, text=True, check=True)
    out = json.loads(proc.stdout)
    assert set(out) == {"digest", "counted"} and out["counted"] == 3
    assert TOKEN not in proc.stdout
    failed, result = module_main(host_fingerprint.main, args)
    assert not failed
    assert result["digest"] == out["digest"] and TOKEN not in repr(result)
    buf = io.StringIO()
    with redirect_stdout(buf):
        hs.script_main({"requests": ["not a mapping"]})
    assert json.loads(buf.getvalue()).get("failed") is True
