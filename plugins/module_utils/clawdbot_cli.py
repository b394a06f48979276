# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the gateway CLI (``openclaw`` or the legacy ``clawdbot``) as the gateway user, for one profile.

Every module of this collection that talks to the CLI goes through :class:`ClawdbotCLI`:

* the flavour (module_utils/flavours.py, the one place the names live) picks the binary, the env var prefix
  (``OPENCLAW_*`` or ``CLAWDBOT_*``; openclaw ignores ``CLAWDBOT_*``), the state dir and the unit name,
* argv lists only (never a shell),
* ``--profile <name>`` placed *before* the subcommand (the CLI ignores it afterwards),
* the gateway user's environment (HOME, XDG_RUNTIME_DIR, PATH with the node binary),
  ``NO_COLOR=1`` and ``<PREFIX>_HIDE_BANNER=1`` so output is parseable,
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

from ansible_collections.homelab.clawdbot.plugins.module_utils import flavours

ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")

# Options shared by every module that runs the CLI. Modules merge this into their argument_spec.
# ``flavour`` has no static default: it follows the binary's file name, else flavours.DEFAULT_FLAVOUR.
CLI_ARGUMENT_SPEC = dict(
    profile=dict(type="str"),
    user=dict(type="str"),
    binary=dict(type="path"),
    flavour=dict(type="str", choices=list(flavours.FLAVOUR_NAMES)),
    cli_env=dict(type="dict", default={}),
    gateway_url=dict(type="str"),
    gateway_token=dict(type="str", no_log=True),
    timeout=dict(type="int", default=30),
)


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


# Lines that never carry the reason of a failure: Node warnings, the openclaw failure header and its debug hint,
# and subsystem log lines such as ``[sqlite/transaction] slow SQLite transaction hold`` (openclaw contract 5).
_NOISE_RE = re.compile(r"^(?:\(node:\d+\)|Rename them by replacing the legacy prefix|\[\w+\] The CLI command failed\.?$"
                       r"|\[\w+\] Debug:|\[[\w-]+/[\w/-]+\] )")


def error_envelope_message(text):
    """``error.message`` of the openclaw JSON error envelope ``{"ok":false,"error":{...}}`` (contract 4.2), or None."""
    if not text or "{" not in text:
        return None
    try:
        data = parse_json_output(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("ok") is not False:
        return None
    error = data.get("error")
    if isinstance(error, dict):
        message = error.get("message")
        return str(message).strip() if message else None
    if isinstance(error, str) and error.strip():
        return error.strip()
    return None


def first_error_line(stderr, stdout=None):
    """The human part of a CLI failure, without the JS stack trace.

    * clawdbot: ``[clawdbot] Failed to start CLI: Error: <reason>`` followed by ``    at ...`` lines;
    * openclaw: ``[openclaw] The CLI command failed.`` / ``[openclaw] Reason: <reason>`` / ``[openclaw] Debug: ...``,
      a plain line such as ``No pending device request matches <id>. Run ...``, or (with ``--json``) the error
      envelope ``{"ok":false,"error":{"type":...,"message":...}}`` on stdout (also accepted as ``stderr`` when a
      caller passes ``stderr or stdout``).
    """
    stderr, stdout = strip_ansi(stderr), strip_ansi(stdout)
    text = stderr if stderr.strip() else stdout
    keep = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("at ")]
    for ln in keep:
        m = re.match(r"^\[\w+\] Reason:\s*(.*)$", ln)
        if m and m.group(1).strip():
            return m.group(1).strip()
    for ln in keep:
        m = re.search(r"Failed to start CLI:\s*(?:Error:\s*)?(.*)$", ln)
        if m:
            return m.group(1).strip()
    for candidate in (stdout, stderr):
        message = error_envelope_message(candidate)
        if message:
            return message
    for ln in keep:
        m = re.search(r"\bError:\s*(.*)$", ln)
        if m:
            return m.group(1).strip()
    useful = [ln for ln in keep if not _NOISE_RE.match(ln)]
    return (useful or keep or [""])[0]


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


def validator_issues(stdout):
    """The issues of a ``config validate --json`` result as one line ("path: message; ..."), or ''."""
    try:
        doc = json.loads((stdout or "").strip())
    except ValueError:
        return ""
    if not isinstance(doc, dict):
        return ""
    issues = ["%s: %s" % (i.get("path", "?"), i.get("message", "")) for i in doc.get("issues") or [] if isinstance(i, dict)]
    if issues:
        return "; ".join(issues)
    error = doc.get("error")
    return error.get("message", "") if isinstance(error, dict) else ""


def validator_json_error(stdout, candidate):
    """Why a ``config validate --json`` result (exit code 0) does not accept ``candidate``, or '' when it does.

    The validator must say ``valid: true`` and name the candidate file: a candidate at a canonical config path is
    swapped for the live file (contract 2.2), so a result about another file proves nothing."""
    try:
        doc = json.loads((stdout or "").strip())
    except ValueError:
        return "the validator printed no JSON: %s" % ((stdout or "").strip()[:200] or "(nothing)")
    if not isinstance(doc, dict) or doc.get("valid") is not True:
        return validator_issues(stdout) or "the validator did not report valid: true"
    checked = doc.get("path")
    if not isinstance(checked, str) or os.path.realpath(checked) != os.path.realpath(candidate):
        return ("the validator checked %s instead of the candidate %s (a candidate at a canonical config path is"
                " swapped for the live file)" % (checked, candidate))
    return ""


def named_flavour(binary):
    """The flavour whose binary name the file name of ``binary`` contains, or None (no default applied)."""
    return flavours.flavour_of_binary(binary, default=None)


def resolve_flavour(flavour=None, binary=None, home=None):
    """The explicit ``flavour``, else the one of the binary's file name, else the product whose CLI the user has
    (``home``: the default product first, so a host with both keeps the default), else flavours.DEFAULT_FLAVOUR."""
    if flavour:
        flavours.get_flavour(flavour)  # FlavourError for an unknown name
        return flavour
    if binary:
        return flavours.flavour_of_binary(binary)
    if home:
        names = [flavours.DEFAULT_FLAVOUR] + [n for n in flavours.FLAVOUR_NAMES if n != flavours.DEFAULT_FLAVOUR]
        for name in names:
            if os.path.exists(default_binary(name, home)):
                return name
    return flavours.DEFAULT_FLAVOUR


def default_binary(flavour, home):
    """``~/<install_dir>/bin/<binary>`` of the flavour (the user-scope npm prefix of clawdbot_install)."""
    f = flavours.get_flavour(flavour)
    return os.path.join(home, f["install_dir"], "bin", f["binary"])


class ClawdbotCLI(object):
    """Runs the CLI for one profile as the gateway user."""

    def __init__(self, module, binary=None, profile=None, user=None, extra_env=None,
                 gateway_url=None, gateway_token=None, timeout=30, flavour=None):
        self.module = module
        self.profile = profile
        self.user = user
        self.timeout = timeout
        self.gateway_url = gateway_url
        self.gateway_token = gateway_token
        self.extra_env = dict(extra_env or {})
        self.pw = self._passwd()
        self.home = self.pw.pw_dir
        self.flavour = resolve_flavour(flavour, binary, self.home)
        self.definition = flavours.get_flavour(self.flavour)
        self.env_prefix = self.definition["env_prefix"]
        self.binary = binary or default_binary(self.flavour, self.home)
        self.calls = []

    @classmethod
    def from_params(cls, module):
        p = module.params
        named = named_flavour(p.get("binary"))
        if p.get("flavour") and named and named != p["flavour"]:
            module.warn("flavour=%s but the binary %s looks like the %s CLI; running it as %s (env prefix %s_)"
                        % (p["flavour"], p["binary"], named, p["flavour"],
                           flavours.get_flavour(p["flavour"])["env_prefix"]))
        return cls(module, binary=p.get("binary"), profile=p.get("profile"), user=p.get("user"),
                   extra_env=p.get("cli_env"), gateway_url=p.get("gateway_url"),
                   gateway_token=p.get("gateway_token"), timeout=p.get("timeout") or 30,
                   flavour=p.get("flavour"))

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
        """The profile's state dir as the CLI computes it (contract 1.1), without env overrides."""
        return flavours.state_dir(self.flavour, self.home, self.profile)

    def env_name(self, suffix):
        """``<PREFIX>_<suffix>``: the name of an env var as this flavour's CLI reads it."""
        return "%s_%s" % (self.env_prefix, suffix)

    def environment(self):
        env = {
            "HOME": self.home,
            "USER": self.pw.pw_name,
            "LOGNAME": self.pw.pw_name,
            "XDG_RUNTIME_DIR": "/run/user/%d" % self.pw.pw_uid,
            "NO_COLOR": "1",
            "FORCE_COLOR": "0",
            self.env_name("HIDE_BANNER"): "1",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
        }
        bindir = os.path.dirname(self.binary)
        path = os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")
        env["PATH"] = ":".join([bindir, "/usr/local/bin", path])
        if self.gateway_token:
            env[self.env_name("GATEWAY_TOKEN")] = self.gateway_token
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
            raise CLIError("the %s CLI was not found at %s (is clawdbot_install applied for user %s with the %s "
                           "flavour? set binary or flavour otherwise)"
                           % (self.definition["product"], self.binary, self.pw.pw_name, self.flavour), cmd=argv)
        rc, out, err = self.run_as_user(argv, env, data=data)
        self.calls.append(argv)
        return rc, strip_ansi(out), strip_ansi(err)

    def run_as_user(self, argv, environ_update, data=None):
        """Run ``argv`` as the gateway user, from its home when it may enter it; returns ``run_command``'s
        ``(rc, stdout, stderr)``. As root for another user it goes through ``runuser``, which keeps the caller's
        environment (so a token stays out of argv) and sets HOME/USER/LOGNAME for the target user; files the
        command creates belong to that user."""
        cmd = list(argv)
        if self.needs_switch:
            cmd = ["runuser", "-u", self.pw.pw_name, "--"] + cmd
        return self.module.run_command(cmd, environ_update=environ_update, data=data,
                                       cwd=self.home if os.access(self.home, os.X_OK) else None)

    def run_json(self, args, with_gateway=False, what="CLI", text_fallback=None):
        """Run ``args --json``; return the parsed value. Raises CLIError on rc != 0, on an openclaw error envelope
        and on unparsable output (unless ``text_fallback(stdout)`` turns the text into a value)."""
        rc, out, err = self.run(list(args) + ["--json"], with_gateway=with_gateway)
        if rc != 0:
            raise CLIError(self.describe_failure(err, out), rc=rc, stdout=self.redact(out),
                           stderr=self.redact(err), cmd=self.argv(args))
        try:
            value = parse_json_output(out)
        except ValueError:
            value = text_fallback(out) if text_fallback else None
            if value is None:
                raise CLIError("could not parse the JSON output of %s" % " ".join(self.argv(args)[1:]),
                               rc=rc, stdout=self.redact(out), stderr=self.redact(err), cmd=self.argv(args))
        if isinstance(value, dict) and value.get("ok") is False and "error" in value:
            raise CLIError(self.describe_failure(err, out), rc=rc, stdout=self.redact(out),
                           stderr=self.redact(err), cmd=self.argv(args))
        return value

    def describe_failure(self, stderr, stdout=None):
        return self.redact(first_error_line(stderr, stdout)) or "the CLI failed without an error message"
