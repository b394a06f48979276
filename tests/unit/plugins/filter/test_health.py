# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""health_report and spark_health_row: the rows of playbooks/health.yml (molecule test_80_day2 checks the texts)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.homelab.clawdbot.plugins.filter.health import (FilterModule, health_report, is_loopback,
                                                                        parse_listeners, parse_ps, process_tree,
                                                                        settle_report, spark_health_row, truncate)

HOST = "vm102.tail1234ab.ts.net"
PERSONAL = {"name": "personal", "port": 18789, "unit": "clawdbot-gateway-personal.service", "bind": "loopback",
            "listen_ports": [18789, 18791, 18792]}
OPS = {"name": "ops", "port": 18790, "unit": "clawdbot-gateway-ops.service", "bind": "loopback",
       "listen_ports": [18790, 18901, 18902]}
SERVE_MAP = [{"name": "personal", "port": 443, "path": "/", "target": "18789", "funnel": False},
             {"name": "ops", "port": 8443, "path": "/", "target": "18790", "funnel": False}]


def unit(profile, main_pid="812", active="active", sub="running", enabled="enabled", restarts="0", load="loaded"):
    return {"Id": profile["unit"], "LoadState": load, "ActiveState": active, "SubState": sub, "UnitFileState": enabled,
            "MainPID": main_pid, "NRestarts": restarts}


def health_ok(profile, stdout='{"ok": true, "durationMs": 12}'):
    return {"rc": 0, "stdout": stdout, "stderr": "", "changed": False, "item": profile}


def health_skipped(profile):
    return {"skipped": True, "changed": False, "false_condition": "... == 'active'", "item": profile}


def ss_line(addr, port, pid=None):
    users = ' users:(("node",pid=%s,fd=22))' % pid if pid else ""
    return "LISTEN 0      511          %s:%d        0.0.0.0:*%s" % (addr, port, users)


def ts_status(state="Running", dns=HOST + ".", rc=0, stderr=""):
    return {"rc": rc, "stdout": json.dumps({"BackendState": state, "Self": {"DNSName": dns}}), "stderr": stderr,
            "item": ["status", "--json"]}


def ts_serve(handlers=None, https=None):
    """``tailscale serve status --json`` as a registered result; ``handlers`` maps (port, path) to the proxy."""
    handlers = {(443, "/"): "http://127.0.0.1:18789", (8443, "/"): "http://127.0.0.1:18790"} if handlers is None else handlers
    tcp = {str(port): {"HTTPS": True if https is None else https} for port, _path in handlers}
    web = {}
    for (port, path), proxy in handlers.items():
        web.setdefault("%s:%d" % (HOST, port), {"Handlers": {}})["Handlers"][path] = {"Proxy": proxy}
    return {"rc": 0, "stdout": json.dumps({"TCP": tcp, "Web": web}), "stderr": "", "item": ["serve", "status", "--json"]}


def report(profiles=(PERSONAL,), units=None, units_error="", health=None, ss=None, ps=None, tailscale=True,
           status=None, serve=None, serve_map=None, ready=None, live=None, rpc=None):
    profiles = list(profiles)
    return health_report(
        profiles,
        units={p["unit"]: unit(p, main_pid=str(812 + i)) for i, p in enumerate(profiles)} if units is None else units,
        units_error=units_error,
        health_results=[health_ok(p) for p in profiles] if health is None else health,
        ss_lines=[ss_line("127.0.0.1", p["port"], 900 + i) for i, p in enumerate(profiles)] if ss is None else ss,
        ps_lines=["%d %d" % (900 + i, 812 + i) for i in range(len(profiles))] if ps is None else ps,
        tailscale=tailscale,
        tailscale_status=ts_status() if status is None else status,
        tailscale_serve=ts_serve() if serve is None else serve,
        serve_map=SERVE_MAP if serve_map is None else serve_map,
        ready_results=ready,
        live_results=live,
        status_results=rpc)


def test_filters_are_registered():
    assert FilterModule().filters() == {"health_report": health_report, "spark_health_row": spark_health_row,
                                        "settle_report": settle_report}


# --------------------------------------------------------------------------------------------------- all healthy


def test_two_healthy_profiles_give_the_texts_molecule_checks():
    rows = report(profiles=[PERSONAL, OPS])
    assert rows == [
        {"name": "personal", "ok": True, "problems": [],
         "unit": "clawdbot-gateway-personal.service: active (running), enabled, MainPID 812, restarts 0",
         "health": "ok", "ready": "not checked", "live": "not checked", "rpc": "not checked",
         "listeners": "127.0.0.1:18789 (loopback only)",
         "serve": "https://vm102.tail1234ab.ts.net/ -> http://127.0.0.1:18789"},
        {"name": "ops", "ok": True, "problems": [],
         "unit": "clawdbot-gateway-ops.service: active (running), enabled, MainPID 813, restarts 0",
         "health": "ok", "ready": "not checked", "live": "not checked", "rpc": "not checked",
         "listeners": "127.0.0.1:18790 (loopback only)",
         "serve": "https://vm102.tail1234ab.ts.net:8443/ -> http://127.0.0.1:18790"},
    ]


def ready(profile, status=200, body=None, msg=""):
    """A registered ``uri`` result of GET /readyz (openclaw 2026.9.6 bodies, contract 6)."""
    body = {"ready": True, "failing": [], "uptimeMs": 4000} if body is None else body
    return {"status": status, "json": body, "msg": msg, "changed": False, "item": profile}


def test_readyz_200_is_ready():
    rows = report(profiles=[PERSONAL, OPS], ready=[ready(PERSONAL), ready(OPS)])
    assert [(r["ready"], r["ok"]) for r in rows] == [("ready", True), ("ready", True)]


def test_readyz_503_names_the_failing_checks():
    rows = report(ready=[ready(PERSONAL, 503, {"ready": False, "failing": ["telegram"], "uptimeMs": 9})])
    assert rows[0]["ready"] == "NOT READY (HTTP 503; failing: telegram)"
    assert rows[0]["ok"] is False and rows[0]["problems"] == ["not ready (/readyz)"]


def test_readyz_without_an_answer_and_from_content():
    rows = report(ready=[ready(PERSONAL, -1, {}, msg="Status code was -1: Connection refused")])
    assert rows[0]["ready"] == "NO ANSWER (HTTP -1: Status code was -1: Connection refused)" and not rows[0]["ok"]
    # the body as text only (no json key): parsed all the same
    res = {"status": 200, "content": '{"ready": true}', "item": PERSONAL}
    assert report(ready=[res])[0]["ready"] == "ready"


def test_readyz_skipped_for_a_stopped_gateway_and_absent_for_clawdbot():
    rows = report(ready=[health_skipped(PERSONAL)])
    assert rows[0]["ready"] == "not asked (gateway not running)" and rows[0]["ok"] is True
    assert report(ready=None)[0]["ready"] == "not checked"
    # a result of another profile does not count as this profile's
    assert report(ready=[ready(OPS, 503, {"ready": False})])[0]["ready"] == "not checked"


def live(profile, status=200, body=None, msg=""):
    """A registered ``uri`` result of GET /healthz (openclaw 2026.9.6, contract 6)."""
    body = {"ok": True, "status": "live"} if body is None else body
    return {"status": status, "json": body, "msg": msg, "changed": False, "item": profile}


def test_healthz_200_is_live():
    rows = report(profiles=[PERSONAL, OPS], live=[live(PERSONAL), live(OPS)])
    assert [(r["live"], r["ok"]) for r in rows] == [("live", True), ("live", True)]


def test_healthz_without_an_answer_is_a_problem():
    rows = report(live=[live(PERSONAL, -1, {}, msg="Status code was -1: Connection refused")])
    assert rows[0]["live"] == "NOT LIVE (HTTP -1: Status code was -1: Connection refused)"
    assert rows[0]["ok"] is False and rows[0]["problems"] == ["not live (/healthz)"]
    assert report(live=[live(PERSONAL, 500, {"ok": False})])[0]["live"].startswith("NOT LIVE (HTTP 500")


def test_healthz_skipped_and_absent():
    assert report(live=[health_skipped(PERSONAL)])[0]["live"] == "not asked (gateway not running)"
    assert report(live=None)[0]["live"] == "not checked"
    assert report(live=[live(OPS, 500, {})])[0]["live"] == "not checked"


def rpc(profile, rc=0, rpc_ok=True, audit_ok=True, issues=(), status="running", pid=548, error=None, stderr="",
        stdout=None):
    """A registered result of `gateway status --json --require-rpc`, trimmed from openclaw 2026.9.6's answer for a
    unit of the profiles role (its EnvironmentFile is reported as drift, and the audit is ok all the same)."""
    doc = {"service": {"label": "systemd user", "loaded": True,
                       "runtime": {"status": status, "state": "active", "subState": "running", "pid": pid,
                                   "lastExitStatus": 0},
                       "configAudit": {"ok": audit_ok, "issues": list(issues), "definitionDrift": [
                           {"kind": "unknown-edit", "key": "Service.EnvironmentFile",
                            "message": "Systemd Service.EnvironmentFile contains an unrecognized setting."}]},
                       "targetRole": "target"},
           "rpc": {"ok": rpc_ok, "kind": "read", "capability": "read_only",
                   "auth": {"role": "operator", "scopes": ["operator.read"], "capability": "read_only"}},
           "port": {"status": "busy", "listeners": []}}
    if error is not None:
        doc["rpc"] = {"ok": False, "kind": "read", "connectFailure": {"kind": "unreachable"}, "error": error,
                      "url": "ws://127.0.0.1:18790"}
    return {"rc": rc, "stdout": json.dumps(doc) if stdout is None else stdout, "stderr": stderr, "changed": False,
            "item": profile}


def test_status_with_rpc_ok_names_the_service():
    rows = report(profiles=[PERSONAL, OPS], rpc=[rpc(PERSONAL), rpc(OPS, pid=549)])
    assert rows[0]["rpc"] == "ok (service running, pid 548, rpc read_only)" and rows[0]["ok"]
    assert rows[1]["rpc"] == "ok (service running, pid 549, rpc read_only)" and rows[1]["ok"]


def test_status_whose_rpc_fails_is_a_problem():
    error = ("Gateway not reachable at ws://127.0.0.1:18790 (ECONNREFUSED).\nStart it with `openclaw gateway run` or "
             "check `openclaw gateway status`.\nGateway target: ws://127.0.0.1:18790\nSource: service target")
    rows = report(rpc=[rpc(PERSONAL, rc=1, error=error)])
    # the first line of the RPC error; the rest are hints
    assert rows[0]["rpc"] == "FAILED: Gateway not reachable at ws://127.0.0.1:18790 (ECONNREFUSED)."
    assert rows[0]["ok"] is False and rows[0]["problems"] == ["gateway status --require-rpc failed"]
    # rc 0 but rpc.ok false still fails; no JSON at all: stderr
    assert report(rpc=[rpc(PERSONAL, rpc_ok=False)])[0]["rpc"] == "FAILED: rpc not ok"
    res = rpc(PERSONAL, rc=1, stdout="", stderr="Error: boom\n  at x")
    assert report(rpc=[res])[0]["rpc"] == "FAILED: Error: boom at x"


def test_status_whose_config_audit_fails_is_a_problem():
    rows = report(rpc=[rpc(PERSONAL, audit_ok=False, issues=[{"code": "x", "message": "ExecStart differs"}, "port"])])
    assert rows[0]["rpc"] == "FAILED: config audit: ExecStart differs; port" and not rows[0]["ok"]


def test_status_skipped_and_absent():
    assert report(rpc=[health_skipped(PERSONAL)])[0]["rpc"] == "not asked (gateway not running)"
    assert report(rpc=None)[0]["rpc"] == "not checked"
    assert report(rpc=[rpc(OPS, rc=1)])[0]["rpc"] == "not checked"


def test_health_answer_after_doctor_boxes_is_parsed():
    rows = report(health=[health_ok(PERSONAL, stdout='┌ Doctor\n│ legacy key\n└\n{"ok": true}\n')])
    assert rows[0]["health"] == "ok" and rows[0]["ok"] is True


# ------------------------------------------------------------------------------------------------------- unit


def test_stopped_unit_is_named_and_its_health_not_asked():
    units = {PERSONAL["unit"]: unit(PERSONAL, main_pid="0", active="inactive", sub="dead")}
    rows = report(units=units, health=[health_skipped(PERSONAL)], ss=[], ps=[])
    row = rows[0]
    assert row["ok"] is False
    assert row["problems"] == ["unit is inactive (dead)"]  # no "not listening" when the unit is not active
    assert row["health"] == "not asked (gateway not running)"
    assert row["unit"] == "clawdbot-gateway-personal.service: inactive (dead), enabled, MainPID 0, restarts 0"
    assert row["listeners"] == "none"


def test_disabled_and_unset_unit_file_state():
    rows = report(units={PERSONAL["unit"]: unit(PERSONAL, enabled="disabled")})
    assert rows[0]["problems"] == ["unit is disabled"]
    rows = report(units={PERSONAL["unit"]: unit(PERSONAL, enabled="")})
    assert rows[0]["problems"] == ["unit is not enabled"]
    assert rows[0]["unit"].endswith("(running), , MainPID 812, restarts 0")


def test_unit_not_loaded():
    units = {PERSONAL["unit"]: unit(PERSONAL, load="not-found", active="inactive", sub="dead", enabled="", main_pid="0")}
    rows = report(units=units, health=[health_skipped(PERSONAL)])
    assert rows[0]["problems"] == ["unit clawdbot-gateway-personal.service is not installed (not-found)"]


def test_unit_missing_from_systemctl_show():
    rows = report(units={}, health=[health_skipped(PERSONAL)])
    row = rows[0]
    assert row["problems"] == ["unit clawdbot-gateway-personal.service is not installed (?)"]
    assert row["unit"] == "clawdbot-gateway-personal.service: unknown (?), ?, MainPID ?, restarts ?"
    assert row["health"] == "not asked (gateway not running)"
    assert row["listeners"] == "none"  # no MainPID: only listeners without a process could count


def test_systemctl_error_replaces_the_unit_checks():
    rows = report(units={}, units_error="Failed to connect to bus: No medium found", health=[health_skipped(PERSONAL)])
    assert rows[0]["problems"] == ["systemctl --user failed: Failed to connect to bus: No medium found"]


def test_active_but_restarting_counts_restarts():
    rows = report(units={PERSONAL["unit"]: unit(PERSONAL, restarts="3")})
    assert rows[0]["ok"] is True and rows[0]["unit"].endswith("MainPID 812, restarts 3")


# ---------------------------------------------------------------------------------------------- gateway health


def test_health_failure_is_one_line_of_stderr_and_msg():
    failed = {"rc": 1, "stdout": "", "stderr": "Error: gateway closed\n    (1006)\n\tabnormal  closure\n",
              "msg": "non-zero return code", "item": PERSONAL}
    row = report(health=[failed])[0]
    assert row["health"] == "FAILED: Error: gateway closed (1006) abnormal closure non-zero return code"
    assert row["problems"] == ["gateway health failed"] and row["ok"] is False


def test_health_rc0_without_ok_true_fails():
    for stdout in ('{"ok": false}', "[1, 2]", "no json at all", ""):
        row = report(health=[health_ok(PERSONAL, stdout=stdout)])[0]
        assert row["health"] == "FAILED: " and row["problems"] == ["gateway health failed"], stdout


def test_health_without_stderr_uses_msg():
    row = report(health=[{"rc": 2, "msg": "[Errno 2] No such file or directory: b'openclaw'", "item": PERSONAL}])[0]
    assert row["health"] == "FAILED: [Errno 2] No such file or directory: b'openclaw'"


def test_health_result_of_another_profile_does_not_count():
    row = report(health=[health_ok(OPS)])[0]
    assert row["health"] == "FAILED: " and "gateway health failed" in row["problems"]


def test_health_failed_text_is_truncated_to_160_like_jinja():
    words = " ".join("word%02d" % i for i in range(60))  # 419 characters
    row = report(health=[{"rc": 1, "stdout": "", "stderr": words, "msg": "", "item": PERSONAL}])[0]
    text = row["health"][len("FAILED: "):]
    assert text.endswith("...") and len(text) <= 160
    assert text == words[:157].rsplit(" ", 1)[0] + "..."
    assert text == "word00 word01 word02 word03 word04 word05 word06 word07 word08 word09 word10 word11 word12 word13 " \
                   "word14 word15 word16 word17 word18 word19 word20 word21..."


@pytest.mark.parametrize("length, expected", [(165, "x" * 165), (166, "x" * 157 + "...")])
def test_truncate_leeway_of_5(length, expected):
    # one word: Jinja cuts inside it (rsplit finds no space) and keeps up to length + 5 characters as they are
    assert truncate("x" * length, 160) == expected


@pytest.mark.parametrize("text", ["", "a", "a b", "x" * 170, "a " * 90, " ".join(["tailscaled"] * 20), "ab " * 60 + "c" * 40,
                                  "one two three " * 20, "trailing space at the cut " * 8])
@pytest.mark.parametrize("length", [120, 160, 200])
def test_truncate_is_jinjas(text, length):
    jinja2 = pytest.importorskip("jinja2")
    assert truncate(text, length) == jinja2.Environment().from_string("{{ t | truncate(n) }}").render(t=text, n=length)


def test_truncate_cuts_at_the_last_space():
    assert truncate("foo bar baz qux", 9, leeway=0) == "foo..."
    assert truncate("foo bar baz qux", 11) == "foo bar baz qux"


# --------------------------------------------------------------------------------------------- process tree


def test_process_tree_four_levels_below_main_pid_whatever_the_order():
    ps = parse_ps(["  105   104", "104 103", "103 102", "102 101", "101 100", "100 1", "200 1", "201 100"])
    assert sorted(process_tree("100", ps)) == ["100", "101", "102", "103", "104", "201"]  # 105 is 5 levels down
    assert process_tree("0", ps) == [] and process_tree("", ps) == [] and process_tree(None, ps) == []


def test_parse_ps_skips_lines_without_two_fields():
    assert parse_ps(["  1 0", "", "junk", "1 2 3", "  42     1  "]) == [{"pid": "1", "ppid": "0"}, {"pid": "42", "ppid": "1"}]
    assert parse_ps(None) == []


def test_listener_of_a_grandchild_counts_and_others_do_not():
    ss = [ss_line("127.0.0.1", 18789, 902), ss_line("0.0.0.0", 22, 1), ss_line("0.0.0.0", 18791, 999)]
    row = report(ss=ss, ps=["900 812", "901 900", "902 901", "999 1"])[0]
    assert row["listeners"] == "127.0.0.1:18789 (loopback only)" and row["ok"] is True


def test_listener_five_levels_down_is_not_found():
    ss = [ss_line("127.0.0.1", 18789, 905)]
    row = report(ss=ss, ps=["901 812", "902 901", "903 902", "904 903", "905 904"])[0]
    assert row["listeners"] == "none"
    assert row["problems"] == ["not listening on its port 18789"]


def test_listener_without_pid_counts_on_a_planned_port_only():
    ss = [ss_line("127.0.0.1", 18791), ss_line("0.0.0.0", 5432), ss_line("127.0.0.1", 18789, 900)]
    row = report(ss=ss)[0]
    assert row["listeners"] == "127.0.0.1:18789, 127.0.0.1:18791 (loopback only)"  # sorted by port


def test_listener_without_pid_on_the_gateway_port_satisfies_the_port_check():
    row = report(ss=[ss_line("127.0.0.1", 18789)], ps=[])[0]
    assert row["ok"] is True and row["listeners"] == "127.0.0.1:18789 (loopback only)"


def test_running_gateway_not_on_its_port():
    row = report(ss=[ss_line("127.0.0.1", 18791, 900)])[0]
    assert row["problems"] == ["not listening on its port 18789"] and row["ok"] is False


def test_parse_listeners():
    lines = ['LISTEN 0      511    127.0.0.1:18789      0.0.0.0:*    users:(("node",pid=901,fd=22),("node",pid=902,fd=3))',
             "LISTEN 0      4096   [::]:22      [::]:*", "LISTEN 0 5", "", "LISTEN 0 10 [fe80::1]%eth0:546 [::]:*"]
    assert parse_listeners(lines) == [{"addr": "127.0.0.1", "port": 18789, "pids": ["901", "902"]},
                                      {"addr": "[::]", "port": 22, "pids": []},
                                      {"addr": "[fe80::1]%eth0", "port": 546, "pids": []}]
    assert parse_listeners(None) == []


# ------------------------------------------------------------------------------------------ loopback / exposed


@pytest.mark.parametrize("addr, loopback", [
    ("127.0.0.1", True), ("127.0.0.53%lo", True), ("[::1]", True), ("[::ffff:127.0.0.1]", True),
    ("0.0.0.0", False), ("[::]", False), ("*", False), ("192.168.1.5", False), ("[::1]x", False), ("[::ffff:10.0.0.1]", False),
    ("1127.0.0.1", False),
])
def test_is_loopback(addr, loopback):
    assert is_loopback(addr) is loopback


def test_ipv4_and_ipv6_loopback_only():
    ss = [ss_line("[::1]", 18789, 900), ss_line("127.0.0.1", 18789, 900), ss_line("[::ffff:127.0.0.1]", 18791, 900)]
    row = report(ss=ss)[0]
    assert row["ok"] is True
    assert row["listeners"] == "[::1]:18789, 127.0.0.1:18789, [::ffff:127.0.0.1]:18791 (loopback only)"


def test_exposed_listener_of_a_loopback_profile_is_a_problem():
    ss = [ss_line("127.0.0.1", 18789, 900), ss_line("0.0.0.0", 18791, 900), ss_line("[::]", 18792, 900)]
    row = report(ss=ss)[0]
    assert row["problems"] == ["listens beyond loopback: 0.0.0.0:18791, [::]:18792"]
    assert row["listeners"] == "127.0.0.1:18789, 0.0.0.0:18791, [::]:18792"  # no "(loopback only)"


def test_exposed_listener_is_fine_for_a_lan_profile():
    lan = dict(PERSONAL, bind="lan")
    row = report(profiles=[lan], ss=[ss_line("0.0.0.0", 18789, 900)])[0]
    assert row["ok"] is True and row["listeners"] == "0.0.0.0:18789"


def test_exposure_is_not_checked_when_the_unit_is_not_active():
    units = {PERSONAL["unit"]: unit(PERSONAL, active="activating", sub="start")}
    row = report(units=units, ss=[ss_line("0.0.0.0", 18791, 900)])[0]
    assert row["problems"] == ["unit is activating (start)"]
    assert row["listeners"] == "0.0.0.0:18791"


# ---------------------------------------------------------------------------------------------------- tailscale


def test_tailscale_disabled():
    row = report(tailscale=False, status={}, serve={})[0]
    assert row["serve"] == "skipped (clawdbot_tailscale_serve: false)" and row["ok"] is True


def test_profile_not_served():
    row = report(serve_map=[m for m in SERVE_MAP if m["name"] != "personal"])[0]
    assert row["serve"] == "not served (serve: false)" and row["ok"] is True


@pytest.mark.parametrize("status, text", [
    (ts_status(state="Stopped"), "DOWN: tailscale Stopped"),
    (ts_status(state="NeedsLogin", rc=1, stderr="logged out"), "DOWN: tailscale NeedsLogin"),
    ({"rc": 1, "stdout": "", "stderr": "  failed to connect to local tailscaled; it doesn't appear to be running\n",
      "msg": "non-zero return code"},
     "DOWN: tailscale failed to connect to local tailscaled; it doesn't appear to be running"),
    ({"rc": 2, "msg": "[Errno 2] No such file or directory: b'tailscale'"},
     "DOWN: tailscale [Errno 2] No such file or directory: b'tailscale'"),
    ({}, "DOWN: tailscale not reachable"),
    ({"rc": 0, "stdout": "not json", "stderr": ""}, "DOWN: tailscale "),
])
def test_tailscale_down(status, text):
    row = report(status=status)[0]
    assert row["serve"] == text
    assert row["problems"] == ["tailscale is not running"] and row["ok"] is False


def test_tailscale_down_reason_is_truncated_to_120():
    stderr = " ".join(["tailscaled"] * 20)  # 219 characters
    row = report(status={"rc": 1, "stdout": "", "stderr": stderr})[0]
    assert row["serve"] == "DOWN: tailscale " + stderr[:117].rsplit(" ", 1)[0] + "..."


def test_tailscale_down_is_not_checked_for_unserved_profiles():
    row = report(status=ts_status(state="Stopped"), serve_map=[])[0]
    assert row["serve"] == "not served (serve: false)" and row["ok"] is True


def test_serve_ok_on_443_and_on_another_port_with_a_path():
    serve_map = [{"name": "personal", "port": 443, "path": "/", "target": "18789"},
                 {"name": "ops", "port": 10000, "path": "/ops", "target": "18790"}]
    serve = ts_serve({(443, "/"): "http://127.0.0.1:18789", (10000, "/ops"): "http://127.0.0.1:18790"})
    rows = report(profiles=[PERSONAL, OPS], serve_map=serve_map, serve=serve)
    assert [r["serve"] for r in rows] == ["https://vm102.tail1234ab.ts.net/ -> http://127.0.0.1:18789",
                                          "https://vm102.tail1234ab.ts.net:10000/ops -> http://127.0.0.1:18790"]
    assert all(r["ok"] for r in rows)


def test_dns_name_without_trailing_dot():
    row = report(status=ts_status(dns=HOST))[0]
    assert row["serve"] == "https://vm102.tail1234ab.ts.net/ -> http://127.0.0.1:18789"


def test_serve_proxies_elsewhere():
    row = report(serve=ts_serve({(443, "/"): "http://127.0.0.1:3000"}))[0]
    assert row["serve"] == ("WRONG: https://vm102.tail1234ab.ts.net/ -> http://127.0.0.1:3000 "
                            "(want http://127.0.0.1:18789)")
    assert row["problems"] == ["tailscale serve 443/ does not proxy to http://127.0.0.1:18789"]


@pytest.mark.parametrize("serve", [
    ts_serve({}),
    ts_serve(https=False),
    ts_serve({(443, "/other"): "http://127.0.0.1:18789"}),
    ts_serve({(443, "/"): None}),
    {"rc": 1, "stdout": "", "stderr": "boom"},
    {"rc": 0, "stdout": "[]", "stderr": ""},
])
def test_serve_has_no_handler(serve):
    row = report(serve=serve)[0]
    assert row["serve"] == "WRONG: https://vm102.tail1234ab.ts.net/ -> nothing (want http://127.0.0.1:18789)"
    assert row["problems"] == ["tailscale serve 443/ does not proxy to http://127.0.0.1:18789"]


def test_serve_of_another_port():
    serve_map = [{"name": "personal", "port": 8443, "path": "/", "target": "18789"}]
    row = report(serve_map=serve_map, serve=ts_serve({(443, "/"): "http://127.0.0.1:18789"}))[0]
    assert row["serve"] == "WRONG: https://vm102.tail1234ab.ts.net:8443/ -> nothing (want http://127.0.0.1:18789)"
    assert row["problems"] == ["tailscale serve 8443/ does not proxy to http://127.0.0.1:18789"]


def test_tailscale_flag_given_as_text():
    assert report(tailscale="false", status={}, serve={})[0]["serve"] == "skipped (clawdbot_tailscale_serve: false)"


# ------------------------------------------------------------------------------------------- everything at once


def test_problems_in_order_unit_health_listeners_tailscale():
    units = {PERSONAL["unit"]: unit(PERSONAL, enabled="disabled")}
    failed = {"rc": 1, "stdout": "", "stderr": "timeout", "msg": "non-zero return code", "item": PERSONAL}
    row = report(units=units, health=[failed], ss=[ss_line("0.0.0.0", 18791, 900)], status=ts_status(state="Stopped"))[0]
    assert row["problems"] == ["unit is disabled", "gateway health failed", "not listening on its port 18789",
                               "listens beyond loopback: 0.0.0.0:18791", "tailscale is not running"]


def test_no_profiles_no_rows():
    assert health_report([], units={}, health_results=[]) == []


# --------------------------------------------------------------------------------------------------------- spark


SPARK_OK = {"changed": False, "base_url": "https://spark.tailnet.ts.net/v1", "models": ["qwen3-32b-nvfp4"],
            "health": {"checked": True, "status": 200, "ok": True}}


def test_spark_not_configured():
    assert spark_health_row({"skipped": True}, enabled=False, models=["x"]) == {
        "ok": True, "text": "not configured (spark_provider_base_url is empty)"}


def test_spark_listed():
    assert spark_health_row(SPARK_OK, enabled=True, models=["qwen3-32b-nvfp4"]) == {
        "ok": True, "text": "https://spark.tailnet.ts.net/v1 answers; /health 200; models: qwen3-32b-nvfp4; "
                            "configured: qwen3-32b-nvfp4 (listed)"}


def test_spark_model_not_listed():
    row = spark_health_row(SPARK_OK, enabled=True, models=["qwen3-32b-nvfp4", "llama-70b", "mistral"])
    assert row == {"ok": False, "text": "https://spark.tailnet.ts.net/v1 answers; /health 200; models: qwen3-32b-nvfp4; "
                                        "configured: qwen3-32b-nvfp4, llama-70b, mistral (NOT LISTED: llama-70b, mistral)"}


def test_spark_no_model_configured():
    row = spark_health_row(dict(SPARK_OK, models=["a", "b"]), enabled=True, models=[])
    assert row == {"ok": True, "text": "https://spark.tailnet.ts.net/v1 answers; /health 200; models: a, b; "
                                       "configured: all listed (listed)"}


def test_spark_health_failed_or_not_checked():
    row = spark_health_row(dict(SPARK_OK, health={"checked": True, "status": 503, "ok": False}), models=[])
    assert row["ok"] is False and "; /health 503; " in row["text"]
    # check_health: false gives status null: the template printed "None", and so does the filter
    row = spark_health_row(dict(SPARK_OK, health={"checked": False, "status": None, "ok": None}), models=[])
    assert row["ok"] is True and "; /health None; " in row["text"]
    info = dict(SPARK_OK)
    del info["health"]
    row = spark_health_row(info, models=[])
    assert row["ok"] is True and "; /health not checked; " in row["text"]


def test_spark_down():
    msg = "Could not reach https://spark.tailnet.ts.net/v1/models:\n  <urlopen error [Errno 111] Connection refused>"
    assert spark_health_row({"failed": True, "msg": msg}, models=["x"]) == {
        "ok": False, "text": "DOWN: Could not reach https://spark.tailnet.ts.net/v1/models: <urlopen error [Errno 111] "
                             "Connection refused>"}
    assert spark_health_row({"failed": True}, models=[]) == {"ok": False, "text": "DOWN: no answer"}
    assert spark_health_row({"msg": "weird"}, models=[]) == {"ok": False, "text": "DOWN: weird"}  # no models at all
    assert spark_health_row({}, models=[]) == {"ok": False, "text": "DOWN: no answer"}


def test_spark_down_text_is_truncated_to_200():
    msg = " ".join(["refused"] * 40)  # 319 characters
    row = spark_health_row({"failed": True, "msg": msg}, models=[])
    assert row["text"] == "DOWN: " + msg[:197].rsplit(" ", 1)[0] + "..."
    assert len(row["text"]) <= len("DOWN: ") + 200


def test_parse_listeners_merges_the_same_socket_seen_by_two_users():
    # ss as each gateway user: the own process shows its pid, another user's socket comes without one.
    as_user = ['LISTEN 0 511 127.0.0.1:18789 0.0.0.0:* users:(("node",pid=901,fd=22))', "LISTEN 0 511 127.0.0.1:18795 0.0.0.0:*"]
    as_lab = ["LISTEN 0 511 127.0.0.1:18789 0.0.0.0:*", 'LISTEN 0 511 127.0.0.1:18795 0.0.0.0:* users:(("node",pid=955,fd=20))']
    assert parse_listeners(as_user + as_lab) == [{"addr": "127.0.0.1", "port": 18789, "pids": ["901"]},
                                                 {"addr": "127.0.0.1", "port": 18795, "pids": ["955"]}]


# ------------------------------------------------------------------------------- settle_report (the run's last check)


def settle(units=None, health=None, ss=None, gated=None, profiles=(PERSONAL, OPS)):
    profiles = list(profiles)
    return settle_report(
        profiles,
        units={p["unit"]: unit(p, main_pid=str(812 + i)) for i, p in enumerate(profiles)} if units is None else units,
        health_results=[health_ok(p) for p in profiles] if health is None else health,
        ss_lines=[ss_line("127.0.0.1", p["port"], 900 + i) for i, p in enumerate(profiles)] if ss is None else ss,
        ps_lines=["%d %d" % (900 + i, 812 + i) for i in range(len(profiles))],
        gated=gated)


def test_settled_gateways_are_ok_without_serve_and_http_checks():
    out = settle(gated={"personal": "812", "ops": "813"})
    assert out["ok"] is True and out["msg"] == ""
    assert [(r["name"], r["ok"], r["problems"]) for r in out["rows"]] == [("personal", True, []), ("ops", True, [])]


def test_a_gateway_that_restarted_itself_after_its_health_check_is_named():
    # ops passed its check as 700; the process now running (813) is another one, healthy or not
    out = settle(gated={"personal": "812", "ops": "700"})
    assert out["ok"] is False
    assert out["msg"] == "ops (restarted itself after its health check (MainPID 700, now 813))"


def test_a_gateway_restarting_at_the_last_check_is_named_with_every_problem():
    units = {PERSONAL["unit"]: unit(PERSONAL), OPS["unit"]: unit(OPS, main_pid="0", active="activating",
                                                                 sub="auto-restart")}
    out = settle(units=units, health=[health_ok(PERSONAL), health_skipped(OPS)], ss=[ss_line("127.0.0.1", 18789, 900)],
                 gated={"ops": "813"})
    assert out["ok"] is False and [r["ok"] for r in out["rows"]] == [True, False]
    assert out["msg"] == ("ops (restarted itself after its health check (MainPID 813, now 0); "
                          "unit is activating (auto-restart))")


def test_untouched_gateways_are_checked_but_not_for_a_new_process():
    # no gated entry: the run did not touch it, a restart by someone else during the run is not its concern
    out = settle(gated={})
    assert out["ok"] is True
    out = settle(gated={}, health=[health_ok(PERSONAL), {"rc": 1, "stdout": "", "stderr": "connect ECONNREFUSED",
                                                         "item": OPS}])
    assert out["msg"] == "ops (gateway health failed)"


def test_a_gateway_listening_beyond_loopback_or_not_on_its_port_is_not_settled():
    out = settle(ss=[ss_line("0.0.0.0", 18789, 900), ss_line("127.0.0.1", 18999, 901)])
    assert out["msg"] == ("personal (listens beyond loopback: 0.0.0.0:18789); "
                          "ops (not listening on its port 18790)")
