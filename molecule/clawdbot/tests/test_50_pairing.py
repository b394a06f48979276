"""Device and DM pairing with real pending requests: the real clawdbot CLI as a remote client.

Recipe (contract 4.4): the gateways are re-converged with bind=lan and explicit tokens, and the real CLI is run
with a fresh HOME (a new device identity) against the container's own non-loopback address, which makes the
gateway create a pending pairing request exactly as a browser on another machine would.
"""
import json
import time

import pytest
from helpers import (GATEWAY_HOSTS, GATEWAY_USER, device_id, fresh_home, read_config, recap, remote_cli, run_module, run_playbook,
                     user_cmd, write_dm_request)

testinfra_hosts = GATEWAY_HOSTS

TOKENS = {"personal": "personal-pairing-test-token-0001", "ops": "ops-pairing-test-token-000000002"}
PORTS = {"personal": 18789, "ops": 18790}


@pytest.fixture(scope="module")
def lan(host):
    profiles = [{"name": p, "port": PORTS[p], "bind": "lan", "token": TOKENS[p]} for p in ("personal", "ops")]
    rc, out = run_playbook("playbooks/site.yml", "-e", json.dumps({"clawdbot_profiles": profiles, "clawdbot_tailscale_serve": False}))
    assert rc == 0, out[-4000:]
    yield host.run("hostname -I").stdout.split()[0]
    # back to the scenario's loopback layout for the suites that follow
    rc, out = run_playbook("playbooks/site.yml")
    assert rc == 0, out[-4000:]


def client(host, ip, profile, home):
    """The real CLI as a remote device: fresh HOME = fresh device identity; returns the command result."""
    return remote_cli(host, home, "ws://%s:%d" % (ip, PORTS[profile]), TOKENS[profile], "devices", "list", "--json")


def pending_request(host, ip, profile, home):
    """Make the client ask for pairing; return its pending request (found by the client's own device id)."""
    res = client(host, ip, profile, home)
    assert res.rc == 1 and "pairing required" in res.stderr, res.stderr[-2000:]
    device = device_id(host, home)
    info = run_module("homelab.clawdbot.device_pairing_info", {"profile": profile, "user": GATEWAY_USER})
    assert not info.get("failed"), info
    mine = [p for p in info["pending"] if p["deviceId"] == device]
    assert len(mine) == 1 and mine[0]["remoteIp"] == ip and mine[0]["clientId"] == "cli", info["pending"]
    return mine[0]


def approve(**args):
    args.setdefault("user", GATEWAY_USER)
    return run_module("homelab.clawdbot.device_pairing", args)


def pending_ids(profile):
    info = run_module("homelab.clawdbot.device_pairing_info", {"profile": profile, "user": GATEWAY_USER})
    assert not info.get("failed"), info
    return [p["requestId"] for p in info["pending"]], [p["deviceId"] for p in info["paired"]]


def clear_pending(profile):
    """Reject what earlier tests left pending (e.g. test_reject's new request), so the playbook counts only ours."""
    res = approve(profile=profile, state="rejected", all_matching=True)
    assert not res.get("failed"), res
    assert pending_ids(profile)[0] == []


def test_approve_by_selector_then_client_works_and_rerun_is_ok(host, lan):
    pc1 = fresh_home("pc1")
    req = pending_request(host, lan, "personal", pc1)
    res = approve(profile="personal", client_id="cli", remote_ip=lan, newest=True)
    assert res["changed"] is True and [a["requestId"] for a in res["approved"]] == [req["requestId"]], res
    assert res["cli_calls"] == 2
    assert client(host, lan, "personal", pc1).rc == 0
    again = approve(profile="personal", client_id="cli", remote_ip=lan, device_id=req["deviceId"])
    assert again["changed"] is False and not again.get("failed"), again


def test_approve_by_request_id_check_mode_and_diff(host, lan):
    pc2 = fresh_home("pc2")
    req = pending_request(host, lan, "personal", pc2)
    args = {"profile": "personal", "user": GATEWAY_USER, "request_id": req["requestId"]}
    dry = run_module("homelab.clawdbot.device_pairing", args, check=True)
    assert dry["changed"] is True and dry["cli_calls"] == 1
    still = run_module("homelab.clawdbot.device_pairing_info", {"profile": "personal", "user": GATEWAY_USER})
    assert req["requestId"] in [p["requestId"] for p in still["pending"]]
    res = approve(profile="personal", request_id=req["requestId"])
    assert res["changed"] is True
    assert client(host, lan, "personal", pc2).rc == 0
    paired = run_module("homelab.clawdbot.device_pairing_info", {"profile": "personal", "user": GATEWAY_USER})["paired"]
    assert req["deviceId"] in [p["deviceId"] for p in paired]


def test_reject(host, lan):
    pc3 = fresh_home("pc3")
    req = pending_request(host, lan, "personal", pc3)
    res = approve(profile="personal", request_id=req["requestId"], state="rejected")
    assert res["changed"] is True and res["rejected"][0]["requestId"] == req["requestId"]
    assert client(host, lan, "personal", pc3).rc == 1  # still not paired: a new request


def test_unknown_request_id_gives_guidance_not_a_stack(host, lan):
    res = approve(profile="personal", request_id="00000000-0000-4000-8000-000000000000")
    assert res.get("failed") is True
    assert "reload the Control UI" in res["msg"] and "5 minutes" in res["msg"]
    assert "    at " not in res["msg"]


def test_gateway_down_names_profile_and_port(host, lan):
    assert user_cmd(host, "systemctl --user stop clawdbot-gateway-ops.service").rc == 0
    try:
        res = run_module("homelab.clawdbot.device_pairing_info", {"profile": "ops", "user": GATEWAY_USER, "port": 18790})
        assert res.get("failed") is True
        assert "ops" in res["msg"] and "18790" in res["msg"], res["msg"]
    finally:
        user_cmd(host, "systemctl --user start clawdbot-gateway-ops.service")
    for _attempt in range(40):
        if user_cmd(host, "/home/user/.clawdbot/bin/clawdbot --profile ops gateway health --json").rc == 0:
            break
        time.sleep(2)


def test_playbook_approves_one_profile_and_leaves_the_other(host, lan):
    clear_pending("personal")
    pc4, pc5 = fresh_home("pc4"), fresh_home("pc5")
    mine = pending_request(host, lan, "personal", pc4)
    other = pending_request(host, lan, "ops", pc5)
    started = time.monotonic()
    rc, out = run_playbook("playbooks/approve-pairing.yml", "-e", "profile=personal", "-e", "client_id=cli")
    elapsed = time.monotonic() - started
    assert rc == 0, out[-4000:]
    assert recap(out)["changed"] == 1
    assert mine["requestId"] in out and "reload the browser" in out
    print("approve-pairing.yml for one pending request: %.1f s" % elapsed)
    assert client(host, lan, "personal", pc4).rc == 0
    ops = run_module("homelab.clawdbot.device_pairing_info", {"profile": "ops", "user": GATEWAY_USER})
    assert other["requestId"] in [p["requestId"] for p in ops["pending"]]


APPROVE = "playbooks/approve-pairing.yml"


def test_playbook_refuses_to_guess_between_two_requests_then_approves_by_id(host, lan):
    """Two devices ask at once (any tailnet device can open the UI): the playbook approves neither and lists both;
    -e request_id=<one> approves exactly that one."""
    clear_pending("personal")
    homes = fresh_home("pc6"), fresh_home("pc7")
    first = pending_request(host, lan, "personal", homes[0])
    second = pending_request(host, lan, "personal", homes[1])
    rc, out = run_playbook(APPROVE, "-e", "profile=personal", "-e", "client_id=cli")
    flat = " ".join(out.split())
    assert rc != 0, out[-4000:]
    assert recap(out)["changed"] == 0
    for req in (first, second):
        assert req["requestId"] in flat, out[-4000:]
    assert "-e request_id=<id>" in flat and "-e approve_all=true" in flat, out[-4000:]
    assert "clientId cli, from %s," % lan in flat and " s ago)" in flat, out[-4000:]
    pending, paired = pending_ids("personal")
    assert first["requestId"] in pending and second["requestId"] in pending
    assert first["deviceId"] not in paired and second["deviceId"] not in paired

    rc, out = run_playbook(APPROVE, "-e", "profile=personal", "-e", "request_id=" + first["requestId"])
    assert rc == 0, out[-4000:]
    assert recap(out)["changed"] == 1
    pending, paired = pending_ids("personal")
    assert first["requestId"] not in pending and first["deviceId"] in paired
    assert second["requestId"] in pending and second["deviceId"] not in paired
    assert client(host, lan, "personal", homes[0]).rc == 0


def test_playbook_approve_all_approves_every_match(host, lan):
    clear_pending("personal")
    homes = fresh_home("pc8"), fresh_home("pc9")
    reqs = [pending_request(host, lan, "personal", h) for h in homes]
    rc, out = run_playbook(APPROVE, "-e", "profile=personal", "-e", "client_id=cli", "-e", "approve_all=true")
    assert rc == 0, out[-4000:]
    pending, paired = pending_ids("personal")
    for req in reqs:
        assert req["requestId"] in out
        assert req["requestId"] not in pending and req["deviceId"] in paired
    for home in homes:
        assert client(host, lan, "personal", home).rc == 0


def test_playbook_with_nothing_pending_reports_it_and_succeeds(host, lan):
    clear_pending("personal")
    rc, out = run_playbook(APPROVE, "-e", "profile=personal", "-e", "client_id=cli")
    assert rc == 0, out[-4000:]
    assert recap(out)["changed"] == 0
    assert "nothing to approve: no pending request matches client_id=cli" in " ".join(out.split()), out[-4000:]


def test_dm_pairing_code_approved_by_playbook(host, lan):
    write_dm_request(host, "personal", "ABCD2345", "123456789")
    rc, out = run_playbook("playbooks/approve-pairing.yml", "-e", "profile=personal", "-e", "channel=telegram",
                           "-e", "code=abcd2345")
    assert rc == 0, out[-4000:]
    allow = json.loads(host.file("/home/user/.clawdbot-personal/credentials/telegram-allowFrom.json").content_string)
    assert "123456789" in allow["allowFrom"]
    assert read_config(host, "personal")["channels"]["telegram"]["dmPolicy"] == "pairing"


def test_dm_unknown_code_fails_clearly(host, lan):
    rc, out = run_playbook("playbooks/approve-pairing.yml", "-e", "profile=personal", "-e", "channel=telegram",
                           "-e", "code=ZZZZ9999")
    assert rc != 0
    assert "no pending telegram pairing request for code ZZZZ9999" in " ".join(out.split()), out[-3000:]
