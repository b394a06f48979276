"""Unit tests of homelab.clawdbot.dm_pairing_info: reads the store files, never creates anything."""
import json
import os

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.homelab.clawdbot.plugins.modules import dm_pairing_info as info

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
CREATED_MS = 1795527297000  # createdAt of the recorded request
NOW = CREATED_MS + 10 * 60 * 1000


class ModuleExit(Exception):
    def __init__(self, result, failed):
        super(ModuleExit, self).__init__(result.get("msg"))
        self.result = result
        self.failed = failed


def run_info(monkeypatch, args, now=NOW):
    def no_cli(self, cmd, **kwargs):
        raise AssertionError("dm_pairing_info must not run the CLI: %r" % (cmd,))

    def exit_json(self, **kwargs):
        raise ModuleExit(kwargs, False)

    def fail_json(self, msg, **kwargs):
        kwargs["msg"] = msg
        raise ModuleExit(kwargs, True)

    monkeypatch.setattr(basic.AnsibleModule, "run_command", no_cli)
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    monkeypatch.setattr(info, "now_ms", lambda: now)
    with patch_module_args(args):
        with pytest.raises(ModuleExit) as exc:
            info.main()
    return exc.value.failed, exc.value.result


def test_lists_pending_and_allow_from(monkeypatch, tmp_path):
    with open(os.path.join(FIXTURES, "pairing_list_telegram.json")) as fh:
        requests = json.load(fh)["requests"]
    stale = dict(requests[0], id="42", code="QRST2345", createdAt="2026-11-24T10:00:00.000Z")
    cred = tmp_path / "credentials"
    cred.mkdir()
    (cred / "telegram-pairing.json").write_text(json.dumps({"version": 1, "requests": requests + [stale]}))
    (cred / "telegram-allowFrom.json").write_text(json.dumps({"version": 1, "allowFrom": ["777"]}))
    failed, result = run_info(monkeypatch, dict(profile="personal", cli_env={"CLAWDBOT_STATE_DIR": str(tmp_path)}))
    assert not failed, result.get("msg")
    assert result["changed"] is False
    assert [(p["id"], p["code"]) for p in result["pending"]] == [("123456789", "ABCD2345")]
    assert result["pending"][0]["expiresInSeconds"] == 50 * 60
    assert result["expired_count"] == 1
    assert result["allow_from"] == ["777"]


def test_creates_nothing(monkeypatch, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    failed, result = run_info(monkeypatch, dict(profile="personal", channel="whatsapp",
                                                cli_env={"CLAWDBOT_STATE_DIR": str(state)}))
    assert not failed
    assert result["pending"] == [] and result["allow_from"] == []
    assert os.listdir(str(state)) == []


def test_oauth_dir_override(monkeypatch, tmp_path):
    (tmp_path / "telegram-allowFrom.json").write_text(json.dumps({"version": 1, "allowFrom": ["tg:5"]}))
    failed, result = run_info(monkeypatch, dict(cli_env={"CLAWDBOT_OAUTH_DIR": str(tmp_path)}))
    assert not failed and result["allow_from"] == ["5"] and result["credentials_dir"] == str(tmp_path)


def test_bad_channel(monkeypatch, tmp_path):
    failed, result = run_info(monkeypatch, dict(channel="Tele gram", cli_env={"CLAWDBOT_STATE_DIR": str(tmp_path)}))
    assert failed and result["msg"].startswith("channel ")
