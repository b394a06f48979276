"""What a user checks on VM102 after site.yml with openclaw: Node 24, the pinned CLI, linger, the units upstream
would write, loopback-only listeners, modes, the config keys the contract says to set, health."""
import json
import re

import pytest
from helpers import GATEWAY_HOSTS, GATEWAY_USER, PROFILES, user_cmd
from oc import NODE, PIN, cli_json, cli_path, config_path, home, read_config, state_dir, unit_name, unit_path

testinfra_hosts = GATEWAY_HOSTS

RETIRED = ["gateway.tailscale.resetOnExit", "gateway.controlUi.allowInsecureAuth", "gateway.token", "browser.controlUrl",
           "meta.lastTouchedAt"]


def test_node_24_and_git(host):
    assert host.run("/usr/local/bin/node --version").stdout.strip() == NODE
    assert host.package("git").is_installed


def test_the_minimal_debian_13_host_got_what_the_roles_need(host):
    """The gateway host is the minimal Debian 13 image (tests/harness/build-image.sh minimal: what a fresh cloud VM
    has). The roles installed what it lacked: git (node_runtime), xz-utils for nodejs.org's .tar.xz (node_runtime),
    libpam-systemd and dbus-user-session for the user manager (systemd_linger), acl (clawdbot_install). sudo is
    still missing: become went through su."""
    release = host.file("/etc/os-release").content_string
    assert 'VERSION_ID="13"' in release and "ID=debian" in release, release
    for package in ("git", "xz-utils", "libpam-systemd", "dbus-user-session", "acl"):
        assert host.package(package).is_installed, package
    assert not host.package("sudo").is_installed
    # the Node tarball the role unpacked was the .tar.xz, as nodejs.org ships it
    assert host.file("/var/cache/node-runtime/node-%s-linux-x64.tar.xz" % NODE).is_file


def test_openclaw_in_user_prefix_at_pin(host):
    link = host.file(cli_path(host))
    assert link.is_symlink
    assert link.linked_to == "%s/.openclaw/versions/%s/node_modules/openclaw/openclaw.mjs" % (home(host), PIN)
    out = user_cmd(host, "%s --version" % cli_path(host))
    assert out.rc == 0 and re.match(r"^OpenClaw %s \(" % re.escape(PIN), out.stdout.strip()), out.stdout + out.stderr
    project = json.loads(host.file("%s/.openclaw/versions/%s/package.json" % (home(host), PIN)).content_string)
    assert project["dependencies"] == {"openclaw": PIN}
    assert not project.get("overrides")


def test_linger_enabled_and_user_manager_running(host):
    uid = host.user(GATEWAY_USER).uid
    assert host.file("/var/lib/systemd/linger/%s" % GATEWAY_USER).exists
    assert host.service("user@%d.service" % uid).is_running


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_gateway_unit_active_enabled_and_private(host, profile):
    assert user_cmd(host, "systemctl --user is-active %s" % unit_name(profile)).stdout.strip() == "active"
    assert user_cmd(host, "systemctl --user is-enabled %s" % unit_name(profile)).stdout.strip() == "enabled"
    unit = host.file(unit_path(host, profile))
    assert unit.mode == 0o600 and unit.user == GATEWAY_USER


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_unit_has_upstream_policy_and_markers_but_no_secret(host, profile):
    text = host.file(unit_path(host, profile)).content_string
    for line in ("RestartPreventExitStatus=78", "TimeoutStopSec=330", "KillMode=mixed", "SuccessExitStatus=0 143",
                 "StartLimitBurst=10", 'Environment="OPENCLAW_SERVICE_MARKER=openclaw"',
                 'Environment="OPENCLAW_SERVICE_KIND=gateway"', 'Environment="OPENCLAW_PROFILE=%s"' % profile,
                 'Environment="OPENCLAW_SYSTEMD_UNIT=%s"' % unit_name(profile),
                 'Environment="OPENCLAW_CONFIG_READONLY=1"', 'Environment="OPENCLAW_NO_AUTO_UPDATE=1"'):
        assert line in text.splitlines(), line
    assert re.search(r"--max-old-space-size=8192 \"[^\"]+/node_modules/openclaw/dist/index.js\" gateway --port %d$"
                     % PROFILES[profile], text, re.M)
    token = read_config(host, profile)["gateway"]["auth"]["token"]
    assert token not in text and "GATEWAY_TOKEN" not in text and "CLAWDBOT_" not in text


def _listeners(host):
    rows = []
    for line in host.run("ss -Hltnup").stdout.splitlines():
        parts = line.split()
        addr, port = parts[4].rsplit(":", 1)
        rows.append((parts[0], addr, int(port), line))
    return rows


def test_only_the_gateway_ports_listen_and_only_on_loopback(host):
    # sshd is the container's own; 127.0.0.11 is Docker's embedded DNS of the molecule network; tailscaled (root, so
    # ss names it) has its WireGuard port (UDP 41641) and a TCP port on all addresses, as upstream's package runs it
    rows = [r for r in _listeners(host) if r[2] != 22 and r[1] != "127.0.0.11" and '"tailscaled"' not in r[3]]
    for proto, addr, port, line in rows:
        assert addr in ("127.0.0.1", "[::1]"), "listener not on loopback: %s" % line
        assert proto == "tcp", "unexpected %s socket (mDNS must be off): %s" % (proto, line)
    # openclaw binds only P (no browser/relay ports unless asked for, contract 3)
    assert sorted(set(r[2] for r in rows)) == [18789, 18790]


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_state_root_config_and_workspace(host, profile):
    root = host.file(state_dir(host, profile))
    assert root.is_directory and root.mode == 0o700 and root.user == GATEWAY_USER
    cfg = host.file(config_path(host, profile))
    assert cfg.mode == 0o600 and cfg.user == GATEWAY_USER
    ws = host.file("%s/workspace" % state_dir(host, profile))
    assert ws.is_directory and ws.mode == 0o700
    # Ansible's backups of the config are not named openclaw.json.bak (a gateway start could restore that one)
    assert not host.file(config_path(host, profile) + ".bak").exists


def _get(cfg, dotted):
    node = cfg
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_config_keys_the_contract_asks_for(host, profile):
    cfg = read_config(host, profile)
    gw = cfg["gateway"]
    assert gw["mode"] == "local" and gw["bind"] == "loopback" and gw["port"] == PROFILES[profile]
    assert gw["auth"]["mode"] == "token" and len(gw["auth"]["token"]) >= 32
    assert gw["tailscale"] == {"mode": "off"}
    assert gw["nodes"]["pairing"]["autoApproveLocal"] is True
    # Serve (tailscale_serve) fronts the gateways: the loopback proxy is trusted
    assert gw["trustedProxies"] == ["127.0.0.1"]
    assert cfg["update"] == {"checkOnStart": False}
    assert cfg["models"]["catalogRefresh"] == {"enabled": False}
    assert cfg["agents"]["defaults"]["workspace"] == "%s/workspace" % state_dir(host, profile)
    for key in RETIRED:
        assert _get(cfg, key) is None, key


def test_telegram_owner_and_token_file(host):
    cfg = read_config(host, "personal")
    tg = cfg["channels"]["telegram"]
    assert tg["tokenFile"] == "%s/telegram-bot-token" % state_dir(host, "personal") and "botToken" not in tg
    assert cfg["commands"]["ownerAllowFrom"] == ["telegram:42"]
    assert "123456789:AAtest" not in host.file(config_path(host, "personal")).content_string
    token = host.file("%s/telegram-bot-token" % state_dir(host, "personal"))
    assert token.mode == 0o600 and token.user == GATEWAY_USER


def test_tokens_differ_per_profile(host):
    tokens = {p: read_config(host, p)["gateway"]["auth"]["token"] for p in PROFILES}
    assert len(set(tokens.values())) == len(tokens)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_real_validator_accepts_the_config(host, profile):
    out, doc = cli_json(host, profile, "config", "validate", "--json")
    assert out.rc == 0 and doc["valid"] is True and doc["path"] == config_path(host, profile), out.stdout + out.stderr


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_gateway_health_and_http_probe(host, profile):
    out, doc = cli_json(host, profile, "gateway", "health", "--json")
    assert out.rc == 0 and doc["ok"] is True, out.stderr
    probe = host.run("curl -fsS http://127.0.0.1:%d/healthz" % PROFILES[profile])
    assert probe.rc == 0 and json.loads(probe.stdout)["ok"] is True


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_cli_gateway_status_treats_the_unit_as_its_own(host, profile):
    out, status = cli_json(host, profile, "gateway", "status", "--json", "--no-probe")
    assert status["service"]["loaded"] is True, out.stdout
    assert status["service"]["runtime"]["status"] == "running"
    assert status["gateway"]["port"] == PROFILES[profile]
    assert status["service"]["layout"]["packageVersion"] == PIN


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_unit_environment_reaches_the_gateway_exactly(host, profile):
    pid = user_cmd(host, "systemctl --user show -p MainPID --value %s" % unit_name(profile)).stdout.strip()
    assert pid and pid != "0"
    env = user_cmd(host, "tr '\\0' '\\n' < /proc/%s/environ" % pid)
    values = dict(line.split("=", 1) for line in env.stdout.splitlines() if "=" in line)
    assert values["HOMELAB_QUOTING_PROBE"] == '50% "quoted" \\back $HOME %h'
    assert values["OPENCLAW_PROFILE"] == profile and values["HOME"] == home(host)
    assert values["OPENCLAW_CONFIG_READONLY"] == "1"
