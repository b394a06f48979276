"""migrate-openclaw.yml: this scenario's clawdbot host moved to openclaw 2026.9.6 (issue 14). Runs last.

The inventory is changed the way an admin changes it: a host_vars file of the gateway host selects openclaw, Node 24 and the
openclaw test environment; the profiles stay as they are. Real user data on personal first: a device paired through
the clawdbot gateway (contract 4.4 recipe), a Telegram sender approved into the allow-from store, a workspace file and
a hand-added config key. Then:
1. a migration whose new gateway cannot start (an invalid NODE_OPTIONS only in personal's openclaw unit) is rolled back:
   personal runs clawdbot again on its untouched state, ops was never migrated, the report says so;
2. the real migration: both gateways on openclaw on their old ports, the device, the sender, the workspace file, the
   hand key and the tokens carried over, no clawdbot unit left, the old state roots kept as *.pre-openclaw-* copies,
   the Serve mappings unchanged;
3. a second run changes nothing.
"""
import json
import os
import re
import shutil
import tempfile
import time
import uuid

import pytest
import yaml
from helpers import (GATEWAY, GATEWAY_HOSTS, GATEWAY_USER, PROFILES, device_id, fresh_home, inventory_dir, port_held,
                     port_holder_log, read_config, recap, remote_cli, run_module, run_playbook, user_cmd,
                     wait_healthy_cli, wait_listen, write_as_user, write_dm_request)

testinfra_hosts = GATEWAY_HOSTS

HOME = "/home/%s" % GATEWAY_USER
SECRETS = ["123456789:AAtest-telegram-bot-token-personal-0001", "test-spark-key-0123456789"]
SQL = r"""
import json, sqlite3, sys
con = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(json.dumps({
    "paired": con.execute("select device_id, client_id from device_pairing_paired order by 1").fetchall(),
    "allow": con.execute("select channel_key, entry from channel_pairing_allow_entries order by 1, 2").fetchall(),
    "identity": con.execute("select identity_key, device_id from device_identities order by 1").fetchall()}))
"""
# The inventory of the migrated host: what the scenario's group_vars say for clawdbot, changed to openclaw.
HOST_VARS = {
    "clawdbot_install_package": "openclaw",
    "node_runtime_version": "24.22.3",
    "node_runtime_tarball_src": "{{ lookup('ansible.builtin.env', 'HOMELAB_CLAWDBOT_NODE24_TARBALL') }}",
    "clawdbot_install_npm_overrides": {},
    "profiles_environment": {"OPENCLAW_SKIP_CHANNELS": "1"},
}


def _oc(host, profile, *args):
    return user_cmd(host, "%s/.openclaw/bin/openclaw --profile %s %s" % (HOME, profile, " ".join(args)))


def _unit(host, unit, prop):
    return user_cmd(host, "systemctl --user show -p %s --value %s" % (prop, unit)).stdout.strip()


def _migrate(*args):
    started = time.monotonic()
    rc, out = run_playbook("playbooks/migrate-openclaw.yml", *args, timeout=1800)
    print("migrate-openclaw.yml %s: %.1f s, rc %s" % (" ".join(args), time.monotonic() - started, rc))
    return rc, out


@pytest.fixture(scope="module")
def legacy(host):
    """The clawdbot host with real user data on personal; returns what must survive the migration."""
    cfg = read_config(host, "personal")
    tokens = {p: read_config(host, p)["gateway"]["auth"]["token"] for p in PROFILES}
    mark = "migrate-%s" % uuid.uuid4().hex[:8]
    state = HOME + "/.clawdbot-personal"
    ip = host.run("hostname -I").stdout.split()[0]
    # contract 4.4: a non-loopback client needs a lan bind (a real restart) to become a pending request
    lan = json.loads(json.dumps(cfg))
    lan["gateway"]["bind"] = "lan"
    write_as_user(host, state + "/clawdbot.json", json.dumps(lan, indent=2))
    # two hand-added keys: one openclaw's schema has too, one it retired (doctor removes it; the report names it)
    cfg.setdefault("messages", {})["responsePrefix"] = mark
    cfg.setdefault("ui", {}).setdefault("assistant", {})["name"] = mark
    try:
        assert user_cmd(host, "systemctl --user restart clawdbot-gateway-personal.service").rc == 0
        assert wait_listen(host, "0.0.0.0:18789"), host.run("ss -Hltn").stdout
        pc = fresh_home("migratepc")
        res = remote_cli(host, pc, "ws://%s:18789" % ip, tokens["personal"], "devices", "list", "--json")
        assert res.rc == 1 and "pairing required" in res.stderr, res.stderr[-2000:]
        device = device_id(host, pc)
        approved = run_module("homelab.clawdbot.device_pairing",
                              {"profile": "personal", "user": GATEWAY_USER, "client_id": "cli", "remote_ip": ip,
                               "newest": True, "flavour": "clawdbot"})
        assert [a["deviceId"] for a in approved["approved"]] == [device], approved
    finally:
        # back to loopback, with the hand-added key
        write_as_user(host, state + "/clawdbot.json", json.dumps(cfg, indent=2))
        assert user_cmd(host, "systemctl --user restart clawdbot-gateway-personal.service").rc == 0
    sender = str(600000000 + uuid.uuid4().int % 99999999)
    write_dm_request(host, "personal", "MGRATE23", sender)
    dm = run_module("homelab.clawdbot.dm_pairing", {"profile": "personal", "user": GATEWAY_USER, "channel": "telegram",
                                                    "code": "mgrate23", "flavour": "clawdbot"})
    assert dm["changed"] is True and not dm.get("failed"), json.dumps(dm)[-2000:]
    write_as_user(host, HOME + "/clawd-personal/MIGRATE.md", "# kept %s\n" % mark)
    assert wait_healthy_cli(host, "personal")
    identity = host.file(HOME + "/.clawdbot/identity/device.json")
    serve = json.loads(host.run("tailscale serve status --json").stdout)
    assert serve, "no Serve mapping before the migration"
    yield {"tokens": tokens, "mark": mark, "device": device, "sender": sender, "client_home": "/tmp/" + pc,
           "identity": json.loads(identity.content_string)["deviceId"] if identity.exists else None,
           "serve": serve}


@pytest.fixture(scope="module")
def inventory(legacy):
    """The gateway host's host_vars switch the host to openclaw (host_vars win over the scenario's group_vars)."""
    path = os.path.join(inventory_dir(), "host_vars", GATEWAY + ".yml")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    had = os.path.exists(path)
    backup = open(path).read() if had else None
    base = yaml.safe_load(backup) if had else {}
    base = base or {}

    def write(extra=None):
        data = dict(base, **HOST_VARS)
        data.update(extra or {})
        with open(path, "w") as f:
            yaml.safe_dump(data, f)
    write()
    yield write
    if had:
        with open(path, "w") as f:
            f.write(backup)
    else:
        os.remove(path)


@pytest.fixture(scope="module")
def backups():
    root = tempfile.mkdtemp(prefix="migrate-backups-")
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_check_mode_shows_the_plan_and_changes_nothing(host, legacy, inventory):
    units = {p: _unit(host, "clawdbot-gateway-%s.service" % p, "MainPID") for p in PROFILES}
    rc, out = _migrate("--check")
    flat = " ".join(out.split())
    assert rc == 0, flat[-3000:]
    assert recap(out)["changed"] == 0, flat[-3000:]
    for name in PROFILES:
        assert ("%s: migrate %s/.clawdbot-%s -> %s/.openclaw-%s (workspace %s/clawd-%s copied to %s/.openclaw-%s/workspace)"
                % (name, HOME, name, HOME, name, HOME, name, HOME, name)) in flat, flat[-3000:]
        assert not host.file("%s/.openclaw-%s" % (HOME, name)).exists
    assert not host.file(HOME + "/.openclaw").exists, "openclaw was installed in check mode"
    assert {p: _unit(host, "clawdbot-gateway-%s.service" % p, "MainPID") for p in PROFILES} == units


@pytest.fixture(scope="module")
def failed_run(host, legacy, inventory, backups):
    """A migration whose openclaw gateway for personal cannot listen (a process of the test holds the port)."""
    inventory({"profiles_health_timeout": 15})
    # the port is taken once the state is copied (the clawdbot gateway is stopped), so the openclaw gateway cannot
    # listen, and given back when the rollback moved the new state root aside, so clawdbot can listen again
    target = HOME + "/.openclaw-personal"
    try:
        with port_held(host, PROFILES["personal"], target, "gone:" + target):
            rc, out = _migrate("-e", "clawdbot_backup_dir=%s" % backups)
    finally:
        inventory()
    return {"rc": rc, "out": out, "holder": port_holder_log(host)}


def test_a_failed_migration_puts_the_profile_back_on_clawdbot(host, legacy, failed_run, backups):
    flat = " ".join(failed_run["out"].split())
    assert failed_run["rc"] != 0, flat[-4000:]
    assert failed_run["holder"] == ["holding", "released"]
    assert "The migration of personal failed" in flat, flat[-4000:]
    assert "personal: back on clawdbot (clawdbot-gateway-personal.service, the old state untouched" in flat, flat[-3000:]
    assert "No profile was migrated." in flat and "Not touched, still on clawdbot: ops." in flat
    # personal runs clawdbot again, on its state with the device; nothing of openclaw is left running or installed
    assert _unit(host, "clawdbot-gateway-personal.service", "ActiveState") == "active"
    assert _unit(host, "clawdbot-gateway-personal.service", "UnitFileState") == "enabled"
    assert wait_healthy_cli(host, "personal")
    assert legacy["device"] in json.loads(host.file(HOME + "/.clawdbot-personal/devices/paired.json").content_string)
    assert not host.file(HOME + "/.openclaw-personal").exists
    assert not host.file(HOME + "/.config/systemd/user/openclaw-gateway-personal.service").exists
    assert host.run("ls -d %s/.openclaw-personal.failed-*" % HOME).rc == 0
    # ops was backed up (its gateway restarted for the copy) and never migrated
    assert _unit(host, "clawdbot-gateway-ops.service", "ActiveState") == "active"
    assert not host.file(HOME + "/.openclaw-ops").exists
    # the backup came first: one clawdbot archive per profile, private
    names = sorted(os.listdir(backups))
    assert [n[len(GATEWAY) + 1:].split("-")[0] for n in names] == ["ops", "personal"], names
    for secret in SECRETS + list(legacy["tokens"].values()):
        assert secret not in failed_run["out"]


@pytest.fixture(scope="module")
def migrated(host, legacy, failed_run, inventory):
    # personal: local devices pending too, so test_the_paired_client_connects_without_a_new_pairing can tell a paired
    # device from a new one on loopback (contract 4.4); the scenario's profiles otherwise
    profiles = [{"name": "personal", "port": 18789, "auto_approve_local": False,
                 "telegram": {"bot_token": SECRETS[0], "allow_from": ["42"]}},
                {"name": "ops", "port": 18790}]
    inventory({"clawdbot_migrate_device_identity": True, "clawdbot_migrate_backup": False, "clawdbot_profiles": profiles})
    rc, out = _migrate("-vvv")
    return {"rc": rc, "out": out}


def test_migration_moves_both_profiles_to_openclaw(host, legacy, migrated):
    flat = " ".join(migrated["out"].split())
    assert migrated["rc"] == 0, flat[-5000:]
    for name, port in PROFILES.items():
        assert re.search(r"%s: migrated to openclaw 2026\.9\.6 \(openclaw-gateway-%s\.service, %s/\.openclaw-%s, port %d; "
                         r"the clawdbot state kept as %s/\.clawdbot-%s\.pre-openclaw-\d{8}T\d{6}Z[;)]"
                         % (name, name, HOME, name, port, HOME, name), flat), flat[-3000:]
        unit = "openclaw-gateway-%s.service" % name
        assert _unit(host, unit, "ActiveState") == "active" and _unit(host, unit, "UnitFileState") == "enabled"
        assert wait_healthy_cli(host, name, run=_oc, delay=3)
        assert "127.0.0.1:%d " % port in host.run("ss -Hltn").stdout
        # the clawdbot gateway is gone for good: no unit file, not loaded, the state kept as a dated copy
        assert not host.file(HOME + "/.config/systemd/user/clawdbot-gateway-%s.service" % name).exists
        assert _unit(host, "clawdbot-gateway-%s.service" % name, "LoadState") == "not-found"
        assert not host.file(HOME + "/.clawdbot-" + name).exists
        kept = host.run("ls -d %s/.clawdbot-%s.pre-openclaw-* %s/clawd-%s.pre-openclaw-*" % (HOME, name, HOME, name))
        assert kept.rc == 0 and len(kept.stdout.split()) == 2, kept.stdout
        # the token is the one clawdbot had
        cfg = json.loads(host.file("%s/.openclaw-%s/openclaw.json" % (HOME, name)).content_string)
        assert cfg["gateway"]["auth"]["token"] == legacy["tokens"][name]
        assert cfg["gateway"]["port"] == port and cfg["gateway"]["bind"] == "loopback"
        assert cfg["agents"]["defaults"]["workspace"] == "%s/.openclaw-%s/workspace" % (HOME, name)
        for key in ("lastTouchedAt",):
            assert key not in cfg.get("meta", {})
    for secret in SECRETS + list(legacy["tokens"].values()):
        assert secret not in migrated["out"]


def test_user_data_is_carried_over(host, legacy, migrated):
    assert migrated["rc"] == 0
    cfg = json.loads(host.file(HOME + "/.openclaw-personal/openclaw.json").content_string)
    assert cfg["messages"]["responsePrefix"] == legacy["mark"]
    # ui.assistant is retired in openclaw: doctor removed it, the report names it, the dated copy still has it
    assert "ui" not in cfg or "assistant" not in cfg["ui"]
    flat = " ".join(migrated["out"].split())
    personal = flat[flat.index("personal: migrated to openclaw"):flat.index("ops: migrated to openclaw")]
    assert ("keys openclaw retires, removed by doctor and kept in that copy: " in personal
            and "ui.assistant (configure agents.list[].identity)" in personal), personal
    old = host.run("cat %s/.clawdbot-personal.pre-openclaw-*/clawdbot.json" % HOME)
    assert json.loads(old.stdout)["ui"]["assistant"]["name"] == legacy["mark"]
    ws = host.file(HOME + "/.openclaw-personal/workspace/MIGRATE.md")
    assert ws.exists and legacy["mark"] in ws.content_string and ws.user == GATEWAY_USER
    res = host.run("runuser -u %s -- python3 -c %s %s/.openclaw-personal/state/openclaw.sqlite"
                   % (GATEWAY_USER, _shell(SQL), HOME))
    assert res.rc == 0, res.stderr[-2000:]
    rows = json.loads(res.stdout)
    assert legacy["device"] in [r[0] for r in rows["paired"]], rows
    assert legacy["sender"] in [r[1] for r in rows["allow"]], rows
    if legacy["identity"]:
        assert ["primary", legacy["identity"]] in rows["identity"], rows
    # the pairing module sees the device through the openclaw gateway
    info = run_module("homelab.clawdbot.device_pairing_info", {"profile": "personal", "user": GATEWAY_USER})
    assert legacy["device"] in [d.get("deviceId") for d in info.get("paired", [])], json.dumps(info)[-2000:]


def _devices(host):
    res = _oc(host, "personal", "devices", "list", "--json")
    assert res.rc == 0, res.stderr[-2000:]
    return json.loads(res.stdout[res.stdout.index("{"):])


def _tui(host, state, token):
    """The real `openclaw tui` on a pty with its own state dir (its device identity), on loopback (contract 4.4)."""
    res = host.run("cd /tmp && (OPENCLAW_STATE_DIR=%s HOME=%s NO_COLOR=1 PATH=/usr/local/bin:/usr/bin:/bin timeout 120 "
                   "script -qfc '%s/.openclaw/bin/openclaw tui --url ws://127.0.0.1:18789 --token %s' %s/typescript "
                   ">/dev/null 2>&1 &)" % (state, state, HOME, token, state))
    assert res.rc == 0, res.stderr


def test_the_paired_client_connects_without_a_new_pairing(host, legacy, migrated):
    """The device paired with clawdbot (the `legacy` fixture's CLI identity) connects to openclaw's gateway as a paired
    device: it shows up connected and makes no pairing request, while a new device on the same gateway does."""
    assert migrated["rc"] == 0
    token = legacy["tokens"]["personal"]
    old, new = "/tmp/migrated-client-%s" % uuid.uuid4().hex[:6], "/tmp/new-client-%s" % uuid.uuid4().hex[:6]
    # the client's own upgrade: its clawdbot identity file, imported by openclaw's doctor into its state dir
    host.run("install -d %s/identity %s && cp %s/.clawdbot/identity/device.json %s/identity/"
             % (old, new, legacy["client_home"], old))
    doc = host.run("cd /tmp && OPENCLAW_STATE_DIR=%s HOME=%s NO_COLOR=1 PATH=/usr/local/bin:/usr/bin:/bin "
                   "%s/.openclaw/bin/openclaw doctor --fix --non-interactive" % (old, old, HOME))
    assert doc.rc == 0 and "Migrated primary device identity to SQLite" in doc.stdout, doc.stdout[-2000:]
    try:
        _tui(host, old, token)
        _tui(host, new, token)
        connected = pending = None
        for _attempt in range(40):
            devices = _devices(host)
            connected = [d["deviceId"] for d in devices.get("paired", []) if d.get("connected")]
            pending = [d["deviceId"] for d in devices.get("pending", [])]
            if legacy["device"] in connected and pending:
                break
            time.sleep(2)
    finally:
        host.run("pkill -f '[o]penclaw.mjs tui' ; pkill -f '[o]penclaw tui'")
    assert legacy["device"] in connected, (connected, pending)
    assert legacy["device"] not in pending and len(pending) == 1, pending
    assert "gateway connected" in host.run("cat %s/typescript" % old).stdout


def test_serve_mappings_are_unchanged(host, legacy, migrated):
    assert migrated["rc"] == 0
    assert json.loads(host.run("tailscale serve status --json").stdout) == legacy["serve"]


def test_a_second_run_changes_nothing(host, migrated):
    assert migrated["rc"] == 0
    pids = {p: _unit(host, "openclaw-gateway-%s.service" % p, "MainPID") for p in PROFILES}
    rc, out = _migrate()
    flat = " ".join(out.split())
    assert rc == 0, flat[-3000:]
    assert recap(out)["changed"] == 0, flat[-3000:]
    assert "personal: already on openclaw" in flat and "ops: already on openclaw" in flat
    assert {p: _unit(host, "openclaw-gateway-%s.service" % p, "MainPID") for p in PROFILES} == pids


def _shell(text):
    return "'" + text.replace("'", "'\"'\"'") + "'"
