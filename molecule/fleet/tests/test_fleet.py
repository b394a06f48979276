"""Three VM102s at once (issue F): what site.yml converged in parallel on each host (its own profile, token and
plan, nothing of the others), health.yml over all of them, and upgrade.yml rolled out host by host: the second
host fails (a version pinned only for it that npm does not have), the rollout stops there, the first host stays
upgraded and the third is not touched and is named in the error.

The same converge runs the options no other scenario runs (issue Q): password auth, trusted_proxies and
browser: false (fleet2); clawdbot_install_scope: system, clawdbot_install_manage_user: false for an account with
its home in /srv, and bind: auto (fleet3); systemd_linger_state: disabled (fleet1, for a second account)."""
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
# fleet3's account was made by the admin with its home in /srv (clawdbot_install_manage_user: false)
HOME = {"fleet1": "/home/user", "fleet2": "/home/user", "fleet3": "/srv/gateway"}
# fleet3 installs system-wide (clawdbot_install_scope: system)
INSTALL = {"fleet1": "/home/user/.openclaw", "fleet2": "/home/user/.openclaw", "fleet3": "/opt/openclaw"}
CLI = {"fleet1": "/home/user/.openclaw/bin/openclaw", "fleet2": "/home/user/.openclaw/bin/openclaw",
       "fleet3": "/usr/local/bin/openclaw"}


def get(name):
    return testinfra.get_host("ansible://" + name, ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])


def name_of(host):
    return host.backend.get_hostname()


def config(host):
    name = name_of(host)
    return json.loads(host.file("%s/.openclaw-%s/openclaw.json" % (HOME[name], PROFILE[name][0])).content_string)


def unit(name):
    return "%s/.config/systemd/user/openclaw-gateway-%s.service" % (HOME[name], PROFILE[name][0])


def state(host):
    """What a rollout would change on a host: its unit (text and what it runs), the gateway process, the CLI link
    and the installed versions."""
    name = name_of(host)
    profile = PROFILE[name][0]
    text = host.file(unit(name)).content_string
    show = user_cmd(host, "systemctl --user show -p ActiveState -p MainPID -p ExecMainStartTimestampMonotonic "
                          "openclaw-gateway-%s.service" % profile)
    assert show.rc == 0, show.stderr
    return {"unit_md5": hashlib.md5(text.encode()).hexdigest(),
            "version": text.split("/versions/", 1)[1].split("/", 1)[0],
            "process": dict(line.split("=", 1) for line in show.stdout.split()),
            "cli": host.run("readlink -f %s" % CLI[name]).stdout.strip(),
            "versions": sorted(host.run("ls %s/versions" % INSTALL[name]).stdout.split())}


def test_each_host_runs_only_its_own_profile(host):
    name = name_of(host)
    profile, port = PROFILE[name]
    units = host.run("ls %s/.config/systemd/user/ | grep '^openclaw-gateway-'" % HOME[name]).stdout.split()
    assert units == ["openclaw-gateway-%s.service" % profile], units
    assert host.run("ls -d %s/.openclaw-* | xargs -n1 basename" % HOME[name]).stdout.split() == [".openclaw-" + profile]
    cfg = config(host)
    assert cfg["gateway"]["port"] == port
    assert cfg["gateway"]["bind"] == ("auto" if name == "fleet3" else "loopback")
    # bind auto is 0.0.0.0 inside a container (fleet3, checked below), loopback is 127.0.0.1 only
    assert host.socket("tcp://%s:%d" % ("0.0.0.0" if name == "fleet3" else "127.0.0.1", port)).is_listening
    now = state(host)
    assert now["process"]["ActiveState"] == "active" and now["version"] == OLD, now


def test_no_token_or_plan_leaks_between_hosts():
    secrets = {}
    for name in GATEWAYS:
        host = get(name)
        auth = config(host)["gateway"]["auth"]
        secrets[name] = auth.get("token") or auth.get("password")
        # each host serves its own tailnet name (real Serve on the fleet headscale, one handler for its one profile)
        serve = host.run("tailscale serve status --json").stdout
        assert "%s.tailnet.homelab.test" % name in serve and all(
            "%s.tailnet.homelab.test" % other not in serve for other in GATEWAYS if other != name), serve
    assert len(set(secrets.values())) == len(GATEWAYS), "two hosts share a gateway secret"
    for name, secret in secrets.items():
        for other in GATEWAYS:
            if other != name:
                found = get(other).run("grep -rl -- %s /home /srv /opt /etc 2>/dev/null || true" % secret).stdout
                assert found.strip() == "", (name, other, found)


def test_password_auth_trusted_proxies_and_no_browser():
    """fleet2: auth_mode password, trusted_proxies given, browser: false; the password only in the 0600 config."""
    host = get("fleet2")
    cfg = config(host)
    assert cfg["gateway"]["auth"]["mode"] == "password" and "token" not in cfg["gateway"]["auth"]
    assert cfg["gateway"]["auth"]["password"] == "fleet2-ops-password-0123456789"
    assert cfg["gateway"]["trustedProxies"] == ["127.0.0.1", "10.20.30.40"]
    assert cfg["browser"]["enabled"] is False
    assert host.file("/home/user/.openclaw-ops/openclaw.json").mode == 0o600
    found = host.run("grep -rl fleet2-ops-password /home/user/.config /etc /tmp 2>/dev/null || true").stdout.strip()
    assert found == "", found
    # the CLI reaches the gateway with that password (the role's health gate did the same)
    out = user_cmd(host, "PATH=/usr/local/bin:/usr/bin:/bin %s --profile ops gateway health --json" % CLI["fleet2"])
    assert out.rc == 0 and json.loads(out.stdout[out.stdout.index("{"):])["ok"] is True, out.stdout[-2000:] + out.stderr[-2000:]
    # a wrong password is refused (the gateway really checks it)
    bad = user_cmd(host, "PATH=/usr/local/bin:/usr/bin:/bin %s --profile ops gateway health --json "
                         "--password wrong-password-000000" % CLI["fleet2"])
    assert bad.rc != 0, bad.stdout[-2000:]


def test_system_scope_for_an_account_the_admin_made_and_bind_auto():
    """fleet3: the CLI under /opt with its link in /usr/local/bin, nothing installed in the user's home, the user's
    own home (/srv/gateway) used; bind auto listens on 0.0.0.0 inside a container."""
    host = get("fleet3")
    assert host.user("user").home == "/srv/gateway"
    assert not host.file("/home/user").exists
    link = host.file("/usr/local/bin/openclaw")
    assert link.is_symlink and link.linked_to.startswith("/opt/openclaw/versions/%s/" % OLD), link.linked_to
    assert host.file("/opt/openclaw/versions/%s" % OLD).user == "root"
    assert not host.file("/srv/gateway/.openclaw").exists
    assert "/opt/openclaw/versions/%s/" % OLD in host.file(unit("fleet3")).content_string
    assert host.socket("tcp://0.0.0.0:18801").is_listening


def test_lingering_can_be_turned_off_again():
    """systemd_linger_state: disabled, on an account of its own (the gateway user's lingering stays on)."""
    host = get("fleet1")
    assert host.run("id linger-probe || useradd -m linger-probe").rc == 0
    for state_ in ("enabled", "disabled"):
        rc, out = run_playbook("molecule/fleet/linger.yml", "-l", "fleet1", "-e", "systemd_linger_state=%s" % state_)
        assert rc == 0, out[-3000:]
        linger = host.file("/var/lib/systemd/linger/linger-probe").exists
        assert linger is (state_ == "enabled"), (state_, out[-2000:])
    assert "changed=0" in run_playbook("molecule/fleet/linger.yml", "-l", "fleet1", "-e", "systemd_linger_state=disabled")[1]
    assert host.file("/var/lib/systemd/linger/user").exists


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
    assert not get("fleet2").file("%s/versions/%s/node_modules/openclaw" % (INSTALL["fleet2"], BAD)).exists


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
