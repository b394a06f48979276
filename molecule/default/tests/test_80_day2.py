"""Day-2 backup and restore on openclaw, through upstream's own archives.

The personal profile holds real user data first: a device paired through the gateway (the real `openclaw tui` as a
new device on loopback, approved by the gateway itself since autoApproveLocal is on), a Telegram sender in the
SQLite allow table (approved by the dm_pairing module through the real CLI; test_50 already left one), the session
of test_60's agent turn (when it ran), a workspace file and a hand-added config key. backup.yml writes it with
`openclaw backup create --verify` while the gateway runs; the state root is wiped; restore.yml brings it back through
`openclaw backup restore --target` and the staged swap. Before that, a clawdbot archive and a damaged upstream archive
are refused with nothing changed. backup.yml --check writes nothing; health.yml reports the restored gateway ready.
"""
import base64
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
from helpers import (GATEWAY_HOSTS, GATEWAY_USER, PROFILES, port_held, port_holder_log, recap, run_module, run_playbook,
                     user_cmd, write_as_user)
from oc import (PIN, cli_json, config_path, home, pair_tui, read_config, seed_dm_request, start_times,
                state_dir, unit_name, wait_healthy)

testinfra_hosts = GATEWAY_HOSTS

SECRETS = ["123456789:AAtest-telegram-bot-token-personal-0001", "test-spark-key-0123456789"]

# What the restore must bring back from the SQLite stores (no key material is selected, so nothing secret is printed).
QUERIES = {
    "state/openclaw.sqlite": {
        "paired": "select device_id, client_id, approved_at_ms from device_pairing_paired order by 1",
        "allow": "select channel_key, account_id, entry from channel_pairing_allow_entries order by 1, 2, 3",
        "identity": "select identity_key, device_id from device_identities order by 1",
    },
}
SQL = r"""
import json, os, sqlite3, sys
root, queries = sys.argv[1], json.loads(sys.argv[2])
out = {}
for db, named in queries.items():
    path = os.path.join(root, db)
    if not os.path.exists(path):
        out[db] = None
        continue
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    out[db] = {name: con.execute(q).fetchall() for name, q in named.items()}
    # the sessions of the agent database: row counts of its session and transcript tables
for db in ("agents/main/agent/openclaw-agent.sqlite",):
    path = os.path.join(root, db)
    if os.path.exists(path):
        con = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
        names = [r[0] for r in con.execute("select name from sqlite_master where type = 'table' order by 1")]
        out[db] = {n: con.execute('select count(*) from "%s"' % n).fetchone()[0] for n in names
                   if "session" in n or "transcript" in n or "message" in n}
print(json.dumps(out, sort_keys=True))
"""


def stores(host, profile="personal"):
    """The rows of QUERIES (and the agent database's session tables), read as the gateway user."""
    script = base64.b64encode(SQL.encode()).decode()
    res = host.run("echo %s | base64 -d > /tmp/day2-sql.py && chmod 0644 /tmp/day2-sql.py && runuser -u %s -- python3 "
                   "/tmp/day2-sql.py %s '%s'" % (script, GATEWAY_USER, state_dir(host, profile), json.dumps(QUERIES)))
    assert res.rc == 0, res.stderr[-2000:]
    return json.loads(res.stdout)


def paired(profile="personal"):
    info = run_module("homelab.clawdbot.device_pairing_info", {"profile": profile, "user": GATEWAY_USER})
    assert not info.get("failed"), info
    return info["paired"]


def untouched(host):
    """What a refused restore must leave as it is: the gateways' start times, the live config, no staging dirs."""
    h = home(host)
    return {"start": start_times(host), "config": host.file(config_path(host, "personal")).md5sum,
            "dirs": sorted(host.run("ls -d %s/.clawdbot-restore-* %s.*-restore-* 2>/dev/null"
                                    % (h, state_dir(host, "personal"))).stdout.split())}


@pytest.fixture(scope="module")
def user_data(host):
    # a new device, approved by the gateway itself (local auto-approval is on in this scenario's converge)
    name = "day2-tui-%s" % uuid.uuid4().hex[:8]
    token = read_config(host, "personal")["gateway"]["auth"]["token"]
    device = pair_tui(host, "personal", name, paired)

    # an approved DM sender in the SQLite allow table (test_50 leaves one; otherwise one is approved here)
    if not stores(host)["state/openclaw.sqlite"]["allow"]:
        seed_dm_request(host, "personal", "DAYTWZ23", str(700000000 + uuid.uuid4().int % 99999999))
        dm = run_module("homelab.clawdbot.dm_pairing",
                        {"profile": "personal", "user": GATEWAY_USER, "channel": "telegram", "code": "daytwz23"})
        assert dm["changed"] is True and not dm.get("failed"), json.dumps(dm)[-2000:]

    mark = "day2-%s" % uuid.uuid4().hex[:8]
    cfg = read_config(host, "personal")
    # a key the gateway applies without a restart (reload kind "none"), as a hand edit
    cfg.setdefault("messages", {})["responsePrefix"] = mark
    write_as_user(host, config_path(host, "personal"), json.dumps(cfg, indent=2))
    workspace = state_dir(host, "personal") + "/workspace"
    write_as_user(host, workspace + "/NOTES.md", "# notes %s\n" % mark)
    assert wait_healthy(host, "personal")
    data = {"device": device, "mark": mark, "token": token, "stores": stores(host), "config": cfg}
    assert data["stores"]["state/openclaw.sqlite"]["allow"], data["stores"]
    # test_60's agent turn leaves its session in the agent database (when it ran before this module)
    agent = data["stores"].get("agents/main/agent/openclaw-agent.sqlite")
    assert agent is None or agent.get("transcript_events", 0) > 0, agent
    yield data
    h = home(host)
    host.run("rm -rf /tmp/%s %s.pre-restore-* %s.failed-restore-* %s/.clawdbot-restore-*"
             % (name, state_dir(host, "personal"), state_dir(host, "personal"), h))


@pytest.fixture(scope="module")
def backup(host, user_data):
    root = tempfile.mkdtemp(prefix="day2-backups-")
    target = os.path.join(root, "vm102")
    before = start_times(host)
    started = time.monotonic()
    rc, out = run_playbook("playbooks/backup.yml", "-e", "profile=personal", "-e", "clawdbot_backup_dir=%s" % target)
    print("backup.yml (personal, openclaw backup create --verify, gateway running): %.1f s" % (time.monotonic() - started))
    assert rc == 0, out[-4000:]
    files = os.listdir(target)
    yield {"dir": target, "out": out, "archive": os.path.join(target, files[0]) if len(files) == 1 else None,
           "files": files, "start_before": before, "start_after": start_times(host)}
    shutil.rmtree(root, ignore_errors=True)


def members(archive):
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("MANIFEST.json"))
        inner = tar.extractfile(manifest["upstream_archive"]).read()
        names = tar.getnames()
    with tarfile.open(fileobj=io.BytesIO(inner)) as tar:
        inner_names = tar.getnames()
        inner_modes = {m.name: m.mode for m in tar.getmembers()}
    return names, manifest, inner_names, inner_modes


def test_backup_is_upstreams_verified_archive_online_and_private(host, user_data, backup):
    assert len(backup["files"]) == 1 and re.match(r"^vm102-personal-\d{8}T\d{6}Z\.tar\.gz$", backup["files"][0]), backup["files"]
    archive = backup["archive"]
    assert stat.S_IMODE(os.stat(backup["dir"]).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(archive).st_mode) == 0o600
    flat = " ".join(backup["out"].split())
    assert archive in flat and "verified by openclaw %s" % PIN in flat, flat[-2000:]
    names, manifest, inner, modes = members(archive)
    assert names == ["MANIFEST.json", "openclaw-backup.tar.gz"]
    assert manifest["flavour"] == "openclaw" and manifest["version"] == PIN and manifest["profile"] == "personal"
    assert manifest["gateway_stopped"] is False and manifest["upstream_assets"] == [state_dir(host, "personal")]
    root = manifest["upstream_root"] + "/payload/posix" + state_dir(host, "personal")
    for rel in ("openclaw.json", "state/openclaw.sqlite", "workspace/NOTES.md", "telegram-bot-token"):
        assert "%s/%s" % (root, rel) in inner, sorted(inner)[:60]
    assert modes["%s/openclaw.json" % root] == 0o600
    # SQLite went in as a snapshot, never as live -wal/-shm files
    assert not [n for n in inner if n.endswith(("-wal", "-shm"))]
    for secret in SECRETS + [user_data["token"]]:
        assert secret not in backup["out"]
    # online: no gateway was restarted; nothing is left on the host
    assert backup["start_after"] == backup["start_before"]
    assert host.run("ls -d /tmp/clawdbot-backup.* /tmp/clawdbot-fetch.* 2>/dev/null").stdout.strip() == ""


def test_backup_in_check_mode_says_what_it_would_do_and_writes_nothing(host, backup):
    before = start_times(host)
    target = os.path.join(os.path.dirname(backup["dir"]), "check-mode")
    rc, out = run_playbook("playbooks/backup.yml", "-e", "profile=personal", "-e", "clawdbot_backup_dir=%s" % target,
                           check=True)
    flat = " ".join(out.split())
    assert rc == 0 and recap(out)["changed"] == 0, out[-3000:]
    assert "Would back up personal on vm102 into %s" % target in flat and "the gateways keep running" in flat, flat[-2000:]
    assert not os.path.exists(target)
    assert host.run("ls -d /tmp/clawdbot-backup.* /tmp/clawdbot-fetch.* 2>/dev/null").stdout.strip() == ""
    assert start_times(host) == before


def _rebuild(src, dst, manifest=None, inner=None):
    """A copy of a backup.yml archive with MANIFEST.json and/or upstream's archive replaced."""
    with tarfile.open(src) as tin, tarfile.open(dst, "w:gz") as tout:
        for member in tin.getmembers():
            data = tin.extractfile(member).read()
            if member.name == "MANIFEST.json" and manifest:
                data = json.dumps(manifest(json.loads(data)), indent=2).encode()
            elif member.name != "MANIFEST.json" and inner:
                data = inner(data)
            member.size = len(data)
            tout.addfile(member, io.BytesIO(data))
    os.chmod(dst, 0o600)
    return dst


@pytest.fixture(scope="module")
def derived():
    root = tempfile.mkdtemp(prefix="day2-derived-")
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_restore_refuses_a_clawdbot_archive(host, backup, derived):
    # a format-1 manifest (no flavour) is a clawdbot backup: this host runs openclaw
    old = _rebuild(backup["archive"], os.path.join(derived, "vm102-personal-clawdbot.tar.gz"),
                   manifest=lambda m: {k: v for k, v in m.items() if k not in ("flavour", "format")})
    before = untouched(host)
    rc, out = run_playbook("playbooks/restore.yml", "-e", "profile=personal", "-e", "archive=%s" % old)
    flat = " ".join(out.split())
    assert rc != 0 and "it is a backup of the clawdbot flavour, and this host runs openclaw" in flat, flat[-3000:]
    assert recap(out)["changed"] == 0
    assert untouched(host) == before


def test_restore_refuses_a_damaged_upstream_archive_in_staging(host, backup, derived):
    # upstream's archive cut in half: only `openclaw backup restore` (its verification) can notice
    bad = _rebuild(backup["archive"], os.path.join(derived, "vm102-personal-damaged.tar.gz"),
                   inner=lambda data: data[:len(data) // 2])
    before = untouched(host)
    rc, out = run_playbook("playbooks/restore.yml", "-e", "profile=personal", "-e", "archive=%s" % bad)
    flat = " ".join(out.split())
    assert rc != 0 and "openclaw backup restore --json` refused upstream's archive openclaw-backup.tar.gz" in flat, flat[-3000:]
    assert "Nothing was changed" in flat and "was removed" in flat
    assert untouched(host) == before


def test_restore_after_wipe_brings_everything_back(host, user_data, backup):
    state = state_dir(host, "personal")
    assert user_cmd(host, "systemctl --user stop %s" % unit_name("personal")).rc == 0
    assert host.run("rm -rf %s" % state).rc == 0
    started = time.monotonic()
    rc, out = run_playbook("playbooks/restore.yml", "-e", "profile=personal", "-e", "archive=%s" % backup["archive"])
    print("restore.yml (personal, openclaw backup restore --target + swap): %.1f s" % (time.monotonic() - started))
    assert rc == 0, out[-4000:]
    flat = " ".join(out.split())
    assert "gateway healthy" in flat and "openclaw %s" % PIN in flat and "There was no previous state root" in flat, flat[-2000:]
    for secret in SECRETS + [user_data["token"]]:
        assert secret not in out
    assert wait_healthy(host, "personal")

    # the SQLite stores (paired devices, allow list, the gateway's identity, sessions), config and workspace are back
    assert stores(host) == user_data["stores"]
    mine = [p for p in paired() if p["deviceId"] == user_data["device"]["deviceId"]]
    assert len(mine) == 1 and mine[0]["approvedAtMs"] == user_data["device"]["approvedAtMs"], mine
    cfg = read_config(host, "personal")
    assert cfg["messages"]["responsePrefix"] == user_data["mark"] and cfg["gateway"]["auth"]["token"] == user_data["token"]
    assert host.file(state + "/workspace/NOTES.md").content_string == "# notes %s\n" % user_data["mark"]
    out, doc = cli_json(host, "personal", "config", "validate", "--json")
    assert out.rc == 0 and doc["valid"] is True, out.stdout[-1000:]

    # private and owned by the gateway user; the staging directory is gone
    assert host.file(state).mode == 0o700
    for rel in ("openclaw.json", "telegram-bot-token"):
        f = host.file("%s/%s" % (state, rel))
        assert f.mode == 0o600 and f.user == GATEWAY_USER, rel
    assert host.run("find %s ! -user %s" % (state, GATEWAY_USER)).stdout.strip() == ""
    # (the gateway keeps its own lock files in a group-writable tmp/; what was restored is private)
    private = " ".join("%s/%s" % (state, p) for p in ("openclaw.json", "telegram-bot-token", "state", "workspace"))
    assert host.run("find %s -perm /077 ! -type l" % private).stdout.strip() == ""
    assert host.run("ls -d %s/.clawdbot-restore-* 2>/dev/null" % home(host)).stdout.strip() == ""

    # the managed state is what site.yml would write: a re-run changes nothing and restarts nothing
    before = start_times(host)
    rc, out = run_playbook("playbooks/site.yml")
    assert rc == 0 and recap(out)["changed"] == 0, out[-4000:]
    assert start_times(host) == before


def test_restore_whose_gateway_fails_health_is_swapped_back(host, user_data, backup):
    """The restored gateway cannot listen (a process of the test takes personal's port while the gateway is stopped),
    so `gateway health` never answers: the swap back puts the previous state root in place, starts the gateway on it
    and waits for its health; the run fails saying so, and the restored state that failed is kept."""
    state = state_dir(host, "personal")
    # the live state differs from the archive's: a newer hand-added key and workspace file
    live_mark = "live-%s" % uuid.uuid4().hex[:8]
    cfg = read_config(host, "personal")
    cfg["messages"]["responsePrefix"] = live_mark
    write_as_user(host, config_path(host, "personal"), json.dumps(cfg, indent=2))
    write_as_user(host, state + "/workspace/NOTES.md", "# notes %s\n" % live_mark)
    assert wait_healthy(host, "personal")
    ops_before = start_times(host)["ops"]
    # no leftovers of an earlier run: the holder watches for these names
    host.run("rm -rf %s.failed-restore-* %s.pre-restore-*" % (state, state))
    started = time.monotonic()
    # the port is taken once the live state root was moved aside (the gateway is stopped), and given back once the
    # swap back moved the restored state aside, so the previous state can listen again
    with port_held(host, PROFILES["personal"], state + ".pre-restore-*", "exists:%s.failed-restore-*" % state):
        rc, out = run_playbook("playbooks/restore.yml", "-e", "profile=personal", "-e", "archive=%s" % backup["archive"],
                               "-e", "clawdbot_restore_health_timeout=12")
    print("restore.yml (unhealthy, swapped back): %.1f s" % (time.monotonic() - started))
    assert port_holder_log(host) == ["holding", "released"]
    flat = " ".join(out.split())
    assert rc != 0, flat[-3000:]
    assert "Restoring profile personal on vm102 from %s failed" % backup["archive"] in flat, flat[-3000:]
    assert "did not answer" in flat and "The restore was rolled back: the previous state root is in place again" in flat
    assert "%s is healthy again" % unit_name("personal") in flat, flat[-3000:]
    for secret in SECRETS + [user_data["token"]]:
        assert secret not in out

    # the previous state runs again, healthy, with its newer key and file, the token and the paired device
    assert user_cmd(host, "systemctl --user is-active %s" % unit_name("personal")).stdout.strip() == "active"
    assert wait_healthy(host, "personal")
    cfg = read_config(host, "personal")
    assert cfg["messages"]["responsePrefix"] == live_mark and cfg["gateway"]["auth"]["token"] == user_data["token"]
    assert host.file(state + "/workspace/NOTES.md").content_string == "# notes %s\n" % live_mark
    assert user_data["device"]["deviceId"] in [p["deviceId"] for p in paired()]
    # ops was not touched
    assert start_times(host)["ops"] == ops_before

    # the restored state that failed is kept, private, named in the message; nothing was left at .pre-restore-
    failed = host.run("ls -d %s.failed-restore-*" % state).stdout.split()
    assert len(failed) == 1 and failed[0] in flat, (failed, flat[-2000:])
    assert host.file(failed[0]).mode == 0o700
    kept = json.loads(host.run("cat %s/openclaw.json" % failed[0]).stdout)
    assert kept["messages"]["responsePrefix"] == user_data["mark"]
    assert host.run("ls -d %s.pre-restore-* %s/.clawdbot-restore-* 2>/dev/null" % (state, home(host))).stdout.strip() == ""


def test_health_reports_readiness_of_the_restored_gateway(host, backup):
    # the report asks /healthz, /readyz and `gateway status --require-rpc` on openclaw (200 and ready: true; a 503 names its failing checks and is DOWN)
    rc, out = run_playbook("playbooks/health.yml", "-e", "profile=personal")
    flat = " ".join(out.split())
    assert rc == 0 and recap(out)["changed"] == 0, flat[-3000:]
    assert "personal: OK" in flat and "ready: ready" in flat and "gateway health: ok" in flat, flat[-3000:]
    # the CLI's view of the service and an RPC round trip (`gateway status --json --require-rpc`), and liveness
    assert re.search(r"gateway status --require-rpc: ok \(service running, pid \d+, rpc read_only\)", flat), flat[-3000:]
    assert "live: live" in flat
