"""Unit tests of homelab.clawdbot.dm_pairing (contract 5 of both flavours).

clawdbot: store files read directly, CLI only to approve. openclaw: SQLite stores, so `pairing list --json` and
`pairing approve` only; the database is never opened.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import pwd
import sqlite3

import pytest

from ansible.module_utils import basic

from ansible_collections.homelab.clawdbot.plugins.module_utils import clawdbot_pairing as cp
from ansible_collections.homelab.clawdbot.plugins.modules import dm_pairing as dm

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
CREATED_MS = 1795527297000  # 2026-11-24T13:34:57.000Z, createdAt of the recorded request
NOW = CREATED_MS + 10 * 60 * 1000  # 10 minutes later: pending
NOW_EXPIRED = CREATED_MS + 61 * 60 * 1000  # 61 minutes later: expired


def fixture_text(name):
    with open(os.path.join(FIXTURES, name)) as fh:
        return fh.read()


def recorded_requests():
    """The requests of the recorded ``pairing list telegram --json`` output."""
    return json.loads(fixture_text("pairing_list_telegram.json"))["requests"]


def write_store(state_dir, requests=None, allow_from=None, channel="telegram"):
    cred = state_dir / "credentials"
    cred.mkdir(mode=0o700, exist_ok=True)
    if requests is not None:
        (cred / ("%s-pairing.json" % channel)).write_text(json.dumps({"version": 1, "requests": requests}))
    if allow_from is not None:
        (cred / ("%s-allowFrom.json" % channel)).write_text(json.dumps({"version": 1, "allowFrom": allow_from}))
    return cred


def tree(path):
    """Every file/dir under ``path`` with its content, to prove nothing was created or changed."""
    out = {}
    for root, dirs, files in os.walk(str(path)):
        for d in dirs:
            out[os.path.relpath(os.path.join(root, d), str(path)) + "/"] = None
        for f in files:
            full = os.path.join(root, f)
            with open(full, "rb") as fh:
                out[os.path.relpath(full, str(path))] = (fh.read(), os.stat(full).st_mtime_ns)
    return out


def fake_cli_approve(cred, channel="telegram"):
    """Behave like ``pairing approve <ch> <code>`` (contract 5): drop the request, add its id to allowFrom."""
    def respond(argv):
        code = argv[argv.index("approve") + 2].upper()
        pairing = cred / ("%s-pairing.json" % channel)
        store = json.loads(pairing.read_text())
        match = [r for r in store["requests"] if r["code"].upper() == code]
        if not match:
            return (1, "", fixture_text("pairing_unknown_code.stderr").replace("ZZZZ9999", code))
        store["requests"] = [r for r in store["requests"] if r["code"].upper() != code]
        pairing.write_text(json.dumps(store))
        allow_path = cred / ("%s-allowFrom.json" % channel)
        allow = json.loads(allow_path.read_text()) if allow_path.exists() else {"version": 1, "allowFrom": []}
        if match[0]["id"] not in allow["allowFrom"]:
            allow["allowFrom"].append(match[0]["id"])
        allow_path.write_text(json.dumps(allow))
        return (0, fixture_text("pairing_approve.stdout").replace("123456789", match[0]["id"]), "")
    return respond


@pytest.fixture
def state_dir(tmp_path):
    path = tmp_path / "state"
    path.mkdir()
    return path


@pytest.fixture
def run(monkeypatch, tmp_path, state_dir, module_main):
    def make(name):
        binary = tmp_path / "bin" / name
        binary.parent.mkdir(exist_ok=True)
        binary.write_text("#!/bin/sh\nexit 99\n")
        binary.chmod(0o755)
        return str(binary)

    binary = make("clawdbot")

    def _run(module, args, responses=(), check_mode=False, diff=False, now=NOW, binary_name=None):
        queue = list(responses)
        calls = []
        warnings = []

        def fake_run_command(self, cmd, environ_update=None, data=None, cwd=None, **kwargs):
            calls.append(dict(argv=list(cmd), env=dict(environ_update or {})))
            if not queue:
                raise AssertionError("unexpected CLI call: %r" % (cmd,))
            resp = queue.pop(0)
            return resp(cmd) if callable(resp) else resp

        monkeypatch.setattr(basic.AnsibleModule, "run_command", fake_run_command)
        monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, w: warnings.append(w))
        monkeypatch.setattr(module, "now_ms", lambda: now)
        params = dict(args)
        params.setdefault("binary", make(binary_name) if binary_name else binary)
        params.setdefault("cli_env", {"CLAWDBOT_STATE_DIR": str(state_dir)})
        params["_ansible_check_mode"] = check_mode
        params["_ansible_diff"] = diff
        failed, result = module_main(module.main, params)
        assert not queue, "CLI responses left unused: %r" % queue
        _run.warnings = warnings
        return failed, result, calls

    _run.binary = binary
    _run.bindir = str(tmp_path / "bin")
    return _run


# ----------------------------------------------------------------------------------- pure functions

def test_parse_iso_ms():
    assert cp.parse_iso_ms("2026-11-24T13:34:57.000Z") == CREATED_MS
    assert cp.parse_iso_ms("2026-11-24T13:34:57Z") == CREATED_MS
    assert cp.parse_iso_ms("2026-11-24T14:34:57.000+01:00") == CREATED_MS
    assert cp.parse_iso_ms("yesterday") is None
    assert cp.parse_iso_ms("2026-13-40T00:00:00Z") is None
    assert cp.parse_iso_ms(None) is None


def test_pending_applies_ttl_and_unparsable_created_at_is_expired():
    fresh = recorded_requests()[0]
    store = {"version": 1, "requests": [fresh, dict(fresh, id="2", code="WXYZ6789", createdAt="garbage"),
                                        dict(fresh, id="3", code="QRST2345", createdAt=None)]}
    assert [r["id"] for r in cp.dm_pending_requests(store, NOW)] == ["123456789"]
    assert cp.dm_pending_requests(store, NOW_EXPIRED) == []
    assert cp.dm_pending_requests(store, CREATED_MS + 60 * 60 * 1000) != []  # exactly 1 h is still pending
    assert cp.dm_expired_count(store, NOW) == 2


def test_code_and_channel_validation():
    assert cp.normalise_code("abcd2345") == ("ABCD2345", None)
    for bad in ("ABCD234", "ABCD23450", "ABCD2340", "ABCDI345", "ABCD-345", ""):
        code, err = cp.normalise_code(bad)
        assert err and err.startswith("code ")
    assert cp.validate_channel("telegram") is None
    assert cp.validate_channel("nextcloud-talk") is None
    for bad in ("Telegram", "foo.bar", "1abc", "", "a" * 65):
        assert cp.validate_channel(bad).startswith("channel ")


def test_allow_from_normalisation():
    store = {"version": 1, "allowFrom": ["tg:123", "telegram:456", 789, "*", "", "123"]}
    assert cp.dm_allow_from(store, "telegram") == ["123", "456", "789"]


def test_plan_refuses_code_of_another_sender():
    plan = dm.plan_dm_approval(recorded_requests(), [], "telegram", "ABCD2345", sender_id="999")
    assert plan["action"] == "fail" and "belongs to sender 123456789" in plan["msg"]


def test_credentials_dir_overrides(tmp_path):
    class FakeCLI(object):
        flavour = "clawdbot"
        home = "/home/u"
        state_dir = "/home/u/.clawdbot-personal"
        extra_env = {}
    cli = FakeCLI()
    assert cp.resolve_credentials_dir(cli, environ={}) == "/home/u/.clawdbot-personal/credentials"
    cli.extra_env = {"CLAWDBOT_STATE_DIR": "~/elsewhere"}
    assert cp.resolve_credentials_dir(cli, environ={}) == "/home/u/elsewhere/credentials"
    cli.extra_env = {"CLAWDBOT_STATE_DIR": "/x", "CLAWDBOT_OAUTH_DIR": "/oauth"}
    assert cp.resolve_credentials_dir(cli, environ={}) == "/oauth"
    cli.flavour = "openclaw"
    cli.extra_env = {"OPENCLAW_OAUTH_DIR": "/oc", "CLAWDBOT_OAUTH_DIR": "/cb"}
    assert cp.resolve_credentials_dir(cli, environ={}) == "/oc"


# ----------------------------------------------------------------------------------- module runs

def test_approve_lower_case_code(run, state_dir):
    cred = write_store(state_dir, recorded_requests())
    failed, result, calls = run(dm, dict(profile="personal", channel="telegram", code="abcd2345"),
                                [fake_cli_approve(cred)])
    assert not failed, result["msg"]
    assert [c["argv"] for c in calls] == [
        [run.binary, "--profile", "personal", "pairing", "approve", "telegram", "ABCD2345"]]
    assert result["changed"] is True
    assert result["approved"] == dict(id="123456789", code="ABCD2345",
                                      meta={"username": "probeuser", "firstName": "Probe"})
    assert result["allow_from"] == ["123456789"]
    assert result["pending"] == []
    assert result["cli_calls"] == 1
    assert result["credentials_dir"] == str(cred)


def test_notify_flag(run, state_dir):
    cred = write_store(state_dir, recorded_requests())
    failed, _result, calls = run(dm, dict(profile="personal", code="ABCD2345", notify=True),
                                 [fake_cli_approve(cred)])
    assert not failed
    assert calls[0]["argv"][-1] == "--notify"


def test_approval_is_verified_in_allow_from(run, state_dir):
    write_store(state_dir, recorded_requests())
    # the CLI claims success but wrote somewhere else (e.g. a different state dir)
    failed, result, _calls = run(dm, dict(profile="personal", code="ABCD2345"),
                                 [(0, fixture_text("pairing_approve.stdout"), "")])
    assert failed and "does not list sender 123456789" in result["msg"]


def test_unknown_code_fails_without_cli_call(run, state_dir):
    write_store(state_dir, recorded_requests())
    failed, result, calls = run(dm, dict(profile="personal", code="ZZZZ9999"), [])
    assert failed
    assert result["msg"] == ("no pending telegram pairing request for code ZZZZ9999 (codes expire after 1 hour): "
                             "ask the user to message the bot again to get a new code")
    assert [(p["id"], p["code"]) for p in result["pending"]] == [("123456789", "ABCD2345")]
    assert calls == []


def test_unknown_code_reported_by_cli_gives_same_guidance(run, state_dir):
    write_store(state_dir, recorded_requests())
    failed, result, calls = run(dm, dict(profile="personal", code="ABCD2345"),
                                [(1, "", fixture_text("pairing_unknown_code.stderr"))])
    assert failed and len(calls) == 1
    assert result["msg"].startswith("no pending telegram pairing request for code ABCD2345")
    assert "    at " not in result["msg"]


def test_expired_code_is_not_pending(run, state_dir):
    write_store(state_dir, recorded_requests())
    failed, result, calls = run(dm, dict(profile="personal", code="ABCD2345"), [], now=NOW_EXPIRED)
    assert failed and "no pending telegram pairing request for code ABCD2345" in result["msg"]
    assert result["pending"] == []
    assert calls == []


def test_sender_already_allowed_is_unchanged(run, state_dir):
    write_store(state_dir, [], allow_from=["123456789"])
    failed, result, calls = run(dm, dict(profile="personal", code="ABCD2345", sender_id="123456789"), [])
    assert not failed, result["msg"]
    assert result["changed"] is False and calls == [] and result["allow_from"] == ["123456789"]


def test_check_mode_creates_and_changes_nothing(run, state_dir):
    write_store(state_dir, recorded_requests())
    before = tree(state_dir)
    failed, result, calls = run(dm, dict(profile="personal", code="abcd2345"), [], check_mode=True, diff=True)
    assert not failed, result["msg"]
    assert calls == []
    assert tree(state_dir) == before
    assert result["changed"] is True
    assert result["approved"]["id"] == "123456789"
    assert result["allow_from"] == ["123456789"]
    assert result["diff"] == dict(before=dict(pending=["ABCD2345"], allow_from=[]),
                                  after=dict(pending=[], allow_from=["123456789"]))


def test_check_mode_on_empty_state_dir_creates_nothing(run, state_dir):
    failed, _result, calls = run(dm, dict(profile="personal", code="ABCD2345"), [], check_mode=True)
    assert failed and calls == []
    assert tree(state_dir) == {}


def test_bad_channel_names_option(run):
    failed, result, calls = run(dm, dict(profile="personal", channel="foo.bar", code="ABCD2345"), [])
    assert failed and result["msg"].startswith("channel ") and "foo.bar" in result["msg"] and calls == []


def test_bad_code_names_option(run):
    failed, result, calls = run(dm, dict(profile="personal", code="abcd0000"), [])
    assert failed and result["msg"].startswith("code ") and "abcd0000" in result["msg"] and calls == []


def test_invalid_store_json_fails_clearly(run, state_dir):
    cred = write_store(state_dir)
    (cred / "telegram-pairing.json").write_text("{not json")
    failed, result, calls = run(dm, dict(profile="personal", code="ABCD2345"), [])
    assert failed and "telegram-pairing.json is not valid JSON" in result["msg"] and calls == []


# ----------------------------------------------------------------------------------- openclaw flavour
# openclaw-contract.md 5, verbatim: pairing list telegram --json, pairing approve (two stdout lines), unknown code.

OC_CREATED_MS = cp.parse_iso_ms("2026-12-01T07:47:54.098Z")
OC_NOW = OC_CREATED_MS + 10 * 60 * 1000


@pytest.fixture
def oc_state(state_dir, monkeypatch):
    """An openclaw state dir with a (fake) SQLite DB and a stale legacy JSON store with another code: the module must
    use neither. sqlite3.connect fails the test if anything opens a database."""
    (state_dir / "state").mkdir()
    (state_dir / "state" / "openclaw.sqlite").write_bytes(b"SQLite format 3\x00not really")
    write_store(state_dir, [dict(recorded_requests()[0], code="WXYZ6789", id="55555")], allow_from=["55555"])

    def no_sqlite(*args, **kwargs):
        raise AssertionError("the module must not open SQLite: %r" % (args,))
    monkeypatch.setattr(sqlite3, "connect", no_sqlite)
    return state_dir


def oc_list():
    return (0, fixture_text("openclaw_pairing_list_telegram.json"), "")


def oc_run(run, state, args, responses=(), **kwargs):
    args = dict(args)
    args.setdefault("cli_env", {"OPENCLAW_STATE_DIR": str(state)})
    kwargs.setdefault("now", OC_NOW)
    return run(dm, args, responses, binary_name="openclaw", **kwargs)


def test_openclaw_approve_lists_then_approves(run, oc_state):
    before = tree(oc_state)
    failed, result, calls = oc_run(run, oc_state, dict(profile="personal", code="abcd2345"), [
        oc_list(), (0, fixture_text("openclaw_pairing_approve.stdout"), ""),
    ])
    assert not failed, result["msg"]
    binary = os.path.join(run.bindir, "openclaw")
    assert [c["argv"] for c in calls] == [
        [binary, "--profile", "personal", "pairing", "list", "telegram", "--json"],
        [binary, "--profile", "personal", "pairing", "approve", "telegram", "ABCD2345"],
    ]
    for call in calls:
        assert call["env"]["OPENCLAW_HIDE_BANNER"] == "1" and call["env"]["OPENCLAW_STATE_DIR"] == str(oc_state)
        assert not [k for k in call["env"] if k.startswith("CLAWDBOT_")]
    assert result["changed"] is True and result["flavour"] == "openclaw" and result["cli_calls"] == 2
    assert result["approved"] == dict(id="987654321", code="ABCD2345",
                                      meta={"username": "probeuser", "firstName": "Probe", "accountId": "default"})
    assert result["pending"] == []
    assert "allow_from" not in result and "credentials_dir" not in result
    assert result["msg"] == "approved telegram sender 987654321 (code ABCD2345) on profile personal"
    assert any("commands.ownerAllowFrom" in w and "telegram:987654321" in w for w in run.warnings)
    assert tree(oc_state) == before  # neither the DB nor the legacy JSON store was touched


def test_openclaw_notify_flag(run, oc_state):
    failed, _result, calls = oc_run(run, oc_state, dict(code="ABCD2345", notify=True), [
        oc_list(), (0, "Approved telegram sender 987654321.\n", ""),
    ])
    assert not failed
    assert calls[1]["argv"][-5:] == ["pairing", "approve", "telegram", "ABCD2345", "--notify"]
    assert run.warnings == []


def test_openclaw_check_mode_lists_only(run, oc_state):
    before = tree(oc_state)
    failed, result, calls = oc_run(run, oc_state, dict(profile="personal", code="abcd2345"), [oc_list()],
                                   check_mode=True, diff=True)
    assert not failed, result["msg"]
    assert len(calls) == 1 and calls[0]["argv"][3:] == ["pairing", "list", "telegram", "--json"]
    assert result["changed"] is True and result["msg"].startswith("would approve telegram sender 987654321")
    assert result["approved"]["id"] == "987654321" and result["pending"] == []
    assert result["diff"] == dict(before=dict(pending=["ABCD2345"]), after=dict(pending=[]))
    assert tree(oc_state) == before


def test_openclaw_code_not_listed_fails_without_approve(run, oc_state):
    # WXYZ6789 is only in the legacy JSON store, which openclaw does not use any more
    failed, result, calls = oc_run(run, oc_state, dict(code="WXYZ6789"), [oc_list()])
    assert failed and len(calls) == 1
    assert result["msg"].startswith("no pending telegram pairing request for code WXYZ6789 (codes expire after 1 hour)")
    assert [(p["id"], p["code"]) for p in result["pending"]] == [("987654321", "ABCD2345")]


def test_openclaw_sender_id_cannot_confirm_an_earlier_approval(run, oc_state):
    failed, result, calls = oc_run(run, oc_state, dict(code="WXYZ6789", sender_id="55555"), [oc_list()])
    assert failed and len(calls) == 1 and result["changed"] is False
    assert "whether sender 55555 is already approved cannot be checked" in result["msg"]


def test_openclaw_code_of_another_sender_is_refused(run, oc_state):
    failed, result, calls = oc_run(run, oc_state, dict(code="ABCD2345", sender_id="111"), [oc_list()])
    assert failed and len(calls) == 1 and "belongs to sender 987654321" in result["msg"]


def test_openclaw_unknown_code_reported_by_cli(run, oc_state):
    """The code expired between list and approve: rc 1, `[openclaw] Reason: No pending pairing request found ...`."""
    failed, result, calls = oc_run(run, oc_state, dict(profile="personal", code="ABCD2345"), [
        oc_list(), (1, "", fixture_text("openclaw_pairing_unknown_code.stderr").replace("ZZZZ9999", "ABCD2345")),
    ])
    assert failed and len(calls) == 2 and result["changed"] is False
    assert result["msg"] == ("no pending telegram pairing request for code ABCD2345 (codes expire after 1 hour): "
                             "ask the user to message the bot again to get a new code")
    assert result["pending"] == []


def test_openclaw_other_approve_failure_shows_reason(run, oc_state):
    failed, result, _calls = oc_run(run, oc_state, dict(profile="personal", code="ABCD2345"), [
        oc_list(), (1, "", "[openclaw] The CLI command failed.\n[openclaw] Reason: database is locked\n"),
    ])
    assert failed and result["msg"] == "pairing approve failed on profile personal: database is locked"


def test_openclaw_approve_without_confirmation_line_warns(run, oc_state):
    failed, result, _calls = oc_run(run, oc_state, dict(code="ABCD2345"), [oc_list(), (0, "", "")])
    assert not failed and result["changed"] is True
    assert any("without the line 'Approved telegram sender <id>.'" in w for w in run.warnings)


def test_openclaw_list_failure(run, oc_state):
    failed, result, calls = oc_run(run, oc_state, dict(profile="personal", code="ABCD2345"), [
        (1, "", "[openclaw] The CLI command failed.\n[openclaw] Reason: Invalid config\n"),
    ])
    assert failed and len(calls) == 1
    assert result["msg"] == "pairing list telegram failed on profile personal: Invalid config"


def test_openclaw_expired_listed_code_is_not_approved(run, oc_state):
    failed, result, calls = oc_run(run, oc_state, dict(code="ABCD2345"), [oc_list()],
                                   now=OC_CREATED_MS + 61 * 60 * 1000)
    assert failed and len(calls) == 1 and result["pending"] == []


def test_default_binary_is_the_openclaw_one(run, oc_state):
    home = pwd.getpwuid(os.geteuid()).pw_dir
    expected = os.path.join(home, ".openclaw", "bin", "openclaw")
    if os.path.exists(expected):
        pytest.skip("%s exists on this machine" % expected)
    failed, result, calls = run(dm, dict(code="ABCD2345", binary=None, cli_env={}), [])
    assert failed and calls == []
    assert result["msg"].startswith("pairing list telegram failed on profile default: the OpenClaw CLI was not found "
                                    "at %s" % expected)


def test_clawdbot_results_name_the_flavour(run, state_dir):
    cred = write_store(state_dir, recorded_requests())
    failed, result, _calls = run(dm, dict(profile="personal", code="ABCD2345"), [fake_cli_approve(cred)])
    assert not failed and result["flavour"] == "clawdbot" and result["allow_from"] == ["123456789"]
