"""openclaw-specific helpers of the default scenario (the shared helpers module holds the flavour-neutral ones)."""
import json

from helpers import GATEWAY_USER, PROFILES, user_cmd

PIN = "2026.9.6"
NODE = "v24.22.3"


def home(host):
    return host.user(GATEWAY_USER).home


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
    out = user_cmd(host, "systemctl --user show %s %s" % (" ".join("-p " + p for p in props), unit_name(profile)))
    assert out.rc == 0, out.stderr
    return dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)


def start_times(host):
    """When each gateway's current process started (a restart changes it; a hot reload keeps PID and time)."""
    return {p: unit_show(host, p, "ExecMainStartTimestampMonotonic", "MainPID") for p in PROFILES}
