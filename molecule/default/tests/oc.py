"""openclaw-specific helpers of the default scenario (the shared helpers module holds the flavour-neutral ones)."""
import json
import os
import time
import uuid

from helpers import GATEWAY_USER, PROFILES, SNAPSHOT_ROOTS, file_facts, gateway_home, units_show, user_cmd, write_as_user

# the collection's pin (flavours.py), or the release `make canary` converged (tests/harness/canary.sh)
PIN = os.environ.get("HOMELAB_CLAWDBOT_CANARY_VERSION") or "2026.9.6"
NODE = "v24.22.3"


def home(host):
    return gateway_home(host)


def cli_path(host):
    return "%s/.openclaw/bin/openclaw" % home(host)


def cli(host, profile, *args, env=""):
    """The installed openclaw CLI as the gateway user (node 24 first on PATH, as the unit has it)."""
    return user_cmd(host, "PATH=/usr/local/bin:/usr/bin:/bin %s %s --profile %s %s" % (env, cli_path(host), profile, " ".join(args)))


def cli_json(host, profile, *args, env=""):
    out = cli(host, profile, *args, env=env)
    return out, json.loads(out.stdout[out.stdout.index("{"):]) if "{" in out.stdout else None


def state_dir(host, profile):
    return "%s/.openclaw-%s" % (home(host), profile)


def config_path(host, profile):
    return "%s/openclaw.json" % state_dir(host, profile)


def unit_name(profile):
    return "openclaw-gateway-%s.service" % profile


def unit_path(host, profile):
    return "%s/.config/systemd/user/%s" % (home(host), unit_name(profile))


def read_config(host, profile):
    return json.loads(host.file(config_path(host, profile)).content_string)


def unit_show(host, profile, *props):
    return units_show(host, [unit_name(profile)], *props)[unit_name(profile)]


def start_times(host):
    """When each gateway's current process started (a restart changes it; a hot reload keeps PID and time)."""
    shown = units_show(host, [unit_name(p) for p in PROFILES], "ExecMainStartTimestampMonotonic", "MainPID")
    return {p: shown[unit_name(p)] for p in PROFILES}


def wait_healthy(host, profile, attempts=60, delay=3):
    """Poll `gateway health --json` until it is ok (a start can take 16-41 s on a busy host, contract 6)."""
    for _attempt in range(attempts):
        out, doc = cli_json(host, profile, "gateway", "health", "--json")
        if out.rc == 0 and doc and doc.get("ok"):
            return True
        time.sleep(delay)
    return False


def managed_files(host):
    """The files the roles own: install project, CLI link, and per profile the config, bot token and unit."""
    files = ["%s/.openclaw/versions/%s/package.json" % (home(host), PIN),
             "%s/.openclaw/versions/%s/.npmrc" % (home(host), PIN),
             cli_path(host)]
    for name in PROFILES:
        files += [config_path(host, name), "%s/telegram-bot-token" % state_dir(host, name), unit_path(host, name)]
    return files


def snapshot(host):
    """What a refused run must leave untouched, on openclaw's paths (helpers.snapshot is the clawdbot one).

    The whole tree the roles may touch (helpers.SNAPSHOT_ROOTS with sizes and mtimes; the gateway user's home with
    type, mode and owner), the managed files by content and mtime, the workspaces by type, mode and owner, and the
    gateways' start times (a restart changes them, a hot reload does not). The running gateways write inside their
    state roots whenever they like (SQLite, locks, caches, logs, media; contract 1.1: a restarted gateway created
    agents/ and state/ four minutes later, in the middle of test_30 once), so a state root is listed itself and its
    content only through the files and the workspace the roles own.
    """
    h = home(host)
    listing = host.run(
        "{ find %s -xdev \\( -type d -printf '%%y %%m %%U:%%G %%p\\n' \\) -o -printf '%%y %%m %%U:%%G %%s %%T@ %%p -> %%l\\n'"
        "  2>/dev/null;"
        "  find %s -xdev \\( -path '%s/.openclaw-*/*' -o -path '*/node_modules/*' -o -path '%s/.npm/*'"
        "  -o -path '%s/.cache/*' \\) -prune -o -printf '%%y %%m %%U:%%G %%p\\n' 2>/dev/null; } | sort"
        % (" ".join(SNAPSHOT_ROOTS), h, h, h, h))
    state = {"listing": listing.stdout.splitlines()}
    workspaces = ["%s/workspace" % state_dir(host, name) for name in PROFILES]
    for path, facts in file_facts(host, managed_files(host) + workspaces).items():
        # a workspace by type, mode and owner only: the agent writes in it
        state[path] = facts and (facts["type"], facts["mode"], facts["user"]) if path in workspaces else facts
    state["start_times"] = start_times(host)
    return state


def seed_dm_request(host, profile, code, sender):
    """Stop the gateway, write upstream's legacy pending-request store and let `doctor --fix` import it into SQLite
    (the way a migrated host gets it; contract 5 and 1.5: doctor never runs against the running service)."""
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    store = {"version": 1, "requests": [{"id": sender, "code": code, "createdAt": now, "lastSeenAt": now,
                                         "meta": {"username": "probeuser", "firstName": "Probe"}}]}
    cfg = host.file("%s/openclaw.json" % state_dir(host, profile)).content_string
    assert user_cmd(host, "systemctl --user stop %s" % unit_name(profile)).rc == 0
    try:
        host.run("install -d -m 0700 -o %s -g %s %s/credentials" % (GATEWAY_USER, GATEWAY_USER, state_dir(host, profile)))
        write_as_user(host, "%s/credentials/telegram-pairing.json" % state_dir(host, profile), json.dumps(store))
        doc = user_cmd(host, "cd && OPENCLAW_SERVICE_REPAIR_POLICY=external %s --profile %s doctor --fix --non-interactive"
                       % (cli_path(host), profile))
        assert doc.rc == 0, doc.stdout[-2000:] + doc.stderr[-2000:]
    finally:
        # doctor's own config edits are not what this test is about: the managed config goes back as it was
        write_as_user(host, "%s/openclaw.json" % state_dir(host, profile), cfg)
        host.run("rm -f %s/openclaw.json.bak*" % state_dir(host, profile))
        assert user_cmd(host, "systemctl --user start %s" % unit_name(profile)).rc == 0
    for _attempt in range(60):
        out, doc = cli_json(host, profile, "gateway", "health", "--json")
        if out.rc == 0 and doc and doc.get("ok"):
            break
        time.sleep(3)
    out, doc = cli_json(host, profile, "pairing", "list", "telegram", "--json")
    assert [r["code"] for r in doc["requests"]] == [code], out.stdout


def start_tui(host, profile, name=None, timeout=600):
    """Start the real `openclaw tui` on a pty as a new device (its own state dir /tmp/<name>) against the profile's
    gateway, in the background; return the name."""
    name = name or "tui-%s" % uuid.uuid4().hex[:8]
    token = read_config(host, profile)["gateway"]["auth"]["token"]
    res = host.run("mkdir -p /tmp/%s && cd /tmp && (OPENCLAW_STATE_DIR=/tmp/%s HOME=/tmp/%s NO_COLOR=1 "
                   "PATH=/usr/local/bin:/usr/bin:/bin timeout %d script -qfc '%s tui --url ws://127.0.0.1:%d --token %s' "
                   "/tmp/%s/typescript >/dev/null 2>&1 &)"
                   % (name, name, name, timeout, cli_path(host), PROFILES[profile], token, name))
    assert res.rc == 0, res.stderr
    return name


def pair_tui(host, profile, name, paired):
    """Connect a new TUI device (start_tui) to the profile's gateway, which approves it itself (local
    auto-approval is on in this scenario); return its entry of ``paired()``, the paired devices as a callable reads
    them."""
    known = {p["deviceId"] for p in paired()}
    start_tui(host, profile, name, timeout=300)
    device = None
    for _attempt in range(45):
        fresh = [p for p in paired() if p["deviceId"] not in known and p.get("clientId") == "openclaw-tui"]
        if fresh:
            device = fresh[0]
            break
        time.sleep(2)
    host.run("pkill -f '[o]penclaw.mjs tui' ; pkill -f '[o]penclaw tui'")
    assert device, "the TUI was not paired on %s" % profile
    return device
