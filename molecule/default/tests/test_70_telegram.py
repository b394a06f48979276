"""Telegram per openclaw profile: the bot token only in a private token file (never in the config, a unit or a
world-readable file), DM policy pairing with the allowlist, the owner set by the role, health shows the channel,
and a token change restarts only that profile."""
import json

from helpers import GATEWAY_HOSTS, GATEWAY_USER, recap, run_playbook, user_cmd
from oc import cli_json, config_path, read_config, start_times, state_dir, unit_name, wait_healthy

testinfra_hosts = GATEWAY_HOSTS
SITE = "playbooks/site.yml"
TOKEN = "123456789:AAtest-telegram-bot-token-personal-0001"
SECRET = TOKEN.split(":")[1]


def token_file(host):
    return "%s/telegram-bot-token" % state_dir(host, "personal")


def test_channel_config_without_the_secret(host):
    cfg = read_config(host, "personal")
    tg = cfg["channels"]["telegram"]
    # exactly the keys the role writes: tokenFile instead of botToken
    assert tg == {"enabled": True, "dmPolicy": "pairing", "groupPolicy": "allowlist", "tokenFile": token_file(host),
                  "allowFrom": ["42"]}
    # clawdbot also needed plugins.entries.telegram.enabled; openclaw loads a configured channel without it and
    # does not rewrite the config for it (contract 2.1, 2.5), so the role no longer writes it
    assert "telegram" not in cfg.get("plugins", {}).get("entries", {})
    # New: the role names the command owner, so the first DM approval does not write the config (contract 5)
    assert cfg["commands"]["ownerAllowFrom"] == ["telegram:42"]
    raw = host.file(config_path(host, "personal")).content_string
    assert TOKEN not in raw and SECRET not in raw


def test_ops_has_no_channel(host):
    cfg = read_config(host, "ops")
    assert "telegram" not in cfg.get("channels", {})
    assert not host.file("%s/telegram-bot-token" % state_dir(host, "ops")).exists


def test_token_file_is_private(host):
    f = host.file(token_file(host))
    assert f.mode == 0o600 and f.user == GATEWAY_USER
    assert f.content_string == TOKEN


def test_no_token_in_any_unit_or_world_readable_file(host):
    # the units are 0600 now (contract 1.3), so root reads them; every openclaw.json* (Ansible's backups too)
    res = host.run("grep -rl %s /home/user/.config /etc/systemd %s/openclaw.json* 2>/dev/null"
                   % (SECRET, state_dir(host, "personal")))
    assert res.stdout.strip() == "", res.stdout
    readable = host.run("find /home/user /etc -xdev -type f -perm -o+r 2>/dev/null | xargs grep -l %s 2>/dev/null"
                        % SECRET)
    assert readable.stdout.strip() == ""


def test_token_not_in_the_gateway_environment(host):
    pid = user_cmd(host, "systemctl --user show -p MainPID --value %s" % unit_name("personal")).stdout.strip()
    assert pid and pid != "0"
    env = host.run("tr '\\0' '\\n' < /proc/%s/environ" % pid)
    assert env.rc == 0 and SECRET not in env.stdout


def test_health_shows_the_channel_enabled(host):
    """The gateway knows the channel (enabled, long polling). Whether openclaw reads the token from
    the tokenFile is not observable here: with OPENCLAW_SKIP_CHANNELS=1 (offline CI) the gateway never starts the
    channel, so it reports tokenSource "none" and configured false whatever the token source is."""
    out, health = cli_json(host, "personal", "gateway", "health", "--json")
    assert out.rc == 0, out.stderr
    tg = health["channels"]["telegram"]
    assert tg["enabled"] is True and tg["mode"] == "polling" and tg["running"] is False, tg


def test_gateway_does_not_rewrite_the_config_on_restart(host):
    path = config_path(host, "personal")
    before = host.file(path).md5sum
    assert user_cmd(host, "systemctl --user restart %s" % unit_name("personal")).rc == 0
    assert wait_healthy(host, "personal")
    assert host.file(path).md5sum == before
    # OPENCLAW_CONFIG_READONLY=1 in the unit: no migration rewrite (.bak) and no auto-restore (.clobbered.*)
    # (contract 2.5)
    assert not host.file(path + ".bak").exists
    clobbered = host.run("ls -A %s" % state_dir(host, "personal")).stdout.split()
    assert not [f for f in clobbered if f.startswith("openclaw.json.clobbered")], clobbered


def test_no_secret_in_verbose_output_and_no_change(host):
    rc, out = run_playbook(SITE, "-v")
    assert rc == 0, out[-3000:]
    assert recap(out)["changed"] == 0
    assert SECRET not in out


def test_token_change_restarts_only_that_profile(host):
    telegram = {"bot_token": "987654321:AAanother-telegram-test-token-000002", "allow_from": ["42"]}
    profiles = [{"name": "personal", "port": 18789, "telegram": telegram}, {"name": "ops", "port": 18790}]
    # start times rather than MainPIDs: a restart always gives a new ExecMainStartTimestamp
    before = start_times(host)
    rc, out = run_playbook(SITE, "-e", json.dumps({"clawdbot_profiles": profiles}))
    assert rc == 0, out[-3000:]
    after = start_times(host)
    assert after["personal"] != before["personal"] and after["ops"] == before["ops"]
    assert host.file(token_file(host)).content_string.startswith("987654321:")
    assert "AAanother-telegram-test-token" not in out
    assert wait_healthy(host, "personal")
    rc, out = run_playbook(SITE)  # back to the scenario's token
    assert rc == 0, out[-3000:]
    assert host.file(token_file(host)).content_string == TOKEN
