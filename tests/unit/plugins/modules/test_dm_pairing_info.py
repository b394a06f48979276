"""Unit tests of homelab.clawdbot.dm_pairing_info.

clawdbot: reads the store files, never runs the CLI or creates anything. openclaw: one `pairing list --json`, the
SQLite database is never opened.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import sqlite3

import pytest

from ansible.module_utils import basic

from ansible_collections.homelab.clawdbot.plugins.module_utils import clawdbot_pairing as cp
from ansible_collections.homelab.clawdbot.plugins.modules import dm_pairing_info as info

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
CREATED_MS = 1795527297000  # createdAt of the recorded request
NOW = CREATED_MS + 10 * 60 * 1000


@pytest.fixture
def run_info(monkeypatch, module_main):
    """clawdbot flavour (explicit): the store files are read, the CLI must not run."""
    def no_cli(self, cmd, **kwargs):
        raise AssertionError("dm_pairing_info must not run the clawdbot CLI: %r" % (cmd,))

    def _run(args, now=NOW):
        monkeypatch.setattr(basic.AnsibleModule, "run_command", no_cli)
        monkeypatch.setattr(info, "now_ms", lambda: now)
        args = dict(args)
        args.setdefault("flavour", "clawdbot")
        if args["flavour"] is None:  # derived from the binary
            del args["flavour"]
        return module_main(info.main, args)
    return _run


def test_lists_pending_and_allow_from(run_info, tmp_path):
    with open(os.path.join(FIXTURES, "pairing_list_telegram.json")) as fh:
        requests = json.load(fh)["requests"]
    stale = dict(requests[0], id="42", code="QRST2345", createdAt="2026-11-24T10:00:00.000Z")
    cred = tmp_path / "credentials"
    cred.mkdir()
    (cred / "telegram-pairing.json").write_text(json.dumps({"version": 1, "requests": requests + [stale]}))
    (cred / "telegram-allowFrom.json").write_text(json.dumps({"version": 1, "allowFrom": ["777"]}))
    failed, result = run_info(dict(profile="personal", cli_env={"CLAWDBOT_STATE_DIR": str(tmp_path)}))
    assert not failed, result.get("msg")
    assert result["changed"] is False
    assert [(p["id"], p["code"]) for p in result["pending"]] == [("123456789", "ABCD2345")]
    assert result["pending"][0]["expiresInSeconds"] == 50 * 60
    assert result["expired_count"] == 1
    assert result["allow_from"] == ["777"]


def test_creates_nothing(run_info, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    failed, result = run_info(dict(profile="personal", channel="whatsapp",
                                   cli_env={"CLAWDBOT_STATE_DIR": str(state)}))
    assert not failed
    assert result["pending"] == [] and result["allow_from"] == []
    assert os.listdir(str(state)) == []


def test_oauth_dir_override(run_info, tmp_path):
    (tmp_path / "telegram-allowFrom.json").write_text(json.dumps({"version": 1, "allowFrom": ["tg:5"]}))
    failed, result = run_info(dict(cli_env={"CLAWDBOT_OAUTH_DIR": str(tmp_path)}))
    assert not failed and result["allow_from"] == ["5"] and result["credentials_dir"] == str(tmp_path)


def test_bad_channel(run_info, tmp_path):
    failed, result = run_info(dict(channel="Tele gram", cli_env={"CLAWDBOT_STATE_DIR": str(tmp_path)}))
    assert failed and result["msg"].startswith("channel ")


def test_clawdbot_binary_name_selects_the_store_files(run_info, tmp_path):
    (tmp_path / "telegram-allowFrom.json").write_text(json.dumps({"version": 1, "allowFrom": ["9"]}))
    failed, result = run_info(dict(flavour=None, binary="/home/u/.clawdbot/bin/clawdbot",
                                   cli_env={"CLAWDBOT_OAUTH_DIR": str(tmp_path)}))
    assert not failed and result["flavour"] == "clawdbot" and result["allow_from"] == ["9"]
    assert result["cli_calls"] == 0


# ----------------------------------------------------------------------------------- openclaw flavour

OC_CREATED_MS = cp.parse_iso_ms("2026-12-01T07:47:54.098Z")


@pytest.fixture
def run_oc(monkeypatch, module_main, tmp_path):
    binary = tmp_path / "bin" / "openclaw"
    binary.parent.mkdir()
    binary.write_text("#!/bin/sh\nexit 99\n")
    binary.chmod(0o755)

    def no_sqlite(*args, **kwargs):
        raise AssertionError("the module must not open SQLite: %r" % (args,))

    def _run(args, response, now=OC_CREATED_MS + 10 * 60 * 1000):
        calls = []

        def fake_run_command(self, cmd, environ_update=None, **kwargs):
            calls.append(dict(argv=list(cmd), env=dict(environ_update or {})))
            return response

        monkeypatch.setattr(basic.AnsibleModule, "run_command", fake_run_command)
        monkeypatch.setattr(sqlite3, "connect", no_sqlite)
        monkeypatch.setattr(info, "now_ms", lambda: now)
        params = dict(args)
        params.setdefault("binary", str(binary))
        params.setdefault("_ansible_check_mode", True)
        failed, result = module_main(info.main, params)
        return failed, result, calls

    _run.binary = str(binary)
    return _run


def test_openclaw_lists_through_the_cli_only(run_oc, tmp_path):
    state = tmp_path / "state"
    (state / "credentials").mkdir(parents=True)
    # a legacy JSON store (a migration source on openclaw) must be ignored
    (state / "credentials" / "telegram-pairing.json").write_text(json.dumps({"version": 1, "requests": [
        {"id": "1", "code": "QRST2345", "createdAt": "2026-12-01T07:47:54.098Z"}]}))
    with open(os.path.join(FIXTURES, "openclaw_pairing_list_telegram.json")) as fh:
        listed = fh.read()
    failed, result, calls = run_oc(dict(profile="personal", cli_env={"OPENCLAW_STATE_DIR": str(state)}),
                                   (0, listed, ""))
    assert not failed, result.get("msg")
    assert [c["argv"] for c in calls] == [
        [run_oc.binary, "--profile", "personal", "pairing", "list", "telegram", "--json"]]
    assert calls[0]["env"]["OPENCLAW_HIDE_BANNER"] == "1" and calls[0]["env"]["OPENCLAW_STATE_DIR"] == str(state)
    assert not [k for k in calls[0]["env"] if k.startswith("CLAWDBOT_")]
    assert result["changed"] is False and result["flavour"] == "openclaw" and result["cli_calls"] == 1
    assert result["pending"] == [dict(id="987654321", code="ABCD2345", createdAt="2026-12-01T07:47:54.098Z",
                                      lastSeenAt="2026-12-01T07:47:54.098Z",
                                      meta={"username": "probeuser", "firstName": "Probe", "accountId": "default"},
                                      expiresInSeconds=50 * 60)]
    for key in ("allow_from", "expired_count", "credentials_dir"):
        assert key not in result


def test_openclaw_empty_channel(run_oc):
    failed, result, calls = run_oc(dict(channel="whatsapp"), (0, '{"channel":"whatsapp","requests":[]}', ""))
    assert not failed and result["pending"] == [] and calls[0]["argv"][1:] == ["pairing", "list", "whatsapp", "--json"]


def test_openclaw_list_failure_is_readable(run_oc):
    failed, result, _calls = run_oc(dict(profile="personal"),
                                    (1, "", "[openclaw] The CLI command failed.\n[openclaw] Reason: Invalid config\n"))
    assert failed and result["msg"] == "pairing list telegram failed on profile personal: Invalid config"


def test_openclaw_unexpected_shape(run_oc):
    failed, result, _calls = run_oc(dict(), (0, '{"pending":[]}', ""))
    assert failed and "did not return an object with a requests list" in result["msg"]


def test_neutral_binary_name_means_openclaw(run_oc, tmp_path):
    binary = tmp_path / "bin" / "gateway-cli"
    binary.write_text("#!/bin/sh\nexit 99\n")
    binary.chmod(0o755)
    failed, result, calls = run_oc(dict(binary=str(binary)), (0, '{"channel":"telegram","requests":[]}', ""))
    assert not failed and result["flavour"] == "openclaw" and len(calls) == 1


def test_openclaw_binary_name_selects_openclaw(run_oc):
    failed, result, calls = run_oc(dict(), (0, '{"channel":"telegram","requests":[]}', ""))
    assert not failed, result
    assert result["flavour"] == "openclaw" and len(calls) == 1
