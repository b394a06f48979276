"""Unit tests of homelab.clawdbot.host_state_info: one read-only round trip over paths, files, users,
packages and systemd user units."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import pwd

import pytest

from ansible.module_utils import basic

from ansible_collections.homelab.clawdbot.plugins.modules import host_state_info as mod


@pytest.fixture
def run(monkeypatch, module_main):
    """Run the module; `commands` maps an argv prefix (tuple) to (rc, stdout, stderr)."""
    def _run(args, commands=None):
        calls = []

        def run_command(self, argv, **kwargs):
            calls.append(list(argv))
            for prefix, answer in (commands or {}).items():
                if tuple(argv[:len(prefix)]) == prefix:
                    return answer
            raise AssertionError("unexpected command %r" % (argv,))

        monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
        monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, name, *a, **k: "/usr/bin/" + name)
        failed, result = module_main(mod.main, args)
        return failed, result, calls
    return _run


def test_paths_files_links_dirs_and_missing(run, tmp_path):
    f = tmp_path / "package.json"
    f.write_text('{"version": "2026.1.24-3"}')
    os.chmod(str(f), 0o640)
    d = tmp_path / "versions"
    d.mkdir()
    os.chmod(str(d), 0o700)
    link = tmp_path / "clawdbot"
    os.symlink("../versions/2026.1.24-3/entry.js", str(link))
    missing = str(tmp_path / "nope")
    failed, result, calls = run(dict(paths=[str(f), str(d), str(link), missing], read=[str(f), missing, str(d)]))
    assert not failed, result
    assert result["changed"] is False
    assert calls == []
    pf = result["paths"][str(f)]
    assert pf["type"] == "file" and pf["mode"] == "0640"
    assert pf["checksum"] == hashlib.sha1(b'{"version": "2026.1.24-3"}').hexdigest()
    assert pf["owner"] == pwd.getpwuid(os.getuid()).pw_name
    assert result["paths"][str(d)]["type"] == "directory" and result["paths"][str(d)]["mode"] == "0700"
    assert result["paths"][str(link)] == dict(result["paths"][str(link)], type="link", target="../versions/2026.1.24-3/entry.js")
    assert result["paths"][missing] == {"exists": False}
    assert result["read"] == {str(f): '{"version": "2026.1.24-3"}', missing: None, str(d): None}


def test_checksum_only_up_to_the_limit(run, tmp_path):
    f = tmp_path / "big"
    f.write_bytes(b"x" * 100)
    failed, result, dummy = run(dict(paths=[str(f)], checksum_max_bytes=10))
    assert not failed
    assert "checksum" not in result["paths"][str(f)] and result["paths"][str(f)]["size"] == 100


def test_tilde_user_is_expanded_but_keys_stay_as_given(run, tmp_path):
    me = pwd.getpwuid(os.getuid())
    name = "~%s/.homelab-clawdbot-test-%d" % (me.pw_name, os.getpid())
    failed, result, dummy = run(dict(paths=[name, "~no-such-user-xyz/x"]))
    assert not failed
    assert list(result["paths"]) == [name, "~no-such-user-xyz/x"]
    assert result["paths"][name] == {"exists": False}
    assert result["paths"]["~no-such-user-xyz/x"] == {"exists": False}
    assert mod.expand(name) == me.pw_dir + "/.homelab-clawdbot-test-%d" % os.getpid()
    assert mod.expand("~%s" % me.pw_name) == me.pw_dir
    assert mod.expand("/etc/~x") == "/etc/~x"


def test_tilde_paths_are_read(run, monkeypatch, tmp_path):
    real = pwd.getpwnam

    class Entry(object):
        pw_dir = str(tmp_path)

    monkeypatch.setattr(pwd, "getpwnam", lambda name: Entry() if name == "gw" else real(name))
    (tmp_path / "unit.service").write_text("[Unit]\n")
    failed, result, dummy = run(dict(paths=["~gw/unit.service"], read=["~gw/unit.service"]))
    assert not failed
    assert result["paths"]["~gw/unit.service"]["type"] == "file"
    assert result["read"]["~gw/unit.service"] == "[Unit]\n"


def test_secret_files_say_only_whether_they_match(run, tmp_path):
    token = "123456789:AAtest-telegram-bot-token-personal-0001"
    f = tmp_path / "telegram-bot-token"
    f.write_text(token)
    os.chmod(str(f), 0o600)
    good = hashlib.sha1(token.encode()).hexdigest()
    failed, result, dummy = run(dict(secret_files={str(f): good}))
    assert not failed
    entry = result["secret_files"][str(f)]
    assert entry["matches"] is True and entry["mode"] == "0600"
    assert "checksum" not in entry and "size" not in entry
    assert good not in repr(result) and token not in repr(result)
    failed, result, dummy = run(dict(secret_files={str(f): hashlib.sha1(b"other").hexdigest(),
                                                   str(tmp_path / "gone"): good}))
    assert result["secret_files"][str(f)]["matches"] is False
    assert result["secret_files"][str(tmp_path / "gone")] == {"exists": False, "matches": False}


def test_secret_files_option_is_no_log():
    spec = {}

    class Capture(Exception):
        pass

    def fake_init(self, argument_spec, **kwargs):
        spec.update(argument_spec)
        raise Capture()

    orig = basic.AnsibleModule.__init__
    basic.AnsibleModule.__init__ = fake_init
    try:
        with pytest.raises(Capture):
            mod.main()
    finally:
        basic.AnsibleModule.__init__ = orig
    assert spec["secret_files"]["no_log"] is True


def test_users_and_packages(run):
    me = pwd.getpwuid(os.getuid())
    dpkg_out = "git\tinstalled\t1:2.39.5-0+deb12u2\nnodejs\tnot-installed\t\n"
    failed, result, calls = run(dict(users=[me.pw_name, "no-such-user-xyz"], packages=["git", "nodejs", "absent"]),
                                commands={("/usr/bin/dpkg-query",): (1, dpkg_out, "dpkg-query: no packages found matching absent")})
    assert not failed
    assert result["users"][me.pw_name] == {"uid": me.pw_uid, "gid": me.pw_gid, "home": me.pw_dir, "shell": me.pw_shell}
    assert result["users"]["no-such-user-xyz"] is None
    assert result["packages"] == {"git": "1:2.39.5-0+deb12u2", "nodejs": None, "absent": None}
    assert result["packages_missing"] == ["nodejs", "absent"]
    assert calls[0][:2] == ["/usr/bin/dpkg-query", "-W"] and calls[0][-3:] == ["git", "nodejs", "absent"]


SHOW = ("LoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\nMainPID=689\n"
        "FragmentPath=/home/user/.config/systemd/user/a.service\n\n"
        "LoadState=not-found\nActiveState=inactive\nSubState=dead\nUnitFileState=\nMainPID=0\nFragmentPath=\n")


def test_user_units_through_the_users_manager(run):
    failed, result, calls = run(dict(user_units=dict(user="user", units=["a.service", "b.service"])),
                                commands={("/usr/bin/systemctl",): (0, SHOW, "")})
    assert not failed
    assert calls[0][:3] == ["/usr/bin/systemctl", "--user", "--machine=user@.host"]
    assert calls[0][-2:] == ["a.service", "b.service"]
    assert result["user_manager"] is True
    assert result["user_units"]["a.service"]["ActiveState"] == "active"
    assert result["user_units"]["a.service"]["MainPID"] == "689"
    assert result["user_units"]["b.service"]["LoadState"] == "not-found"


def test_user_manager_down(run):
    failed, result, dummy = run(dict(user_units=dict(user="user", units=["a.service"])),
                                commands={("/usr/bin/systemctl",): (1, "", "Failed to connect to bus")})
    assert not failed
    assert result["user_manager"] is False and result["user_units"] == {}


def test_user_manager_probe_without_units(run):
    failed, result, dummy = run(dict(user_units=dict(user="user", units=[])),
                                commands={("/usr/bin/systemctl",): (0, "Version=252\n", "")})
    assert not failed
    assert result["user_manager"] is True and result["user_units"] == {}


def test_unparseable_show_output_fails(run):
    failed, result, dummy = run(dict(user_units=dict(user="user", units=["a.service", "b.service"])),
                                commands={("/usr/bin/systemctl",): (0, "ActiveState=active\n", "")})
    assert failed and "could not parse" in result["msg"]


def test_machine_is_returned_with_every_read(run):
    """node_runtime names the Node.js distribution after it, without a `uname -m` round trip of its own."""
    failed, result, calls = run(dict(paths=[]))
    assert not failed and calls == []
    assert result["machine"] == os.uname()[4] and result["machine"]
