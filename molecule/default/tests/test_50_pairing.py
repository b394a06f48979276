"""Device and DM pairing on openclaw with real pending requests.

Device pairing (contract 4.4): local devices are approved silently unless gateway.nodes.pairing.autoApproveLocal
is false, so the gateways are re-converged with profiles_auto_approve_local=false (hot-reloaded: no restart) and
the real `openclaw tui` is run with a fresh state dir (a new device identity) on a pty against the loopback port.
DM pairing (contract 5): a pending Telegram request is seeded the way upstream migrates one (the legacy JSON
store imported by `doctor --fix` on the stopped gateway), then approved by the playbook through the real CLI.
"""
import json
import time

import pytest
from helpers import GATEWAY_HOSTS, GATEWAY_USER, PROFILES, recap, run_module, run_playbook
from oc import cli_json, read_config, seed_dm_request, start_times, start_tui

testinfra_hosts = GATEWAY_HOSTS

SITE = "playbooks/site.yml"
APPROVE = "playbooks/approve-pairing.yml"
TUI = "openclaw-tui"


@pytest.fixture(scope="module")
def strict(host):
    before = start_times(host)
    rc, out = run_playbook(SITE, "-e", json.dumps({"profiles_auto_approve_local": False}))
    assert rc == 0, out[-4000:]
    yield before
    host.run("pkill -f 'openclaw.mjs tui' ; pkill -f 'openclaw tui'")
    rc, out = run_playbook(SITE)
    assert rc == 0, out[-4000:]


def pending(profile):
    info = run_module("homelab.clawdbot.device_pairing_info", {"profile": profile, "user": GATEWAY_USER})
    assert not info.get("failed"), info
    return info


def new_request(host, profile, known):
    """Start a TUI and return its pending request (the one that was not pending before)."""
    start_tui(host, profile)
    for _attempt in range(45):
        fresh = [p for p in pending(profile)["pending"] if p["requestId"] not in known and p["clientId"] == TUI]
        if fresh:
            assert len(fresh) == 1, fresh
            return fresh[0]
        time.sleep(2)
    raise AssertionError("the TUI did not create a pending request on %s" % profile)


def test_auto_approve_local_off_is_hot_reloaded_without_a_restart(host, strict):
    for profile in PROFILES:
        assert read_config(host, profile)["gateway"]["nodes"]["pairing"]["autoApproveLocal"] is False
    assert start_times(host) == strict


SAME = ("requestId", "deviceId", "clientId", "clientMode", "platform", "deviceFamily", "role", "scopes", "remoteIp",
        "displayName", "isRepair")


def test_playbook_approves_the_one_pending_tui(host, strict):
    known = [p["requestId"] for p in pending("personal")["pending"]]
    req = new_request(host, "personal", known)
    # device_pairing lists from the gateway's SQLite store (read-only, as the user): no CLI call in check mode, and
    # the same pending requests and paired devices as the CLI's `devices list --json` (device_pairing_info)
    check = run_module("homelab.clawdbot.device_pairing", {"profile": "personal", "user": GATEWAY_USER,
                                                           "client_id": TUI}, check=True)
    assert check["listed_from"] == "store" and check["cli_calls"] == 0 and "store_unavailable" not in check, check
    assert check["changed"] is True and [a["requestId"] for a in check["approved"]] == [req["requestId"]], check
    # (a selector that matches nothing, with all_matching: the whole list as read, unchanged)
    listed = run_module("homelab.clawdbot.device_pairing", {"profile": "personal", "user": GATEWAY_USER,
                                                            "client_id": "matches-nothing", "all_matching": True})
    info = pending("personal")
    assert listed["listed_from"] == "store" and listed["changed"] is False and listed["cli_calls"] == 0, listed
    assert req["requestId"] in [p["requestId"] for p in listed["pending"]]
    assert [{k: p[k] for k in SAME} for p in listed["pending"]] == [{k: p[k] for k in SAME} for p in info["pending"]]
    assert sorted((p["deviceId"], p["approvedAtMs"], p["tokenCount"]) for p in listed["paired"]) == \
        sorted((p["deviceId"], p["approvedAtMs"], p["tokenCount"]) for p in info["paired"])
    started = time.monotonic()
    rc, out = run_playbook(APPROVE, "-e", "profile=personal", "-e", "client_id=" + TUI)
    print("approve-pairing.yml for one pending request: %.1f s" % (time.monotonic() - started))
    assert rc == 0, out[-4000:]
    assert recap(out)["changed"] == 1 and req["requestId"] in out
    info = pending("personal")
    assert req["deviceId"] in [p["deviceId"] for p in info["paired"]]
    assert req["requestId"] not in [p["requestId"] for p in info["pending"]]


def test_playbook_refuses_to_guess_then_approve_all(host, strict):
    known = [p["requestId"] for p in pending("ops")["pending"]]
    first = new_request(host, "ops", known)
    second = new_request(host, "ops", known + [first["requestId"]])
    rc, out = run_playbook(APPROVE, "-e", "profile=ops", "-e", "client_id=" + TUI)
    flat = " ".join(out.split())
    assert rc != 0 and recap(out)["changed"] == 0, out[-4000:]
    assert first["requestId"] in flat and second["requestId"] in flat and "-e approve_all=true" in flat
    paired = [p["deviceId"] for p in pending("ops")["paired"]]
    assert first["deviceId"] not in paired and second["deviceId"] not in paired
    rc, out = run_playbook(APPROVE, "-e", "profile=ops", "-e", "client_id=" + TUI, "-e", "approve_all=true")
    assert rc == 0, out[-4000:]
    paired = [p["deviceId"] for p in pending("ops")["paired"]]
    assert first["deviceId"] in paired and second["deviceId"] in paired


def test_unknown_request_id_fails_with_guidance(host, strict):
    res = run_module("homelab.clawdbot.device_pairing", {"profile": "personal", "user": GATEWAY_USER,
                                                         "request_id": "00000000-0000-4000-8000-000000000000"})
    assert res.get("failed") is True and "    at " not in res["msg"], res


def test_nothing_pending_is_reported_and_succeeds(host, strict):
    rc, out = run_playbook(APPROVE, "-e", "profile=personal", "-e", "client_id=" + TUI)
    assert rc == 0, out[-4000:]
    assert recap(out)["changed"] == 0
    assert "nothing to approve" in " ".join(out.split()), out[-4000:]


def test_dm_code_approved_by_playbook_through_the_cli(host):
    seed_dm_request(host, "personal", "ABCD2345", "123456789")
    rc, out = run_playbook(APPROVE, "-e", "profile=personal", "-e", "channel=telegram", "-e", "code=abcd2345")
    assert rc == 0, out[-4000:]
    assert recap(out)["changed"] == 1
    out, doc = cli_json(host, "personal", "pairing", "list", "telegram", "--json")
    assert doc["requests"] == [], out.stdout
    # the role set commands.ownerAllowFrom, so the approval did not write the config
    assert read_config(host, "personal")["commands"]["ownerAllowFrom"] == ["telegram:42"]


def test_dm_unknown_code_fails_clearly(host):
    rc, out = run_playbook(APPROVE, "-e", "profile=personal", "-e", "channel=telegram", "-e", "code=ZZZZ9999")
    assert rc != 0
    assert "ZZZZ9999" in out and "    at " not in out, out[-3000:]
