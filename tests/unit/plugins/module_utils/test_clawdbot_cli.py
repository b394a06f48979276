"""Unit tests of the shared CLI runner (parsing of real CLI output of both flavours, env, paths)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import pwd

import pytest

from ansible_collections.homelab.clawdbot.plugins.module_utils import flavours
from ansible_collections.homelab.clawdbot.plugins.module_utils.clawdbot_cli import (
    CLI_ARGUMENT_SPEC,
    CLIError,
    ClawdbotCLI,
    default_binary,
    error_envelope_message,
    first_error_line,
    parse_json_output,
    resolve_flavour,
)

DOCTOR_BOXES_THEN_JSON = """\
\u2502
\u25c7  Doctor changes \u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u256e
\u2502  Telegram configured, not enabled yet.  \u2502
\u25c7  Doctor \u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u256e
\u2502  Run "clawdbot doctor --fix" to apply these changes.  \u2502
{ "channel": "telegram", "requests": [] }
"""

UNKNOWN_REQUEST = """\
[clawdbot] Failed to start CLI: Error: unknown requestId
    at GatewayClient.handleMessage (file:///home/user/cb/node_modules/clawdbot/dist/gateway/client.js:253:36)
    at WebSocket.<anonymous> (file:///home/user/cb/node_modules/clawdbot/dist/gateway/client.js:88:18)
"""


def test_plain_json():
    assert parse_json_output('{"ok":true}') == {"ok": True}


def test_json_after_doctor_boxes():
    assert parse_json_output(DOCTOR_BOXES_THEN_JSON) == {"channel": "telegram", "requests": []}


def test_json_with_ansi_and_trailing_noise():
    assert parse_json_output('\x1b[32m{"pending":[],"paired":[]}\x1b[0m\nbye\n') == {"pending": [], "paired": []}


def test_no_json_raises():
    with pytest.raises(ValueError):
        parse_json_output("Gateway service already enabled.\n")


def test_first_error_line_drops_stack():
    assert first_error_line(UNKNOWN_REQUEST) == "unknown requestId"


def test_first_error_line_gateway_down():
    err = ("Error: gateway closed (1006 abnormal closure (no close frame)): no close reason\n"
           "Gateway target: ws://127.0.0.1:19999\n")
    assert first_error_line(err).startswith("gateway closed (1006")


# ----------------------------------------------------------------------------------- openclaw error shapes
# Exact strings of openclaw-contract.md (4.2 devices, 5 pairing).

OC_REJECT_UNKNOWN_STDOUT = '{"ok":false,"error":{"type":"cli_error","message":"unknown requestId"}}\n'
OC_REJECT_UNKNOWN_STDERR = ("[openclaw] The CLI command failed.\n"
                            "[openclaw] Reason: unknown requestId\n"
                            "[openclaw] Debug: set OPENCLAW_DEBUG=1 to include the stack trace.\n")
OC_APPROVE_UNKNOWN_STDERR = ("No pending device request matches 00000000-0000-0000-0000-000000000000. Run openclaw "
                             "--profile probe devices list and retry with the current request ID.\n")
OC_PAIRING_UNKNOWN_STDERR = ('[openclaw] The CLI command failed.\n'
                             '[openclaw] Reason: No pending pairing request found for code "ZZZZ9999". Run openclaw '
                             '--profile probe pairing list --channel telegram to list pending requests.\n')
OC_GATEWAY_DOWN_STDOUT = ('{"ok":false,"error":{"type":"gateway_transport_error","kind":"closed","message":"Gateway '
                          'not reachable at ws://127.0.0.1:19600 (ECONNREFUSED)."},"gateway":{"url":'
                          '"ws://127.0.0.1:19600","urlSource":"local loopback"}}\n')


def test_first_error_line_openclaw_reason():
    assert first_error_line(OC_REJECT_UNKNOWN_STDERR, OC_REJECT_UNKNOWN_STDOUT) == "unknown requestId"
    assert first_error_line(OC_PAIRING_UNKNOWN_STDERR) == (
        'No pending pairing request found for code "ZZZZ9999". Run openclaw --profile probe pairing list '
        '--channel telegram to list pending requests.')


def test_first_error_line_openclaw_plain_line_on_stderr():
    assert first_error_line(OC_APPROVE_UNKNOWN_STDERR, "") == OC_APPROVE_UNKNOWN_STDERR.strip()


def test_first_error_line_openclaw_plain_line_after_log_noise():
    err = ("[sqlite/transaction] slow SQLite transaction hold elapsedMs=1253\n" + OC_APPROVE_UNKNOWN_STDERR)
    assert first_error_line(err).startswith("No pending device request matches 00000000-")


def test_first_error_line_openclaw_json_envelope_on_stdout():
    assert first_error_line("", OC_REJECT_UNKNOWN_STDOUT) == "unknown requestId"
    assert first_error_line("", OC_GATEWAY_DOWN_STDOUT) == "Gateway not reachable at ws://127.0.0.1:19600 (ECONNREFUSED)."
    # callers that pass `stderr or stdout`
    assert first_error_line(OC_GATEWAY_DOWN_STDOUT) == "Gateway not reachable at ws://127.0.0.1:19600 (ECONNREFUSED)."


def test_first_error_line_skips_legacy_env_warning():
    err = ("(node:24351) [OPENCLAW_LEGACY_ENV_VARS] DeprecationWarning: Legacy CLAWDBOT_* environment variables were "
           "detected (1 total), but OpenClaw only reads OPENCLAW_* names now.\n"
           "Rename them by replacing the legacy prefix with OPENCLAW_; the old names are ignored.\n"
           + OC_APPROVE_UNKNOWN_STDERR)
    assert first_error_line(err).startswith("No pending device request matches")


def test_error_envelope_message_only_for_failures():
    assert error_envelope_message(OC_REJECT_UNKNOWN_STDOUT) == "unknown requestId"
    assert error_envelope_message('{"pending":[],"paired":[]}') is None
    assert error_envelope_message('{"ok":true}') is None
    assert error_envelope_message("Approved telegram sender 987654321.") is None


# ----------------------------------------------------------------------------------- flavours

class FakeModule(object):
    def __init__(self, params=None, run=None):
        self.params = dict(params or {})
        self.warnings = []
        self._run = run
        self.calls = []

    def warn(self, msg):
        self.warnings.append(msg)

    def fail_json(self, **kwargs):
        raise AssertionError("fail_json: %r" % kwargs)

    def run_command(self, cmd, environ_update=None, data=None, cwd=None):
        self.calls.append(dict(argv=list(cmd), env=dict(environ_update or {})))
        return self._run(cmd) if self._run else (0, "{}", "")


def params(**kwargs):
    p = dict((k, None) for k in CLI_ARGUMENT_SPEC)
    p.update(cli_env={}, timeout=30)
    p.update(kwargs)
    return p


HOME = pwd.getpwuid(os.geteuid()).pw_dir


def test_argument_spec_has_flavour_choices_without_default():
    assert CLI_ARGUMENT_SPEC["flavour"] == dict(type="str", choices=list(flavours.FLAVOUR_NAMES))
    assert sorted(CLI_ARGUMENT_SPEC["flavour"]["choices"]) == ["clawdbot", "openclaw"]


@pytest.mark.parametrize("flavour, binary, expected", [
    (None, None, flavours.DEFAULT_FLAVOUR),
    (None, "/home/u/.openclaw/bin/openclaw", "openclaw"),
    (None, "/home/u/.clawdbot/bin/clawdbot", "clawdbot"),
    (None, "/opt/bin/gateway-cli", flavours.DEFAULT_FLAVOUR),
    ("clawdbot", "/opt/bin/gateway-cli", "clawdbot"),
    ("openclaw", "/home/u/.clawdbot/bin/clawdbot", "openclaw"),
])
def test_resolve_flavour(flavour, binary, expected):
    assert resolve_flavour(flavour, binary) == expected


@pytest.mark.parametrize("flavour", flavours.FLAVOUR_NAMES)
def test_default_binary_and_state_dir_come_from_flavours(flavour):
    f = flavours.get_flavour(flavour)
    cli = ClawdbotCLI.from_params(FakeModule(params(flavour=flavour, profile="work")))
    assert cli.flavour == flavour
    assert cli.binary == os.path.join(HOME, f["install_dir"], "bin", f["binary"])
    assert cli.state_dir == flavours.state_dir(flavour, HOME, "work")
    assert default_binary(flavour, "/home/u") == "/home/u/%s/bin/%s" % (f["install_dir"], f["binary"])


def test_default_binaries_are_the_documented_paths():
    assert default_binary("openclaw", "/home/u") == "/home/u/.openclaw/bin/openclaw"
    assert default_binary("clawdbot", "/home/u") == "/home/u/.clawdbot/bin/clawdbot"
    cli = ClawdbotCLI.from_params(FakeModule(params()))
    assert cli.flavour == "openclaw" and cli.binary == os.path.join(HOME, ".openclaw", "bin", "openclaw")
    assert cli.state_dir == os.path.join(HOME, ".openclaw")


@pytest.mark.parametrize("flavour, prefix, other", [("openclaw", "OPENCLAW", "CLAWDBOT"),
                                                    ("clawdbot", "CLAWDBOT", "OPENCLAW")])
def test_environment_uses_the_flavour_prefix_only(flavour, prefix, other):
    cli = ClawdbotCLI.from_params(FakeModule(params(flavour=flavour, gateway_token="tok-123")))
    env = cli.environment()
    assert env["%s_HIDE_BANNER" % prefix] == "1"
    assert env["%s_GATEWAY_TOKEN" % prefix] == "tok-123"
    assert not [k for k in env if k.startswith(other + "_")]
    assert env["NO_COLOR"] == "1"


def test_cli_env_wins_over_module_env():
    cli = ClawdbotCLI.from_params(FakeModule(params(cli_env={"OPENCLAW_HIDE_BANNER": "0"})))
    assert cli.environment()["OPENCLAW_HIDE_BANNER"] == "0"


def test_flavour_contradicting_binary_name_warns():
    module = FakeModule(params(flavour="clawdbot", binary="/home/u/.openclaw/bin/openclaw"))
    cli = ClawdbotCLI.from_params(module)
    assert cli.flavour == "clawdbot" and cli.env_prefix == "CLAWDBOT"
    assert len(module.warnings) == 1 and "looks like the openclaw CLI" in module.warnings[0]
    module = FakeModule(params(flavour="clawdbot", binary="/opt/bin/gateway-cli"))
    ClawdbotCLI.from_params(module)
    assert module.warnings == []


def test_missing_binary_names_product_and_path(tmp_path):
    cli = ClawdbotCLI.from_params(FakeModule(params(binary=str(tmp_path / "openclaw"))))
    with pytest.raises(CLIError) as exc:
        cli.run(["devices", "list"])
    assert exc.value.msg.startswith("the OpenClaw CLI was not found at %s" % (tmp_path / "openclaw"))


def _binary(tmp_path, name="openclaw"):
    path = tmp_path / name
    path.write_text("#!/bin/sh\nexit 99\n")
    path.chmod(0o755)
    return str(path)


def test_run_json_raises_on_error_envelope_with_rc_0(tmp_path):
    module = FakeModule(params(binary=_binary(tmp_path)), run=lambda cmd: (0, OC_REJECT_UNKNOWN_STDOUT, ""))
    cli = ClawdbotCLI.from_params(module)
    with pytest.raises(CLIError) as exc:
        cli.run_json(["devices", "reject", "x"])
    assert exc.value.msg == "unknown requestId"


def test_run_json_failure_message_from_stdout_envelope(tmp_path):
    module = FakeModule(params(binary=_binary(tmp_path)), run=lambda cmd: (1, OC_GATEWAY_DOWN_STDOUT, ""))
    cli = ClawdbotCLI.from_params(module)
    with pytest.raises(CLIError) as exc:
        cli.run_json(["devices", "list"])
    assert exc.value.msg == "Gateway not reachable at ws://127.0.0.1:19600 (ECONNREFUSED)."
    assert exc.value.rc == 1 and module.calls[0]["argv"][-3:] == ["devices", "list", "--json"]


def test_run_json_text_fallback(tmp_path):
    out = "Approved 8281c111 (da149e4f)\n"
    module = FakeModule(params(binary=_binary(tmp_path)), run=lambda cmd: (0, out, ""))
    cli = ClawdbotCLI.from_params(module)
    assert cli.run_json(["devices", "approve", "da149e4f"], text_fallback=lambda text: {"text": text.strip()}) == {
        "text": "Approved 8281c111 (da149e4f)"}
    with pytest.raises(CLIError):
        cli.run_json(["devices", "approve", "da149e4f"])


def test_resolve_flavour_follows_the_cli_the_user_has(tmp_path):
    from ansible_collections.homelab.clawdbot.plugins.module_utils.clawdbot_cli import resolve_flavour
    home = str(tmp_path)
    assert resolve_flavour(home=home) == "openclaw"  # nothing installed: the default product
    (tmp_path / ".clawdbot" / "bin").mkdir(parents=True)
    (tmp_path / ".clawdbot" / "bin" / "clawdbot").write_text("")
    assert resolve_flavour(home=home) == "clawdbot"  # a legacy host without the flavour option
    (tmp_path / ".openclaw" / "bin").mkdir(parents=True)
    (tmp_path / ".openclaw" / "bin" / "openclaw").write_text("")
    assert resolve_flavour(home=home) == "openclaw"  # both: the default product first
    assert resolve_flavour("clawdbot", home=home) == "clawdbot"
    assert resolve_flavour(binary="/x/clawdbot", home=home) == "clawdbot"
