"""Re-runs against the converged openclaw host: no restart on a no-op, check mode, a hand-added key, the real
validator refusing a candidate, a port change."""
import glob
import json
import os
import stat
import time

from helpers import GATEWAY, GATEWAY_HOSTS, recap, run_playbook, user_cmd, write_as_user
from oc import cli_json, config_path, read_config, start_times, state_dir, unit_name, unit_path, unit_show, wait_healthy

testinfra_hosts = GATEWAY_HOSTS

SITE = "playbooks/site.yml"


def test_rerun_changes_nothing_and_restarts_nothing(host):
    before = start_times(host)
    rc, out = run_playbook(SITE)
    assert rc == 0, out[-4000:]
    assert recap(out)["changed"] == 0, out[-6000:]
    # by start time, not only MainPID: a restart would give a new ExecMainStartTimestamp
    assert start_times(host) == before


def test_check_mode_after_converge_reports_no_change(host):
    before = start_times(host)
    rc, out = run_playbook(SITE, check=True)
    assert rc == 0, out[-4000:]
    assert recap(out)["changed"] == 0, out[-6000:]
    assert start_times(host) == before


def test_hand_added_key_survives_converge(host):
    cfg = read_config(host, "personal")
    cfg["telemetry"] = {"enabled": False}
    write_as_user(host, config_path(host, "personal"), json.dumps(cfg, indent=2))
    rc, out = run_playbook(SITE)
    assert rc == 0, out[-4000:]
    assert recap(out)["changed"] == 0, "a hand-added key must not count as drift:\n" + out[-6000:]
    assert read_config(host, "personal")["telemetry"] == {"enabled": False}


def test_real_validator_refuses_an_invalid_candidate(host):
    path = config_path(host, "ops")
    md5 = host.file(path).md5sum
    before = start_times(host)
    extra = {"clawdbot_profiles": [{"name": "personal", "port": 18789,
                                    "telegram": {"bot_token": "123456789:AAtest-telegram-bot-token-personal-0001",
                                                 "allow_from": ["42"]}},
                                   {"name": "ops", "port": 18790, "settings": {"gateway": {"bogusKey": 1}}}]}
    rc, out = run_playbook(SITE, "-e", json.dumps(extra))
    assert rc != 0
    assert "rejected by openclaw" in out and "Unrecognized key" in out and "bogusKey" in out, out[-4000:]
    assert host.file(path).md5sum == md5
    assert start_times(host) == before
    leftovers = host.run("ls -A %s" % host.file(path).path.rsplit("/", 1)[0]).stdout.split()
    assert not [f for f in leftovers if ".ansible-" in f], leftovers


def test_port_change_takes_effect_and_keeps_user_keys(host):
    profiles = json.dumps({"clawdbot_profiles": [
        {"name": "personal", "port": 18789,
         "telegram": {"bot_token": "123456789:AAtest-telegram-bot-token-personal-0001", "allow_from": ["42"]}},
        {"name": "ops", "port": 18795}]})
    token_before = read_config(host, "ops")["gateway"]["auth"]["token"]
    rc, out = run_playbook(SITE, "-e", profiles)
    assert rc == 0, out[-4000:]
    assert recap(out)["changed"] > 0
    listening = host.run("ss -Hltn").stdout
    assert "127.0.0.1:18795 " in listening and "127.0.0.1:18790 " not in listening
    out, doc = cli_json(host, "ops", "gateway", "health", "--json")
    assert out.rc == 0 and doc["ok"] is True
    cfg = read_config(host, "ops")
    assert cfg["gateway"]["port"] == 18795
    assert cfg["gateway"]["auth"]["token"] == token_before, "the generated token must never be regenerated"
    assert read_config(host, "personal")["telemetry"] == {"enabled": False}

    # and back to the runbook layout; personal is not restarted
    personal = start_times(host)["personal"]
    rc, out = run_playbook(SITE)
    assert rc == 0, out[-4000:]
    assert start_times(host)["personal"] == personal
    for _attempt in range(60):
        if "127.0.0.1:18790 " in host.run("ss -Hltn").stdout:
            break
        time.sleep(1)
    assert unit_show(host, "ops", "ActiveState")["ActiveState"] == "active"
    assert "127.0.0.1:18790 " in host.run("ss -Hltn").stdout


def _profiles(ops_port):
    return {"clawdbot_profiles": [
        {"name": "personal", "port": 18789,
         "telegram": {"bot_token": "123456789:AAtest-telegram-bot-token-personal-0001", "allow_from": ["42"]}},
        {"name": "ops", "port": ops_port}]}


def test_a_restart_left_pending_by_an_interrupted_run_happens_on_the_next_run(host):
    """A run that stopped between writing a change and restarting the gateway leaves the marker behind; the next run
    restarts that gateway (and only it) although its config and unit already look right, then clears the marker."""
    marker = "%s/.homelab-clawdbot-restart-pending" % state_dir(host, "ops")
    write_as_user(host, marker, "{}\n")
    before = start_times(host)
    rc, out = run_playbook(SITE)
    assert rc == 0, out[-4000:]
    after = start_times(host)
    assert after["ops"] != before["ops"] and after["personal"] == before["personal"]
    assert not host.file(marker).exists
    out, doc = cli_json(host, "ops", "gateway", "health", "--json")
    assert out.rc == 0 and doc["ok"] is True


def test_a_change_that_does_not_come_up_is_rolled_back_config_and_unit(host):
    """ops moves to a port something else already holds: the gateway cannot come up, so its previous config and unit
    are put back and started, the run fails with a report, and ops serves on its old port again."""
    cfg_md5 = host.file(config_path(host, "ops")).md5sum
    unit_md5 = host.file(unit_path(host, "ops")).md5sum
    blocker = host.run("nohup python3 -m http.server 18797 --bind 127.0.0.1 >/dev/null 2>&1 & echo $!").stdout.strip()
    try:
        time.sleep(1)
        rc, out = run_playbook(SITE, "-e", json.dumps(dict(_profiles(18797), profiles_health_timeout=20)))
        flat = " ".join(out.split())
        assert rc != 0, out[-4000:]
        assert "Profile ops (openclaw-gateway-ops.service, openclaw 2026.9.6) did not pass `gateway health`" in flat, out[-4000:]
        assert "Rolled it back to its previous config and unit (openclaw 2026.9.6): healthy again." in flat, out[-4000:]
    finally:
        host.run("kill %s" % blocker)
    assert host.file(config_path(host, "ops")).md5sum == cfg_md5
    assert host.file(unit_path(host, "ops")).md5sum == unit_md5
    assert read_config(host, "ops")["gateway"]["port"] == 18790
    assert unit_show(host, "ops", "ActiveState")["ActiveState"] == "active"
    assert "127.0.0.1:18790 " in host.run("ss -Hltn").stdout
    assert not host.file("%s/.homelab-clawdbot-restart-pending" % state_dir(host, "ops")).exists


ROLE_TASK = "Read the Node.js, link and Git state"  # node_runtime's read: the first task of the skipped roles


def _records():
    d = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "converged")
    return d, sorted(glob.glob(os.path.join(d, "*.json")))


def test_rerun_reads_the_host_once_and_a_hand_change_brings_the_roles_back(host):
    """site.yml skips the roles only after a run that changed nothing, and only while inputs and host stay as that
    run left them (converge_stamp); a change on the host found by that one read brings every role back."""
    for _settle in range(2):  # after the rollback test: at most one run with changes, then one that finds none
        rc, out = run_playbook(SITE)
        assert rc == 0, out[-6000:]
        if recap(out)["changed"] == 0:
            break
    assert recap(out)["changed"] == 0, out[-6000:]
    before = start_times(host)
    rc, out = run_playbook(SITE, "-v")
    assert rc == 0 and recap(out)["changed"] == 0, out[-6000:]
    assert "the host and the inputs are as the last run, which changed nothing, left them" in out, out[-6000:]
    assert ROLE_TASK not in out
    assert "Check Tailscale" in out and "Ask Spark for its models and health" in out  # checked on every run
    assert start_times(host) == before

    # a gateway stopped by hand: the one read sees the unit state, the roles run and start it again
    stop = user_cmd(host, "systemctl --user stop %s" % unit_name("ops"))
    assert stop.rc == 0, stop.stderr
    rc, out = run_playbook(SITE, "-v")
    assert rc == 0, out[-6000:]
    assert "the host changed since the last run" in out and ROLE_TASK in out, out[-6000:]
    assert recap(out)["changed"] > 0
    assert unit_show(host, "ops", "ActiveState")["ActiveState"] == "active"
    wait_healthy(host, "ops")

    # a managed key changed by hand in a config (the file the config merge reads) is put back
    cfg = read_config(host, "ops")
    cfg["update"]["checkOnStart"] = True
    write_as_user(host, config_path(host, "ops"), json.dumps(cfg, indent=2))
    rc, out = run_playbook(SITE, "-v")
    assert rc == 0 and ROLE_TASK in out, out[-6000:]
    assert read_config(host, "ops")["update"]["checkOnStart"] is False

    # the records stay on the controller, private, with digests and paths but no secret
    d, files = _records()
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700 and len(files) == 1, files
    assert stat.S_IMODE(os.stat(files[0]).st_mode) == 0o600
    text = open(files[0]).read()
    record = json.loads(text)
    assert record["host"] == GATEWAY and config_path(host, "ops") in json.dumps(record["spec"])
    for secret in (read_config(host, "ops")["gateway"]["auth"]["token"], read_config(host, "personal")["gateway"]["auth"]["token"],
                   "test-spark-key-0123456789", "AAtest-telegram-bot-token"):
        assert secret not in text

    # without a cache directory every role runs on every run, and still changes nothing
    rc, out = run_playbook(SITE, "-e", "clawdbot_converge_cache_dir=")
    assert rc == 0 and ROLE_TASK in out and recap(out)["changed"] == 0, out[-6000:]
