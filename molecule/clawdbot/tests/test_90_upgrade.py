"""Upgrades with the two versions the npm registry has: 2026.1.24 misses a dist file and cannot start,
2026.1.24-3 works. A new pin is installed next to the running one and its CLI is smoke-tested before the
CLI link moves; a gateway that fails its health check is put back on the unit it ran before and the next is not
touched. (The order of a rollout over running gateways, one at a time, is proven on openclaw by the default
scenario's test_90, which moves both profiles between two working releases.)"""
import json
import re

from helpers import GATEWAY_HOSTS, GATEWAY_USER, PROFILES, main_pids, read_config, recap, run_playbook, user_cmd, write_as_user

testinfra_hosts = GATEWAY_HOSTS

PIN = "2026.1.24-3"
BROKEN = "2026.1.24"
UPGRADE = "playbooks/upgrade.yml"
SITE = "playbooks/site.yml"


def flat(out):
    return " ".join(out.split())


def units(host):
    home = host.user(GATEWAY_USER).home
    return {name: host.file("%s/.config/systemd/user/clawdbot-gateway-%s.service" % (home, name)).content_string
            for name in PROFILES}


def unit_version(text):
    return re.search(r"_SERVICE_VERSION=([^\s\"]+)", text).group(1)


def cli_link(host):
    return host.file("%s/.clawdbot/bin/clawdbot" % host.user(GATEWAY_USER).home).linked_to


def healthy(host, profile, version=PIN):
    """`gateway health --json` through the CLI of `version` (the CLI link may point elsewhere)."""
    home = host.user(GATEWAY_USER).home
    entry = "%s/.clawdbot/versions/%s/node_modules/clawdbot/dist/entry.js" % (home, version)
    out = user_cmd(host, "%s --profile %s gateway health --json" % (entry, profile))
    if out.rc != 0:
        return False
    return json.loads(out.stdout[out.stdout.index("{"):]).get("ok") is True


def test_a_release_whose_cli_cannot_start_is_refused_before_anything_moves(host):
    pids, before_units, link = main_pids(host), units(host), cli_link(host)
    rc, out = run_playbook(UPGRADE, "-e", "clawdbot_install_version=%s" % BROKEN)
    assert rc != 0, out[-3000:]
    text = flat(out)
    assert "clawdbot@%s (clawdbot_install_version) was installed in" % BROKEN in text, out[-4000:]
    assert "but its CLI does not start" in text and "Cannot find module" in text
    assert "Nothing was switched" in text
    # Installed side by side, but nothing switched and no gateway touched.
    home = host.user(GATEWAY_USER).home
    assert host.file("%s/.clawdbot/versions/%s/node_modules/clawdbot/package.json" % (home, BROKEN)).exists
    assert cli_link(host) == link and PIN in link
    assert units(host) == before_units
    assert main_pids(host) == pids
    out = user_cmd(host, "%s/.clawdbot/bin/clawdbot --version" % home)
    assert out.stdout.strip() == PIN


def test_a_gateway_failing_its_health_check_is_rolled_back_and_the_next_is_not_touched(host):
    home = host.user(GATEWAY_USER).home
    cfg = read_config(host, "personal")
    cfg.setdefault("ui", {})["assistant"] = {"name": "Kept over upgrades"}
    write_as_user(host, "%s/.clawdbot-personal/clawdbot.json" % home, json.dumps(cfg, indent=2))
    pids, before_units = main_pids(host), units(host)
    # Without the smoke test the broken release reaches the gateways: only the health check can catch it.
    rc, out = run_playbook(UPGRADE, "-e", "clawdbot_install_version=%s" % BROKEN, "-e", "clawdbot_install_smoke_test=false",
                           "-e", "profiles_health_timeout=15")
    assert rc != 0, out[-3000:]
    text = flat(out)
    assert ("Profile personal (clawdbot-gateway-personal.service, clawdbot %s) did not pass `gateway health` within 15 s"
            % BROKEN) in text, out[-5000:]
    assert "Rolled it back to its previous config and unit (clawdbot %s): healthy again." % PIN in text
    assert "Not rolled out, still as before: ops." in text
    # personal was restarted twice (new version, then back); ops was never touched.
    after = main_pids(host)
    assert after["personal"] != pids["personal"] and after["personal"] != "0"
    assert after["ops"] == pids["ops"]
    assert units(host) == before_units and unit_version(units(host)["personal"]) == PIN
    assert user_cmd(host, "systemctl --user is-active clawdbot-gateway-personal.service").stdout.strip() == "active"
    assert healthy(host, "personal") and healthy(host, "ops")
    assert read_config(host, "personal")["ui"]["assistant"]["name"] == "Kept over upgrades"
    # The CLI link did move (no smoke test): the next run with the working pin moves it back, nothing else.
    assert "/versions/%s/" % BROKEN in cli_link(host)
    rc, out = run_playbook(SITE)
    assert rc == 0, out[-4000:]
    assert recap(out)["changed"] == 1, out[-6000:]
    assert "/versions/%s/" % PIN in cli_link(host)
    assert main_pids(host) == after
