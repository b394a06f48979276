"""The tailscale CLI test double against the real CLI (issue T, item 3): the same calls, on the same host, against the
real tailscaled (logged in to the scenario's headscale) and against the double given the same node state; the exit
codes, the JSON and the error texts the tailscale_serve module reads must be the same. The double stays in the
collection only where no offline control server can stand in (docs/testing.md, "The tailscale CLI test double"):
the clawdbot scenario, make ssh-check and the module's unit tests use it, so a difference found here is a wrong unit
test there.
"""
import json
import os
import subprocess
import sys

import pytest
from helpers import GATEWAY, GATEWAY_HOSTS, GATEWAY_USER, REPO, run_playbook

sys.path.insert(0, os.path.join(REPO, ".ansible", "collections"))
from ansible_collections.homelab.clawdbot.plugins.modules import tailscale_serve as ts  # noqa: E402 (its parsers)

testinfra_hosts = GATEWAY_HOSTS

DOUBLE = "/usr/local/libexec/tailscale-double"
STATE = "/var/lib/tailscale-contract/state.json"
KEY_FILE = os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ""), "tailnet-auth-key")
LOGIN_SERVER = "https://headscale"


def cli(host, which, args, user="root"):
    """(rc, stdout, stderr) of `tailscale ARGS` as USER: the real CLI or the double on its own state file."""
    exe = "/usr/bin/tailscale" if which == "real" else "env TAILSCALE_DOUBLE_STATE=%s %s" % (STATE, DOUBLE)
    cmd = "%s %s" % (exe, " ".join("'%s'" % a for a in args))
    if user != "root":
        cmd = "runuser -u %s -- %s" % (user, cmd)
    out = host.run("LC_ALL=C " + cmd)
    return out.rc, out.stdout, out.stderr


def double(host, *args):
    out = host.run("TAILSCALE_DOUBLE_STATE=%s %s __double %s" % (STATE, DOUBLE, " ".join("'%s'" % a for a in args)))
    assert out.rc == 0, out.stderr


def real_status(host):
    return json.loads(cli(host, "real", ["status", "--json"])[1])


@pytest.fixture(scope="module")
def node(host):
    """The double, installed beside the real CLI and given the real node's state (name, tailnet, operator, control
    server, serve config, userspace mode, the https capability without certificate domains)."""
    subprocess.run(["docker", "cp", os.path.join(REPO, "tests/doubles/tailscale/tailscale"), "%s:%s" % (GATEWAY, DOUBLE)],
                   check=True)
    assert host.run("mkdir -p %s && chmod 0755 %s" % (os.path.dirname(STATE), DOUBLE)).rc == 0
    status = real_status(host)
    prefs = json.loads(cli(host, "real", ["debug", "prefs"])[1])
    dns = status["Self"]["DNSName"].rstrip(".")
    double(host, "init", "--hostname=%s" % dns.split(".")[0], "--tailnet=%s" % dns.split(".", 1)[1])
    double(host, "set-state", "operator", json.dumps(prefs.get("OperatorUser") or None))
    double(host, "set-state", "control_url", json.dumps(prefs["ControlURL"]))
    double(host, "set-state", "serve_config", cli(host, "real", ["serve", "status", "--json"])[1])
    double(host, "set-state", "tun", json.dumps(status["TUN"]))
    double(host, "set-state", "cert_domains", json.dumps(bool(status.get("CertDomains"))))
    serve = cli(host, "real", ["serve", "status", "--json"])[1]
    yield status
    host.run("rm -rf %s %s" % (os.path.dirname(STATE), DOUBLE))
    # what the later suites expect: the node logged in, with the role's handlers (a logout may drop them)
    if real_status(host)["BackendState"] != "Running" or cli(host, "real", ["serve", "status", "--json"])[1] != serve:
        rc, out = run_playbook("playbooks/site.yml")
        assert rc == 0, out[-4000:]


def both(host, args, user="root"):
    return {which: cli(host, which, args, user) for which in ("real", "double")}


def status_view(out):
    """What the module reads of `status --json`."""
    s = json.loads(out)
    me = s.get("Self") or {}
    return {"BackendState": s.get("BackendState"), "TUN": s.get("TUN"), "DNSName": me.get("DNSName"),
            "https": "https" in (me.get("CapMap") or {}), "CertDomains": bool(s.get("CertDomains"))}


def test_status(host, node):
    got = both(host, ["status", "--json"])
    assert {k: (v[0], status_view(v[1])) for k, v in got.items()} == \
        {"real": (0, status_view(got["real"][1])), "double": (0, status_view(got["real"][1]))}, got["double"][1][:2000]


def test_debug_prefs(host, node):
    got = {k: (v[0], {f: json.loads(v[1]).get(f) for f in ("OperatorUser", "ControlURL", "RouteAll", "Hostname")})
           for k, v in both(host, ["debug", "prefs"]).items()}
    assert got["double"] == got["real"]


def test_serve_status(host, node):
    got = {k: (v[0], json.loads(v[1])) for k, v in both(host, ["serve", "status", "--json"]).items()}
    assert got["double"] == got["real"]


def test_serve_write_and_off_as_the_operator(host, node):
    """The module's write (`serve --bg --yes --https=P target`, 'Serve started' on stdout) and removal."""
    args = ["serve", "--bg", "--yes", "--https=9443", "18789"]
    try:
        got = both(host, args, user=GATEWAY_USER)
        after = {k: json.loads(cli(host, k, ["serve", "status", "--json"])[1]) for k in ("real", "double")}
    finally:
        off = both(host, ["serve", "--https=9443", "off"], user=GATEWAY_USER)
    assert [got[k][0] for k in got] == [0, 0], got
    assert ["Serve started" in got[k][1] for k in got] == [True, True], got
    assert after["double"] == after["real"]
    assert [off[k][0] for k in off] == [0, 0], off


def test_serve_write_by_another_user_is_denied(host, node):
    got = both(host, ["serve", "--bg", "--yes", "--https=9443", "18789"], user="nobody")
    assert got["double"][0] == got["real"][0] == 1, got
    assert got["double"][2].splitlines()[:1] == got["real"][2].splitlines()[:1], got


def test_up_must_repeat_every_non_default_flag(host, node):
    """`up` with a setting but without the node's other non-default ones is refused before anything changes; the
    module repeats what the CLI names (repeated_flags)."""
    args = ["up", "--hostname=%s" % node["Self"]["HostName"], "--timeout=5s"]
    got = both(host, args)
    assert got["double"][0] == got["real"][0] == 1, got
    flags = {k: sorted(ts.repeated_flags(v[2] or v[1]) or []) for k, v in got.items()}
    assert flags["double"] == flags["real"] and "--login-server=%s" % LOGIN_SERVER in flags["real"], got


def test_logged_out(host, node):
    """logout, then what the module reads and a serve write on a node without a netmap; then the login again."""
    assert cli(host, "real", ["logout"])[0] == 0
    assert cli(host, "double", ["logout"])[0] == 0
    try:
        views = {k: status_view(v[1]) for k, v in both(host, ["status", "--json"]).items()}
        prefs = {k: {f: json.loads(v[1]).get(f) for f in ("OperatorUser", "ControlURL")}
                 for k, v in both(host, ["debug", "prefs"]).items()}
        serve = {k: json.loads(v[1]) for k, v in both(host, ["serve", "status", "--json"]).items()}
        write = both(host, ["serve", "--bg", "--yes", "--https=9443", "18789"])
    finally:
        key = "--auth-key=file:/root/contract-key"
        subprocess.run(["docker", "cp", KEY_FILE, "%s:/root/contract-key" % GATEWAY], check=True)
        login = both(host, ["up", key, "--login-server=%s" % LOGIN_SERVER, "--operator=%s" % GATEWAY_USER,
                            "--timeout=60s"])
        host.run("rm -f /root/contract-key")
    assert views["double"] == views["real"]
    assert prefs["double"] == prefs["real"]
    assert serve["double"] == serve["real"]
    assert write["double"][0] == write["real"][0] != 0, write
    assert write["double"][2].splitlines()[:1] == write["real"][2].splitlines()[:1], write
    assert [login[k][0] for k in login] == [0, 0], login
    assert real_status(host)["BackendState"] == "Running"
    # the login profile went with the logout: no operator but the one the login named, and no handlers
    again = {k: (json.loads(cli(host, k, ["serve", "status", "--json"])[1]),
                 json.loads(cli(host, k, ["debug", "prefs"])[1]).get("OperatorUser")) for k in ("real", "double")}
    assert again["double"] == again["real"] == ({}, GATEWAY_USER), again


def test_daemon_down(host, node):
    assert host.run("systemctl stop tailscaled").rc == 0
    double(host, "set-state", "daemon_running", "false")
    try:
        calls = (["status", "--json"], ["serve", "status", "--json"], ["debug", "prefs"])
        got = {args[0]: both(host, args) for args in calls}
    finally:
        assert host.run("systemctl start tailscaled").rc == 0
        double(host, "set-state", "daemon_running", "true")
    for verb, res in got.items():
        assert res["double"][0] == res["real"][0] != 0, (verb, res)
        firsts = {k: ((v[2] or v[1]).strip().splitlines() or [""])[0] for k, v in res.items()}
        assert ["failed to connect" in f.lower() for f in firsts.values()] == [True, True], (verb, firsts)
