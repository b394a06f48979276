"""Helpers shared by the molecule testinfra suites: run playbooks against the scenario's inventory,
run the clawdbot CLI as the gateway user, snapshot what a failed run must not change."""
import base64
import contextlib
import datetime
import json
import os
import re
import shlex
import subprocess
import time
import uuid

import yaml


def _gateways():
    """The scenario's gateway hosts (its clawdbot_gateways group). The scenarios name them differently (vm102,
    vm102-legacy, fleet1-3) so that they can run at the same time on one dockerd."""
    inventory = os.environ.get("MOLECULE_INVENTORY_FILE")
    if not inventory or not os.path.exists(inventory):
        return ["vm102"]
    with open(inventory) as f:
        return list(((yaml.safe_load(f) or {}).get("clawdbot_gateways") or {}).get("hosts") or {}) or ["vm102"]


# The suites of the one-host scenarios check that host; the "spark" platform is reached through it.
GATEWAYS = _gateways()
GATEWAY = GATEWAYS[0]
GATEWAY_HOSTS = ["ansible://" + GATEWAY]
GATEWAY_USER = "user"
PROFILES = {"personal": 18789, "ops": 18790}
ANSI = re.compile(r"\x1b\[[0-9;]*m")
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))

# Every host.run and every attribute of host.file or host.user is one `docker exec` (about 80 ms of CPU across the
# docker CLI, dockerd, containerd and the container, on a run bound by CPU): the helpers below read what they need
# in one call.
_ACCOUNTS = {}


def _account(host):
    """The gateway user's uid and home, read once per host: the suites never change that account (converge made it)."""
    key = host.backend.get_pytest_id()
    if key not in _ACCOUNTS:
        res = host.run("getent passwd %s" % GATEWAY_USER)
        assert res.rc == 0, "no account %s on %s: %s" % (GATEWAY_USER, key, res.stderr)
        fields = res.stdout.strip().split(":")
        _ACCOUNTS[key] = (int(fields[2]), fields[5])
    return _ACCOUNTS[key]


def gateway_uid(host):
    return _account(host)[0]


def gateway_home(host):
    return _account(host)[1]


# For each path: None when it does not exist (following a link, as test -e does), else its type, mode, owner,
# mtime (of the link itself, as stat -c %Y), link target and, for a regular file, the md5 of its content.
FILE_FACTS = r"""
import hashlib, json, os, pwd, stat, sys
out = {}
for path in sys.argv[1:]:
    try:
        st = os.stat(path)
    except OSError:
        out[path] = None
        continue
    regular = stat.S_ISREG(st.st_mode)
    try:
        owner = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        owner = st.st_uid
    out[path] = {"type": "file" if regular else "directory" if stat.S_ISDIR(st.st_mode) else "other",
                 "mode": "%o" % stat.S_IMODE(st.st_mode), "user": owner, "mtime": int(os.lstat(path).st_mtime),
                 "link": os.readlink(path) if os.path.islink(path) else None,
                 "md5": hashlib.md5(open(path, "rb").read()).hexdigest() if regular else None}
print(json.dumps(out))
"""


def file_facts(host, paths):
    """FILE_FACTS of each path, in one call."""
    res = host.run("python3 -c %s %s" % (shlex.quote(FILE_FACTS), " ".join(shlex.quote(p) for p in paths)))
    assert res.rc == 0, res.stderr
    return json.loads(res.stdout)


def inventory_dir():
    return os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])


def ansible_env(**extra):
    """The environment of the ansible commands the suites run: molecule's config, this checkout's collection."""
    env = dict(os.environ)
    env.setdefault("ANSIBLE_CONFIG", os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ""), "ansible.cfg"))
    env["ANSIBLE_COLLECTIONS_PATH"] = os.path.join(REPO, ".ansible", "collections")
    env["ANSIBLE_ROLES_PATH"] = os.path.join(REPO, "roles")
    env["ANSIBLE_NOCOLOR"] = "1"
    env["ANSIBLE_FORCE_COLOR"] = "0"  # molecule forces colour for its own runs
    env.update(extra)
    return env


def run_playbook(playbook, *args, check=False, timeout=900):
    """Run a playbook of this repo against the molecule instance; returns (rc, output)."""
    return finish_playbook(start_playbook(playbook, *(list(args) + (["--check"] if check else []))), timeout=timeout)


def start_playbook(playbook, *args):
    """Start a playbook of this repo against the molecule instance in the background; finish_playbook() waits for it."""
    cmd = ["ansible-playbook", "-i", inventory_dir(), os.path.join(REPO, playbook)] + list(args)
    return subprocess.Popen(cmd, env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish_playbook(proc, timeout=900):
    """(rc, output) of a playbook start_playbook() started; past ``timeout`` it is killed and TimeoutExpired raised."""
    try:
        out, _err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    return proc.returncode, ANSI.sub("", out)


def inventory_vars(name=None):
    """The variables the scenario's inventory gives a host (the gateway host by default), as ansible-inventory reads
    them (not templated)."""
    proc = subprocess.run(["ansible-inventory", "-i", inventory_dir(), "--host", name or GATEWAY], env=ansible_env(),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120, check=True)
    return json.loads(proc.stdout)


def run_module(module, args, check=False, become=True):
    """Run one module of the collection ad hoc on the instance; returns its result dict."""
    env = ansible_env(ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    cmd = ["ansible", "clawdbot_gateways", "-i", inventory_dir(), "-m", module, "-a", json.dumps(args)]
    if become:
        cmd.append("-b")
    if check:
        cmd.append("--check")
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300, check=False)
    try:
        out = proc.stdout
        data = json.JSONDecoder().raw_decode(out, out.index("\n{") + 1 if not out.startswith("{") else 0)[0]
        return list(data["plays"][0]["tasks"][0]["hosts"].values())[0]
    except (ValueError, KeyError, IndexError):
        raise AssertionError("ad hoc %s gave no JSON result:\n%s\n%s" % (module, proc.stdout[-3000:], proc.stderr[-3000:]))


def recap(output):
    """The PLAY RECAP counters of the instance (the last host of the recap): {'ok': n, 'changed': n, ...}."""
    return list(recaps(output).values())[-1]


def recaps(output):
    """The PLAY RECAP counters per host: {host: {'ok': n, 'changed': n, 'failed': n, ...}}."""
    out = {}
    start = output.rfind("PLAY RECAP")
    for line in (output[start:] if start >= 0 else "").splitlines():
        if " : ok=" in line:
            name, counters = line.split(":", 1)
            out[name.strip()] = {k: int(v) for k, v in (kv.split("=") for kv in counters.split())}
    if not out:
        raise AssertionError("no PLAY RECAP in output:\n" + output[-3000:])
    return out


def user_cmd(host, command):
    """Run a shell command as the gateway user with its systemd user environment."""
    return host.run("runuser -u %s -- env XDG_RUNTIME_DIR=/run/user/%d NO_COLOR=1 PATH=/usr/local/bin:/usr/bin:/bin "
                    "bash -lc %s" % (GATEWAY_USER, gateway_uid(host), _quote(command)))


def _quote(s):
    return "'" + s.replace("'", "'\"'\"'") + "'"


def cli(host, profile, *args):
    return user_cmd(host, "%s/.clawdbot/bin/clawdbot --profile %s %s" % (gateway_home(host), profile, " ".join(args)))


def wait_healthy_cli(host, profile, run=None, tries=40, delay=2):
    """Poll `gateway health --json` through ``run(host, profile, *args)`` (default: the clawdbot CLI) until it says
    ok: true; True when it did within ``tries``."""
    run = run or cli
    for _attempt in range(tries):
        res = run(host, profile, "gateway", "health", "--json")
        if res.rc == 0 and '"ok": true' in res.stdout:
            return True
        time.sleep(delay)
    return False


def wait_listen(host, address, timeout=60):
    """Wait until something listens on ``address`` (``ip:port`` as ss prints it); True when it did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (" %s " % address) in host.run("ss -Hltn").stdout:
            return True
        time.sleep(1)
    return False


def units_show(host, units, *props):
    """`systemctl --user show` of several units in one call: {unit: {property: value}}."""
    out = user_cmd(host, "systemctl --user show %s %s" % (" ".join("-p " + p for p in props), " ".join(units)))
    assert out.rc == 0, out.stderr
    blocks = out.stdout.strip("\n").split("\n\n")
    assert len(blocks) == len(units), out.stdout
    return {unit: dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
            for unit, block in zip(units, blocks)}


def main_pids(host):
    units = ["clawdbot-gateway-%s.service" % name for name in PROFILES]
    shown = units_show(host, units, "MainPID")
    return {name: shown[unit]["MainPID"] for name, unit in zip(PROFILES, units)}


def write_as_user(host, path, content):
    """Write a file as the gateway user (like a hand edit), content passed base64-encoded."""
    b64 = base64.b64encode(content.encode()).decode()
    res = host.run("echo %s | base64 -d | runuser -u %s -- tee %s >/dev/null" % (b64, GATEWAY_USER, path))
    assert res.rc == 0, res.stderr


def read_config(host, profile):
    return json.loads(host.file("%s/.clawdbot-%s/clawdbot.json" % (gateway_home(host), profile)).content_string)


# What the roles and playbooks may touch on the host. Everything below these roots is listed with type, mode and
# owner; outside the gateway user's home files also with size and mtime (nothing else writes there; a directory's
# mtime only says that an entry was renamed, and entries are listed themselves). In the home, the
# gateway itself writes inside its state roots while it runs, so their subtrees are compared by the files the roles
# own (configs, tokens, units, install project) plus the metadata of the first level.
SNAPSHOT_ROOTS = ["/etc", "/opt", "/usr/local", "/var/lib/systemd/linger", "/var/lib/homelab-clawdbot", "/root/.npmrc"]


def snapshot(host):
    """What a refused run must leave untouched: the whole tree the roles may touch, managed files, PIDs, linger."""
    home = gateway_home(host)
    listing = host.run(
        "{ find %s -xdev \\( -type d -printf '%%y %%m %%U:%%G %%p\\n' \\) -o -printf '%%y %%m %%U:%%G %%s %%T@ %%p -> %%l\\n'"
        "  2>/dev/null;"
        "  find %s -xdev \\( -path '%s/.clawdbot-*/*/*' -o -path '*/node_modules/*' -o -path '%s/.npm/*'"
        "  -o -path '%s/.cache/*' \\) -prune -o -printf '%%y %%m %%U:%%G %%p\\n' 2>/dev/null; } | sort"
        % (" ".join(SNAPSHOT_ROOTS), home, home, home, home))
    files = [
        "%s/.clawdbot/versions/2026.1.24-3/package.json" % home,
        "%s/.clawdbot/versions/2026.1.24-3/.npmrc" % home,
        "%s/.clawdbot/bin/clawdbot" % home,
    ]
    for name in PROFILES:
        files.append("%s/.clawdbot-%s/clawdbot.json" % (home, name))
        files.append("%s/.clawdbot-%s/telegram-bot-token" % (home, name))
        files.append("%s/.config/systemd/user/clawdbot-gateway-%s.service" % (home, name))
    state = {"listing": listing.stdout.splitlines()}
    state.update(file_facts(host, files))
    state["pids"] = main_pids(host)
    return state


def snapshot_diff(before, after):
    """A readable difference of two snapshots (for assertion messages)."""
    lines = []
    old, new = set(before.get("listing", [])), set(after.get("listing", []))
    lines += ["- " + x for x in sorted(old - new)[:40]] + ["+ " + x for x in sorted(new - old)[:40]]
    for key in sorted(set(before) | set(after)):
        if key != "listing" and before.get(key) != after.get(key):
            lines.append("%s: %r -> %r" % (key, before.get(key), after.get(key)))
    return "\n".join(lines)


def fresh_home(name):
    """A HOME no earlier run used: a new device identity for the CLI (contract 4.4)."""
    return "%s-%s" % (name, uuid.uuid4().hex[:8])


def remote_cli(host, home, url, token, *args):
    """The real CLI as a device on another machine: HOME=/tmp/<home> (its own identity), explicit --url and --token."""
    return host.run("cd /tmp && HOME=/tmp/%s NO_COLOR=1 PATH=/usr/local/bin:/usr/bin:/bin "
                    "/home/%s/.clawdbot/bin/clawdbot %s --url %s --token %s"
                    % (home, GATEWAY_USER, " ".join(args), url, token))


def device_id(host, home):
    """The device id of the identity the CLI created in /tmp/<home>."""
    return json.loads(host.file("/tmp/%s/.clawdbot/identity/device.json" % home).content_string)["deviceId"]


def write_dm_request(host, profile, code, sender, channel="telegram"):
    """A pending DM pairing request in the store format of contract section 5 (a bot would write it on a DM)."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    store = {"version": 1, "requests": [{"id": sender, "code": code, "createdAt": now, "lastSeenAt": now,
                                         "meta": {"username": "probeuser", "firstName": "Probe"}}]}
    home = "/home/%s" % GATEWAY_USER
    host.run("install -d -m 0700 -o %s -g %s %s/.clawdbot-%s/credentials" % (GATEWAY_USER, GATEWAY_USER, home, profile))
    write_as_user(host, "%s/.clawdbot-%s/credentials/%s-pairing.json" % (home, profile, channel), json.dumps(store))


# A process of a test that makes a gateway unable to listen: it takes 127.0.0.1:<port> (with SO_REUSEADDR, as node
# does: the old gateway's closed connections in TIME_WAIT would refuse a plain bind) once a path matching the glob
# <take_after> exists ('' = as soon as the port is free), and gives it back when <release> holds:
# "gone:<glob>" (matched once, then no longer) or "exists:<glob>"; or after 600 s. It prints "holding" and "released".
# A client that connects meanwhile (a health check) is closed at once: it fails as fast as against a closed port, not
# after its own timeout (an accepted-never-answered connection made each of the role's health polls wait it out).
PORT_HOLDER = r"""
import glob, socket, sys, time
port, take_after, release = int(sys.argv[1]), sys.argv[2], sys.argv[3]
how, pattern = release.split(":", 1)
deadline = time.time() + 600
while take_after and time.time() < deadline and not glob.glob(take_after):
    time.sleep(0.02)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
while time.time() < deadline:
    try:
        s.bind(("127.0.0.1", port))
        break
    except OSError:
        time.sleep(0.02)
s.listen()
s.setblocking(False)
print("holding", flush=True)
seen = False
while time.time() < deadline:
    try:
        while True:
            s.accept()[0].close()
    except OSError:
        pass
    found = bool(glob.glob(pattern))
    seen = seen or found
    if (how == "exists" and found) or (how == "gone" and seen and not found):
        break
    time.sleep(0.02)
s.close()
print("released", flush=True)
"""


@contextlib.contextmanager
def port_held(host, port, take_after, release):
    """Run PORT_HOLDER on the host for the duration of the block (killed at its end); its log is port_holder_log()."""
    host.run("rm -f /tmp/port-holder.log")
    res = host.run("echo %s | base64 -d > /tmp/port-holder.py && (nohup python3 /tmp/port-holder.py %d %s %s "
                   "> /tmp/port-holder.log 2>&1 &)" % (base64.b64encode(PORT_HOLDER.encode()).decode(), port,
                                                       shlex.quote(take_after), shlex.quote(release)))
    assert res.rc == 0, res.stderr
    try:
        yield
    finally:
        host.run("pkill -f '[p]ort-holder.py'")


def port_holder_log(host):
    """What the port holder printed: ["holding", "released"] when it took the port and gave it back."""
    return host.file("/tmp/port-holder.log").content_string.split()
