"""Telegram per profile: the token stays out of the config and the units, DM policy pairing by default."""
import json
import time

from helpers import GATEWAY_HOSTS, GATEWAY_USER, cli, main_pids, read_config, recap, run_playbook, user_cmd

testinfra_hosts = GATEWAY_HOSTS
SITE = "playbooks/site.yml"
TOKEN = "123456789:AAtest-telegram-bot-token-personal-0001"
TOKEN_FILE = "/home/user/.clawdbot-personal/telegram-bot-token"


def test_channel_config_without_the_secret(host):
    cfg = read_config(host, "personal")
    tg = cfg["channels"]["telegram"]
    assert tg["enabled"] is True and tg["tokenFile"] == TOKEN_FILE
    assert tg["dmPolicy"] == "pairing" and tg["groupPolicy"] == "allowlist" and tg["allowFrom"] == ["42"]
    assert "botToken" not in tg
    assert cfg["plugins"]["entries"]["telegram"]["enabled"] is True
    raw = host.file("/home/user/.clawdbot-personal/clawdbot.json").content_string
    assert TOKEN not in raw and TOKEN.split(":")[1] not in raw


def test_token_file_is_private(host):
    f = host.file(TOKEN_FILE)
    assert f.mode == 0o600 and f.user == GATEWAY_USER
    assert f.content_string == TOKEN


def test_no_token_in_any_unit_or_world_readable_file(host):
    res = host.run("grep -rl %s /home/user/.config /etc/systemd /home/user/.clawdbot-personal/*.json 2>/dev/null" % TOKEN.split(":")[1])
    assert res.stdout.strip() == "", res.stdout
    readable = host.run("find /home/user /etc -xdev -type f -perm -o+r 2>/dev/null | xargs grep -l %s 2>/dev/null"
                        % TOKEN.split(":")[1])
    assert readable.stdout.strip() == ""


def test_health_shows_the_channel_configured(host):
    out = cli(host, "personal", "gateway", "health", "--json")
    assert out.rc == 0, out.stderr
    health = json.loads(out.stdout[out.stdout.index("{"):])
    assert health["channels"]["telegram"]["configured"] is True, health["channels"]


def test_gateway_does_not_rewrite_the_config_on_restart(host):
    path = "/home/user/.clawdbot-personal/clawdbot.json"
    before = host.file(path).md5sum
    assert user_cmd(host, "systemctl --user restart clawdbot-gateway-personal.service").rc == 0
    for _attempt in range(60):
        if cli(host, "personal", "gateway", "health", "--json").rc == 0:
            break
        time.sleep(2)
    assert host.file(path).md5sum == before
    assert not host.file(path + ".bak").exists


def test_no_secret_in_verbose_output_and_no_change(host):
    rc, out = run_playbook(SITE, "-v")
    assert rc == 0, out[-3000:]
    assert recap(out)["changed"] == 0
    assert TOKEN.split(":")[1] not in out


def test_token_change_restarts_only_that_profile(host):
    telegram = {"bot_token": "987654321:AAanother-telegram-test-token-000002", "allow_from": ["42"]}
    profiles = [{"name": "personal", "port": 18789, "telegram": telegram}, {"name": "ops", "port": 18790}]
    pids = main_pids(host)
    rc, out = run_playbook(SITE, "-e", json.dumps({"clawdbot_profiles": profiles}))
    assert rc == 0, out[-3000:]
    after = main_pids(host)
    assert after["personal"] != pids["personal"] and after["ops"] == pids["ops"]
    assert host.file(TOKEN_FILE).content_string.startswith("987654321:")
    assert "AAanother-telegram-test-token" not in out
    rc, out = run_playbook(SITE)  # back to the scenario's token
    assert rc == 0, out[-3000:]
