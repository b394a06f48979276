# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the Clawdbot CLI (clawdbot / moltbot / openclaw) as the gateway user, for one profile.

Every module of this collection that talks to the CLI goes through :class:`ClawdbotCLI`:

* argv lists only (never a shell),
* ``--profile <name>`` placed *before* the subcommand (the CLI ignores it afterwards),
* the gateway user's environment (HOME, XDG_RUNTIME_DIR, PATH with the node binary),
  ``NO_COLOR=1`` and ``CLAWDBOT_HIDE_BANNER=1`` so output is parseable,
* when the module runs as root and ``user`` names someone else, the CLI is run through
  ``runuser -u <user> --`` so files it creates belong to the gateway user,
* secrets (gateway token) passed through the environment, never argv (argv is visible in ``ps``),
* ``--json`` output parsed robustly: the CLI may print doctor boxes on stdout before the JSON.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import pwd
import re

ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")

# Options shared by every module that runs the CLI. Modules merge this into their argument_spec.
CLI_ARGUMENT_SPEC = dict(
    profile=dict(type="str"),
    user=dict(type="str"),
    binary=dict(type="path"),
    cli_env=dict(type="dict", default={}),
    gateway_url=dict(type="str"),
    gateway_token=dict(type="str", no_log=True),
    timeout=dict(type="int", default=30),
)

# Env var prefixes by CLI flavour: the renamed OpenClaw CLI reads OPENCLAW_* first.
_ENV_PREFIX = {"openclaw": "OPENCLAW"}


class CLIError(Exception):
    """A CLI call failed; ``msg`` is meant for humans (no stack trace)."""

    def __init__(self, msg, rc=None, stdout="", stderr="", cmd=None):
        super(CLIError, self).__init__(msg)
        self.msg = msg
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.cmd = cmd

    def result(self):
        return dict(msg=self.msg, rc=self.rc, stdout=self.stdout, stderr=self.stderr, cmd=self.cmd)


def strip_ansi(text):
    return ANSI_RE.sub("", text or "")


def first_error_line(stderr):
    """The human part of a CLI failure, without the JS stack trace.

    The CLI prints ``[clawdbot] Failed to start CLI: Error: <reason>`` followed by ``    at ...`` lines.
    """
    lines = [ln.rstrip() for ln in strip_ansi(stderr).splitlines() if ln.strip()]
    keep = [ln for ln in lines if not ln.lstrip().startswith("at ")]
    for ln in keep:
        m = re.search(r"Failed to start CLI:\s*(?:Error:\s*)?(.*)$", ln)
        if m:
            return m.group(1).strip()
    for ln in keep:
        m = re.search(r"\bError:\s*(.*)$", ln)
        if m:
            return m.group(1).strip()
    return keep[0] if keep else ""


def parse_json_output(stdout):
    """Return the first JSON object/array in ``stdout``.

    The CLI sometimes prints doctor "clack" boxes before the JSON (contract 2.5), and may print
    trailing noise. Leading lines that do not start a JSON value are skipped.
    Raises ValueError when no JSON value is found.
    """
    text = strip_ansi(stdout)
    decoder = json.JSONDecoder()
    stripped = text.strip()
    if stripped:
        try:
            return json.loads(stripped)
        except ValueError:
            pass
    for m in re.finditer(r"(?m)^[ \t]*([\[{])", text):
        try:
            value, _end = decoder.raw_decode(text, m.start(1))
        except ValueError:
            continue
        if isinstance(value, (dict, list)):
            return value
    raise ValueError("no JSON value found in the CLI output")


def binary_flavour(binary):
    name = os.path.basename(binary or "clawdbot")
    for flavour in ("openclaw", "moltbot", "clawdbot"):
        if flavour in name:
            return flavour
    return "clawdbot"


class ClawdbotCLI(object):
    """Runs the CLI for one profile as the gateway user."""

    def __init__(self, module, binary=None, profile=None, user=None, extra_env=None,
                 gateway_url=None, gateway_token=None, timeout=30):
        self.module = module
        self.profile = profile
        self.user = user
        self.timeout = timeout
        self.gateway_url = gateway_url
        self.gateway_token = gateway_token
        self.extra_env = dict(extra_env or {})
        self.pw = self._passwd()
        self.home = self.pw.pw_dir
        self.binary = binary or os.path.join(self.home, ".clawdbot", "bin", "clawdbot")
        self.flavour = binary_flavour(self.binary)
        self.calls = []

    @classmethod
    def from_params(cls, module):
        p = module.params
        return cls(module, binary=p.get("binary"), profile=p.get("profile"), user=p.get("user"),
                   extra_env=p.get("cli_env"), gateway_url=p.get("gateway_url"),
                   gateway_token=p.get("gateway_token"), timeout=p.get("timeout") or 30)

    def _passwd(self):
        if self.user:
            try:
                return pwd.getpwnam(self.user)
            except KeyError:
                self.module.fail_json(msg="user '%s' does not exist on this host" % self.user)
        return pwd.getpwuid(os.geteuid())

    @property
    def needs_switch(self):
        return os.geteuid() == 0 and self.pw.pw_uid != 0

    @property
    def state_dir(self):
        """The profile's state dir as the CLI computes it (contract 1.1)."""
        base = ".openclaw" if self.flavour == "openclaw" else ".clawdbot"
        if not self.profile or self.profile.lower() == "default":
            return os.path.join(self.home, base)
        return os.path.join(self.home, "%s-%s" % (base, self.profile))

    def environment(self):
        env = {
            "HOME": self.home,
            "USER": self.pw.pw_name,
            "LOGNAME": self.pw.pw_name,
            "XDG_RUNTIME_DIR": "/run/user/%d" % self.pw.pw_uid,
            "NO_COLOR": "1",
            "FORCE_COLOR": "0",
            "CLAWDBOT_HIDE_BANNER": "1",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
        }
        bindir = os.path.dirname(self.binary)
        path = os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")
        env["PATH"] = ":".join([bindir, "/usr/local/bin", path])
        if self.gateway_token:
            prefix = _ENV_PREFIX.get(self.flavour, "CLAWDBOT")
            env["%s_GATEWAY_TOKEN" % prefix] = self.gateway_token
        env.update(self.extra_env)
        return env

    def argv(self, args):
        argv = [self.binary]
        if self.profile and self.profile.lower() != "default":
            argv += ["--profile", self.profile]
        argv += list(args)
        return argv

    def redact(self, text):
        if text and self.gateway_token:
            text = text.replace(self.gateway_token, "********")
        return text

    def run(self, args, with_gateway=False, data=None):
        """Run the CLI and return (rc, stdout, stderr). ``with_gateway`` adds --url when set."""
        args = list(args)
        if with_gateway and self.gateway_url:
            args += ["--url", self.gateway_url]
        argv = self.argv(args)
        env = self.environment()
        if not os.path.exists(self.binary):
            raise CLIError("the Clawdbot CLI was not found at %s (is clawdbot_install applied for user %s?)"
                           % (self.binary, self.pw.pw_name), cmd=argv)
        cmd = argv
        if self.needs_switch:
            # runuser keeps the caller's environment (so the token stays out of argv) and sets
            # HOME/USER/LOGNAME for the target user.
            cmd = ["runuser", "-u", self.pw.pw_name, "--"] + argv
        rc, out, err = self.module.run_command(cmd, environ_update=env, data=data,
                                               cwd=self.home if os.access(self.home, os.X_OK) else None)
        self.calls.append(argv)
        return rc, strip_ansi(out), strip_ansi(err)

    def run_json(self, args, with_gateway=False, what="CLI"):
        rc, out, err = self.run(list(args) + ["--json"], with_gateway=with_gateway)
        if rc != 0:
            raise CLIError(self.describe_failure(err or out), rc=rc, stdout=self.redact(out),
                           stderr=self.redact(err), cmd=self.argv(args))
        try:
            return parse_json_output(out)
        except ValueError:
            raise CLIError("could not parse the JSON output of %s" % " ".join(self.argv(args)[1:]),
                           rc=rc, stdout=self.redact(out), stderr=self.redact(err), cmd=self.argv(args))

    def describe_failure(self, stderr):
        return self.redact(first_error_line(stderr)) or "the CLI failed without an error message"
