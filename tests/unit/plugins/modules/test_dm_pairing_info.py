"""Unit tests of homelab.clawdbot.dm_pairing_info: reads the store files, never creates anything."""
import json
import os

import pytest

from ansible.module_utils import basic

from ansible_collections.homelab.clawdbot.plugins.modules import dm_pairing_info as info

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
CREATED_MS = 1795527297000  # createdAt of the recorded request
NOW = CREATED_MS + 10 * 60 * 1000


@pytest.fixture
def run_info(monkeypatch, module_main):
    def no_cli(self, cmd, **kwargs):
        raise AssertionError("dm_pairing_info must not run the CLI: %r" % (cmd,))

    def _run(args, now=NOW):
        monkeypatch.setattr(basic.AnsibleModule, "run_command", no_cli)
        monkeypatch.setattr(info, "now_ms", lambda: now)
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
