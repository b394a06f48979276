"""Secrets never reach output (-vvv, --check --diff) nor a world-readable file on the host.

Every kind of secret the collection handles is set at once: explicit gateway tokens, a gateway password, the
Telegram bot token and the Spark key (scenario), an npm registry _authToken, and a Tailscale auth key (used because
the node is logged out first). site.yml, approve-pairing.yml, health.yml, backup.yml and restore.yml then run with -vvv and
with --check --diff; every line they print and every world-readable file on the host is searched for each secret.
Runs last: it leaves the gateways on these secrets.
"""
import json
import os
import secrets
import tempfile

import pytest
from helpers import GATEWAY_HOSTS, run_playbook

testinfra_hosts = GATEWAY_HOSTS

SECRETS = {
    "personal token": "pt-" + secrets.token_hex(20),
    "ops password": "Pw-" + secrets.token_hex(12),
    "telegram bot token": "123456789:AAtest-telegram-bot-token-personal-0001",
    "spark api key": "test-spark-key-0123456789",
    "npm auth token": "npm_" + secrets.token_hex(18),
    "tailscale auth key": "tskey-auth-k" + secrets.token_hex(8) + "-" + secrets.token_hex(12),
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


@pytest.fixture(scope="module")
def outputs(host):
    """Run every playbook with every secret, -vvv and --check --diff; return {label: output}."""
    assert host.run("tailscale logout").rc == 0
    status = json.loads(host.run("tailscale status --json").stdout)
    assert status["BackendState"] == "NeedsLogin"
    extra = json.dumps(EXTRA)
    backups = tempfile.mkdtemp(prefix="secrets-scan-")
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
    run("backup.yml -vvv", "playbooks/backup.yml", "-e", "profile=personal", "-e", "clawdbot_backup_dir=" + backups,
        "-vvv")
    (archive,) = [os.path.join(backups, n) for n in os.listdir(backups) if n.endswith(".tar.gz")]
    run("restore.yml --check --diff -vvv", "playbooks/restore.yml", "-e", "profile=personal", "-e", "archive=" + archive,
        "--diff", "-vvv", check=True)
    run("restore.yml -vvv", "playbooks/restore.yml", "-e", "profile=personal", "-e", "archive=" + archive, "-vvv")
    return runs


def test_the_secrets_were_really_used(host, outputs):
    cfg = json.loads(host.file("/home/user/.clawdbot-personal/clawdbot.json").content_string)
    assert cfg["gateway"]["auth"]["token"] == SECRETS["personal token"]
    ops = json.loads(host.file("/home/user/.clawdbot-ops/clawdbot.json").content_string)
    assert ops["gateway"]["auth"] == dict(ops["gateway"]["auth"], mode="password", password=SECRETS["ops password"])
    npmrc = host.file("/home/user/.clawdbot/versions/2026.1.24-3/.npmrc")
    assert SECRETS["npm auth token"] in npmrc.content_string and npmrc.mode == 0o600


@pytest.mark.parametrize("label", ["site.yml --diff -vvv", "site.yml --check --diff -vvv", "approve-pairing.yml -vvv", "health.yml -vvv",
                                   "backup.yml -vvv", "restore.yml --check --diff -vvv", "restore.yml -vvv"])
def test_no_secret_in_output(outputs, label):
    out = outputs[label]
    assert len(out) > 2000, out  # -vvv really printed the module results
    assert leaks(out) == [], "%s printed %s" % (label, leaks(out))


def test_no_secret_in_a_world_readable_file(host, outputs):
    """Searched as the unprivileged user nobody: what any local account can read (file modes and directories)."""
    patterns = "/run/secrets-scan.%s" % secrets.token_hex(4)
    listing = "\n".join(SECRETS.values())
    assert host.run("install -m 0400 -o nobody /dev/null %s && cat > %s <<'EOF'\n%s\nEOF" % (patterns, patterns, listing)).rc == 0
    try:
        found = host.run("runuser -u nobody -- sh -c \"find / -xdev \\( -path /proc -o -path /sys -o -path %s \\) -prune "
                         "-o -type f -readable -size -20M -print0 | xargs -0 grep -lF -f %s 2>/dev/null; true\""
                         % (patterns, patterns))
    finally:
        host.run("rm -f %s" % patterns)
    assert found.rc == 0
    assert found.stdout.strip() == "", "files any local user can read hold a secret:\n" + found.stdout
    # the files that hold them are private
    for path in ("/home/user/.clawdbot-personal/clawdbot.json", "/home/user/.clawdbot-ops/clawdbot.json",
                 "/home/user/.clawdbot-personal/telegram-bot-token", "/home/user/.clawdbot/versions/2026.1.24-3/.npmrc"):
        assert host.file(path).mode & 0o077 == 0, path
