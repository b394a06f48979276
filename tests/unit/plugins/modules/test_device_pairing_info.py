"""Unit tests of homelab.clawdbot.device_pairing_info: one ``devices list --json``, never a change."""
import json
import os

import pytest

from ansible.module_utils import basic

from ansible_collections.homelab.clawdbot.plugins.modules import device_pairing_info as info

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
NOW = 1795527012529
TOKEN = "probe-token-0123456789"


def fixture_text(name):
    with open(os.path.join(FIXTURES, name)) as fh:
        return fh.read()


@pytest.fixture
def run(monkeypatch, tmp_path, module_main):
    binary = tmp_path / "clawdbot"
    binary.write_text("#!/bin/sh\nexit 99\n")
    binary.chmod(0o755)

    def _run(args, response, check_mode=False):
        calls = []

        def fake_run_command(self, cmd, environ_update=None, **kwargs):
            calls.append(dict(argv=list(cmd), env=dict(environ_update or {})))
            return response

        monkeypatch.setattr(basic.AnsibleModule, "run_command", fake_run_command)
        monkeypatch.setattr(info, "now_ms", lambda: NOW)
        params = dict(args, binary=str(binary), _ansible_check_mode=check_mode)
        failed, result = module_main(info.main, params)
        return failed, result, calls

    _run.binary = str(binary)
    return _run


def test_lists_once_and_summarises(run):
    failed, result, calls = run(dict(profile="personal", gateway_token=TOKEN),
                                (0, fixture_text("devices_list.json"), ""), check_mode=True)
    assert not failed
    assert [c["argv"] for c in calls] == [
        [run.binary, "--profile", "personal", "devices", "list", "--timeout", "30000", "--json"]]
    assert calls[0]["env"]["CLAWDBOT_GATEWAY_TOKEN"] == TOKEN
    assert result["changed"] is False and result["cli_calls"] == 1
    pending = result["pending"][0]
    assert pending["requestId"] == "21043250-ab50-42e2-b879-29f686d15832"
    assert pending["ageSeconds"] == 42 and pending["remoteIp"] == "172.17.0.2"
    assert result["paired"][0]["tokenCount"] == 1
    assert '"tokens"' not in json.dumps(result) and "publicKey" not in json.dumps(result)


def test_gateway_down(run):
    failed, result, calls = run(dict(profile="work"), (1, "", fixture_text("devices_gateway_down.stderr")))
    assert failed and len(calls) == 1
    assert "gateway of profile work is not reachable" in result["msg"]
    assert "clawdbot-gateway-work.service" in result["msg"]
