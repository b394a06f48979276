"""Unit tests of homelab.clawdbot.device_pairing, against recorded CLI output of both flavours (contract 4.1/4.2)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os
import sqlite3
import subprocess

import pytest
import yaml

from ansible.module_utils import basic

from ansible_collections.homelab.clawdbot.plugins.module_utils import flavours
from ansible_collections.homelab.clawdbot.plugins.module_utils import clawdbot_pairing as cp
from ansible_collections.homelab.clawdbot.plugins.module_utils.clawdbot_cli import ClawdbotCLI
from ansible_collections.homelab.clawdbot.plugins.modules import device_pairing as dp

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
NOW = 1795527012529  # 42 s after the recorded pending request (ts 1795526970529)
TOKEN = "probe-token-0123456789"

REQ_CLI = "21043250-ab50-42e2-b879-29f686d15832"
DEV_CLI = "6fa7e9e7f0d1bf5bccb8762808e1c2f3af8862ebc23485b6ff4779412a0de84d"
REQ_UI_LAPTOP = "9b1c2d3e-4f50-4a6b-8c7d-8e9fa0b1c2d3"
REQ_UI_PHONE = "5a6b7c8d-9e0f-4a1b-9c2d-3e4f5a6b7c8d"
DEV_PAIRED = "0e1d86d3a6f14b2c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c"


def fixture_text(name):
    with open(os.path.join(FIXTURES, name)) as fh:
        return fh.read()


def fixture_json(name):
    return json.loads(fixture_text(name))


def listing(name="devices_list.json"):
    return dp.normalise_device_listing(fixture_json(name))


def ok(stdout):
    return (0, stdout, "")


def approve_response_for(list_name):
    """Fake ``devices approve <id> --json``: the recorded response, re-keyed to the pending entry approved."""
    pending = dict((e["requestId"], e) for e in fixture_json(list_name)["pending"])

    def respond(argv):
        rid = argv[argv.index("approve") + 1]
        if rid not in pending:
            return (1, "", fixture_text("devices_unknown_request.stderr"))
        resp = fixture_json("devices_approve.json")
        resp["requestId"] = rid
        for key in ("deviceId", "publicKey", "platform", "clientId", "clientMode", "remoteIp", "role"):
            if key in pending[rid]:
                resp["device"][key] = pending[rid][key]
        return ok(json.dumps(resp))
    return respond


def make_binary(tmp_path, name):
    binary = tmp_path / "bin" / name
    binary.parent.mkdir(exist_ok=True)
    binary.write_text("#!/bin/sh\nexit 99\n")
    binary.chmod(0o755)
    return str(binary)


@pytest.fixture
def run(monkeypatch, tmp_path, module_main):
    binary = make_binary(tmp_path, "clawdbot")

    def _run(module, args, responses=(), check_mode=False, diff=False, binary_name=None, now=NOW, store=None):
        """``store``: None answers the store reader (openclaw, list_from=auto) as for a missing database file;
        "run" runs the real reader script with this Python. Its calls are recorded in ``_run.store_calls``."""
        queue = list(responses)
        calls, warnings = [], []
        _run.store_calls = []

        def fake_run_command(self, cmd, environ_update=None, data=None, cwd=None, **kwargs):
            if cp.DEVICE_STORE_SCRIPT in cmd:
                _run.store_calls.append(list(cmd))
                if store == "run":
                    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
                    return proc.returncode, proc.stdout, proc.stderr
                return 3, json.dumps({"unavailable": "sqlite: unable to open database file"}), ""
            calls.append(dict(argv=list(cmd), env=dict(environ_update or {})))
            if not queue:
                raise AssertionError("unexpected CLI call: %r" % (cmd,))
            resp = queue.pop(0)
            return resp(cmd) if callable(resp) else resp

        monkeypatch.setattr(basic.AnsibleModule, "run_command", fake_run_command)
        monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, w: warnings.append(w))
        monkeypatch.setattr(module, "now_ms", lambda: now)
        params = dict(args)
        params.setdefault("binary", make_binary(tmp_path, binary_name) if binary_name else binary)
        params["_ansible_check_mode"] = check_mode
        params["_ansible_diff"] = diff
        failed, result = module_main(module.main, params)
        assert not queue, "CLI responses left unused: %r" % queue
        return failed, result, calls, warnings

    _run.binary = binary
    _run.bindir = str(tmp_path / "bin")
    return _run


def base_argv(binary, *args):
    return [binary, "--profile", "personal"] + list(args) + ["--timeout", "30000", "--json"]


# ----------------------------------------------------------------------------------- pure functions

def test_validate_params_combinations():
    empty = dict(request_id=None, client_id=None, remote_ip=None, device_id=None, role=None,
                 newest=False, all_matching=False)
    assert "nothing selects" in dp.validate_params(empty)
    assert "all_matching: true" in dp.validate_params(empty)
    assert dp.validate_params(dict(empty, all_matching=True)) is None
    assert dp.validate_params(dict(empty, newest=True)) is None
    assert dp.validate_params(dict(empty, request_id=REQ_CLI, device_id=DEV_CLI)) is None
    assert "client_id" in dp.validate_params(dict(empty, request_id=REQ_CLI, client_id="cli"))
    assert "all_matching" in dp.validate_params(dict(empty, request_id=REQ_CLI, all_matching=True))
    assert "mutually exclusive" in dp.validate_params(dict(empty, client_id="cli", newest=True, all_matching=True))


def test_select_requests_filters_and_orders_newest_first():
    data = listing("devices_list_multi.json")
    got = dp.select_requests(data, {"client_id": "clawdbot-control-ui"})
    assert [e["requestId"] for e in got] == [REQ_UI_LAPTOP, REQ_UI_PHONE]
    got = dp.select_requests(data, {"client_id": "clawdbot-control-ui", "remote_ip": "100.64.0.7"})
    assert [e["requestId"] for e in got] == [REQ_UI_PHONE]
    assert dp.select_requests(data, {"role": "node"}) == []
    assert len(dp.select_requests(data, {"role": "operator"})) == 3


def test_entry_matches_role_in_roles():
    entry = {"role": "operator", "roles": ["operator", "node"]}
    assert dp.entry_matches(entry, {"role": "node"})
    assert not dp.entry_matches(entry, {"role": "admin"})


def test_plan_ambiguous_lists_candidates():
    plan = dp.plan_action(listing("devices_list_multi.json"), "approved",
                          selector={"client_id": "clawdbot-control-ui"}, now=NOW, profile="personal")
    assert plan["targets"] == []
    assert plan["fail"]["kind"] == "ambiguous"
    assert [e["requestId"] for e in plan["fail"]["candidates"]] == [REQ_UI_LAPTOP, REQ_UI_PHONE]
    msg = plan["fail"]["msg"]
    assert msg.startswith("2 pending requests match client_id=clawdbot-control-ui on profile personal, "
                          "so none was approved: ")
    # one readable entry per candidate, newest first: id, client, remote address, age (NOW - ts)
    assert ("requestId %s (clientId clawdbot-control-ui, from 100.101.102.103, 12 s ago); "
            "requestId %s (clientId clawdbot-control-ui, from 100.64.0.7, 22 s ago)" % (REQ_UI_LAPTOP, REQ_UI_PHONE)) in msg
    assert "request_id" in msg and "newest: true" in msg and "all_matching: true" in msg
    assert REQ_CLI not in msg  # the cli request does not match the selector


def test_plan_ambiguous_reject_says_none_was_rejected():
    plan = dp.plan_action(listing("devices_list_multi.json"), "rejected",
                          selector={"client_id": "clawdbot-control-ui"}, now=NOW, profile="personal")
    assert plan["targets"] == [] and "so none was rejected" in plan["fail"]["msg"]


@pytest.mark.parametrize("seconds, text", [
    (None, "age unknown"), (0, "0 s ago"), (59, "59 s ago"), (60, "1 min 0 s ago"), (299, "4 min 59 s ago"),
])
def test_format_age(seconds, text):
    assert dp.format_age(seconds) == text


def test_describe_request_without_ts_or_address():
    entry = {"requestId": "r-1", "clientId": "cli"}
    assert dp.describe_request(entry, NOW) == "requestId r-1 (clientId cli, from -, age unknown)"
    entry = {"requestId": "r-2", "clientId": "cli", "remoteIp": "10.0.0.5", "ts": NOW - 185 * 1000}
    assert dp.describe_request(entry, NOW) == "requestId r-2 (clientId cli, from 10.0.0.5, 3 min 5 s ago)"


def test_plan_newest_and_all_matching():
    data = listing("devices_list_multi.json")
    sel = {"client_id": "clawdbot-control-ui"}
    plan = dp.plan_action(data, "approved", selector=sel, newest=True, now=NOW)
    assert [e["requestId"] for e in plan["targets"]] == [REQ_UI_LAPTOP]
    plan = dp.plan_action(data, "approved", selector=sel, all_matching=True, now=NOW)
    assert [e["requestId"] for e in plan["targets"]] == [REQ_UI_LAPTOP, REQ_UI_PHONE]
    plan = dp.plan_action(data, "approved", selector={}, all_matching=True, now=NOW)
    assert len(plan["targets"]) == 3


def test_plan_request_id_not_pending():
    data = listing()
    plan = dp.plan_action(data, "approved", request_id="deadbeef", profile="personal")
    assert plan["fail"]["kind"] == "not_pending"
    plan = dp.plan_action(data, "approved", request_id="deadbeef", selector={"device_id": DEV_PAIRED})
    assert plan["fail"] is None and plan["targets"] == [] and "already paired" in plan["msg"]
    plan = dp.plan_action(data, "rejected", request_id="deadbeef")
    assert plan["fail"] is None and plan["targets"] == [] and plan["warning"]


def test_plan_request_id_device_mismatch_fails():
    plan = dp.plan_action(listing(), "approved", request_id=REQ_CLI, selector={"device_id": DEV_PAIRED})
    assert plan["fail"] and "not to device_id" in plan["fail"]["msg"]
    assert plan["fail"]["kind"] == "device_mismatch"


def test_plan_no_match_fails_for_approve_but_not_for_all_matching():
    data = listing()
    plan = dp.plan_action(data, "approved", selector={"client_id": "clawdbot-control-ui"}, now=NOW)
    assert plan["fail"]["kind"] == "no_match" and REQ_CLI in plan["fail"]["msg"]
    plan = dp.plan_action(data, "approved", selector={"client_id": "clawdbot-control-ui"}, all_matching=True)
    assert plan["fail"] is None and plan["targets"] == []


def test_summaries_drop_tokens():
    data = listing()
    paired = dp.summarise_paired(data["paired"][0])
    assert "tokens" not in paired and paired["tokenCount"] == 1
    pending = dp.summarise_pending(data["pending"][0], NOW)
    assert pending["ageSeconds"] == 42 and "publicKey" not in pending


# ----------------------------------------------------------------------------------- module runs

def test_approve_by_request_id_argv_env_and_result(run):
    failed, result, calls, _w = run(dp, dict(profile="personal", request_id=REQ_CLI, gateway_token=TOKEN), [
        ok(fixture_text("devices_list.json")),
        approve_response_for("devices_list.json"),
    ])
    assert not failed, result["msg"]
    assert [c["argv"] for c in calls] == [
        base_argv(run.binary, "devices", "list"),
        base_argv(run.binary, "devices", "approve", REQ_CLI),
    ]
    for call in calls:
        assert TOKEN not in " ".join(call["argv"])
        assert call["env"]["CLAWDBOT_GATEWAY_TOKEN"] == TOKEN
    assert result["changed"] is True
    assert result["cli_calls"] == 2
    assert result["approved"] == [dict(requestId=REQ_CLI, deviceId=DEV_CLI, clientId="cli",
                                       remoteIp="172.17.0.2", role="operator")]
    assert result["rejected"] == []
    assert result["pending"] == []
    assert [p["deviceId"] for p in result["paired"]] == [DEV_CLI, DEV_PAIRED]
    assert result["paired"][0]["approvedAtMs"] == 1795527012345
    dumped = json.dumps(result)
    assert '"tokens"' not in dumped and TOKEN not in dumped


def test_gateway_url_is_passed(run):
    failed, result, calls, _w = run(dp, dict(profile="personal", request_id=REQ_CLI,
                                             gateway_url="ws://127.0.0.1:18789"), [
        ok(fixture_text("devices_list.json")),
        approve_response_for("devices_list.json"),
    ])
    assert not failed
    assert all(c["argv"][-2:] == ["--url", "ws://127.0.0.1:18789"] for c in calls)


def test_approve_by_client_id_selector(run):
    failed, result, calls, _w = run(dp, dict(profile="personal", client_id="cli"), [
        ok(fixture_text("devices_list_multi.json")),
        approve_response_for("devices_list_multi.json"),
    ])
    assert not failed, result["msg"]
    assert calls[1]["argv"] == base_argv(run.binary, "devices", "approve", REQ_CLI)
    assert [a["requestId"] for a in result["approved"]] == [REQ_CLI]
    assert [p["requestId"] for p in result["pending"]] == [REQ_UI_LAPTOP, REQ_UI_PHONE]


def test_approve_newest_control_ui(run):
    failed, result, calls, _w = run(dp, dict(profile="personal", client_id="clawdbot-control-ui", newest=True), [
        ok(fixture_text("devices_list_multi.json")),
        approve_response_for("devices_list_multi.json"),
    ])
    assert not failed, result["msg"]
    assert len(calls) == 2
    assert calls[1]["argv"] == base_argv(run.binary, "devices", "approve", REQ_UI_LAPTOP)
    assert result["approved"][0]["clientId"] == "clawdbot-control-ui"
    assert result["approved"][0]["remoteIp"] == "100.101.102.103"


def test_all_matching_approves_each_with_one_call(run):
    failed, result, calls, _w = run(dp, dict(profile="personal", client_id="clawdbot-control-ui",
                                             all_matching=True), [
        ok(fixture_text("devices_list_multi.json")),
        approve_response_for("devices_list_multi.json"),
        approve_response_for("devices_list_multi.json"),
    ])
    assert not failed, result["msg"]
    assert [c["argv"][4:6] for c in calls[1:]] == [["approve", REQ_UI_LAPTOP], ["approve", REQ_UI_PHONE]]
    assert result["cli_calls"] == 3
    assert [p["requestId"] for p in result["pending"]] == [REQ_CLI]
    assert len(result["paired"]) == 3


def test_ambiguous_selector_fails_listing_candidates(run):
    failed, result, calls, _w = run(dp, dict(profile="personal", client_id="clawdbot-control-ui"), [
        ok(fixture_text("devices_list_multi.json")),
    ])
    assert failed
    assert len(calls) == 1  # listed only: nothing approved
    assert result["kind"] == "ambiguous" and result["changed"] is False and result["approved"] == []
    assert REQ_UI_LAPTOP in result["msg"] and REQ_UI_PHONE in result["msg"]
    assert "from 100.64.0.7, 22 s ago" in result["msg"] and "from 100.101.102.103, 12 s ago" in result["msg"]
    assert [c["requestId"] for c in result["candidates"]] == [REQ_UI_LAPTOP, REQ_UI_PHONE]
    assert [(c["remoteIp"], c["ageSeconds"]) for c in result["candidates"]] == [("100.101.102.103", 12),
                                                                                ("100.64.0.7", 22)]
    assert all("publicKey" not in c for c in result["candidates"])
    assert len(result["pending"]) == 3


def test_no_match_fails_with_kind_and_no_candidates(run):
    failed, result, calls, _w = run(dp, dict(profile="personal", client_id="clawdbot-control-ui"), [
        ok(fixture_text("devices_list.json")),
    ])
    assert failed and len(calls) == 1
    assert result["kind"] == "no_match" and result["candidates"] == []
    assert "Pending: requestId %s (clientId cli, from 172.17.0.2, 42 s ago)" % REQ_CLI in result["msg"]


def test_already_paired_is_unchanged(run):
    failed, result, calls, _w = run(dp, dict(profile="personal", device_id=DEV_PAIRED), [
        ok(fixture_text("devices_list.json")),
    ])
    assert not failed, result["msg"]
    assert result["changed"] is False
    assert "already paired" in result["msg"]
    assert len(calls) == 1 and result["cli_calls"] == 1
    assert result["approved"] == []


def test_stale_request_id_with_paired_device_is_unchanged(run):
    failed, result, calls, _w = run(dp, dict(profile="personal", request_id="deadbeef-0000",
                                             device_id=DEV_PAIRED), [
        ok(fixture_text("devices_list.json")),
    ])
    assert not failed and result["changed"] is False and len(calls) == 1


def test_unknown_request_id_from_approve_gives_guidance(run):
    failed, result, calls, _w = run(dp, dict(profile="personal", request_id=REQ_CLI), [
        ok(fixture_text("devices_list.json")),
        (1, "", fixture_text("devices_unknown_request.stderr")),
    ])
    assert failed
    assert result["msg"] == (
        "request %s is not pending on profile personal (requests expire after 5 minutes and get a new id on "
        "the next attempt): reload the Control UI tab (or re-run the client) to create a fresh request, then "
        "run this again" % REQ_CLI)
    assert "at " not in "\n".join(ln.strip()[:3] for ln in result["msg"].splitlines())
    assert "GatewayClient" not in json.dumps(result)
    assert "pending" in result and result["changed"] is False
    assert len(calls) == 2


def test_request_id_not_in_list_fails_without_approve_call(run):
    failed, result, calls, _w = run(dp, dict(profile="personal", request_id="deadbeef-0000"), [
        ok(fixture_text("devices_list.json")),
    ])
    assert failed
    assert result["kind"] == "not_pending"
    assert "request deadbeef-0000 is not pending on profile personal" in result["msg"]
    assert [p["requestId"] for p in result["pending"]] == [REQ_CLI]
    assert len(calls) == 1


def test_gateway_down_message_names_profile_url_and_unit(run):
    failed, result, calls, _w = run(dp, dict(profile="personal", client_id="cli"), [
        (1, "", fixture_text("devices_gateway_down.stderr")),
    ])
    assert failed
    assert result["msg"].startswith("the gateway of profile personal is not reachable at ws://127.0.0.1:19999: "
                                    "gateway closed (1006")
    assert "clawdbot-gateway-personal.service running?" in result["msg"]
    assert len(calls) == 1


def test_gateway_down_uses_port_option_when_cli_gives_no_target(run):
    failed, result, _calls, _w = run(dp, dict(profile="personal", client_id="cli", port=18789), [
        (1, "", "[clawdbot] Failed to start CLI: Error: connect ECONNREFUSED 127.0.0.1:18789\n    at x (y:1:2)\n"),
    ])
    assert failed
    assert "not reachable at ws://127.0.0.1:18789" in result["msg"]
    assert "    at" not in result["msg"]


def test_reject_by_request_id(run):
    failed, result, calls, _w = run(dp, dict(profile="personal", state="rejected", request_id=REQ_CLI), [
        ok(fixture_text("devices_list.json")),
        ok(fixture_text("devices_reject.json")),
    ])
    assert not failed, result["msg"]
    assert calls[1]["argv"] == base_argv(run.binary, "devices", "reject", REQ_CLI)
    assert result["rejected"][0]["requestId"] == REQ_CLI and result["rejected"][0]["deviceId"] == DEV_CLI
    assert result["approved"] == [] and result["pending"] == []
    assert [p["deviceId"] for p in result["paired"]] == [DEV_PAIRED]
    assert result["changed"] is True


def test_reject_stale_request_id_is_unchanged_with_warning(run):
    failed, result, calls, warnings = run(dp, dict(profile="personal", state="rejected",
                                                   request_id="deadbeef-0000"), [
        ok(fixture_text("devices_list.json")),
    ])
    assert not failed and result["changed"] is False and len(calls) == 1
    assert any("deadbeef-0000" in w for w in warnings)


def test_check_mode_makes_no_mutation_call(run):
    failed, result, calls, _w = run(dp, dict(profile="personal", client_id="cli"), [
        ok(fixture_text("devices_list.json")),
    ], check_mode=True)
    assert not failed, result["msg"]
    assert len(calls) == 1 and calls[0]["argv"][3:5] == ["devices", "list"]
    assert result["changed"] is True
    assert result["approved"][0]["requestId"] == REQ_CLI
    assert result["paired"][0]["deviceId"] == DEV_CLI and result["paired"][0]["approvedAtMs"] is None
    assert result["msg"].startswith("would approve")


def test_diff_shows_pending_to_paired(run):
    failed, result, _calls, _w = run(dp, dict(profile="personal", request_id=REQ_CLI), [
        ok(fixture_text("devices_list.json")),
        approve_response_for("devices_list.json"),
    ], diff=True)
    assert not failed
    assert result["diff"] == dict(before=dict(pending=[REQ_CLI], paired=[DEV_PAIRED]),
                                  after=dict(pending=[], paired=[DEV_CLI, DEV_PAIRED]))


def test_diff_reject_shows_pending_gone(run):
    failed, result, _calls, _w = run(dp, dict(profile="personal", state="rejected", client_id="cli"), [
        ok(fixture_text("devices_list.json")),
    ], check_mode=True, diff=True)
    assert not failed
    assert result["diff"]["before"]["pending"] == [REQ_CLI]
    assert result["diff"]["after"] == dict(pending=[], paired=[DEV_PAIRED])


def test_nothing_selected_fails_before_any_call(run):
    failed, result, calls, _w = run(dp, dict(profile="personal"), [])
    assert failed and "all_matching: true" in result["msg"] and calls == []


def test_default_profile_has_no_profile_flag(run):
    failed, _result, calls, _w = run(dp, dict(all_matching=True), [ok('{"pending":[],"paired":[]}')])
    assert not failed
    assert calls[0]["argv"] == [run.binary, "devices", "list", "--timeout", "30000", "--json"]


def test_listing_is_not_mutated_by_build_after():
    data = listing()
    snapshot = copy.deepcopy(data)
    dp.build_after(data, [{"requestId": REQ_CLI}], [], [], NOW)
    assert data == snapshot


# ----------------------------------------------------------------------------------- openclaw flavour
# Fixtures openclaw_* hold the strings of openclaw-contract.md 4.2. The pending entry of openclaw_devices_list.json
# is the contract's verbatim; the contract elides parts of the paired entry ("6bc9703e…", the scopes) and of the
# approve --json answer ("{…,"approvedVia":"owner","tokens":[…]}"), which are filled in with the pending entry's
# values.

OC_NOW = 1796110907516 + 42 * 1000
OC_REQ = "da149e4f-5874-4fdb-be78-e6770f5d0664"
OC_DEV = "8281c11186f3266571716c93526f1b7c49fcc97ff273b37e0411f303cf76ca4c"
OC_PAIRED = "6bc9703e5d1f4a2b8c0e7d6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b"
OC_UI = flavours.get_flavour("openclaw")["control_ui_client_id"]


def oc_run(run, args, responses=(), **kwargs):
    kwargs.setdefault("now", OC_NOW)
    return run(dp, args, responses, binary_name="openclaw", **kwargs)


def oc_listing_with_control_ui():
    """The contract's pending entry, plus a Control UI request of the openclaw flavour from a tailnet address."""
    data = fixture_json("openclaw_devices_list.json")
    ui = dict(data["pending"][0], requestId="7d0c9e1a-2b3c-4d5e-8f90-a1b2c3d4e5f6",
              deviceId="ff" * 32, clientId=OC_UI, clientMode="webchat", displayName=None,
              remoteIp="100.101.102.103", ts=1796110907516 + 30 * 1000)
    data["pending"].append(ui)
    return data


def test_openclaw_approve_by_request_id_argv_env_and_result(run):
    failed, result, calls, _w = oc_run(run, dict(profile="personal", request_id=OC_REQ, gateway_token=TOKEN), [
        ok(fixture_text("openclaw_devices_list.json")),
        ok(fixture_text("openclaw_devices_approve.json")),
    ])
    assert not failed, result["msg"]
    binary = os.path.join(run.bindir, "openclaw")
    assert [c["argv"] for c in calls] == [
        base_argv(binary, "devices", "list"),
        base_argv(binary, "devices", "approve", OC_REQ),
    ]
    for call in calls:
        assert call["env"]["OPENCLAW_GATEWAY_TOKEN"] == TOKEN and call["env"]["OPENCLAW_HIDE_BANNER"] == "1"
        assert not [k for k in call["env"] if k.startswith("CLAWDBOT_")]
        assert TOKEN not in " ".join(call["argv"])
    assert result["flavour"] == "openclaw" and result["changed"] is True and result["cli_calls"] == 2
    assert result["approved"] == [dict(requestId=OC_REQ, deviceId=OC_DEV, clientId="openclaw-tui", remoteIp=None,
                                       role="operator")]
    assert result["pending"] == []
    assert [p["deviceId"] for p in result["paired"]] == [OC_DEV, OC_PAIRED]
    assert result["paired"][0]["approvedVia"] == "owner" and result["paired"][0]["approvedAtMs"] == 1796110950123
    assert result["paired"][1]["approvedVia"] == "silent" and result["paired"][1]["connected"] is False
    assert '"tokens"' not in json.dumps(result) and "publicKey" not in json.dumps(result)


def test_openclaw_flavour_option_with_neutral_binary_name(run):
    failed, result, calls, _w = run(dp, dict(profile="personal", request_id=OC_REQ, gateway_token=TOKEN,
                                             flavour="openclaw"), [
        ok(fixture_text("openclaw_devices_list.json")),
        ok(fixture_text("openclaw_devices_approve.json")),
    ], binary_name="gateway-cli")
    assert not failed, result["msg"]
    assert calls[0]["env"]["OPENCLAW_GATEWAY_TOKEN"] == TOKEN and "CLAWDBOT_GATEWAY_TOKEN" not in calls[0]["env"]


def test_neutral_binary_name_defaults_to_openclaw(run):
    failed, result, calls, _w = run(dp, dict(profile="personal", all_matching=True, gateway_token=TOKEN),
                                    [ok('{"pending":[],"paired":[]}')], binary_name="gateway-cli")
    assert not failed and result["flavour"] == flavours.DEFAULT_FLAVOUR == "openclaw"
    assert "OPENCLAW_GATEWAY_TOKEN" in calls[0]["env"]


def test_clawdbot_flavour_option_keeps_clawdbot_env(run):
    failed, result, calls, warnings = run(dp, dict(profile="personal", all_matching=True, gateway_token=TOKEN,
                                                   flavour="clawdbot"),
                                          [ok('{"pending":[],"paired":[]}')], binary_name="gateway-cli")
    assert not failed and result["flavour"] == "clawdbot" and warnings == []
    assert calls[0]["env"]["CLAWDBOT_GATEWAY_TOKEN"] == TOKEN and calls[0]["env"]["CLAWDBOT_HIDE_BANNER"] == "1"
    assert not [k for k in calls[0]["env"] if k.startswith("OPENCLAW_")]


def test_flavour_contradicting_binary_warns(run):
    failed, result, _calls, warnings = run(dp, dict(profile="personal", all_matching=True, flavour="clawdbot"),
                                           [ok('{"pending":[],"paired":[]}')], binary_name="openclaw")
    assert not failed and result["flavour"] == "clawdbot"
    assert any("looks like the openclaw CLI" in w for w in warnings)


def test_openclaw_approve_control_ui_by_flavour_client_id(run):
    failed, result, calls, _w = oc_run(run, dict(profile="personal", client_id=OC_UI), [
        ok(json.dumps(oc_listing_with_control_ui())),
        ok(fixture_text("openclaw_devices_approve.json").replace(OC_REQ, "7d0c9e1a-2b3c-4d5e-8f90-a1b2c3d4e5f6")),
    ])
    assert not failed, result["msg"]
    assert calls[1]["argv"][3:6] == ["devices", "approve", "7d0c9e1a-2b3c-4d5e-8f90-a1b2c3d4e5f6"]
    assert [p["requestId"] for p in result["pending"]] == [OC_REQ]


def test_openclaw_unknown_request_on_approve_is_not_pending(run):
    """approve: rc 1, stdout empty even with --json, stderr `No pending device request matches <id>. Run ...`."""
    failed, result, calls, _w = oc_run(run, dict(profile="personal", request_id=OC_REQ), [
        ok(fixture_text("openclaw_devices_list.json")),
        (1, "", fixture_text("openclaw_devices_approve_unknown.stderr").replace(
            "00000000-0000-0000-0000-000000000000", OC_REQ)),
    ])
    assert failed and len(calls) == 2
    assert result["kind"] == "not_pending"
    assert result["msg"] == (
        "request %s is not pending on profile personal (requests expire after 5 minutes and get a new id on "
        "the next attempt): reload the Control UI tab (or re-run the client) to create a fresh request, then "
        "run this again" % OC_REQ)
    assert result["changed"] is False and result["pending"] == []


def test_openclaw_unknown_request_on_reject_is_unchanged_with_warning(run):
    """reject: rc 1, JSON error envelope `unknown requestId` on stdout, `[openclaw] Reason: ...` on stderr."""
    failed, result, calls, warnings = oc_run(run, dict(profile="personal", state="rejected", request_id=OC_REQ), [
        ok(fixture_text("openclaw_devices_list.json")),
        (1, fixture_text("openclaw_devices_reject_unknown.stdout"), fixture_text("openclaw_devices_reject_unknown.stderr")),
    ])
    assert not failed, result["msg"]
    assert len(calls) == 2 and result["changed"] is False and result["rejected"] == []
    assert any(OC_REQ in w and "disappeared" in w for w in warnings)


def test_openclaw_unknown_request_envelope_only_on_stdout(run):
    failed, result, _calls, warnings = oc_run(run, dict(profile="personal", state="rejected", request_id=OC_REQ), [
        ok(fixture_text("openclaw_devices_list.json")),
        (1, fixture_text("openclaw_devices_reject_unknown.stdout"), ""),
    ])
    assert not failed and result["changed"] is False and warnings


def test_openclaw_reject_text_answer(run):
    failed, result, calls, _w = oc_run(run, dict(profile="personal", state="rejected", request_id=OC_REQ), [
        ok(fixture_text("openclaw_devices_list.json")),
        ok(fixture_text("openclaw_devices_reject.stdout")),
    ])
    assert not failed, result["msg"]
    assert calls[1]["argv"][3:6] == ["devices", "reject", OC_REQ]
    assert result["rejected"] == [dict(requestId=OC_REQ, deviceId=OC_DEV, clientId="openclaw-tui", remoteIp=None,
                                       role="operator")]
    assert [p["deviceId"] for p in result["paired"]] == [OC_PAIRED] and result["changed"] is True


def test_openclaw_approve_text_answer(run):
    """`Approved <deviceId> (<requestId>)`, rc 0, when the answer is not JSON."""
    failed, result, _calls, _w = oc_run(run, dict(profile="personal", request_id=OC_REQ), [
        ok(fixture_text("openclaw_devices_list.json")),
        ok(fixture_text("openclaw_devices_approve.stdout")),
    ])
    assert not failed, result["msg"]
    assert result["approved"][0]["deviceId"] == OC_DEV and result["changed"] is True
    assert result["paired"][0]["deviceId"] == OC_DEV and result["paired"][0]["approvedAtMs"] is None


def test_openclaw_gateway_down(run):
    failed, result, calls, _w = oc_run(run, dict(profile="personal", client_id=OC_UI), [
        (1, fixture_text("openclaw_devices_gateway_down.stdout"), ""),
    ])
    assert failed and len(calls) == 1
    assert result["msg"] == ("the gateway of profile personal is not reachable at ws://127.0.0.1:19600: Gateway not "
                             "reachable at ws://127.0.0.1:19600 (ECONNREFUSED). \u2014 is "
                             "openclaw-gateway-personal.service running?")
    assert result["flavour"] == "openclaw"


def test_openclaw_never_approves_without_request_id(run):
    data = fixture_json("openclaw_devices_list.json")
    del data["pending"][0]["requestId"]
    failed, result, calls, _w = oc_run(run, dict(profile="personal", all_matching=True), [ok(json.dumps(data))])
    assert failed and len(calls) == 1  # listed only, no `devices approve` without an id (a preview on openclaw)
    assert "refusing to run devices approve without one" in result["msg"]
    data["pending"][0]["requestId"] = "--latest"
    failed, result, calls, _w = oc_run(run, dict(profile="personal", newest=True), [ok(json.dumps(data))])
    assert failed and len(calls) == 1


def test_openclaw_check_mode_lists_only(run):
    failed, result, calls, _w = oc_run(run, dict(profile="personal", client_id="openclaw-tui"), [
        ok(fixture_text("openclaw_devices_list.json")),
    ], check_mode=True, diff=True)
    assert not failed, result["msg"]
    assert len(calls) == 1 and calls[0]["argv"][3:5] == ["devices", "list"]
    assert result["changed"] is True and result["msg"].startswith("would approve 1 request(s) on profile personal")
    assert result["diff"] == dict(before=dict(pending=[OC_REQ], paired=[OC_PAIRED]),
                                  after=dict(pending=[], paired=[OC_DEV, OC_PAIRED]))


def test_examples_use_the_flavour_control_ui_client_id():
    examples = yaml.safe_load(dp.EXAMPLES)
    first = examples[0]["homelab.clawdbot.device_pairing"]
    assert "flavour" not in first  # the default flavour
    assert first["client_id"] == flavours.get_flavour(flavours.DEFAULT_FLAVOUR)["control_ui_client_id"]
    literal = [e["homelab.clawdbot.device_pairing"] for e in examples
               if "{{" not in json.dumps(e) and "control-ui" in str(e["homelab.clawdbot.device_pairing"].get("client_id"))]
    assert {a.get("flavour", flavours.DEFAULT_FLAVOUR) for a in literal} == set(flavours.FLAVOUR_NAMES)
    for args in literal:
        want = flavours.get_flavour(args.get("flavour") or flavours.DEFAULT_FLAVOUR)["control_ui_client_id"]
        assert args["client_id"] == want


# ----------------------------------------------------------------------------------- openclaw: the store read

def make_store(tmp_path, sql=None, extra_sql=""):
    """A state dir whose state/openclaw.sqlite holds the fixture's tables and rows (or ``sql``)."""
    state = tmp_path / "state-personal"
    (state / "state").mkdir(parents=True)
    con = sqlite3.connect(str(state / "state" / "openclaw.sqlite"))
    con.executescript((fixture_text("openclaw_device_pairing.sql") if sql is None else sql) + extra_sql)
    con.commit()
    con.close()
    return str(state)


def store_args(state, **extra):
    args = dict(profile="personal", cli_env={"OPENCLAW_STATE_DIR": state})
    args.update(extra)
    return args


def test_store_listing_is_the_cli_listing_of_the_same_rows(tmp_path):
    """The real reader on the fixture's tables gives what `devices list --json` gave for the same rows, minus what
    only the gateway knows (connected) and what is never returned (keys, tokens)."""
    state = make_store(tmp_path)
    proc = subprocess.run(["python3", "-c", cp.DEVICE_STORE_SCRIPT, os.path.join(state, "state", "openclaw.sqlite"),
                           ",".join(cp._STORE_PENDING_COLUMNS), ",".join(cp._STORE_PAIRED_COLUMNS)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "SECRET" not in proc.stdout and "4qB5_s8E" not in proc.stdout and "0TCHIdsc" not in proc.stdout
    got = cp.device_listing_from_store(json.loads(proc.stdout), OC_NOW)
    want = dp.normalise_device_listing(fixture_json("openclaw_devices_list.json"))
    assert [dp.summarise_pending(e, OC_NOW) for e in got["pending"]] == \
        [dp.summarise_pending(e, OC_NOW) for e in want["pending"]]
    assert [dict(dp.summarise_paired(e), connected=False) for e in got["paired"]] == \
        [dp.summarise_paired(e) for e in want["paired"]]
    assert got["paired"][0]["connected"] is None and got["paired"][0]["tokenCount"] == 1
    assert got["pending"][0]["roles"] == ["operator"] and got["pending"][0]["silent"] is False


def test_store_listing_drops_what_the_gateway_prunes():
    """`nowMs - (refreshedAtMs ?? ts) > 3e5` is expired (dist/pairing-files-*.mjs): a request 5 min old is still
    pending, one a millisecond older is not, and a refresh keeps an old request alive."""
    cols = cp._STORE_PENDING_COLUMNS

    def row(rid, ts, refreshed=None):
        values = dict(request_id=rid, device_id="d-" + rid, ts=ts, refreshed_at_ms=refreshed, client_id="cli")
        return [values.get(c) for c in cols]
    now = 1796110907516
    doc = {"pending": [row("fresh", now - 300000), row("stale", now - 300001),
                       row("refreshed", now - 900000, now - 1000)], "paired": []}
    got = cp.device_listing_from_store(doc, now)
    assert [e["requestId"] for e in got["pending"]] == ["fresh", "refreshed"]  # newest first, by ts
    with pytest.raises(ValueError):
        cp.device_listing_from_store({"pending": {}}, now)


def test_openclaw_approve_reads_the_store_and_calls_the_cli_once(run, tmp_path):
    state = make_store(tmp_path)
    failed, result, calls, _w = oc_run(run, store_args(state, client_id="openclaw-tui", gateway_token=TOKEN), [
        ok(fixture_text("openclaw_devices_approve.json")),
    ], store="run")
    assert not failed, result["msg"]
    binary = os.path.join(run.bindir, "openclaw")
    assert [c["argv"] for c in calls] == [base_argv(binary, "devices", "approve", OC_REQ)]
    assert result["cli_calls"] == 1 and result["listed_from"] == "store" and "store_unavailable" not in result
    assert run.store_calls[0][-3] == os.path.join(state, "state", "openclaw.sqlite")
    assert result["approved"] == [dict(requestId=OC_REQ, deviceId=OC_DEV, clientId="openclaw-tui", remoteIp=None,
                                       role="operator")]
    assert result["pending"] == [] and [p["deviceId"] for p in result["paired"]] == [OC_DEV, OC_PAIRED]
    assert "SECRET" not in json.dumps(result) and "publicKey" not in json.dumps(result)


def test_openclaw_store_with_nothing_pending_calls_no_cli(run, tmp_path):
    # (approve-pairing.yml reports kind no_match as "nothing to approve"; all_matching succeeds unchanged)
    state = make_store(tmp_path, extra_sql="DELETE FROM device_pairing_pending;")
    failed, result, calls, _w = oc_run(run, store_args(state, client_id=OC_UI), [], store="run")
    assert failed and result["kind"] == "no_match" and result["changed"] is False, result
    assert calls == [] and result["cli_calls"] == 0 and result["listed_from"] == "store"
    failed, result, calls, _w = oc_run(run, store_args(state, all_matching=True), [], store="run")
    assert not failed and result["changed"] is False and calls == [] and result["paired"][0]["deviceId"] == OC_PAIRED


def test_openclaw_store_in_check_mode_changes_nothing_and_calls_no_cli(run, tmp_path):
    state = make_store(tmp_path)
    failed, result, calls, _w = oc_run(run, store_args(state, request_id=OC_REQ), [], store="run", check_mode=True)
    assert not failed and result["changed"] is True and calls == [] and result["listed_from"] == "store"
    assert result["msg"].startswith("would approve 1 request(s) on profile personal: " + OC_REQ)


def test_openclaw_store_of_another_schema_falls_back_to_the_cli(run, tmp_path):
    sql = fixture_text("openclaw_device_pairing.sql").replace("  refreshed_at_ms INTEGER\n", "  expires_at INTEGER\n")
    state = make_store(tmp_path, sql=sql)
    failed, result, calls, _w = oc_run(run, store_args(state, request_id=OC_REQ), [
        ok(fixture_text("openclaw_devices_list.json")),
        ok(fixture_text("openclaw_devices_approve.json")),
    ], store="run")
    assert not failed, result["msg"]
    assert [c["argv"][3:5] for c in calls] == [["devices", "list"], ["devices", "approve"]]
    assert result["listed_from"] == "cli" and result["cli_calls"] == 2
    assert "device_pairing_pending has no column refreshed_at_ms" in result["store_unavailable"]


def test_openclaw_missing_store_falls_back_to_the_cli(run, tmp_path):
    failed, result, calls, _w = oc_run(run, store_args(str(tmp_path / "nowhere"), request_id=OC_REQ), [
        ok(fixture_text("openclaw_devices_list.json")),
        ok(fixture_text("openclaw_devices_approve.json")),
    ], store="run")
    assert not failed and result["listed_from"] == "cli" and "unable to open database file" in result["store_unavailable"]
    assert not os.path.exists(str(tmp_path / "nowhere"))  # read-only: nothing was created


def test_list_from_cli_and_remote_gateways_and_clawdbot_never_read_the_store(run, tmp_path):
    state = make_store(tmp_path)
    for args, binary_name in ((store_args(state, request_id=OC_REQ, list_from="cli"), "openclaw"),
                              (store_args(state, request_id=OC_REQ, gateway_url="ws://10.0.0.9:18789"), "openclaw")):
        failed, result, calls, _w = oc_run(run, args, [
            ok(fixture_text("openclaw_devices_list.json")),
            ok(fixture_text("openclaw_devices_approve.json")),
        ], store="run")
        assert not failed and result["listed_from"] == "cli" and run.store_calls == [], args
    failed, result, calls, _w = run(dp, dict(profile="personal", all_matching=True), [ok('{"pending":[],"paired":[]}')],
                                    binary_name="clawdbot", store="run")
    assert not failed and run.store_calls == [] and result["listed_from"] == "cli"


def test_store_reader_runs_as_the_gateway_user_when_root(monkeypatch, tmp_path):
    """As root for another user the reader goes through runuser (files SQLite creates belong to the user): the
    CLI runner's own run_as_user, with a fake run_command."""
    seen = []

    def fake(cmd, **kwargs):
        seen.append(cmd)
        return 3, '{"unavailable": "no table device_pairing_pending"}', ""

    class Cli(object):
        run_as_user = ClawdbotCLI.run_as_user
        module = type("Module", (object,), {"run_command": staticmethod(fake)})()
        flavour = "openclaw"
        gateway_url = None
        home = str(tmp_path)
        needs_switch = True
        extra_env = {"OPENCLAW_STATE_DIR": str(tmp_path / "s")}
        state_dir = str(tmp_path / "s")
        profile = "personal"

        class pw(object):
            pw_name = "user"

    listing, why = cp.read_device_store(Cli(), "/usr/bin/python3", OC_NOW)
    assert listing is None and why == "%s/s/state/openclaw.sqlite: no table device_pairing_pending" % tmp_path
    assert seen[0][:6] == ["runuser", "-u", "user", "--", "/usr/bin/python3", "-c"]
