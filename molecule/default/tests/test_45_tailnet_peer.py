"""What a second node of the tailnet reaches on vm102 without Serve (issue T, item 4), measured with a real peer.

vm102's tailscaled runs in userspace-networking mode (a container has no /dev/net/tun). In that mode tailscaled hands a
peer's TCP connection to vm102's tailnet IP, on a port Serve does not handle, to 127.0.0.1 on the same port
(tailscale wgengine/netstack/netstack.go, acceptTCP). The peer is the scenario's tailpeer: real tailscaled, logged in
to the scenario's headscale, with a SOCKS5 proxy; the test's client (molecule/shared/tests/gateway_ws.py) speaks the
gateway's HTTP and WebSocket protocol through it, as any program on a tailnet machine could.

Measured:
- a connection: the peer reaches the loopback-bound gateway at <vm102 tailnet IP>:18789, past Serve;
- a forged identity header (Tailscale-User-Login without the token) is not believed (tailscale mode off);
- a device pairing approved without the owner: a new device that holds the token is paired by the gateway itself
  when it comes past Serve and autoApproveLocal is on, while the same device with the headers Serve adds (what the
  gateway sees of a connection through Serve) waits for approval.
The collection's answer (the tailscale_serve preflight): a userspace-mode daemon in front of a served profile that
auto-approves local devices is refused, naming profiles_auto_approve_local; with it false, the peer's device waits
for approval as it would through Serve. This scenario accepts the bypass (tailscale_serve_allow_userspace_bypass) so
that the other suites keep upstream's default, and the tests here turn it off.
"""
import json
import subprocess

import pytest
from gateway_ws import Refused, WebSocket, connect_new_device, http_get, socks5
from helpers import GATEWAY_HOSTS, recap, run_playbook, snapshot_diff
from oc import cli, cli_json, read_config, snapshot, start_times

testinfra_hosts = GATEWAY_HOSTS

SITE = "playbooks/site.yml"
PEER = "tailpeer"
PORT = 18789
STRICT = {"tailscale_serve_allow_userspace_bypass": False, "profiles_auto_approve_local": False}


@pytest.fixture(scope="module")
def peer(host):
    """(SOCKS5 proxy of the peer, vm102's tailnet IPv4, vm102's tailnet IPv4 of the peer itself)."""
    ip = subprocess.run(["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", PEER],
                        stdout=subprocess.PIPE, text=True, check=True).stdout.strip()
    target = host.run("tailscale ip -4").stdout.strip()
    me = subprocess.run(["docker", "exec", PEER, "tailscale", "ip", "-4"], stdout=subprocess.PIPE, text=True,
                        check=True).stdout.strip()
    assert target.startswith("100.") and me.startswith("100."), (target, me)
    return (ip, 1055), target, me


def pending_ids(host):
    out, listed = cli_json(host, "personal", "devices", "list", "--json")
    assert out.rc == 0 and listed is not None, out.stdout[-2000:] + out.stderr[-2000:]
    return [p["requestId"] for p in listed["pending"]]


@pytest.fixture(scope="module")
def pending(host):
    """The requests pending before this suite; those the peer's devices add are rejected at the end, so that the
    pairing suites after this one find only their own."""
    before = pending_ids(host)
    yield before
    for request_id in set(pending_ids(host)) - set(before):
        cli(host, "personal", "devices", "reject", request_id)  # (one may expire meanwhile: checked below)
    assert set(pending_ids(host)) - set(before) == set()


def waits_for_approval(res):
    return res["ok"] is False and res["error"]["details"].get("code") == "PAIRING_REQUIRED"


def gateway_ws(peer, headers=None):
    proxy, target, _me = peer
    return WebSocket(socks5(proxy, target, PORT), "%s:%d" % (target, PORT), headers=headers)


def serve_headers(peer):
    """What Tailscale Serve adds when it proxies a peer's request (ipn/ipnlocal/serve.go, addTailscaleIdentityHeaders)."""
    _proxy, target, me = peer
    return {"X-Forwarded-For": me, "X-Forwarded-Proto": "https", "X-Forwarded-Host": "vm102",
            "Tailscale-User-Login": "tagged-devices", "Tailscale-User-Name": "tagged-devices"}


def token(host):
    return read_config(host, "personal")["gateway"]["auth"]["token"]


def test_the_daemon_is_in_userspace_mode(host):
    status = json.loads(host.run("tailscale status --json").stdout)
    assert status["TUN"] is False and status["BackendState"] == "Running"


def test_a_peer_reaches_the_loopback_gateway_past_serve(host, peer):
    proxy, target, _me = peer
    # Serve handles 443 and 8443 only; nothing listens on the tailnet IP at 18789 but netstack's loopback forward
    status, head, _body = http_get(socks5(proxy, target, PORT), "%s:%d" % (target, PORT), "/healthz")
    assert status == 200, head
    assert host.run("ss -Hltn 'sport = :%d'" % PORT).stdout.count("127.0.0.1:%d" % PORT) == 1


def test_a_forged_identity_header_is_not_believed(host, peer):
    """Tailscale-User-Login past Serve, without the token: the gateway refuses the connection itself."""
    with pytest.raises(Refused) as refused:
        gateway_ws(peer, headers={"Tailscale-User-Login": "owner@example.com", "Tailscale-User-Name": "Owner"})
    assert refused.value.status == 403, refused.value


def test_a_token_holding_peer_is_paired_silently_past_serve_but_not_through_serve(host, peer, pending):
    """Upstream's default (autoApproveLocal on), the bypass accepted: what the fix below takes away."""
    assert read_config(host, "personal")["gateway"]["nodes"]["pairing"]["autoApproveLocal"] is True
    _device, res = connect_new_device(gateway_ws(peer), token(host))
    assert res["ok"] is True and res["payload"]["type"] == "hello-ok", res
    _device, res = connect_new_device(gateway_ws(peer, headers=serve_headers(peer)), token(host))
    assert waits_for_approval(res), res


def test_the_preflight_refuses_the_bypass_naming_what_to_set(host):
    before = (snapshot(host), start_times(host))
    rc, out = run_playbook(SITE, "-e", json.dumps({"tailscale_serve_allow_userspace_bypass": False}))
    after = (snapshot(host), start_times(host))
    flat = " ".join(out.split())
    assert rc != 0
    assert "userspace-networking mode" in flat and "profiles_auto_approve_local: false" in flat, out[-3000:]
    assert "personal (127.0.0.1:18789), ops (127.0.0.1:18790)" in flat, out[-3000:]
    assert "Provision the gateway host" not in out
    assert after == before, snapshot_diff(before[0], after[0])


@pytest.fixture
def strict(host):
    rc, out = run_playbook(SITE, "-e", json.dumps(STRICT))
    assert rc == 0, out[-4000:]
    yield out
    rc, out = run_playbook(SITE)
    assert rc == 0, out[-4000:]


def test_with_the_fix_a_peer_past_serve_gets_what_it_gets_through_serve(host, peer, strict, pending):
    assert recap(strict)["failed"] == 0
    assert read_config(host, "personal")["gateway"]["nodes"]["pairing"]["autoApproveLocal"] is False
    known = pending_ids(host)
    for headers in (None, serve_headers(peer)):
        _device, res = connect_new_device(gateway_ws(peer, headers=headers), token(host),
                                          client_id="openclaw-tui")
        assert waits_for_approval(res), (headers, res)
    # the two devices wait for the owner; the CLI on the host, which lists them, is not affected (it sends no
    # device identity with the token on loopback)
    assert len(set(pending_ids(host)) - set(known)) == 2
