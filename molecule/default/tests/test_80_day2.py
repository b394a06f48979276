"""Day-2 playbooks: health report, backup to the controller, restore after the state is wiped.

The personal profile gets real user data first: a device paired through the gateway (contract 4.4 recipe: bind lan
for a moment, the real CLI with a fresh HOME from the container's own address, approval with device_pairing), a
Telegram sender approved with dm_pairing (the CLI writes the allow-from store), a workspace file and a hand-added
config key. backup.yml fetches it, the state root and the workspace are wiped, restore.yml brings everything back.
"""
import json
import os
import re
import shutil
import stat
import tarfile
import tempfile
import time
import uuid

import pytest
from helpers import (GATEWAY_HOSTS, GATEWAY_USER, cli, device_id, fresh_home, main_pids, read_config, recap, remote_cli,
                     run_module, run_playbook, user_cmd, write_as_user, write_dm_request)

testinfra_hosts = GATEWAY_HOSTS

HOME = "/home/%s" % GATEWAY_USER
STATE = HOME + "/.clawdbot-personal"
WORKSPACE = HOME + "/clawd-personal"
UNIT = "clawdbot-gateway-personal.service"
SECRETS = ["123456789:AAtest-telegram-bot-token-personal-0001", "test-spark-key-0123456789"]


def _health_ok(host, profile, tries=40):
    for _attempt in range(tries):
        res = cli(host, profile, "gateway", "health", "--json")
        if res.rc == 0 and '"ok": true' in res.stdout:
            return True
        time.sleep(2)
    return False


def _wait_listen(host, address, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (" %s " % address) in host.run("ss -Hltn").stdout:
            return True
        time.sleep(1)
    return False


def _restart(host, unit):
    assert user_cmd(host, "systemctl --user restart %s" % unit).rc == 0


def _mode(host, path):
    return host.file(path).mode


# ---------------------------------------------------------------------------------------------------------- health


def test_health_passes_and_reports_both_profiles(host):
    started = time.monotonic()
    rc, out = run_playbook("playbooks/health.yml", "-v")
    print("health.yml (all up): %.1f s" % (time.monotonic() - started))
    assert rc == 0, out[-4000:]
    assert recap(out)["changed"] == 0
    flat = " ".join(out.split())
    for name, port, serve in (("personal", 18789, "https://vm102.tail1234ab.ts.net/"),
                              ("ops", 18790, "https://vm102.tail1234ab.ts.net:8443/")):
        assert "%s: OK" % name in flat, flat[-3000:]
        assert "clawdbot-gateway-%s.service: active (running), enabled, MainPID %s" % (name, main_pids(host)[name]) in flat
        assert "127.0.0.1:%d" % port in flat
        assert "%s -> http://127.0.0.1:%d" % (serve, port) in flat
    assert "(loopback only)" in flat and "gateway health: ok" in flat
    assert "models: qwen3-32b-nvfp4; configured: qwen3-32b-nvfp4 (listed)" in flat
    token = read_config(host, "personal")["gateway"]["auth"]["token"]
    for secret in SECRETS + [token]:
        assert secret not in out


def test_health_names_the_stopped_profile_and_fails_in_check_mode_too(host):
    assert user_cmd(host, "systemctl --user stop clawdbot-gateway-ops.service").rc == 0
    try:
        started = time.monotonic()
        rc, out = run_playbook("playbooks/health.yml", check=True)
        print("health.yml --check (ops down): %.1f s" % (time.monotonic() - started))
        flat = " ".join(out.split())
        assert rc != 0, flat[-3000:]
        assert recap(out)["changed"] == 0
        assert "DOWN on vm102: ops (unit is inactive (dead))" in flat, flat[-3000:]
        assert "personal: OK" in flat and "personal (" not in flat.split("DOWN on vm102:")[1]
        # the whole report came before the failure
        assert flat.index("spark: ") < flat.index("DOWN on vm102:")
    finally:
        user_cmd(host, "systemctl --user start clawdbot-gateway-ops.service")
    assert _health_ok(host, "ops")


# ---------------------------------------------------------------------------------------------- backup / restore


@pytest.fixture(scope="module")
def user_data(host):
    """Real user data on the personal profile: a paired device, an approved Telegram sender, a workspace file and
    a hand-added config key. Returns what to look for after the restore."""
    cfg = json.loads(host.file(STATE + "/clawdbot.json").content_string)
    token = cfg["gateway"]["auth"]["token"]
    mark = "day2-%s" % uuid.uuid4().hex[:8]
    cfg.setdefault("ui", {}).setdefault("assistant", {})["name"] = mark
    ip = host.run("hostname -I").stdout.split()[0]

    # contract 4.4: a non-loopback client needs a lan bind; the gateway rebinds only on a real restart
    lan = json.loads(json.dumps(cfg))
    lan["gateway"]["bind"] = "lan"
    write_as_user(host, STATE + "/clawdbot.json", json.dumps(lan, indent=2))
    try:
        _restart(host, UNIT)
        assert _wait_listen(host, "0.0.0.0:18789"), host.run("ss -Hltn").stdout
        pc = fresh_home("day2pc")
        res = remote_cli(host, pc, "ws://%s:18789" % ip, token, "devices", "list", "--json")
        assert res.rc == 1 and "pairing required" in res.stderr, res.stderr[-2000:]
        device = device_id(host, pc)
        approved = run_module("homelab.clawdbot.device_pairing",
                              {"profile": "personal", "user": GATEWAY_USER, "client_id": "cli", "remote_ip": ip, "newest": True})
        assert approved["changed"] is True and [a["deviceId"] for a in approved["approved"]] == [device], approved
        # back to loopback, with the hand-added key; the backup restarts the gateway with this file
        write_as_user(host, STATE + "/clawdbot.json", json.dumps(cfg, indent=2))

        sender = str(700000000 + uuid.uuid4().int % 99999999)
        write_dm_request(host, "personal", "DAYTWZ23", sender)
        dm = run_module("homelab.clawdbot.dm_pairing",
                        {"profile": "personal", "user": GATEWAY_USER, "channel": "telegram", "code": "daytwz23"})
        assert dm["changed"] is True and not dm.get("failed"), json.dumps(dm)[-2000:]
        write_as_user(host, WORKSPACE + "/NOTES.md", "# notes %s\n" % mark)
        assert host.run("runuser -u %s -- mkdir -p %s/memory" % (GATEWAY_USER, WORKSPACE)).rc == 0
        write_as_user(host, WORKSPACE + "/memory/today.md", "remember %s\n" % mark)
    except Exception:
        write_as_user(host, STATE + "/clawdbot.json", json.dumps(cfg, indent=2))
        _restart(host, UNIT)
        raise

    paired = json.loads(host.file(STATE + "/devices/paired.json").content_string)
    assert device in paired
    yield {"device": device, "approved": paired[device]["approvedAtMs"], "ip": ip, "sender": sender, "mark": mark, "token": token}
    host.run("rm -rf %s.pre-restore-* %s.pre-restore-*" % (STATE, WORKSPACE))


@pytest.fixture(scope="module")
def backup(host, user_data):
    root = tempfile.mkdtemp(prefix="day2-backups-")
    target = os.path.join(root, "vm102")
    pids = main_pids(host)
    started = time.monotonic()
    rc, out = run_playbook("playbooks/backup.yml", "-e", "profile=personal", "-e", "clawdbot_backup_dir=%s" % target)
    elapsed = time.monotonic() - started
    print("backup.yml (personal, gateway stopped): %.1f s" % elapsed)
    assert rc == 0, out[-4000:]
    yield {"dir": target, "out": out, "pids_before": pids, "pids_after": main_pids(host)}
    shutil.rmtree(root, ignore_errors=True)


def test_backup_archive_is_private_and_complete(host, user_data, backup):
    files = os.listdir(backup["dir"])
    assert len(files) == 1 and re.match(r"^vm102-personal-\d{8}T\d{6}Z\.tar\.gz$", files[0]), files
    archive = os.path.join(backup["dir"], files[0])
    assert stat.S_IMODE(os.stat(backup["dir"]).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(archive).st_mode) == 0o600
    flat = " ".join(backup["out"].split())
    assert archive in flat and "%d bytes" % os.path.getsize(archive) in flat
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        manifest = json.load(tar.extractfile("MANIFEST.json"))
        assert tar.getmember("state/clawdbot.json").mode == 0o600
    for name in ("state/clawdbot.json", "state/devices/paired.json", "state/credentials/telegram-allowFrom.json",
                 "state/telegram-bot-token", "workspace/NOTES.md", "workspace/memory/today.md"):
        assert name in names, sorted(names)
    assert manifest["profile"] == "personal" and manifest["gateway_stopped"] is True and manifest["workspace_included"] is True
    for secret in SECRETS + [user_data["token"]]:
        assert secret not in backup["out"]
    # only the personal gateway was stopped and started again; ops kept running; no temp archive left on the host
    assert backup["pids_after"]["personal"] != backup["pids_before"]["personal"]
    assert backup["pids_after"]["ops"] == backup["pids_before"]["ops"]
    assert host.run("ls -d /tmp/clawdbot-backup.* 2>/dev/null").stdout.strip() == ""


def test_restore_refuses_bad_input_before_any_change(host, backup):
    archive = os.path.join(backup["dir"], os.listdir(backup["dir"])[0])
    pids = main_pids(host)
    rc, out = run_playbook("playbooks/restore.yml", "-e", "profile=ops", "-e", "archive=%s" % archive)
    flat = " ".join(out.split())
    assert rc != 0 and "archive=%s does not hold the layout of profile ops" % archive in flat, flat[-2000:]
    rc, out = run_playbook("playbooks/restore.yml", "-e", "profile=personal", "-e", "archive=%s.missing" % archive)
    assert rc != 0 and "archive=%s.missing: no such file" % archive in " ".join(out.split())
    rc, out = run_playbook("playbooks/restore.yml", "-e", "profile=nope", "-e", "archive=%s" % archive)
    assert rc != 0 and "profile=nope: nope is not in clawdbot_profiles" in " ".join(out.split())
    assert main_pids(host) == pids
    assert host.run("ls -d %s/.clawdbot-*.pre-restore-* 2>/dev/null" % HOME).stdout.strip() == ""


def test_restore_after_wipe_brings_everything_back(host, user_data, backup):
    archive = os.path.join(backup["dir"], os.listdir(backup["dir"])[0])
    assert host.run("rm -rf %s && find %s -mindepth 1 -delete" % (STATE, WORKSPACE)).rc == 0
    assert not host.file(STATE + "/devices/paired.json").exists and not host.file(WORKSPACE + "/NOTES.md").exists
    started = time.monotonic()
    rc, out = run_playbook("playbooks/restore.yml", "-e", "profile=personal", "-e", "archive=%s" % archive)
    print("restore.yml (personal): %.1f s" % (time.monotonic() - started))
    assert rc == 0, out[-4000:]
    flat = " ".join(out.split())
    assert "gateway healthy" in flat and ".clawdbot-personal.pre-restore-" in flat
    for secret in SECRETS + [user_data["token"]]:
        assert secret not in out

    # the gateway answers and knows the paired device from the restored store
    assert cli(host, "personal", "gateway", "health", "--json").rc == 0
    info = run_module("homelab.clawdbot.device_pairing_info", {"profile": "personal", "user": GATEWAY_USER})
    assert not info.get("failed"), info
    mine = [p for p in info["paired"] if p["deviceId"] == user_data["device"]]
    assert len(mine) == 1 and mine[0]["approvedAtMs"] == user_data["approved"] and mine[0]["remoteIp"] == user_data["ip"], info["paired"]
    allow = json.loads(host.file(STATE + "/credentials/telegram-allowFrom.json").content_string)
    assert user_data["sender"] in allow["allowFrom"]
    assert host.file(WORKSPACE + "/NOTES.md").content_string == "# notes %s\n" % user_data["mark"]
    assert host.file(WORKSPACE + "/memory/today.md").content_string == "remember %s\n" % user_data["mark"]
    cfg = read_config(host, "personal")
    assert cfg["ui"]["assistant"]["name"] == user_data["mark"] and cfg["gateway"]["bind"] == "loopback"
    assert cfg["gateway"]["auth"]["token"] == user_data["token"]

    # ownership and modes: the state root and everything in it private, the workspace root 0700
    assert _mode(host, STATE) == 0o700 and _mode(host, WORKSPACE) == 0o700
    for path in ("clawdbot.json", "telegram-bot-token", "devices/paired.json", "credentials/telegram-allowFrom.json"):
        f = host.file("%s/%s" % (STATE, path))
        assert f.mode == 0o600 and f.user == GATEWAY_USER, path
    assert _mode(host, STATE + "/credentials") == 0o700 and _mode(host, STATE + "/devices") == 0o700
    assert host.run("find %s %s ! -user %s" % (STATE, WORKSPACE, GATEWAY_USER)).stdout.strip() == ""
    secret = host.run("find %s/clawdbot.json %s/telegram-bot-token %s/credentials %s/devices %s/agents %s/identity -perm /077"
                      % ((STATE,) * 6))
    assert secret.rc == 0 and secret.stdout.strip() == "", secret.stdout + secret.stderr
    # what was there before the restore is kept aside, private
    aside = host.run("ls -d %s.pre-restore-*" % STATE).stdout.split()
    assert len(aside) == 1 and _mode(host, aside[0]) == 0o700
    assert host.run("ls -d /tmp/clawdbot-restore.* 2>/dev/null").stdout.strip() == ""
