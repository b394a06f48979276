"""Unit tests of the shared CLI runner helpers (parsing of real CLI output)."""
import pytest

from ansible_collections.homelab.clawdbot.plugins.module_utils.clawdbot_cli import (
    first_error_line,
    parse_json_output,
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
