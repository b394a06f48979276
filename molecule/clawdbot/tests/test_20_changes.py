"""Re-runs against the converged host: check mode, hand-added keys, a port change."""
import json
import time

from helpers import GATEWAY_HOSTS, GATEWAY_USER, cli, main_pids, read_config, recap, run_playbook, user_cmd, write_as_user

testinfra_hosts = GATEWAY_HOSTS

SITE = "playbooks/site.yml"


def test_check_mode_after_converge_reports_no_change(host):
    before = main_pids(host)
    rc, out = run_playbook(SITE, check=True)
    assert rc == 0, out[-4000:]
    assert recap(out)["changed"] == 0, out[-6000:]
    assert main_pids(host) == before


def test_hand_added_key_survives_converge(host):
    home = host.user(GATEWAY_USER).home
    path = "%s/.clawdbot-personal/clawdbot.json" % home
    cfg = read_config(host, "personal")
    cfg.setdefault("ui", {})["assistant"] = {"name": "Molty"}
    write_as_user(host, path, json.dumps(cfg, indent=2))
    assert read_config(host, "personal")["ui"]["assistant"]["name"] == "Molty"
    rc, out = run_playbook(SITE)
    assert rc == 0, out[-4000:]
    assert recap(out)["changed"] == 0, "a hand-added key must not count as drift:\n" + out[-6000:]
    assert read_config(host, "personal")["ui"]["assistant"]["name"] == "Molty"


def test_port_change_takes_effect_and_keeps_user_keys(host):
    profiles = json.dumps({"clawdbot_profiles": [{"name": "personal", "port": 18789}, {"name": "ops", "port": 18795}]})
    token_before = read_config(host, "ops")["gateway"]["auth"]["token"]
    rc, out = run_playbook(SITE, "-e", profiles)
    assert rc == 0, out[-4000:]
    assert recap(out)["changed"] > 0
    listening = host.run("ss -Hltn").stdout
    assert "127.0.0.1:18795 " in listening and "127.0.0.1:18790 " not in listening
    health = cli(host, "ops", "gateway", "health", "--json")
    assert health.rc == 0 and json.loads(health.stdout[health.stdout.index("{"):])["ok"] is True
    cfg = read_config(host, "ops")
    assert cfg["gateway"]["port"] == 18795
    assert cfg["gateway"]["auth"]["token"] == token_before, "the generated token must never be regenerated"
    home = host.user(GATEWAY_USER).home
    backups = host.run("ls -1 %s/.clawdbot-ops/ | grep 'clawdbot.json.*~$'" % home).stdout.split()
    assert backups, "the previous config must be backed up when it changes"
    for b in backups:
        assert host.file("%s/.clawdbot-ops/%s" % (home, b)).mode == 0o600
    assert read_config(host, "personal")["ui"]["assistant"]["name"] == "Molty"

    # and back to the runbook layout; only ops restarts
    pids = main_pids(host)
    rc, out = run_playbook(SITE)
    assert rc == 0, out[-4000:]
    after = main_pids(host)
    assert after["personal"] == pids["personal"] and after["ops"] != pids["ops"]
    for _attempt in range(30):
        if "127.0.0.1:18790 " in host.run("ss -Hltn").stdout:
            break
        time.sleep(1)
    assert user_cmd(host, "systemctl --user is-active clawdbot-gateway-ops.service").stdout.strip() == "active"
