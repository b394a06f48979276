"""Tailscale Serve via the role, against the tailscale CLI test double (tests/doubles/tailscale)."""
import json

import pytest
from helpers import GATEWAY_HOSTS, GATEWAY_USER, recap, run_playbook, snapshot

testinfra_hosts = GATEWAY_HOSTS

SITE = "playbooks/site.yml"
HOST = "vm102.tail1234ab.ts.net"
EXPECTED_SERVE = {
    "TCP": {"443": {"HTTPS": True}, "8443": {"HTTPS": True}},
    "Web": {
        HOST + ":443": {"Handlers": {"/": {"Proxy": "http://127.0.0.1:18789"}}},
        HOST + ":8443": {"Handlers": {"/": {"Proxy": "http://127.0.0.1:18790"}}},
    },
}


def serve_status(host):
    out = host.run("tailscale serve status --json")
    assert out.rc == 0, out.stderr
    return json.loads(out.stdout)


def double(host, *args):
    res = host.run("tailscale __double " + " ".join("'%s'" % a for a in args))
    assert res.rc == 0, res.stderr


def test_operator_is_the_gateway_user(host):
    prefs = json.loads(host.run("tailscale debug prefs").stdout)
    assert prefs["OperatorUser"] == GATEWAY_USER


def test_serve_has_exactly_the_two_profiles(host):
    assert serve_status(host) == EXPECTED_SERVE


def test_gateway_does_not_fight_the_role(host):
    """The gateway's own Tailscale integration is off, so it never rewrites or resets Serve."""
    for profile in ("personal", "ops"):
        cfg = json.loads(host.file("/home/user/.clawdbot-%s/clawdbot.json" % profile).content_string)
        assert cfg["gateway"]["tailscale"] == {"mode": "off", "resetOnExit": False}
        assert cfg["gateway"]["auth"]["allowTailscale"] is True


def test_foreign_handler_survives_and_urls_are_printed(host):
    res = host.run("tailscale serve --bg --yes --https=10000 http://127.0.0.1:3000")
    assert res.rc == 0, res.stderr
    rc, out = run_playbook(SITE)
    assert rc == 0, out[-4000:]
    assert recap(out)["changed"] == 0, out[-5000:]
    cfg = serve_status(host)
    assert cfg["Web"][HOST + ":10000"] == {"Handlers": {"/": {"Proxy": "http://127.0.0.1:3000"}}}
    assert "tailnet: https://%s/" % HOST in out and "tailnet: https://%s:8443/" % HOST in out


def test_unwanted_owned_handler_is_removed_foreign_kept(host):
    profiles = {"clawdbot_profiles": [{"name": "personal", "port": 18789}, {"name": "ops", "port": 18790, "serve": False}]}
    rc, out = run_playbook(SITE, "-e", json.dumps(profiles))
    assert rc == 0, out[-4000:]
    cfg = serve_status(host)
    assert sorted(cfg["TCP"]) == ["10000", "443"]
    # back to the default mapping
    rc, out = run_playbook(SITE)
    assert rc == 0, out[-4000:]
    cfg = serve_status(host)
    assert sorted(cfg["TCP"]) == ["10000", "443", "8443"]
    host.run("tailscale serve --https=10000 off")
    assert serve_status(host) == EXPECTED_SERVE


FAILURES = {
    "logged out": (("set-state", "backend_state", '"NeedsLogin"'), "Tailscale is not connected (BackendState=NeedsLogin)"),
    "daemon down": (("set-state", "daemon_running", "false"), "tailscaled is not reachable"),
    "binary missing": (None, "the tailscale CLI was not found"),
}


@pytest.mark.parametrize("case", sorted(FAILURES))
def test_tailscale_not_ready_fails_in_preflight_without_changes(host, case):
    setup, message = FAILURES[case]
    before = (snapshot(host), serve_status(host))
    if setup:
        double(host, *setup)
    else:
        assert host.run("mv /usr/local/bin/tailscale /usr/local/bin/tailscale.away").rc == 0
    try:
        rc, out = run_playbook(SITE)
    finally:
        if setup:
            double(host, "set-state", "backend_state", '"Running"')
            double(host, "set-state", "daemon_running", "true")
        else:
            host.run("mv /usr/local/bin/tailscale.away /usr/local/bin/tailscale")
    assert rc != 0
    assert message in " ".join(out.split()), out[-4000:]
    assert "Provision the Clawdbot gateway host" not in out
    assert (snapshot(host), serve_status(host)) == before
