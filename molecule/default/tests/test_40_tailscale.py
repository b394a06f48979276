"""Tailscale Serve in front of the openclaw gateways via the role, against the real tailscaled and CLI logged in to
the scenario's headscale (molecule/shared/tailnet.yml): the login with the auth key from a file, the operator,
exactly the two handlers, foreign handlers kept, and a node that is not ready or owned by someone else refused before
anything changes."""
import json
import os
import subprocess
import time

import pytest
from helpers import GATEWAY_HOSTS, GATEWAY_USER, recap, run_playbook, snapshot_diff
from oc import read_config, snapshot

testinfra_hosts = GATEWAY_HOSTS

SITE = "playbooks/site.yml"
HOST = "vm102.tailnet.homelab.test"
TG = {"bot_token": "123456789:AAtest-telegram-bot-token-personal-0001", "allow_from": ["42"]}
EXPECTED_SERVE = {
    "TCP": {"443": {"HTTPS": True}, "8443": {"HTTPS": True}},
    "Web": {
        HOST + ":443": {"Handlers": {"/": {"Proxy": "http://127.0.0.1:18789"}}},
        HOST + ":8443": {"Handlers": {"/": {"Proxy": "http://127.0.0.1:18790"}}},
    },
}
KEY_FILE = os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ""), "tailnet-auth-key")
# A shim in front of the real CLI that records every argv (what ps would have shown) and the mode of an
# --auth-key=file: file, then runs the real tailscale: the test's eyes, not a double.
RECORDER = "/usr/local/bin/tailscale-recorded"
ARGV_LOG = "/var/log/tailscale-argv.log"
RECORDER_SCRIPT = r"""#!/usr/bin/python3
import json, os, pwd, sys
entry = {"argv": sys.argv[1:], "user": pwd.getpwuid(os.geteuid()).pw_name}
for a in sys.argv[1:]:
    if a.startswith("--auth-key=file:"):
        st = os.stat(a[len("--auth-key=file:"):])
        entry["auth_key_file"] = {"mode": "%04o" % (st.st_mode & 0o7777), "uid": st.st_uid, "gid": st.st_gid}
with open("/var/log/tailscale-argv.log", "a") as f:
    f.write(json.dumps(entry) + "\n")
os.execv("/usr/bin/tailscale", ["tailscale"] + sys.argv[1:])
"""


def serve_status(host):
    out = host.run("tailscale serve status --json")
    assert out.rc == 0, out.stderr
    return json.loads(out.stdout)


def prefs(host):
    out = host.run("tailscale debug prefs")
    assert out.rc == 0, out.stderr
    return json.loads(out.stdout)


def backend_state(host):
    return json.loads(host.run("tailscale status --json").stdout)["BackendState"]


def restore_node(host):
    """What the later suites expect: tailscaled running and logged in, operator = the gateway user, the two
    handlers (the role puts back whatever differs)."""
    host.run("systemctl start tailscaled")
    host.run("test -x /usr/bin/tailscale || mv /usr/bin/tailscale.away /usr/bin/tailscale")
    if backend_state(host) != "Running" or prefs(host).get("OperatorUser") != GATEWAY_USER \
            or serve_status(host) != EXPECTED_SERVE:
        rc, out = run_playbook(SITE, "-e", "tailscale_serve_operator_replace=true")
        assert rc == 0, out[-4000:]
    assert serve_status(host) == EXPECTED_SERVE


@pytest.fixture
def argv_log(host):
    """Every tailscale argv the role runs through the recorder (tailscale_serve_binary); returns the entries."""
    host.run("rm -f %s" % ARGV_LOG)
    # (the role runs Serve as the operator: the log is writable for every account, a test-only file)
    assert host.run("cat > %s <<'EOF'\n%sEOF\nchmod 0755 %s && install -m 0666 /dev/null %s"
                    % (RECORDER, RECORDER_SCRIPT, RECORDER, ARGV_LOG)).rc == 0

    def read():
        f = host.file(ARGV_LOG)
        return [json.loads(line) for line in (f.content_string if f.exists else "").splitlines()]
    yield read
    host.run("rm -f %s %s" % (ARGV_LOG, RECORDER))
    restore_node(host)


def test_operator_is_the_gateway_user(host):
    assert prefs(host)["OperatorUser"] == GATEWAY_USER


def test_serve_has_exactly_the_two_profiles(host):
    assert serve_status(host) == EXPECTED_SERVE


def test_gateway_does_not_fight_the_role(host):
    """The gateway's own Tailscale integration is off, so it never rewrites or resets Serve; Serve's loopback proxy
    is trusted (on openclaw an externally managed Serve is trusted-proxy ingress, and allowTailscale gives no
    tokenless login: the Control UI still needs the token or a paired device, contract 2.1)."""
    for profile in ("personal", "ops"):
        gw = read_config(host, profile)["gateway"]
        # no resetOnExit: the key is retired in openclaw and never written (contract 2.1, 10.5)
        assert gw["tailscale"] == {"mode": "off"}
        assert gw["auth"]["allowTailscale"] is True
        # Serve proxies from 127.0.0.1; openclaw needs it as a trusted proxy (contract 2.1)
        assert gw["trustedProxies"] == ["127.0.0.1"]


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
    # personal keeps the scenario's Telegram, so only Serve changes (the clawdbot test dropped it for this run)
    profiles = {"clawdbot_profiles": [{"name": "personal", "port": 18789, "telegram": TG},
                                      {"name": "ops", "port": 18790, "serve": False}]}
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
    # the scenario's key would log the node in again: without it, a logged-out node is refused
    "logged out": ("tailscale logout", ["-e", "tailscale_serve_auth_key="],
                   "Tailscale is not connected (BackendState=NeedsLogin)"),
    "daemon down": ("systemctl stop tailscaled", [], "tailscaled is not reachable"),
    "binary missing": ("mv /usr/bin/tailscale /usr/bin/tailscale.away", [], "the tailscale CLI was not found"),
}


@pytest.mark.parametrize("case", sorted(FAILURES))
def test_tailscale_not_ready_fails_in_preflight_without_changes(host, case):
    setup, args, message = FAILURES[case]
    before = snapshot(host)
    assert host.run(setup).rc == 0
    try:
        rc, out = run_playbook(SITE, *args)
        after = snapshot(host)
    finally:
        restore_node(host)
    assert rc != 0
    assert message in " ".join(out.split()), out[-4000:]
    assert "Provision the gateway host" not in out
    assert after == before, snapshot_diff(before, after)


def test_logged_out_node_logs_in_with_the_auth_key_from_a_file(host, argv_log):
    """NeedsLogin + tailscale_serve_auth_key (the scenario's headscale key): the preflight (check mode) passes, the
    real run logs in with `up --auth-key=file:<0600 file> --login-server=...`, then serves. The key is never in any
    argv nor the output, and no file keeps it."""
    with open(KEY_FILE) as f:
        key = f.read().strip()
    assert host.run("tailscale logout").rc == 0
    assert backend_state(host) == "NeedsLogin"
    rc, out = run_playbook(SITE, "-e", "tailscale_serve_binary=" + RECORDER)
    state, serve, operator = backend_state(host), serve_status(host), prefs(host).get("OperatorUser")
    entries = argv_log()
    # Is the key left in any file? The bracket keeps this grep's own command line from matching.
    leftovers = host.run("grep -rl -e '%s[%s]%s' /tmp /root /var/lib/homelab-clawdbot /var/log 2>/dev/null"
                         % (key[:4], key[4], key[5:]))
    assert rc == 0, out[-4000:]
    assert state == "Running" and operator == GATEWAY_USER
    assert serve == EXPECTED_SERVE
    assert "tailnet: https://%s/" % HOST in out
    assert key not in out
    assert entries and key not in json.dumps(entries)
    assert leftovers.stdout.strip() == "", leftovers.stdout
    ups = [e for e in entries if e["argv"][:1] == ["up"]]
    assert len(ups) == 1, entries
    argv = ups[0]["argv"]
    assert argv[1].startswith("--auth-key=file:"), argv
    assert argv[2:] == ["--timeout=120s", "--login-server=https://headscale", "--operator=%s" % GATEWAY_USER], argv
    key_file = argv[1][len("--auth-key=file:"):]
    assert os.path.isabs(key_file) and not host.file(key_file).exists
    assert ups[0]["auth_key_file"] == {"mode": "0600", "uid": 0, "gid": 0}, ups[0]
    # login first, then the Serve writes (as the operator)
    writes = [(e["argv"][0], e["user"]) for e in entries if e["argv"][:1] in (["up"], ["serve"], ["set"])
              and e["argv"][-1:] != ["--json"]]
    assert writes[0] == ("up", "root") and ("serve", GATEWAY_USER) in writes[1:], writes


def expire_node(name="vm102"):
    """Expire the node's key on the control server (headscale's CLI), as key expiry does on any tailnet: the node
    goes NeedsLogin and, unlike after `tailscale logout`, keeps its settings."""
    nodes = json.loads(subprocess.run(["docker", "exec", "headscale", "headscale", "nodes", "list", "-o", "json"],
                                      stdout=subprocess.PIPE, text=True, check=True).stdout)
    (node,) = [n for n in nodes if n["name"] == name]
    subprocess.run(["docker", "exec", "headscale", "headscale", "nodes", "expire", "--identifier", str(node["id"])],
                   stdout=subprocess.PIPE, check=True)


def test_a_login_repeats_the_settings_the_admin_made(host, argv_log):
    """A node whose key expired keeps its settings; `tailscale up` refuses to drop one it is not told (here
    --accept-routes, set by hand): the role repeats it as the CLI names it, so the login keeps it."""
    assert host.run("tailscale set --accept-routes").rc == 0
    try:
        expire_node()
        for _attempt in range(30):
            if backend_state(host) == "NeedsLogin":
                break
            time.sleep(1)
        rc, out = run_playbook(SITE, "-e", "tailscale_serve_binary=" + RECORDER)
        state, route_all = backend_state(host), prefs(host).get("RouteAll")
        ups = [e["argv"] for e in argv_log() if e["argv"][:1] == ["up"]]
    finally:
        host.run("tailscale set --accept-routes=false")
    assert rc == 0, out[-4000:]
    assert state == "Running" and route_all is True
    assert len(ups) == 2 and "--accept-routes" not in ups[0] and ups[1][-1] == "--accept-routes", ups


def test_a_node_of_another_control_server_is_refused(host):
    before = (snapshot(host), serve_status(host))
    rc, out = run_playbook(SITE, "-e", "tailscale_serve_login_server=https://headscale.example.org")
    after = (snapshot(host), serve_status(host))
    flat = " ".join(out.split())
    assert rc != 0
    assert "logged in to the control server https://headscale, not https://headscale.example.org" in flat, out[-3000:]
    assert "Provision the gateway host" not in out
    assert after == before, snapshot_diff(before[0], after[0])


def test_foreign_operator_is_refused_in_preflight_and_replaced_on_request(host):
    """Another account as operator: the preflight fails naming tailscale_serve_operator_replace and nothing
    changes; with tailscale_serve_operator_replace=true the gateway user takes over."""
    assert host.run("tailscale set --operator=nobody").rc == 0
    try:
        before = (snapshot(host), serve_status(host))
        rc, out = run_playbook(SITE)
        after = (snapshot(host), serve_status(host))
        refused_operator = prefs(host).get("OperatorUser")
        rc2, out2 = run_playbook(SITE, "-e", "tailscale_serve_operator_replace=true")
        replaced_operator = prefs(host).get("OperatorUser")
        serve = serve_status(host)
    finally:
        restore_node(host)
    flat = " ".join(out.split())
    assert rc != 0
    assert "tailscale_serve_operator_replace" in flat and "'nobody'" in flat, out[-4000:]
    assert "Provision the gateway host" not in out  # refused by the preflight play
    assert refused_operator == "nobody"
    assert after == before, snapshot_diff(before[0], after[0]) + "\nserve: %r -> %r" % (before[1], after[1])
    assert rc2 == 0, out2[-4000:]
    assert replaced_operator == GATEWAY_USER
    assert serve == EXPECTED_SERVE


def test_require_https_refuses_a_tailnet_without_certificates(host):
    """headscale gives the https capability (its policy) but no certificate domain: with the role's default
    (tailscale_serve_require_https: true) the real node is refused before anything changes."""
    status = json.loads(host.run("tailscale status --json").stdout)
    assert "https" in (status["Self"].get("CapMap") or {}) and not status.get("CertDomains"), status.get("Self")
    before = (snapshot(host), serve_status(host))
    rc, out = run_playbook(SITE, "-e", "tailscale_serve_require_https=true")
    after = (snapshot(host), serve_status(host))
    assert rc != 0
    assert "HTTPS certificates are not enabled for this tailnet (CertDomains is empty)" in " ".join(out.split())
    assert after == before, snapshot_diff(before[0], after[0])
