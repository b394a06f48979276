"""Unit tests of the pairing helpers for both flavours (contract 4 and 5 of each), exact CLI strings."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.homelab.clawdbot.plugins.module_utils import clawdbot_pairing as cp
from ansible_collections.homelab.clawdbot.plugins.module_utils import flavours
from ansible_collections.homelab.clawdbot.plugins.module_utils.clawdbot_cli import CLIError

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "modules", "fixtures")


def fixture_text(name):
    with open(os.path.join(FIXTURES, name)) as fh:
        return fh.read()


class FakeCLI(object):
    def __init__(self, flavour, profile="personal", gateway_url=None):
        self.flavour = flavour
        self.profile = profile
        self.home = "/home/u"
        self.gateway_url = gateway_url
        self.extra_env = {}
        self.state_dir = flavours.state_dir(flavour, self.home, profile)

    def redact(self, text):
        return text


@pytest.mark.parametrize("flavour, profile, unit", [
    ("openclaw", "personal", "openclaw-gateway-personal.service"),
    ("openclaw", None, "openclaw-gateway.service"),
    ("clawdbot", "work", "clawdbot-gateway-work.service"),
    ("clawdbot", "Default", "clawdbot-gateway.service"),
])
def test_service_name_from_flavour_unit_prefix(flavour, profile, unit):
    assert cp.service_name(FakeCLI(flavour, profile)) == unit


def test_env_values_use_the_flavour_prefix_only():
    cli = FakeCLI("openclaw")
    assert cp.cli_env_value(cli, "STATE_DIR", environ={"CLAWDBOT_STATE_DIR": "/cb"}) is None
    assert cp.cli_env_value(cli, "STATE_DIR", environ={"OPENCLAW_STATE_DIR": "/oc"}) == "/oc"
    cli = FakeCLI("clawdbot")
    assert cp.cli_env_value(cli, "STATE_DIR", environ={"OPENCLAW_STATE_DIR": "/oc"}) is None
    assert cp.resolve_state_dir(cli, environ={}) == "/home/u/.clawdbot-personal"


def test_uses_sqlite_stores():
    assert cp.uses_sqlite_stores(FakeCLI("openclaw")) is True
    assert cp.uses_sqlite_stores(FakeCLI("clawdbot")) is False


@pytest.mark.parametrize("text", [
    fixture_text("devices_unknown_request.stderr"),            # clawdbot approve/reject
    fixture_text("openclaw_devices_approve_unknown.stderr"),   # openclaw approve (CLI pre-check)
    fixture_text("openclaw_devices_reject_unknown.stdout"),    # openclaw reject, JSON envelope
    fixture_text("openclaw_devices_reject_unknown.stderr"),    # openclaw reject, stderr
])
def test_unknown_request_markers(text):
    assert cp.is_unknown_request(text)


def test_unknown_request_does_not_match_other_failures():
    assert not cp.is_unknown_request(fixture_text("openclaw_devices_gateway_down.stdout"))
    assert not cp.is_unknown_request(fixture_text("devices_gateway_down.stderr"))


def test_gateway_target_both_flavours():
    assert cp.gateway_target(fixture_text("devices_gateway_down.stderr")) == "ws://127.0.0.1:19999"
    down = fixture_text("openclaw_devices_gateway_down.stdout")
    assert cp.gateway_target("", down) == "ws://127.0.0.1:19600"
    assert cp.gateway_target("[openclaw] Reason: Gateway not reachable at ws://127.0.0.1:19655 (ECONNREFUSED).") == (
        "ws://127.0.0.1:19655")
    assert cp.gateway_target("nothing here") is None


def test_gateway_failure_message_openclaw_down_names_unit():
    err = CLIError("x", rc=1, stdout=fixture_text("openclaw_devices_gateway_down.stdout"), stderr="")
    msg = cp.gateway_failure_message(FakeCLI("openclaw"), err)
    assert msg == ("the gateway of profile personal is not reachable at ws://127.0.0.1:19600: Gateway not reachable "
                   "at ws://127.0.0.1:19600 (ECONNREFUSED). \u2014 is openclaw-gateway-personal.service running?")


def test_gateway_failure_message_pairing_required_per_flavour():
    err = CLIError("x", rc=1, stderr="[openclaw] Reason: gateway closed (1008): pairing required\n")
    msg = cp.gateway_failure_message(FakeCLI("openclaw"), err)
    assert "/home/u/.openclaw-personal/state/openclaw.sqlite" in msg and "~/.clawdbot" not in msg
    msg = cp.gateway_failure_message(FakeCLI("clawdbot"), err)
    assert "~/.clawdbot/identity" in msg


def test_gateway_failure_message_plaintext_ws_hint():
    err = CLIError("x", rc=1, stderr='SECURITY ERROR: Gateway URL "ws://vm:19600" uses plaintext ws:// to a '
                                     'non-loopback address.\n')
    msg = cp.gateway_failure_message(FakeCLI("openclaw"), err)
    assert "OPENCLAW_ALLOW_INSECURE_PRIVATE_WS=1" in msg and msg.startswith("the CLI refused gateway_url")


def test_openclaw_listing_summaries_have_new_fields_and_no_secrets():
    listing = cp.normalise_device_listing(json.loads(fixture_text("openclaw_devices_list.json")))
    pending = cp.summarise_pending(listing["pending"][0], 1796110907516 + 42000)
    assert pending["clientId"] == "openclaw-tui" and pending["deviceFamily"] == "Linux"
    assert pending["remoteIp"] is None and pending["ageSeconds"] == 42
    assert "publicKey" not in pending
    paired = cp.summarise_paired(listing["paired"][0])
    assert paired["approvedVia"] == "silent" and paired["connected"] is False
    assert paired["lastSeenAtMs"] == 1796110860364 and paired["tokenCount"] == 1
    assert "tokens" not in paired and "publicKey" not in paired


def test_clawdbot_summaries_have_none_for_openclaw_fields():
    listing = cp.normalise_device_listing(json.loads(fixture_text("devices_list.json")))
    paired = cp.summarise_paired(listing["paired"][0])
    assert paired["approvedVia"] is None and paired["connected"] is None and paired["remoteIp"] == "127.0.0.1"


def test_parse_device_action_text():
    assert cp.parse_device_action_text("approve", fixture_text("openclaw_devices_approve.stdout")) == dict(
        deviceId="8281c11186f3266571716c93526f1b7c49fcc97ff273b37e0411f303cf76ca4c",
        requestId="da149e4f-5874-4fdb-be78-e6770f5d0664")
    assert cp.parse_device_action_text("approve", "Approved 6fa7e9e7\n") == dict(deviceId="6fa7e9e7")
    assert cp.parse_device_action_text("reject", fixture_text("openclaw_devices_reject.stdout")) == dict(
        deviceId="8281c11186f3266571716c93526f1b7c49fcc97ff273b37e0411f303cf76ca4c")
    assert cp.parse_device_action_text("approve", "Rejected x\n") is None


@pytest.mark.parametrize("rid, ok", [("da149e4f-5874-4fdb-be78-e6770f5d0664", True), ("", False), ("  ", False),
                                     (None, False), ("--latest", False), (123, False)])
def test_usable_request_id(rid, ok):
    assert cp.usable_request_id(rid) is ok


def test_dm_listing_from_cli_openclaw_shape():
    data = json.loads(fixture_text("openclaw_pairing_list_telegram.json"))
    created = cp.parse_iso_ms("2026-12-01T07:47:54.098Z")
    entries = cp.dm_listing_from_cli(data, "telegram", created + 60 * 1000)
    assert [(e["id"], e["code"]) for e in entries] == [("987654321", "ABCD2345")]
    summary = cp.summarise_dm_request(entries[0], created + 60 * 1000)
    assert summary["meta"] == {"username": "probeuser", "firstName": "Probe", "accountId": "default"}
    assert summary["expiresInSeconds"] == 59 * 60
    assert cp.dm_listing_from_cli(json.loads('{"channel":"telegram","requests":[]}'), "telegram", created) == []
    assert cp.dm_listing_from_cli(data, "telegram", created + 61 * 60 * 1000) == []  # the CLI's TTL rule
    with pytest.raises(ValueError):
        cp.dm_listing_from_cli({"pending": []}, "telegram", created)
    with pytest.raises(ValueError):
        cp.dm_listing_from_cli(data, "whatsapp", created)


def test_dm_approve_output_both_flavours():
    oc = fixture_text("openclaw_pairing_approve.stdout")
    assert cp.dm_approved_sender(oc) == "987654321"
    assert cp.dm_owner_line(oc) == "Command owner configured telegram:987654321 (commands.ownerAllowFrom was empty)."
    cb = fixture_text("pairing_approve.stdout")
    assert cp.dm_approved_sender(cb) == "123456789" and cp.dm_owner_line(cb) is None


def test_dm_unknown_code_both_flavours():
    assert cp.is_dm_unknown_code(fixture_text("pairing_unknown_code.stderr"))
    assert cp.is_dm_unknown_code(fixture_text("openclaw_pairing_unknown_code.stderr"))
    assert not cp.is_dm_unknown_code("[openclaw] Reason: database is locked")
