"""Re-runs against the converged openclaw host: no restart on a no-op, check mode, a hand-added key, the real
validator refusing a candidate, a port change."""
import json
import time

from helpers import GATEWAY_HOSTS, recap, run_playbook, write_as_user
from oc import cli_json, config_path, read_config, start_times, state_dir, unit_path, unit_show

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
        rc, out = run_playbook(SITE, "-e", json.dumps(dict(_profiles(18797), profiles_health_timeout=60)))
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
