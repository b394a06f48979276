"""What a user checks on VM102 after site.yml: runtime, install, linger, units, listeners, modes, health."""
import json
import re

import pytest
from helpers import GATEWAY_HOSTS, GATEWAY_USER, PROFILES, cli, read_config, user_cmd

testinfra_hosts = GATEWAY_HOSTS

PIN = "2026.1.24-3"


def test_node_22_and_git(host):
    assert host.run("/usr/local/bin/node --version").stdout.strip() == "v22.23.3"
    assert host.run("/usr/local/bin/npm --version").rc == 0
    assert host.package("git").is_installed


def test_clawdbot_in_user_prefix_at_pin(host):
    home = host.user(GATEWAY_USER).home
    cli_path = host.file("%s/.clawdbot/bin/clawdbot" % home)
    assert cli_path.is_symlink
    # One npm project per version; the CLI link points into the current one.
    assert cli_path.linked_to == "%s/.clawdbot/versions/%s/node_modules/clawdbot/dist/entry.js" % (home, PIN)
    out = user_cmd(host, "%s/.clawdbot/bin/clawdbot --version" % home)
    assert out.rc == 0 and out.stdout.strip() == PIN
    project = json.loads(host.file("%s/.clawdbot/versions/%s/package.json" % (home, PIN)).content_string)
    assert project["dependencies"] == {"clawdbot": PIN}
    assert project["overrides"] == {"libsignal": "npm:libsignal@6.0.0"}


def test_linger_enabled_and_user_manager_running(host):
    uid = host.user(GATEWAY_USER).uid
    assert host.file("/var/lib/systemd/linger/%s" % GATEWAY_USER).exists
    assert host.service("user@%d.service" % uid).is_running


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_gateway_unit_active_and_enabled(host, profile):
    unit = "clawdbot-gateway-%s.service" % profile
    assert user_cmd(host, "systemctl --user is-active %s" % unit).stdout.strip() == "active"
    assert user_cmd(host, "systemctl --user is-enabled %s" % unit).stdout.strip() == "enabled"


def _listeners(host):
    out = host.run("ss -Hltnup").stdout
    rows = []
    for line in out.splitlines():
        parts = line.split()
        local = parts[4]
        addr, port = local.rsplit(":", 1)
        rows.append((parts[0], addr, int(port), line))
    return rows


def test_every_gateway_listener_on_loopback_and_no_port_shared(host):
    # sshd is the container's own; 127.0.0.11 is Docker's embedded DNS of the molecule network (not on a real VM102)
    rows = [r for r in _listeners(host) if r[2] != 22 and r[1] != "127.0.0.11"]
    assert rows, "no listeners besides sshd"
    for proto, addr, port, line in rows:
        assert addr in ("127.0.0.1", "[::1]"), "listener not on loopback: %s" % line
        assert proto == "tcp", "unexpected %s socket (mDNS must be off): %s" % (proto, line)
    ports = [r[2] for r in rows]
    assert len(ports) == len(set(ports)), "a port is shared: %s" % ports
    # gateway ports as in the runbook, plus the browser/relay ports the role planned apart
    # gateway ports as in the runbook, personal's browser/relay on upstream's P+2/P+3, ops' relocated (18790+2 would
    # be personal's relay port)
    assert sorted(ports) == [18789, 18790, 18791, 18792, 18901, 18902]


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_state_root_and_config_modes(host, profile):
    home = host.user(GATEWAY_USER).home
    root = host.file("%s/.clawdbot-%s" % (home, profile))
    assert root.is_directory and root.mode == 0o700 and root.user == GATEWAY_USER
    cfg = host.file("%s/.clawdbot-%s/clawdbot.json" % (home, profile))
    assert cfg.mode == 0o600 and cfg.user == GATEWAY_USER
    ws = host.file("%s/clawd-%s" % (home, profile))
    assert ws.is_directory and ws.mode == 0o700


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_config_managed_keys(host, profile):
    cfg = read_config(host, profile)
    gw = cfg["gateway"]
    assert gw["mode"] == "local" and gw["bind"] == "loopback" and gw["port"] == PROFILES[profile]
    assert gw["auth"]["mode"] == "token" and len(gw["auth"]["token"]) >= 32
    assert gw["tailscale"] == {"mode": "off", "resetOnExit": False}
    assert cfg["agents"]["defaults"]["workspace"] == "/home/user/clawd-%s" % profile


def test_tokens_differ_per_profile(host):
    tokens = {p: read_config(host, p)["gateway"]["auth"]["token"] for p in PROFILES}
    assert len(set(tokens.values())) == len(tokens)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_no_secret_in_unit_file(host, profile):
    home = host.user(GATEWAY_USER).home
    unit = host.file("%s/.config/systemd/user/clawdbot-gateway-%s.service" % (home, profile))
    token = read_config(host, profile)["gateway"]["auth"]["token"]
    assert token not in unit.content_string
    assert "GATEWAY_TOKEN" not in unit.content_string
    assert 'Environment="CLAWDBOT_PROFILE=%s"' % profile in unit.content_string
    assert re.search(r"gateway --port %d$" % PROFILES[profile], unit.content_string, re.M)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_gateway_health_json_ok(host, profile):
    out = cli(host, profile, "gateway", "health", "--json")
    assert out.rc == 0, out.stderr
    assert json.loads(out.stdout[out.stdout.index("{"):])["ok"] is True


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_cli_gateway_status_finds_our_unit(host, profile):
    out = cli(host, profile, "gateway", "status", "--json", "--no-probe")
    status = json.loads(out.stdout[out.stdout.index("{"):])
    assert status["service"]["loaded"] is True
    assert status["service"]["runtime"]["status"] == "running"
    assert status["config"]["cli"]["valid"] is True


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_unit_environment_reaches_the_gateway_exactly(host, profile):
    """A value with %, quotes, a backslash and $ arrives in the running gateway unchanged (systemd escaping)."""
    unit = "clawdbot-gateway-%s.service" % profile
    pid = user_cmd(host, "systemctl --user show -p MainPID --value %s" % unit).stdout.strip()
    assert pid and pid != "0"
    env = user_cmd(host, "tr '\\0' '\\n' < /proc/%s/environ" % pid)
    assert env.rc == 0, env.stderr
    values = dict(line.split("=", 1) for line in env.stdout.splitlines() if "=" in line)
    assert values["HOMELAB_QUOTING_PROBE"] == '50% "quoted" \\back $HOME %h'
    assert values["CLAWDBOT_PROFILE"] == profile and values["HOME"] == host.user(GATEWAY_USER).home
