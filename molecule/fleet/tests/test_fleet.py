"""Three VM102s at once (issue F): what site.yml converged in parallel on each host (its own profile, token and
plan, nothing of the others), health.yml over all of them, and upgrade.yml rolled out host by host: the second
host fails (a version pinned only for it that npm does not have), the rollout stops there, the first host stays
upgraded and the third is not touched and is named in the error."""
import hashlib
import json
import os
import re
import shutil
import tempfile

import pytest
import testinfra
from helpers import GATEWAYS, inventory_dir, recaps, run_playbook, user_cmd

testinfra_hosts = ["ansible://" + h for h in GATEWAYS]

PROFILE = {"fleet1": ("personal", 18789), "fleet2": ("ops", 18790), "fleet3": ("lab", 18801)}
OLD, NEW, BAD = "2026.9.5", "2026.9.6", "2026.9.99"
HOME = "/home/user"


def get(name):
    return testinfra.get_host("ansible://" + name, ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])


def unit(profile):
    return "%s/.config/systemd/user/openclaw-gateway-%s.service" % (HOME, profile)


def state(host):
    """What a rollout would change on a host: its unit (text and what it runs), the gateway process, the CLI link
    and the installed versions."""
    name = host.backend.get_hostname()
    profile = PROFILE[name][0]
    text = host.file(unit(profile)).content_string
    show = user_cmd(host, "systemctl --user show -p ActiveState -p MainPID -p ExecMainStartTimestampMonotonic "
                          "openclaw-gateway-%s.service" % profile)
    assert show.rc == 0, show.stderr
    return {"unit_md5": hashlib.md5(text.encode()).hexdigest(),
            "version": text.split("/versions/", 1)[1].split("/", 1)[0],
            "process": dict(line.split("=", 1) for line in show.stdout.split()),
            "cli": host.run("readlink -f %s/.openclaw/bin/openclaw" % HOME).stdout.strip(),
            "versions": sorted(host.run("ls %s/.openclaw/versions" % HOME).stdout.split())}


def test_each_host_runs_only_its_own_profile(host):
    name = host.backend.get_hostname()
    profile, port = PROFILE[name]
    units = host.run("ls %s/.config/systemd/user/ | grep '^openclaw-gateway-'" % HOME).stdout.split()
    assert units == ["openclaw-gateway-%s.service" % profile], units
    assert sorted(host.run("ls -d %s/.openclaw-* | xargs -n1 basename" % HOME).stdout.split()) == [".openclaw-" + profile]
    cfg = json.loads(host.file("%s/.openclaw-%s/openclaw.json" % (HOME, profile)).content_string)
    assert cfg["gateway"]["port"] == port and cfg["gateway"]["bind"] == "loopback"
    assert host.socket("tcp://127.0.0.1:%d" % port).is_listening
    assert state(host)["process"]["ActiveState"] == "active"
    assert state(host)["version"] == OLD


def test_no_token_or_plan_leaks_between_hosts():
    tokens = {}
    for name in GATEWAYS:
        host = get(name)
        profile = PROFILE[name][0]
        cfg = json.loads(host.file("%s/.openclaw-%s/openclaw.json" % (HOME, profile)).content_string)
        tokens[name] = cfg["gateway"]["auth"]["token"]
        # the tailnet URL on each host is its own (Tailscale Serve, one handler for its one profile)
        serve = host.run("tailscale serve status --json").stdout
        assert "%s.tail1234ab.ts.net" % name in serve and all(
            "%s.tail1234ab.ts.net" % other not in serve for other in GATEWAYS if other != name), serve
    assert len(set(tokens.values())) == len(GATEWAYS), "two hosts share a gateway token"
    for name, token in tokens.items():
        for other in GATEWAYS:
            if other != name:
                assert token not in get(other).run("grep -rl -- %s %s /etc 2>/dev/null || true" % (token, HOME)).stdout


def test_health_over_every_host():
    rc, out = run_playbook("playbooks/health.yml")
    assert rc == 0, out[-4000:]
    counters = recaps(out)
    assert sorted(counters) == sorted(GATEWAYS) and all(c["changed"] == 0 and c["failed"] == 0 for c in counters.values())
    flat = " ".join(out.split())
    for name in GATEWAYS:
        assert "%s: OK" % PROFILE[name][0] in flat, flat[-3000:]


@pytest.fixture(scope="module")
def rollout():
    """The inventory moves every host to the pin; fleet2's host_vars pin a version npm does not have."""
    # molecule wrote host_vars/<host> (each host's profile); ansible reads that file and no <host>.yml beside it
    saved = {}
    for name, version in (("fleet1", NEW), ("fleet2", BAD), ("fleet3", NEW)):
        path = os.path.join(inventory_dir(), "host_vars", name)
        with open(path) as f:
            saved[path] = f.read()
        with open(path, "a") as f:
            f.write("\nclawdbot_install_version: \"%s\"\n" % version)
    before = {name: state(get(name)) for name in GATEWAYS}
    backups = tempfile.mkdtemp(prefix="fleet-backups-")
    rc, out = run_playbook("playbooks/upgrade.yml", "-e", "clawdbot_backup_dir=%s" % backups, timeout=1500)
    yield {"rc": rc, "out": out, "flat": " ".join(out.split()), "before": before, "backups": backups,
           "after": {name: state(get(name)) for name in GATEWAYS}}
    for path, text in saved.items():
        with open(path, "w") as f:
            f.write(text)
    shutil.rmtree(backups, ignore_errors=True)


def test_upgrade_stops_at_the_failing_host_and_names_the_untouched_one(rollout):
    flat = rollout["flat"]
    assert rollout["rc"] != 0, flat[-3000:]
    assert "failed on fleet2" in flat and "The rollout stopped at fleet2. Done before it: fleet1. Not touched: fleet3." in flat, flat[-4000:]
    counters = recaps(rollout["out"])
    assert counters["fleet2"]["failed"] == 1 and counters["fleet1"]["failed"] == 0 and counters["fleet3"]["failed"] == 0


def test_the_first_host_was_upgraded_and_restarted(rollout):
    before, after = rollout["before"]["fleet1"], rollout["after"]["fleet1"]
    assert after["version"] == NEW and "/versions/%s/" % NEW in after["cli"], after
    assert after["process"]["ActiveState"] == "active"
    assert after["process"]["ExecMainStartTimestampMonotonic"] != before["process"]["ExecMainStartTimestampMonotonic"]
    host = get("fleet1")
    assert host.socket("tcp://127.0.0.1:%d" % PROFILE["fleet1"][1]).is_listening


def test_the_failing_host_still_runs_what_it_ran(rollout):
    before, after = rollout["before"]["fleet2"], rollout["after"]["fleet2"]
    assert after["version"] == OLD and after["unit_md5"] == before["unit_md5"] and after["cli"] == before["cli"]
    assert after["process"] == before["process"], (before, after)
    assert not get("fleet2").file("%s/.openclaw/versions/%s/node_modules/openclaw" % (HOME, BAD)).exists


def test_the_host_after_it_was_not_touched(rollout):
    before, after = rollout["before"]["fleet3"], rollout["after"]["fleet3"]
    assert after == before, (before, after)
    assert NEW not in after["versions"]


def test_every_host_was_backed_up_before_the_rollout(rollout):
    # one directory on the controller, one archive per host and profile (<host>-<profile>-<time>.tar.gz)
    files = os.listdir(rollout["backups"])
    for name in GATEWAYS:
        pattern = r"^%s-%s-\d{8}T\d{6}Z\.tar\.gz$" % (name, PROFILE[name][0])
        assert len([f for f in files if re.match(pattern, f)]) == 1, (name, files)
