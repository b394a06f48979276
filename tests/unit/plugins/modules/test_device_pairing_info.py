"""Unit tests of homelab.clawdbot.device_pairing_info: one ``devices list --json``, never a change (both flavours)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

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
    def make(name):
        binary = tmp_path / name
        binary.write_text("#!/bin/sh\nexit 99\n")
        binary.chmod(0o755)
        return str(binary)

    def _run(args, response, check_mode=False, binary_name="clawdbot", now=NOW):
        calls = []
        _run.binary = make(binary_name)

        def fake_run_command(self, cmd, environ_update=None, **kwargs):
            calls.append(dict(argv=list(cmd), env=dict(environ_update or {})))
            return response

        monkeypatch.setattr(basic.AnsibleModule, "run_command", fake_run_command)
        monkeypatch.setattr(info, "now_ms", lambda: now)
        params = dict(args, _ansible_check_mode=check_mode)
        params.setdefault("binary", _run.binary)
        failed, result = module_main(info.main, params)
        return failed, result, calls

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


# ----------------------------------------------------------------------------------- openclaw flavour

OC_NOW = 1796110907516 + 12 * 1000


def test_openclaw_lists_once_with_new_fields(run):
    failed, result, calls = run(dict(profile="personal", gateway_token=TOKEN),
                                (0, fixture_text("openclaw_devices_list.json"), ""), check_mode=True,
                                binary_name="openclaw", now=OC_NOW)
    assert not failed, result.get("msg")
    assert [c["argv"] for c in calls] == [
        [run.binary, "--profile", "personal", "devices", "list", "--timeout", "30000", "--json"]]
    env = calls[0]["env"]
    assert env["OPENCLAW_GATEWAY_TOKEN"] == TOKEN and env["OPENCLAW_HIDE_BANNER"] == "1"
    assert not [k for k in env if k.startswith("CLAWDBOT_")]
    assert result["flavour"] == "openclaw" and result["changed"] is False and result["cli_calls"] == 1
    assert result["pending"] == [dict(
        requestId="da149e4f-5874-4fdb-be78-e6770f5d0664",
        deviceId="8281c11186f3266571716c93526f1b7c49fcc97ff273b37e0411f303cf76ca4c",
        clientId="openclaw-tui", clientMode="ui", platform="linux", deviceFamily="Linux", role="operator",
        scopes=["operator.admin", "operator.read", "operator.write", "operator.approvals"], remoteIp=None,
        ageSeconds=12, displayName="openclaw-tui", isRepair=False)]
    paired = result["paired"][0]
    assert paired["approvedVia"] == "silent" and paired["connected"] is False and paired["tokenCount"] == 1
    assert paired["lastSeenAtMs"] == 1796110860364 and paired["displayName"] == "openclaw-tui"
    assert '"tokens"' not in json.dumps(result) and "publicKey" not in json.dumps(result)


def test_openclaw_empty_listing(run):
    failed, result, _calls = run(dict(), (0, '{"pending":[],"paired":[]}', ""), binary_name="openclaw")
    assert not failed and result["pending"] == [] and result["paired"] == []


def test_openclaw_gateway_down(run):
    failed, result, calls = run(dict(profile="work"), (1, fixture_text("openclaw_devices_gateway_down.stdout"), ""),
                                binary_name="openclaw")
    assert failed and len(calls) == 1
    assert "gateway of profile work is not reachable at ws://127.0.0.1:19600" in result["msg"]
    assert "openclaw-gateway-work.service" in result["msg"]


def test_flavour_option_overrides_binary_name(run):
    failed, result, calls = run(dict(profile="work", flavour="clawdbot"),
                                (0, fixture_text("devices_list.json"), ""), binary_name="gateway-cli")
    assert not failed and result["flavour"] == "clawdbot"
    assert calls[0]["env"]["CLAWDBOT_HIDE_BANNER"] == "1"
