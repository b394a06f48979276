"""Day-2 playbooks: health report, backup to the controller, restore after the state is wiped.

The personal profile gets real user data first: a device paired through the gateway (contract 4.4 recipe: bind lan
for a moment, the real CLI with a fresh HOME from the container's own address, approval with device_pairing), a
Telegram sender approved with dm_pairing (the CLI writes the allow-from store), a workspace file and a hand-added
config key. backup.yml fetches it, the state root and the workspace are wiped, restore.yml brings everything back.
Then restore.yml's safety checks run against copies of that archive: more than one host, an archive of another host, a
truncated archive (all refused before the gateway is touched), and an archive whose gateway fails its health check
(swapped back automatically).
"""
import io
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
from helpers import (GATEWAY, GATEWAY_HOSTS, GATEWAY_USER, cli, device_id, fresh_home, main_pids, read_config, recap, remote_cli,
                     run_module, run_playbook, user_cmd, wait_healthy_cli, wait_listen, write_as_user, write_dm_request)

testinfra_hosts = GATEWAY_HOSTS

HOME = "/home/%s" % GATEWAY_USER
STATE = HOME + "/.clawdbot-personal"
WORKSPACE = HOME + "/clawd-personal"
UNIT = "clawdbot-gateway-personal.service"
SECRETS = ["123456789:AAtest-telegram-bot-token-personal-0001", "test-spark-key-0123456789"]


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
    for name, port, serve in (("personal", 18789, "https://%s.tail1234ab.ts.net/" % GATEWAY),
                              ("ops", 18790, "https://%s.tail1234ab.ts.net:8443/" % GATEWAY)):
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
        assert "DOWN on %s: ops (unit is inactive (dead))" % GATEWAY in flat, flat[-3000:]
        assert "personal: OK" in flat and "personal (" not in flat.split("DOWN on %s:" % GATEWAY)[1]
        # the whole report came before the failure
        assert flat.index("spark: ") < flat.index("DOWN on %s:" % GATEWAY)
    finally:
        user_cmd(host, "systemctl --user start clawdbot-gateway-ops.service")
    assert wait_healthy_cli(host, "ops")


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
        assert wait_listen(host, "0.0.0.0:18789"), host.run("ss -Hltn").stdout
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
    host.run("rm -rf %s.pre-restore-* %s.pre-restore-* %s.failed-restore-* %s.failed-restore-* %s/.clawdbot-restore-*"
             % (STATE, WORKSPACE, STATE, WORKSPACE, HOME))


@pytest.fixture(scope="module")
def backup(host, user_data):
    root = tempfile.mkdtemp(prefix="day2-backups-")
    target = os.path.join(root, GATEWAY)
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
    assert len(files) == 1 and re.match(r"^%s-personal-\d{8}T\d{6}Z\.tar\.gz$" % re.escape(GATEWAY), files[0]), files
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
    assert host.run("ls -d /tmp/clawdbot-backup.* /tmp/clawdbot-fetch.* 2>/dev/null").stdout.strip() == ""


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
    # the staging directory next to the state root is gone (only its archive copy was left in it)
    assert host.run("ls -d %s/.clawdbot-restore-* /tmp/clawdbot-restore.* 2>/dev/null" % HOME).stdout.strip() == ""


# ---------------------------------------------------------------------------------- restore safety (after the above)


def _archive(backup):
    return os.path.join(backup["dir"], os.listdir(backup["dir"])[0])


def _rebuild(src, dst, manifest=None, config=None):
    """A copy of a backup.yml archive (same members, order and modes) with MANIFEST.json and/or state/clawdbot.json
    changed by the given functions."""
    with tarfile.open(src) as tin, tarfile.open(dst, "w:gz") as tout:
        for member in tin.getmembers():
            data = tin.extractfile(member).read() if member.isreg() else None
            if member.name == "MANIFEST.json" and manifest:
                data = json.dumps(manifest(json.loads(data)), indent=2).encode()
            elif member.name == "state/clawdbot.json" and config:
                data = json.dumps(config(json.loads(data)), indent=2).encode()
            if data is None:
                tout.addfile(member)
            else:
                member.size = len(data)
                tout.addfile(member, io.BytesIO(data))
    os.chmod(dst, 0o600)
    return dst


def _untouched(host):
    """What a refused restore must leave as it is: the running gateways, the live config, the dirs next to it."""
    return {"pids": main_pids(host), "config": host.file(STATE + "/clawdbot.json").md5sum,
            "dirs": sorted(host.run("ls -d %s.*-restore-* %s.*-restore-* %s/.clawdbot-restore-* 2>/dev/null"
                                    % (STATE, WORKSPACE, HOME)).stdout.split())}


@pytest.fixture(scope="module")
def derived():
    """A private directory on the controller for the doctored copies of the backup archive."""
    root = tempfile.mkdtemp(prefix="day2-derived-")
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_restore_refuses_more_than_one_host_before_contacting_any(host, backup, derived):
    # A second gateway host that does not exist: the check runs first, on the controller, so it is never contacted.
    extra = os.path.join(derived, "second-gateway.yml")
    with open(extra, "w") as f:
        f.write("clawdbot_gateways:\n  hosts:\n    vm102b:\n      ansible_host: vm102b.invalid\n"
                "      ansible_connection: ssh\n")
    before = _untouched(host)
    rc, out = run_playbook("playbooks/restore.yml", "-i", extra, "-e", "profile=personal", "-e", "archive=%s" % _archive(backup))
    flat = " ".join(out.split())
    assert rc != 0 and "restores one profile on exactly one host, but this run targets 2 hosts" in flat, flat[-3000:]
    assert "vm102b" in flat and "-l <host> (--limit)" in flat
    assert "vm102b.invalid" not in flat  # no connection was tried
    assert _untouched(host) == before


def test_restore_refuses_an_archive_of_another_host(host, backup, derived):
    other = _rebuild(_archive(backup), os.path.join(derived, "vm999-personal.tar.gz"),
                     manifest=lambda m: dict(m, host="vm999"))
    before = _untouched(host)
    rc, out = run_playbook("playbooks/restore.yml", "-e", "profile=personal", "-e", "archive=%s" % other)
    flat = " ".join(out.split())
    assert rc != 0 and "is a backup of profile personal on host vm999, not on %s" % GATEWAY in flat, flat[-3000:]
    assert "-e clawdbot_restore_any_host=true" in flat
    assert _untouched(host) == before
    # the override passes that check (check mode: validates only, changes nothing)
    rc, out = run_playbook("playbooks/restore.yml", "-e", "profile=personal", "-e", "archive=%s" % other,
                           "-e", "clawdbot_restore_any_host=true", check=True)
    flat = " ".join(out.split())
    assert rc == 0 and "Would restore profile personal from %s" % other in flat and "on vm999" in flat, flat[-3000:]
    assert _untouched(host) == before


def test_restore_refuses_a_truncated_archive_in_staging_with_the_gateway_untouched(host, backup, derived):
    with open(_archive(backup), "rb") as f:
        data = f.read()
    half = os.path.join(derived, GATEWAY + "-personal-truncated.tar.gz")
    with open(half, "wb") as f:
        f.write(data[:len(data) // 2])
    before = _untouched(host)
    rc, out = run_playbook("playbooks/restore.yml", "-e", "profile=personal", "-e", "archive=%s" % half)
    flat = " ".join(out.split())
    # the manifest at its start is readable; the full listing on the host is what refuses it
    assert rc != 0 and "Refused to restore profile personal on %s from %s" % (GATEWAY, half) in flat, flat[-3000:]
    assert "the archive is damaged or truncated" in flat and "unexpected end of file" in flat.lower()
    assert "Nothing was changed: %s and the current state were not touched" % UNIT in flat
    assert "Stop the gateway" not in flat
    # same MainPID, same config, no .pre-restore- dir, the staging directory removed
    assert _untouched(host) == before
    assert wait_healthy_cli(host, "personal", tries=5)


def test_restore_whose_gateway_fails_health_is_swapped_back(host, user_data, backup, derived):
    """gateway.mode "remote" passes the CLI validator (`config get gateway.mode`; the schema allows local|remote,
    contract 2.1) but the gateway refuses to start without mode local (`Gateway start blocked: set gateway.mode=local`),
    so the unit crash-loops and `gateway health` fails. (A changed gateway.port would not do: the unit pins the port
    with --port and CLAWDBOT_GATEWAY_PORT, which beats the config (contract 1.2, 1.3), so the gateway would still
    listen on 18789 and only the CLI would follow the config to ops' 18790.)"""
    bad_mark = "failed-%s" % uuid.uuid4().hex[:8]

    def doctor(cfg):
        cfg["gateway"]["mode"] = "remote"
        cfg.setdefault("ui", {}).setdefault("assistant", {})["name"] = bad_mark
        return cfg

    bad = _rebuild(_archive(backup), os.path.join(derived, GATEWAY + "-personal-unhealthy.tar.gz"), config=doctor)
    cfg = read_config(host, "personal")
    assert cfg["ui"]["assistant"]["name"] == user_data["mark"] and cfg["gateway"]["mode"] == "local"
    before = _untouched(host)
    started = time.monotonic()
    rc, out = run_playbook("playbooks/restore.yml", "-e", "profile=personal", "-e", "archive=%s" % bad,
                           "-e", "clawdbot_restore_health_timeout=12")
    print("restore.yml (unhealthy, swapped back): %.1f s" % (time.monotonic() - started))
    flat = " ".join(out.split())
    assert rc != 0, flat[-3000:]
    assert "Restoring profile personal on %s from %s failed" % (GATEWAY, bad) in flat, flat[-3000:]
    assert "did not answer" in flat and "The restore was rolled back" in flat and "%s is healthy again" % UNIT in flat
    for secret in SECRETS + [user_data["token"]]:
        assert secret not in out

    # the previous state runs again: active, healthy, the hand-added key, the token and the paired device are there
    assert user_cmd(host, "systemctl --user is-active %s" % UNIT).stdout.strip() == "active"
    assert wait_healthy_cli(host, "personal")
    cfg = read_config(host, "personal")
    assert cfg["ui"]["assistant"]["name"] == user_data["mark"] and cfg["gateway"]["mode"] == "local"
    assert cfg["gateway"]["auth"]["token"] == user_data["token"]
    assert user_data["device"] in json.loads(host.file(STATE + "/devices/paired.json").content_string)
    assert host.file(WORKSPACE + "/NOTES.md").content_string == "# notes %s\n" % user_data["mark"]

    # the state that failed is kept (private) and named in the message; the .pre-restore- dir went back into place
    after = _untouched(host)
    new = sorted(set(after["dirs"]) - set(before["dirs"]))
    failed = [d for d in new if d.startswith(STATE + ".failed-restore-")]
    assert len(failed) == 1 and failed[0] in flat, (new, flat[-2000:])
    assert [d for d in new if d.startswith(WORKSPACE + ".failed-restore-")], new
    assert not [d for d in new if ".pre-restore-" in d or "/.clawdbot-restore-" in d], new
    assert _mode(host, failed[0]) == 0o700
    kept = json.loads(host.run("cat %s/clawdbot.json" % failed[0]).stdout)
    assert kept["gateway"]["mode"] == "remote" and kept["ui"]["assistant"]["name"] == bad_mark
