"""Bad input fails in preflight, names the variable, and leaves the host exactly as it was."""
import json

import pytest
from helpers import GATEWAY_HOSTS, run_playbook, snapshot

testinfra_hosts = GATEWAY_HOSTS

SITE = "playbooks/site.yml"
OK_OPS = {"name": "ops", "port": 18790}

CASES = {
    "bad profile name": (
        {"clawdbot_profiles": [{"name": "per sonal!", "port": 18789}, OK_OPS]},
        "profiles_list[0].name 'per sonal!' is invalid"),
    "duplicate port": (
        {"clawdbot_profiles": [{"name": "personal", "port": 18790}, OK_OPS]},
        "profiles_list[1] (ops).port 18790 is already used by profiles_list[0] (personal)"),
    "derived port clash it cannot fix": (
        {"clawdbot_profiles": [{"name": "personal", "port": 18789, "browser_control_port": 18791},
                               {"name": "ops", "port": 18790, "browser_control_port": 18792}]},
        "profiles_list[1] (ops).browser_control_port 18792 clashes with 18792 "
        "(profiles_list[0] (personal) extension relay port)"),
    "node older than 22": (
        {"node_runtime_version": "20"},
        "node_runtime_version=20 is too old"),
    "non-loopback bind without token": (
        {"clawdbot_profiles": [{"name": "personal", "port": 18789, "bind": "lan"}, OK_OPS]},
        "profiles_list[0] (personal).bind=lan exposes the gateway beyond loopback without an explicit secret"),
    "bun refused": (
        {"node_runtime_engine": "bun"},
        "node_runtime_engine=bun is not supported"),
    "funnel without opt-in": (
        {"clawdbot_profiles": [{"name": "personal", "port": 18789, "tailscale_mode": "funnel"}, OK_OPS]},
        "enables Tailscale Funnel (public internet) but profiles_list[0].allow_funnel is not true"),
    "open telegram DMs without opt-in": (
        {"clawdbot_profiles": [{"name": "personal", "port": 18789, "telegram": {
            "bot_token": "123456789:AAtest-telegram-bot-token-personal-0001", "dm_policy": "open"}}, OK_OPS]},
        "profiles_list[0] (personal).telegram.dm_policy=open lets anyone talk to the bot; it is refused unless "
        "profiles_list[0].telegram.allow_open_dm is true"),
    "one bot token in two profiles": (
        {"clawdbot_profiles": [
            {"name": "personal", "port": 18789, "telegram": {"bot_token": "123456789:AAtest-telegram-bot-token-personal-0001"}},
            {"name": "ops", "port": 18790, "telegram": {"bot_token": "123456789:AAtest-telegram-bot-token-personal-0001"}}]},
        "profiles_list[0] (personal) and profiles_list[1] (ops) use the same telegram.bot_token"),
    "unpinned clawdbot": (
        {"clawdbot_install_version": "latest"},
        "clawdbot_install_version=latest is not reproducible"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_fails_in_preflight_without_changes(host, case):
    extra, message = CASES[case]
    before = snapshot(host)
    rc, out = run_playbook(SITE, "-e", json.dumps(extra))
    assert rc != 0, "must fail: %s\n%s" % (case, out[-3000:])
    flat = " ".join(out.split())
    assert " ".join(message.split()) in flat, out[-4000:]
    assert "Validate every input before anything changes" in out
    assert "Provision the Clawdbot gateway host" not in out, "failed after the preflight play:\n" + out[-3000:]
    assert snapshot(host) == before
    assert "AAtest-telegram-bot-token" not in out
