"""Secrets never reach output (-vvv, --check --diff) nor a readable file on the openclaw host.

Every kind of secret the collection handles is set at once: explicit gateway tokens, a gateway password, the
Telegram bot token and the Spark key (scenario), an npm registry _authToken, and the tailnet's pre-auth key (used
because the real tailscaled is logged out first). site.yml, approve-pairing.yml, health.yml, backup.yml and
restore.yml (upstream's archive of personal, restored over the live state root) then run with -vvv and with --check
--diff; every line they print, every file any local account can read, every file under ~/.openclaw* with a read bit
for others, and the 0600 units are searched for each secret.
Runs last: it leaves the gateways on these secrets.
"""
import json
import os
import secrets
import shutil
import tempfile

import pytest
from helpers import GATEWAY_HOSTS, PROFILES, run_playbook
from oc import PIN, config_path, home, read_config, state_dir, unit_path

testinfra_hosts = GATEWAY_HOSTS

SECRETS = {
    "personal token": "pt-" + secrets.token_hex(20),
    "ops password": "Pw-" + secrets.token_hex(12),
    "telegram bot token": "123456789:AAtest-telegram-bot-token-personal-0001",
    "spark api key": "test-spark-key-0123456789",
    "npm auth token": "npm_" + secrets.token_hex(18),
    # the scenario's headscale pre-auth key (the real tailscaled must log in with it)
    "tailscale auth key": open(os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"],
                                            "tailnet-auth-key")).read().strip(),
}
EXTRA = {
    "clawdbot_profiles": [
        {"name": "personal", "port": 18789, "token": SECRETS["personal token"],
         "telegram": {"bot_token": SECRETS["telegram bot token"], "allow_from": ["42"]}},
        {"name": "ops", "port": 18790, "auth_mode": "password", "password": SECRETS["ops password"]},
    ],
    # a scoped registry the install never contacts, so the token is written but not sent anywhere
    "clawdbot_install_npm_config": {"@homelab-internal:registry": "https://npm.internal.invalid/",
                                    "//npm.internal.invalid/:_authToken": SECRETS["npm auth token"]},
    "tailscale_serve_auth_key": SECRETS["tailscale auth key"],
}


def leaks(text):
    return sorted(name for name, value in SECRETS.items() if value in text)


def npmrc(host):
    return "%s/.openclaw/versions/%s/.npmrc" % (home(host), PIN)


@pytest.fixture(scope="module")
def outputs(host):
    """Run every playbook with every secret, -vvv and --check --diff; return {label: output}."""
    assert host.run("tailscale logout").rc == 0
    status = json.loads(host.run("tailscale status --json").stdout)
    assert status["BackendState"] == "NeedsLogin"
    extra = json.dumps(EXTRA)
    runs = {}

    def run(label, playbook, *args, ok=True, check=False):
        rc, out = run_playbook(playbook, "-e", extra, *args, check=check)
        runs[label] = out
        if ok:
            assert rc == 0, "%s failed:\n%s" % (label, out[-5000:])
        return out

    # First in check mode, while every secret would still change (tokens, password, .npmrc, the login), so the
    # diffs are really rendered; then for real, with --diff too.
    run("site.yml --check --diff -vvv", "playbooks/site.yml", "--diff", "-vvv", check=True)
    assert "changed=0" not in runs["site.yml --check --diff -vvv"].split("PLAY RECAP")[-1]
    run("site.yml --diff -vvv", "playbooks/site.yml", "--diff", "-vvv")
    assert json.loads(host.run("tailscale status --json").stdout)["BackendState"] == "Running"
    run("approve-pairing.yml -vvv", "playbooks/approve-pairing.yml", "-e", "profile=personal", "-vvv", ok=False)
    run("health.yml -vvv", "playbooks/health.yml", "-vvv")
    backups = tempfile.mkdtemp(prefix="secrets-scan-")
    try:
        run("backup.yml -vvv", "playbooks/backup.yml", "-e", "profile=personal", "-e", "clawdbot_backup_dir=" + backups,
            "-vvv")
        (archive,) = [os.path.join(backups, n) for n in os.listdir(backups) if n.endswith(".tar.gz")]
        run("restore.yml --check --diff -vvv", "playbooks/restore.yml", "-e", "profile=personal", "-e",
            "archive=" + archive, "--diff", "-vvv", check=True)
        run("restore.yml -vvv", "playbooks/restore.yml", "-e", "profile=personal", "-e", "archive=" + archive, "-vvv")
    finally:
        shutil.rmtree(backups, ignore_errors=True)
    # the live state moved aside by the restore (~/.openclaw-personal.pre-restore-*) stays, and is scanned below
    return runs


def test_the_secrets_were_really_used(host, outputs):
    cfg = read_config(host, "personal")
    assert cfg["gateway"]["auth"]["token"] == SECRETS["personal token"]
    ops = read_config(host, "ops")
    assert ops["gateway"]["auth"] == dict(ops["gateway"]["auth"], mode="password", password=SECRETS["ops password"])
    assert host.file("%s/telegram-bot-token" % state_dir(host, "personal")).content_string == SECRETS["telegram bot token"]
    f = host.file(npmrc(host))
    assert SECRETS["npm auth token"] in f.content_string and f.mode == 0o600


@pytest.mark.parametrize("label", ["site.yml --diff -vvv", "site.yml --check --diff -vvv", "approve-pairing.yml -vvv",
                                   "health.yml -vvv", "backup.yml -vvv", "restore.yml --check --diff -vvv",
                                   "restore.yml -vvv"])
def test_no_secret_in_output(outputs, label):
    out = outputs[label]
    assert len(out) > 2000, out  # -vvv really printed the module results
    assert leaks(out) == [], "%s printed %s" % (label, leaks(out))


def _patterns(host):
    """A root-only file listing every secret (grep -f reads it; no secret on a command line)."""
    path = "/run/secrets-scan.%s" % secrets.token_hex(4)
    listing = "\n".join(SECRETS.values())
    assert host.run("install -m 0400 -o nobody /dev/null %s && cat > %s <<'EOF'\n%s\nEOF" % (path, path, listing)).rc == 0
    return path


def test_no_secret_in_a_world_readable_file(host, outputs):
    """Searched as the unprivileged user nobody: what any local account can read (file modes and directories)."""
    patterns = _patterns(host)
    try:
        found = host.run("runuser -u nobody -- sh -c \"find / -xdev \\( -path /proc -o -path /sys -o -path %s \\) -prune "
                         "-o -type f -readable -size -20M -print0 | xargs -0 grep -lF -f %s 2>/dev/null; true\""
                         % (patterns, patterns))
    finally:
        host.run("rm -f %s" % patterns)
    assert found.rc == 0
    assert found.stdout.strip() == "", "files any local user can read hold a secret:\n" + found.stdout
    # the files that hold them are private, the 0600 units included (contract 1.3)
    for path in [config_path(host, p) for p in sorted(PROFILES)] + [unit_path(host, p) for p in sorted(PROFILES)] + [
            "%s/telegram-bot-token" % state_dir(host, "personal"), npmrc(host)]:
        assert host.file(path).mode & 0o077 == 0, path


def test_no_secret_in_an_openclaw_file_with_a_read_bit_for_others(host, outputs):
    """Searched as root inside the 0700 roots: ~/.openclaw (the install), every ~/.openclaw-<p> (config, Ansible's
    backups of it, the gateway's own files) and the user units. A secret-holding file is private by its own mode,
    not only because its directory is (a chmod of the state root must not expose it)."""
    patterns = _patterns(host)
    try:
        found = host.run("find %s/.openclaw %s/.openclaw-* %s/.config -xdev -type f -perm -o+r -size -20M -print0 "
                         "| xargs -0 grep -lF -f %s 2>/dev/null; true" % (home(host), home(host), home(host), patterns))
    finally:
        host.run("rm -f %s" % patterns)
    assert found.rc == 0
    assert found.stdout.strip() == "", "files with a read bit for others hold a secret:\n" + found.stdout


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_unit_holds_no_secret(host, outputs, profile):
    """The units are 0600 (contract 1.3), yet upstream's never carry the token (config-first auth): the role's
    neither, nor any other secret."""
    unit = host.file(unit_path(host, profile))
    assert unit.mode == 0o600
    text = unit.content_string
    assert leaks(text) == [], leaks(text)
    assert "GATEWAY_TOKEN" not in text and "GATEWAY_PASSWORD" not in text
