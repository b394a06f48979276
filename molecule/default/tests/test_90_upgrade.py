"""Upgrades between two working openclaw releases from npm, 2026.9.5 -> 2026.9.6 (issue 15).

2026.9.6 migrates the SQLite state store from schema 17 to 18 the first time it opens it, and 2026.9.5 then refuses
the whole state dir ("uses newer schema version 18; this build supports 17"). So a rollback of the code alone
would leave the old gateway unable to start: the rollout copies state/ while the gateway is stopped and puts the copy
back when it rolls back.

The module fixture puts the host on 2026.9.5 first, the way such a host was set up: the gateways are stopped, their
state roots emptied (keeping config, bot token and workspace) so 2026.9.5 creates its own schema-17 stores, and
site.yml is run with clawdbot_install_version=2026.9.5. A device is then paired on personal through its gateway and a
config key is added by hand. Then:
  1. an upgrade whose new gateway cannot come up is rolled back: a process of the test takes personal's port the
     moment the old gateway lets it go, so 2026.9.6 migrates the store and then exits with EADDRINUSE (measured:
     schema 18 after about 7 s, the listen fails after about 18 s); the process gives the port back once the
     rollout has put state/ back. personal runs 2026.9.5 again on its schema-17 store with the device, ops was not
     touched. Without the state copy, 2026.9.5 would refuse the migrated store and stay down;
  2. the same upgrade without the fault: a verified backup of each profile first, written by the 2026.9.5 the units
     run (the CLI link already points to 2026.9.6 after run 1), then both profiles on 2026.9.6, healthy, with the
     device, the hand-added key and the migrated store.
The host ends on the scenario's pin (2026.9.6) with the converge's settings, for test_95.
"""
import json
import os
import shutil
import tarfile
import tempfile
import uuid

import pytest
from helpers import (GATEWAY_HOSTS, GATEWAY_USER, PROFILES, port_held, port_holder_log, run_playbook, user_cmd,
                     write_as_user)
from oc import PIN, config_path, home, pair_tui, read_config, state_dir, unit_name, unit_path, unit_show, wait_healthy

testinfra_hosts = GATEWAY_HOSTS

OLD = "2026.9.5"
UPGRADE = "playbooks/upgrade.yml"
# read-only (mode=ro), so reading never migrates a store
SQL = r"""
import json, sqlite3, sys
con = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(json.dumps({"schema": con.execute("pragma user_version").fetchone()[0],
                  "paired": sorted(r[0] for r in con.execute("select device_id from device_pairing_paired"))}))
"""


def store(host, profile):
    path = "%s/state/openclaw.sqlite" % state_dir(host, profile)
    res = host.run("runuser -u %s -- python3 -c '%s' %s" % (GATEWAY_USER, SQL.replace("'", "'\\''"), path))
    assert res.rc == 0, res.stderr[-2000:]
    return json.loads(res.stdout)


def unit_version(host, profile):
    text = host.file(unit_path(host, profile)).content_string
    return text.split("/versions/", 1)[1].split("/", 1)[0]


def flat(out):
    return " ".join(out.split())


@pytest.fixture(scope="module")
def old_host(host):
    """Both profiles on 2026.9.5 with schema-17 stores, a device paired on personal and a hand-added key."""
    for p in PROFILES:
        assert user_cmd(host, "systemctl --user stop %s" % unit_name(p)).rc == 0
        # everything 2026.9.6 wrote but the config, the bot token and the workspace
        res = host.run("cd %s && find . -mindepth 1 -maxdepth 1 ! -name openclaw.json ! -name telegram-bot-token "
                       "! -name workspace -exec rm -rf {} +" % state_dir(host, p))
        assert res.rc == 0, res.stderr
    rc, out = run_playbook("playbooks/site.yml", "-e", "clawdbot_install_version=%s" % OLD)
    assert rc == 0, out[-5000:]
    assert {p: unit_version(host, p) for p in PROFILES} == {p: OLD for p in PROFILES}
    assert all(wait_healthy(host, p) for p in PROFILES)

    def paired():
        return [{"deviceId": d, "clientId": "openclaw-tui"} for d in store(host, "personal")["paired"]]

    name = "upgrade-tui-%s" % uuid.uuid4().hex[:8]
    device = pair_tui(host, "personal", name, paired)["deviceId"]
    mark = "upgrade-%s" % uuid.uuid4().hex[:8]
    cfg = read_config(host, "personal")
    cfg.setdefault("messages", {})["responsePrefix"] = mark
    write_as_user(host, config_path(host, "personal"), json.dumps(cfg, indent=2))
    assert wait_healthy(host, "personal")
    assert store(host, "personal")["schema"] == 17 and device in store(host, "personal")["paired"]
    backups = tempfile.mkdtemp(prefix="upgrade-backups-")
    yield {"device": device, "mark": mark, "backups": backups}
    shutil.rmtree(backups, ignore_errors=True)
    host.run("rm -rf /tmp/%s" % name)


def test_an_upgrade_whose_gateway_cannot_come_up_is_rolled_back_with_its_state(host, old_host):
    ops_before = unit_show(host, "ops", "MainPID", "ExecMainStartTimestampMonotonic")
    copy = state_dir(host, "personal") + "/state.rollback"
    # the port is taken the moment the old gateway lets it go, and given back when the rollback moved the copy back
    with port_held(host, PROFILES["personal"], "", "gone:" + copy):
        rc, out = run_playbook(UPGRADE, "-e", "clawdbot_install_version=%s" % PIN, "-e", "profiles_health_timeout=20",
                               "-e", "clawdbot_upgrade_backup=false")
    assert port_holder_log(host) == ["holding", "released"]
    assert rc != 0, out[-3000:]
    text = flat(out)
    assert "Profile personal (openclaw-gateway-personal.service, openclaw %s) did not pass `gateway health`" % PIN in text, \
        out[-4000:]
    assert ("Rolled it back to its previous config and unit (openclaw %s) and to the state database copied before "
            "the new version opened it: healthy again" % OLD) in text, out[-4000:]
    assert "Not rolled out, still as before: ops" in text
    # personal: the old release on its own schema-17 store, with the device; no copy left behind
    assert unit_version(host, "personal") == OLD
    assert wait_healthy(host, "personal")
    st = store(host, "personal")
    assert st["schema"] == 17 and old_host["device"] in st["paired"], st
    assert not host.file(state_dir(host, "personal") + "/state.rollback").exists
    # ops: not touched
    assert unit_version(host, "ops") == OLD
    assert unit_show(host, "ops", "MainPID", "ExecMainStartTimestampMonotonic") == ops_before


def test_an_upgrade_between_two_releases_backs_up_first_and_keeps_user_data(host, old_host):
    # after the rolled-back run the CLI link already points to the new release, the gateways still run the old one
    assert PIN in host.file("%s/.openclaw/bin/openclaw" % home(host)).linked_to
    target = os.path.join(old_host["backups"], "vm102")
    rc, out = run_playbook(UPGRADE, "-e", "clawdbot_install_version=%s" % PIN, "-e", "clawdbot_backup_dir=" + target)
    assert rc == 0, out[-5000:]
    text = flat(out)
    assert "personal: %s -> %s; ops: %s -> %s" % (OLD, PIN, OLD, PIN) in text, out[-3000:]
    # one profile at a time: personal stopped, copied, started and healthy before ops is touched (rollout.yml)
    steps = [out.index(step % p) for p in PROFILES for step in (
        "Stop the gateway before its config or unit changes (%s)", "Copy the state database directory of the old version (%s)",
        "Start the gateway (%s)", "Wait for `gateway health` (%s)")]
    assert steps == sorted(steps), "personal must be restarted and healthy before ops is touched"
    # a verified backup per profile, written before the upgrade by the release the gateways ran
    archives = sorted(os.listdir(target))
    assert len(archives) == 2 and "Backed up before: " in text, (archives, out[-3000:])
    for name in archives:
        with tarfile.open(os.path.join(target, name)) as tar:
            manifest = json.load(tar.extractfile("MANIFEST.json"))
        assert manifest["version"] == OLD, manifest
        assert os.stat(os.path.join(target, name)).st_mode & 0o077 == 0
    # both on the new release, healthy, the store migrated with the device, the hand-added key kept, no copy left
    for p in PROFILES:
        assert unit_version(host, p) == PIN
        assert wait_healthy(host, p)
        assert store(host, p)["schema"] == 18
        assert not host.file(state_dir(host, p) + "/state.rollback").exists
    assert old_host["device"] in store(host, "personal")["paired"]
    assert read_config(host, "personal")["messages"]["responsePrefix"] == old_host["mark"]
