"""Bad input fails before anything changes, names the variable, and leaves the openclaw host exactly as it was.

site.yml cases must fail in its first play (every preflight); they run as one site.yml run over an alias of the
gateway host per case, each with the case's variables (fixture `refused`). The other playbooks' cases must fail in
their argument checks, one run each. The snapshot (oc.snapshot) covers /etc (with the CA store and /etc/homelab-clawdbot), /opt,
/usr/local, the linger files, the collection's state, the gateway user's whole home (modes and owners; the managed
files ~/.openclaw-<p>/openclaw.json, telegram-bot-token, the units, ~/.openclaw/versions/<pin>/{package.json,.npmrc}
and ~/.openclaw/bin/openclaw by content) and the gateways' start times.
"""
import json
import os
import re
import shutil
import tempfile

import pytest
from helpers import GATEWAY, GATEWAY_HOSTS, run_playbook, snapshot_diff
from oc import snapshot

testinfra_hosts = GATEWAY_HOSTS

SITE = "playbooks/site.yml"
OK_OPS = {"name": "ops", "port": 18790}
TG = "123456789:AAtest-telegram-bot-token-personal-0001"


def personal(**keys):
    """The profiles list with personal changed (ops as in the scenario)."""
    return {"clawdbot_profiles": [dict({"name": "personal", "port": 18789}, **keys), OK_OPS]}


CASES = {
    "bad profile name": (
        {"clawdbot_profiles": [{"name": "per sonal!", "port": 18789}, OK_OPS]},
        "profiles_list[0].name 'per sonal!' is invalid"),
    "duplicate port": (
        {"clawdbot_profiles": [{"name": "personal", "port": 18790}, OK_OPS]},
        "profiles_list[1] (ops).port 18790 is already used by profiles_list[0] (personal)"),
    # clawdbot refused the clash of explicit browser ports; openclaw derives its browser port from P and binds it
    # only on demand (contract 3), so the role refuses the option itself on the same input.
    "browser control port cannot be set": (
        {"clawdbot_profiles": [{"name": "personal", "port": 18789, "browser_control_port": 18791},
                               {"name": "ops", "port": 18790, "browser_control_port": 18792}]},
        "profiles_list[1] (ops).browser_control_port cannot be set for this product"),
    "browser control port on one profile": (
        personal(browser_control_port=18900),
        "profiles_list[0] (personal).browser_control_port cannot be set"),
    # openclaw's floor is 24.16 (contract 0.3), so 20 is refused as before, now against that floor.
    "node older than the floor": (
        {"node_runtime_version": "20"},
        "node_runtime_version=20 is too old"),
    # New: the Node the clawdbot scenario runs cannot run openclaw (node:sqlite, engines >=24.16 <25 || >=26.1).
    "node 22 with openclaw": (
        {"node_runtime_version": "22.23.3"},
        "node_runtime_version=22.23.3 is too old"),
    # New: neither old name pulls openclaw in (contract 0.6: moltbot on npm is a placeholder).
    "moltbot is not a product": (
        {"clawdbot_install_package": "moltbot"},
        "clawdbot_install_package='moltbot' is not a supported product"),
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
    "unpinned openclaw": (
        {"clawdbot_install_version": "latest"},
        "clawdbot_install_version=latest is not reproducible"),
    # -- paths: the workspace is chowned to the gateway user and made 0700
    "workspace /etc": (
        personal(workspace="/etc"),
        "profiles_list[0] (personal).workspace /etc must be a directory inside the gateway user's home /home/user"),
    "workspace is the home": (
        personal(workspace="~/"),
        "profiles_list[0] (personal).workspace /home/user must be a directory inside the gateway user's home"),
    "workspace escapes with ..": (
        personal(workspace="~/../../etc"),
        "profiles_list[0] (personal).workspace '/home/user/../../etc' must not contain . or .. segments"),
    # state root ~/.openclaw-<p> instead of ~/.clawdbot-<p> (contract 1.1)
    "workspace is another profile's state root": (
        personal(workspace="~/.openclaw-ops"),
        "profiles_list[0] (personal).workspace /home/user/.openclaw-ops overlaps profiles_list[1] (ops) state root"),
    "two profiles share a workspace": (
        {"clawdbot_profiles": [{"name": "personal", "port": 18789, "workspace": "~/shared"},
                               dict(OK_OPS, workspace="~/shared")]},
        "profiles_list[0] (personal).workspace /home/user/shared overlaps profiles_list[1] (ops) workspace"),
    "workspace is ~/.ssh": (
        personal(workspace="~/.ssh"),
        "profiles_list[0] (personal).workspace /home/user/.ssh overlaps /home/user/.ssh"),
    # -- secrets
    "token with a newline": (
        personal(token="abcdef0123456789\nxyzXYZ"),
        "profiles_list[0] (personal).token contains a control character"),
    "shipped example token": (
        personal(token="CHANGE-ME-personal-gateway-token"),
        "profiles_list[0] (personal).token looks like a placeholder"),
    "token of repeated characters": (
        personal(token="0000000000000000000000"),
        "profiles_list[0] (personal).token has fewer than 6 distinct characters"),
    "password with a tab": (
        personal(auth_mode="password", password="pass\tword-1234-xyz"),
        "profiles_list[0] (personal).password contains a control character"),
    # -- unit environment
    "env value injecting a unit line": (
        personal(environment={"FOO": "x\nExecStartPre=/bin/sh -c 'touch /tmp/pwned'"}),
        "profiles_list[0] (personal).environment.FOO contains a control character"),
    # env prefix OPENCLAW_ instead of CLAWDBOT_ (contract 1.2)
    "env overrides HOME": (
        {"profiles_environment": {"OPENCLAW_SKIP_CHANNELS": "1", "HOME": "/root"}},
        "profiles_environment.HOME is set by the role itself"),
    "env overrides the config path": (
        personal(environment={"OPENCLAW_CONFIG_PATH": "/tmp/evil.json"}),
        "profiles_list[0] (personal).environment.OPENCLAW_CONFIG_PATH is set by the role itself"),
    # the openclaw unit is 0600 and upstream keeps every secret out of it (contract 1.3); the role still refuses
    "secret in the unit environment": (
        personal(environment={"OPENAI_API_KEY": "sk-not-in-a-unit"}),
        "profiles_list[0] (personal).environment.OPENAI_API_KEY looks like a secret"),
    # -- settings may not override what the role guards
    "settings open the bind": (
        personal(settings={"gateway": {"bind": "lan"}}),
        "profiles_list[0] (personal).settings.gateway.bind is managed by the role (set profiles_list[0].bind)"),
    "settings turn on funnel": (
        personal(settings={"gateway": {"tailscale": {"mode": "funnel"}}}),
        "profiles_list[0] (personal).settings.gateway.tailscale is managed by the role"),
    "settings open telegram DMs": (
        personal(telegram={"bot_token": TG}, settings={"channels": {"telegram": {"dmPolicy": "open"}}}),
        "profiles_list[0] (personal).settings.channels.telegram is managed by the role"),
    "settings replace the auth": (
        personal(settings={"gateway": {"auth": {"mode": "token", "token": "x"}}}),
        "profiles_list[0] (personal).settings.gateway.auth is managed by the role"),
    # allowInsecureAuth is retired in openclaw (contract 2.1); the role still refuses it before the schema would
    "settings turn off device pairing": (
        personal(settings={"gateway": {"controlUi": {"allowInsecureAuth": True}}}),
        "profiles_list[0] (personal).settings.gateway.controlUi.allowInsecureAuth is managed by the role"),
    # -- other roles
    "spark profiles as a string": (
        {"spark_provider_profiles": "ops,personal"},
        "spark_provider_profiles must be \"all\" or a non-empty YAML list of profile names"),
    "spark profile typo": (
        {"spark_provider_profiles": ["personal", "opz"]},
        "spark_provider_profiles names 'opz', which is not in the profiles (personal, ops)"),
    "spark key with a newline": (
        {"spark_provider_api_key": "test-spark-key-0123456789\nX-Injected: 1"},
        "spark_provider_api_key and spark_provider_base_url must be strings without control characters"),
    "serve path escaping": (
        {"tailscale_serve_profiles": [{"name": "personal", "port": 18789, "serve_path": "/../admin"}, OK_OPS]},
        "tailscale_serve_profiles entry personal: serve_path '/../admin' must be a URL path"),
    "serve target not a local port": (
        {"tailscale_serve_profiles": [{"name": "personal", "port": "http://203.0.113.9:80"}, OK_OPS]},
        "tailscale_serve_profiles entry personal: port 'http://203.0.113.9:80' (the gateway port Serve proxies to"),
    "npm config injecting a line": (
        {"clawdbot_install_npm_config": {"fund": "false\nregistry=http://203.0.113.9/"}},
        "clawdbot_install_npm_config must be a mapping of npm settings"),
    "gateway user root": (
        {"clawdbot_user": "root"},
        "(the gateway must not run as root)"),
    # -- the playbooks' own options
    "run lock wait not a number": (
        {"clawdbot_run_lock_wait": "5m"},
        "clawdbot_run_lock_wait must be a whole number of seconds, 0 or more"),
}

# Playbooks other than site.yml: (playbook, extra args, message). Each fails in its argument checks.
PLAYBOOK_CASES = {
    "restore without a profile": (
        "playbooks/restore.yml", ["-e", "archive=/nonexistent.tar.gz"],
        "restore.yml restores exactly one profile: pass -e profile=<name>"),
    "restore of all profiles": (
        "playbooks/restore.yml", ["-e", "profile=all", "-e", "archive=/nonexistent.tar.gz"],
        "restore.yml restores exactly one profile"),
    "restore of a missing archive": (
        "playbooks/restore.yml", ["-e", "profile=personal", "-e", "archive=/nonexistent.tar.gz"],
        "archive=/nonexistent.tar.gz: no such file on the controller"),
    "backup to a relative directory": (
        "playbooks/backup.yml", ["-e", "clawdbot_backup_dir=backups"],
        "clawdbot_backup_dir must be an absolute path"),
    "backup of an unknown profile": (
        "playbooks/backup.yml", ["-e", "profile=nope"],
        "profile=nope: nope is not in clawdbot_profiles"),
    "approve on an unknown profile": (
        "playbooks/approve-pairing.yml", ["-e", "profile=nope"],
        "profile=nope must be one of personal, ops"),
}


def test_enough_distinct_bad_inputs():
    assert len(CASES) + len(PLAYBOOK_CASES) >= 30


@pytest.fixture(scope="module")
def baseline(host):
    """The host before the first refused run; every refused run must leave it exactly so (one snapshot, not one
    per case: a refused run that changed anything fails its own case and every later one)."""
    return snapshot(host)


def _alias(case):
    return "%s-case-%02d" % (GATEWAY, sorted(CASES).index(case))


def _failures(out):
    """{host: the text of its failures} from the default callback's output: each failed result's `[ERROR]: Task
    failed: ...` block (the message as it is, printed just before the result) and its `fatal: [host]`/`failed:
    [host]` result with the indented lines after it."""
    found, host, pending = {}, None, []
    for line in out.splitlines():
        m = re.match(r"^(?:fatal|failed): \[([^\]]+)\]", line)
        if m:
            host = m.group(1)
            found[host] = found.get(host, "") + "\n".join([""] + pending + [line])
            pending = []
        elif line.startswith("[ERROR]:"):
            host, pending = None, [line]
        elif host and line[:1] in (" ", "\t"):
            found[host] += "\n" + line
        elif pending:
            pending.append(line)
        else:
            host = None
    return found


@pytest.fixture(scope="module")
def refused(host, baseline):
    """One site.yml run for every case at once: each case is an alias of the gateway host (the same container)
    with the case's variables as host variables (they override the scenario's group_vars as -e would; the play's
    vars_files name only homelab_*). Every alias must fail in the first play with its own message; one snapshot
    after the run must equal the baseline. (One run per case took 7 to 9 s each, about 7 minutes of CI; this one about a minute for all.)"""
    connection = {k: v for k, v in host.ansible.get_variables().items() if k.startswith("ansible_connection")}
    hosts = {_alias(case): dict(extra, ansible_host=GATEWAY, **connection) for case, (extra, _msg) in CASES.items()}
    tmp = tempfile.mkdtemp(prefix="preflight-cases-")
    try:
        with open(os.path.join(tmp, "cases.yml"), "w") as f:
            json.dump({"clawdbot_gateways": {"hosts": hosts}}, f)
        rc, out = run_playbook(SITE, "-i", os.path.join(tmp, "cases.yml"), "--limit", ",".join(sorted(hosts)),
                               "--forks", "8")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"rc": rc, "out": out, "failures": _failures(out), "after": snapshot(host)}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_fails_in_preflight_without_changes(refused, baseline, case):
    _extra, message = CASES[case]
    out = refused["out"]
    assert refused["rc"] != 0, "must fail: %s\n%s" % (case, out[-3000:])
    mine = refused["failures"].get(_alias(case), "")
    assert " ".join(message.split()) in " ".join(mine.split()), "%s (%s):\n%s\n%s" % (case, _alias(case), mine,
                                                                                      out[-3000:])
    assert re.search(r"^%s +: ok=\d+ +changed=0 +unreachable=0 +failed=1 " % re.escape(_alias(case)), out, re.M), \
        out[-4000:]
    assert "Validate every input before anything changes" in out
    assert "Provision the gateway host" not in out, "failed after the preflight play:\n" + out[-3000:]
    assert refused["after"] == baseline, snapshot_diff(baseline, refused["after"])
    for secret in ("AAtest-telegram-bot-token", "abcdef0123456789", "pass\tword", "sk-not-in-a-unit",
                   "test-spark-key-0123456789"):
        assert secret not in out, secret


@pytest.mark.parametrize("case", sorted(PLAYBOOK_CASES))
def test_bad_playbook_arguments_fail_without_changes(host, baseline, case):
    playbook, args, message = PLAYBOOK_CASES[case]
    before = baseline
    rc, out = run_playbook(playbook, *args)
    assert rc != 0, "must fail: %s\n%s" % (case, out[-3000:])
    assert " ".join(message.split()) in " ".join(out.split()), out[-4000:]
    after = snapshot(host)
    assert after == before, snapshot_diff(before, after)


def _site_refused_without_changes(host, *messages):
    """site.yml on the host as it is now fails in its preflight play with every message, and changes nothing."""
    before = snapshot(host)
    rc, out = run_playbook(SITE)
    flat = " ".join(out.split())
    assert rc != 0, out[-3000:]
    for message in messages:
        assert message in flat, out[-3000:]
    assert "Provision the gateway host" not in out
    after = snapshot(host)
    assert after == before, snapshot_diff(before, after)


ROCKY = 'PRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"\nNAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.4"\n'


def test_a_host_the_roles_are_not_written_for_is_refused_before_anything_changes(host):
    """The preflight reads /etc/os-release (and that systemd is init): on anything but Debian/Ubuntu (or a derivative)
    site.yml stops in its first play, names what it found, and changes nothing."""
    assert host.run("mv /etc/os-release /etc/os-release.homelab-test && printf '%%s' '%s' > /etc/os-release" % ROCKY).rc == 0
    try:
        _site_refused_without_changes(
            host, "This host runs Rocky Linux 9.4 (Blue Onyx); the collection supports Debian 12/13 or Ubuntu",
            "Nothing was changed on vm102")
    finally:
        host.run("mv -f /etc/os-release.homelab-test /etc/os-release")
    assert "trixie" in host.file("/etc/os-release").content_string


def test_a_host_running_the_other_product_is_refused_before_anything_changes(host):
    """A VM102 whose gateways are clawdbot's is not converted by installing openclaw next to them (same ports):
    the preflight names the units it found and the variable, and nothing changes (the migration is its own step)."""
    unit = "/home/user/.config/systemd/user/clawdbot-gateway-ops.service"
    assert host.run("install -o user -g user -m 0644 /dev/null %s" % unit).rc == 0
    try:
        _site_refused_without_changes(
            host, "clawdbot_install_package=openclaw, but this host already runs the other product's gateways",
            "clawdbot-gateway-ops.service", "nothing was changed")
    finally:
        host.run("rm -f %s" % unit)
