"""A profile with its own Unix user (issue 13, item 4): its own trust zone next to the runbook's one gateway user.

The scenario's profiles plus `lab` (port 18989, user `lab`, local devices not auto-approved) are converged through
site.yml: lab gets its own account, CLI install, lingering, state root and gateway in its own user manager. The
tests check what the isolation is for (neither user can read the other's config and token), that the runbook's
user and its running gateways are left alone, that health.yml and approve-pairing.yml run lab's commands as lab
(a real pending TUI device on lab's store is approved), backup.yml and restore.yml refuse lab, a re-run is a
no-op and a bad user is refused before anything changes. The fixture removes lab again and re-converges the scenario's layout for the later tests.
"""
import json
import os
import time
import uuid

import pytest
import yaml
from helpers import GATEWAY_HOSTS, GATEWAY_USER, recap, run_module, run_playbook
from oc import config_path, read_config, start_times

testinfra_hosts = GATEWAY_HOSTS

SITE = "playbooks/site.yml"
LAB = {"name": "lab", "port": 18989, "user": "lab", "auto_approve_local": False}
LAB_STATE = "/home/lab/.openclaw-lab"
LAB_CLI = "/home/lab/.openclaw/bin/openclaw"
LAB_UNIT = "openclaw-gateway-lab.service"


def scenario_profiles():
    """The scenario inventory's clawdbot_profiles (molecule.yml), so lab is added without changing the others."""
    with open(os.path.join(os.path.dirname(__file__), "..", "molecule.yml")) as f:
        doc = yaml.safe_load(f)
    return doc["provisioner"]["inventory"]["group_vars"]["clawdbot_gateways"]["clawdbot_profiles"]


def with_lab(**lab):
    return json.dumps({"clawdbot_profiles": scenario_profiles() + [dict(LAB, **lab)]})


def as_lab(host, command):
    uid = host.user("lab").uid
    return host.run("runuser -u lab -- env XDG_RUNTIME_DIR=/run/user/%d NO_COLOR=1 PATH=/usr/local/bin:/usr/bin:/bin "
                    "bash -c %s" % (uid, "'" + command.replace("'", "'\"'\"'") + "'"))


def lab_devices():
    """lab's pending and paired devices, read by the module as lab (lab's CLI, lab's SQLite store)."""
    info = run_module("homelab.clawdbot.device_pairing_info", {"profile": "lab", "user": "lab"})
    assert not info.get("failed"), info
    return info


def lab_json(host, *args):
    out = as_lab(host, "%s --profile lab %s" % (LAB_CLI, " ".join(args)))
    return out, json.loads(out.stdout[out.stdout.index("{"):]) if "{" in out.stdout else None


@pytest.fixture(scope="module")
def lab(host):
    before = start_times(host)
    rc, out = run_playbook(SITE, "-e", with_lab())
    assert rc == 0, out[-4000:]
    yield {"before": before, "converge": out}
    # Remove lab again (the later tests check the scenario's two profiles). '[o]' keeps pkill off its own shell.
    uid = host.user("lab").uid
    host.run("pkill -f '[o]penclaw tui'")
    stop = host.run("runuser -u lab -- env XDG_RUNTIME_DIR=/run/user/%d systemctl --user disable --now %s" % (uid, LAB_UNIT))
    assert stop.rc == 0, stop.stderr
    gone = host.run("loginctl disable-linger lab; for i in $(seq 1 60); do pkill -u lab; pgrep -u lab >/dev/null || break; sleep 1;"
                    " done; userdel -r lab")
    assert gone.rc == 0 and not host.user("lab").exists, gone.stderr
    rc, out = run_playbook(SITE)
    assert rc == 0, out[-4000:]


def test_lab_runs_as_its_own_user_from_its_own_install(host, lab):
    show = as_lab(host, "systemctl --user show -p ActiveState -p MainPID %s" % LAB_UNIT)
    state = dict(line.split("=", 1) for line in show.stdout.split())
    assert state["ActiveState"] == "active", show.stdout + show.stderr
    proc = host.run("ps -o user=,args= -p %s" % state["MainPID"]).stdout
    assert proc.split()[0] == "lab", proc
    assert "/home/lab/.openclaw/versions/" in proc and "--port 18989" in proc, proc
    assert host.file(LAB_CLI).exists and host.file("/home/lab/.openclaw").user == "lab"
    assert host.file(LAB_STATE).user == "lab" and host.file(LAB_STATE).mode == 0o700
    cfg = host.file(LAB_STATE + "/openclaw.json")
    assert cfg.user == "lab" and cfg.mode == 0o600
    out, doc = lab_json(host, "gateway", "health", "--json")
    assert out.rc == 0 and doc and doc.get("ok"), out.stdout + out.stderr
    assert host.socket("tcp://127.0.0.1:18989").is_listening
    assert not host.socket("tcp://0.0.0.0:18989").is_listening


def test_the_two_zones_cannot_read_each_other(host, lab):
    theirs = host.run("runuser -u %s -- cat %s/openclaw.json" % (GATEWAY_USER, LAB_STATE))
    assert theirs.rc != 0 and "Permission denied" in theirs.stderr, theirs.stdout
    mine = host.run("runuser -u lab -- cat %s" % config_path(host, "personal"))
    assert mine.rc != 0 and "Permission denied" in mine.stderr, mine.stdout
    lab_token = json.loads(host.file(LAB_STATE + "/openclaw.json").content_string)["gateway"]["auth"]["token"]
    assert lab_token not in {read_config(host, p)["gateway"]["auth"]["token"] for p in ("personal", "ops")}
    assert "lab" not in host.user(GATEWAY_USER).groups and GATEWAY_USER not in host.user("lab").groups


def test_the_runbook_users_gateways_are_left_alone(host, lab):
    # Nothing of personal/ops lands in lab's home or manager, and their gateways were not restarted.
    for p in ("personal", "ops"):
        assert not host.file("/home/lab/.openclaw-%s" % p).exists
        assert not host.file("/home/lab/.config/systemd/user/openclaw-gateway-%s.service" % p).exists
    assert start_times(host) == lab["before"]


def test_a_rerun_with_lab_changes_nothing(host, lab):
    rc, out = run_playbook(SITE, "-e", with_lab())
    assert rc == 0, out[-4000:]
    assert recap(out)["changed"] == 0, [line for line in out.splitlines() if line.startswith("changed:")]


def test_health_reports_lab_as_its_own_user(host, lab):
    rc, out = run_playbook("playbooks/health.yml", "-e", with_lab())
    assert rc == 0, out[-4000:]
    assert "lab: OK" in out and "127.0.0.1:18989 (loopback only)" in out, out[-3000:]


def test_backup_and_restore_refuse_lab_before_anything_changes(host, lab):
    # Both are written for one gateway user (a profile with its own user is backed up by hand as that user,
    # docs/operations.md); they must say so instead of archiving the wrong home or restoring into it.
    for playbook, extra in (("playbooks/backup.yml", []), ("playbooks/restore.yml", ["-e", "archive=/nonexistent.tar.gz"])):
        rc, out = run_playbook(playbook, "-e", with_lab(), "-e", "profile=lab", *extra)
        assert rc != 0, out[-3000:]
        assert "handles the profiles of clawdbot_user (user) only; lab" in " ".join(out.split()), out[-3000:]
        assert recap(out)["changed"] == 0


def test_approve_pairing_approves_a_real_request_on_labs_store(host, lab):
    name = "tui-%s" % uuid.uuid4().hex[:8]
    token = json.loads(host.file(LAB_STATE + "/openclaw.json").content_string)["gateway"]["auth"]["token"]
    res = host.run("mkdir -p /tmp/%s && cd /tmp && (OPENCLAW_STATE_DIR=/tmp/%s HOME=/tmp/%s NO_COLOR=1 "
                   "PATH=/usr/local/bin:/usr/bin:/bin timeout 300 script -qfc '%s tui --url ws://127.0.0.1:18989 --token %s' "
                   "/tmp/%s/typescript >/dev/null 2>&1 &)" % (name, name, name, LAB_CLI, token, name))
    assert res.rc == 0, res.stderr
    request = None
    for _attempt in range(45):
        fresh = [r for r in lab_devices()["pending"] if r.get("clientId") == "openclaw-tui"]
        if fresh:
            request = fresh[0]
            break
        time.sleep(2)
    assert request, "the TUI did not ask lab's gateway to pair"
    rc, out = run_playbook("playbooks/approve-pairing.yml", "-e", with_lab(), "-e", "profile=lab",
                           "-e", "client_id=openclaw-tui")
    assert rc == 0, out[-4000:]
    assert "approved %s" % request["requestId"] in out, out[-3000:]
    after = lab_devices()
    assert request["requestId"] not in [r["requestId"] for r in after["pending"]]
    assert request["deviceId"] in [d["deviceId"] for d in after["paired"]], after
    host.run("pkill -f '[o]penclaw tui'")


def test_a_root_user_is_refused_before_anything_changes(host, lab):
    before = host.file("/etc/passwd").md5sum
    rc, out = run_playbook(SITE, "-e", with_lab(user="root", name="lab2", port=19189))
    assert rc != 0
    assert "(lab2).user 'root' must be a non-root user name" in out, out[-3000:]
    assert recap(out)["changed"] == 0
    assert host.file("/etc/passwd").md5sum == before
