# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters ``homelab.clawdbot.health_report`` and ``homelab.clawdbot.spark_health_row`` (playbooks/health.yml).

``health_report`` turns what health.yml collected on the gateway host (the units' ``systemctl --user show``, one
``gateway health --json`` result per profile, ``ss -Hltnp``, ``ps -e -o pid=,ppid=``, ``tailscale status --json``
and ``tailscale serve status --json``; on openclaw also ``gateway status --json --require-rpc``, ``GET /healthz`` and
``GET /readyz``) into one row per profile: ``{name, ok, problems, unit, health, ready, live, rpc, listeners,
serve}``. ``spark_health_row`` does the same for the ``openai_models_info`` result: ``{ok, text}``.

The sockets of a gateway belong to a child of the unit's MainPID (the gateway process), not to MainPID itself, so
the listeners of a profile are those of MainPID and its descendants (4 levels), plus the listeners on a port the
profile plans to listen on for which ``ss`` shows no process (it may not be allowed to).

Every text is what the Jinja program that health.yml used before produced (molecule asserts on them), including
Jinja's ``truncate`` (leeway 5, cut at the last space) and ``~`` (``str()`` of any value).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from collections.abc import Mapping

from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.homelab.clawdbot.plugins.module_utils.clawdbot_cli import parse_json_output

# How deep below MainPID the process tree is walked for the gateway's sockets.
TREE_LEVELS = 4
# Listening addresses (the part of ss's "Local Address:Port" before the last colon) that are loopback.
LOOPBACK_RE = re.compile(r"^(127[.]|\[::1\]$|\[::ffff:127[.])")
PID_RE = re.compile(r"pid=([0-9]+)")
SPACES_RE = re.compile(r"\s+")
HEALTH_TEXT_MAX = 160
TAILSCALE_TEXT_MAX = 120
SPARK_TEXT_MAX = 200

_MISSING = object()


def _get(obj, key, default=None):
    """``obj.key | default(default)`` in Jinja: the value when ``obj`` is a mapping holding ``key`` (even None)."""
    if isinstance(obj, Mapping) and key in obj:
        return obj[key]
    return default


def _s(value):
    """Jinja's ``~``: any value as text (None gives 'None', as in the template)."""
    return value if isinstance(value, str) else str(value)


def _int(text):
    """Jinja's ``int`` filter: the number, else the float's integer part, else 0."""
    try:
        return int(text)
    except ValueError:
        try:
            return int(float(text))
        except ValueError:
            return 0


def _flag(value):
    """A boolean given as a bool or as text ('false', 'no', '0' are false)."""
    if isinstance(value, str):
        return boolean(value, strict=False)
    return bool(value)


def truncate(text, length, end="...", leeway=5):
    """Jinja's ``truncate(length)``: unchanged up to ``length + leeway`` characters, else cut at the last space
    before ``length - len(end)`` and ``end`` appended."""
    text = _s(text)
    if len(text) <= length + leeway:
        return text
    return text[:length - len(end)].rsplit(" ", 1)[0] + end


def one_line(text):
    """Runs of whitespace (newlines too) as one space."""
    return SPACES_RE.sub(" ", _s(text))


def cli_json(stdout):
    """``homelab.clawdbot.cli_json``: the first JSON value of ``stdout``, {} when there is none."""
    try:
        return parse_json_output(stdout or "")
    except ValueError:
        return {}


def parse_ps(lines):
    """``ps -e -o pid=,ppid=`` lines as ``[{pid, ppid}]`` (strings); lines without exactly two fields are skipped."""
    out = []
    for line in lines or []:
        fields = _s(line).split()
        if len(fields) == 2:
            out.append({"pid": fields[0], "ppid": fields[1]})
    return out


def parse_listeners(lines):
    """``ss -Hltnp`` lines as ``[{addr, port, pids}]``.

    ``addr`` is the local address without its port (``127.0.0.1``, ``[::1]``, ``*``), ``port`` an int (0 when it
    is not a number), ``pids`` the ``pid=`` values of the users column (strings; empty when ss may not show the
    process). Lines with fewer than 4 fields are skipped. The same socket listed twice (``ss`` run as each gateway
    user, which sees only its own processes) is one listener with the pids of both lines.
    """
    out = []
    seen = {}
    for line in lines or []:
        line = _s(line)
        fields = line.split()
        if len(fields) < 4:
            continue
        addr, _sep, port = fields[3].rpartition(":")
        if not _sep:
            addr, port = fields[3], ""
        port = _int(port)
        pids = PID_RE.findall(line)
        if (addr, port) in seen:
            known = seen[(addr, port)]["pids"]
            known.extend(x for x in pids if x not in known)
            continue
        seen[(addr, port)] = {"addr": addr, "port": port, "pids": pids}
        out.append(seen[(addr, port)])
    return out


def process_tree(main_pid, procs, levels=TREE_LEVELS):
    """``main_pid`` (a string; '0' or empty: none) and its descendants down to ``levels`` below it, in the order
    found. ``procs`` is what :func:`parse_ps` returns."""
    main_pid = "" if main_pid is None else _s(main_pid)
    if main_pid in ("", "0"):
        return []
    pids = [main_pid]
    for _level in range(levels):
        parents = list(pids)
        for proc in procs:
            if proc["ppid"] in parents and proc["pid"] not in pids:
                pids.append(proc["pid"])
    return pids


def is_loopback(addr):
    """Whether a listening address (without port) is loopback: 127.x, [::1] or [::ffff:127.x]."""
    return bool(LOOPBACK_RE.match(_s(addr)))


def _join(listeners):
    return ", ".join("%s:%s" % (_s(x["addr"]), _s(x["port"])) for x in listeners)


def _unit_problems(profile, unit, units_error):
    if units_error:
        return ["systemctl --user failed: " + _s(units_error)]
    if _get(unit, "LoadState", "") != "loaded":
        return ["unit %s is not installed (%s)" % (_s(profile["unit"]), _s(_get(unit, "LoadState", "?")))]
    problems = []
    active = _get(unit, "ActiveState", "unknown")
    if active != "active":
        problems.append("unit is %s (%s)" % (_s(active), _s(_get(unit, "SubState", "?"))))
    if _get(unit, "UnitFileState", "") != "enabled":
        problems.append("unit is " + _s(_get(unit, "UnitFileState", "") or "not enabled"))
    return problems


def _health(result):
    """(text, failed) of the profile's ``gateway health --json`` result."""
    if _get(result, "skipped", False):
        return "not asked (gateway not running)", False
    answer = cli_json(_get(result, "stdout", ""))
    if _get(result, "rc", 1) == 0 and _get(answer, "ok", False):
        return "ok", False
    text = (_s(_get(result, "stderr", "")) + " " + _s(_get(result, "msg", ""))).strip()
    return "FAILED: " + truncate(one_line(text), HEALTH_TEXT_MAX), True


def _http_answer(result):
    """``(status, body)`` of a registered ``uri`` result: the HTTP status (-1 without one) and the JSON body (from
    ``json``, else parsed from ``content``; {} when there is none)."""
    body = _get(result, "json", None)
    if not isinstance(body, Mapping):
        body = cli_json(_get(result, "content", "")) or {}
    return _get(result, "status", -1), body


def _no_answer(result):
    """The request's message on one line (at most 160 characters), or "no answer"."""
    return truncate(one_line(_s(_get(result, "msg", "")) or "no answer"), HEALTH_TEXT_MAX)


def _result_of(results, name):
    """The registered loop result whose ``item.name`` is ``name`` ({} when there is none)."""
    return next((r for r in results or [] if _get(_get(r, "item", {}), "name") == name), {})


def _ready(result):
    """(text, failed) of the profile's ``GET /readyz`` (a registered ``uri`` result; openclaw only).

    openclaw answers 200 ``{"ready": true, ...}`` once startup is complete and every channel passes, and 503
    ``{"ready": false, "failing": [...]}`` otherwise (contract 6)."""
    if not result or _get(result, "skipped", False):
        return "not asked (gateway not running)" if result else "not checked", False
    status, body = _http_answer(result)
    if status == 200 and _get(body, "ready", False) is True:
        return "ready", False
    failing = [_s(x) for x in _get(body, "failing", []) or []] if isinstance(_get(body, "failing", []), list) else []
    if status in (200, 503) and body:
        return "NOT READY (HTTP %s%s)" % (_s(status), "; failing: " + ", ".join(failing) if failing else ""), True
    return "NO ANSWER (HTTP %s: %s)" % (_s(status), _no_answer(result)), True


def _live(result):
    """(text, failed) of the profile's ``GET /healthz`` (a registered ``uri`` result; openclaw only): 200
    ``{"ok": true, "status": "live"}`` while the process serves HTTP, whatever its channels do (contract 6)."""
    if not result or _get(result, "skipped", False):
        return "not asked (gateway not running)" if result else "not checked", False
    status, body = _http_answer(result)
    if status == 200 and _get(body, "ok", False) is True:
        return "live", False
    return "NOT LIVE (HTTP %s: %s)" % (_s(status), _no_answer(result)), True


def _issue_text(issue):
    if isinstance(issue, Mapping):
        return _s(_get(issue, "message", _get(issue, "code", issue)))
    return _s(issue)


def _status(result):
    """(text, failed) of the profile's ``gateway status --json --require-rpc`` (openclaw only, contract 6): it exits 1
    when the RPC to the gateway fails; its JSON names the service's runtime (``service.runtime``), the RPC (``rpc``)
    and the audit of the service definition (``service.configAudit``). Failed: a non-zero exit, ``rpc.ok`` not true,
    or an audit that is not ok (the unit no longer matches what the CLI expects of it)."""
    if not result:
        return "not checked", False
    if _get(result, "skipped", False):
        return "not asked (gateway not running)", False
    answer = cli_json(_get(result, "stdout", ""))
    answer = answer if isinstance(answer, Mapping) else {}
    rpc = _get(answer, "rpc", {})
    rpc = rpc if isinstance(rpc, Mapping) else {}
    service = _get(answer, "service", {})
    service = service if isinstance(service, Mapping) else {}
    runtime = _get(service, "runtime", {})
    runtime = runtime if isinstance(runtime, Mapping) else {}
    audit = _get(service, "configAudit", {})
    audit = audit if isinstance(audit, Mapping) else {}
    facts = []
    if _get(runtime, "status"):
        facts.append("service %s%s" % (_s(_get(runtime, "status")),
                                       ", pid " + _s(_get(runtime, "pid")) if _get(runtime, "pid") else ""))
    if _get(rpc, "capability"):
        facts.append("rpc " + _s(_get(rpc, "capability")))
    issues = _get(audit, "issues", []) or []
    issues = issues if isinstance(issues, list) else [issues]
    if _get(result, "rc", 1) == 0 and _get(rpc, "ok", False) is True:
        if _get(audit, "ok", True) is False:
            return "FAILED: config audit: " + truncate(one_line("; ".join(_issue_text(i) for i in issues) or "not ok"),
                                                       HEALTH_TEXT_MAX), True
        return "ok" + (" (%s)" % ", ".join(facts) if facts else ""), False
    error = _get(rpc, "error", "")
    if isinstance(error, Mapping):
        error = _get(error, "message", error)
    # the RPC error's first line says what failed; the rest are hints (how to start a gateway, the target, the config)
    text = (_s(error or "").strip().splitlines() or [""])[0].strip() or \
        (_s(_get(result, "stderr", "")) + " " + _s(_get(result, "msg", ""))).strip()
    return "FAILED: " + truncate(one_line(text or "rpc not ok"), HEALTH_TEXT_MAX), True


def _serve(name, serve_map, tailscale, status_result, serve_result):
    """(text, problem or None) of the profile's Tailscale Serve handler."""
    mapping = [m for m in serve_map or [] if _get(m, "name") == name]
    if not _flag(tailscale):
        return "skipped (clawdbot_tailscale_serve: false)", None
    if not mapping:
        return "not served (serve: false)", None
    status = cli_json(_get(status_result, "stdout", ""))
    backend = _get(status, "BackendState", "")
    if _get(status_result, "rc", 1) != 0 or backend != "Running":
        reason = backend or truncate(_s(_get(status_result, "stderr", _get(status_result, "msg", "not reachable"))).strip(),
                                     TAILSCALE_TEXT_MAX)
        return "DOWN: tailscale " + _s(reason), "tailscale is not running"
    m = mapping[0]
    host = re.sub(r"[.]$", "", _s(_get(_get(status, "Self", {}), "DNSName", "")))
    serve = cli_json(_get(serve_result, "stdout", ""))
    proxy = ""
    if _get(_get(_get(serve, "TCP", {}), _s(m["port"]), {}), "HTTPS", False):
        handlers = _get(_get(_get(serve, "Web", {}), "%s:%s" % (host, _s(m["port"])), {}), "Handlers", {})
        proxy = _get(_get(handlers, m["path"], {}), "Proxy", "")
    want = "http://127.0.0.1:" + _s(m["target"])
    url = "https://" + host + ("" if m["port"] == 443 else ":" + _s(m["port"])) + _s(m["path"])
    if proxy == want:
        return url + " -> " + _s(proxy), None
    return ("WRONG: %s -> %s (want %s)" % (url, _s(proxy or "nothing"), want),
            "tailscale serve %s%s does not proxy to %s" % (_s(m["port"]), _s(m["path"]), want))


def health_report(profiles, units=None, units_error="", health_results=None, ss_lines=None, ps_lines=None,
                  tailscale=True, tailscale_status=None, tailscale_serve=None, serve_map=None, ready_results=None,
                  live_results=None, status_results=None):
    """One row per profile: ``{name, ok, problems, unit, health, ready, live, rpc, listeners, serve}``.

    ``profiles``: the planned profiles (``name``, ``unit``, ``port``, ``bind``, ``listen_ports``); ``units``:
    ``systemctl_show`` of their units; ``units_error``: why ``systemctl --user show`` failed ('' when it did not);
    ``health_results``: the registered results of the ``gateway health --json`` loop (``item.name``; skipped when
    the unit was not active); ``ss_lines``/``ps_lines``: ``stdout_lines`` of ``ss -Hltnp`` and
    ``ps -e -o pid=,ppid=``; ``tailscale``: whether Serve is checked at all; ``tailscale_status``/``tailscale_serve``:
    the registered results of ``tailscale status --json`` and ``tailscale serve status --json``; ``serve_map``: what
    ``serve_mappings`` returns for the profiles; ``ready_results``: the registered results of the ``GET /readyz``
    loop (``item.name``; None when the product has no readiness endpoint); ``live_results``: the same for
    ``GET /healthz``; ``status_results``: the registered results of the ``gateway status --json --require-rpc`` loop
    (``item.name``; None when the product has no such check).
    """
    units = units if isinstance(units, Mapping) else {}
    procs = parse_ps(ps_lines)
    listeners = parse_listeners(ss_lines)
    rows = []
    for p in profiles or []:
        u = _get(units, p["unit"], {})
        if not isinstance(u, Mapping):
            u = {}
        active = _get(u, "ActiveState", "unknown")
        problems = _unit_problems(p, u, units_error)

        result = _result_of(health_results, p["name"])
        health, failed = _health(result)
        if failed:
            problems.append("gateway health failed")

        ready, not_ready = "not checked", False
        if ready_results is not None:
            result = _result_of(ready_results, p["name"])
            ready, not_ready = _ready(result)
            if not_ready:
                problems.append("not ready (/readyz)")

        live = rpc = "not checked"
        if live_results is not None:
            result = _result_of(live_results, p["name"])
            live, not_live = _live(result)
            if not_live:
                problems.append("not live (/healthz)")
        if status_results is not None:
            result = _result_of(status_results, p["name"])
            rpc, rpc_failed = _status(result)
            if rpc_failed:
                problems.append("gateway status --require-rpc failed")
        family = process_tree(_get(u, "MainPID", "0"), procs)
        listen_ports = p.get("listen_ports") or []
        mine = [x for x in listeners
                if any(pid in family for pid in x["pids"]) or (not x["pids"] and x["port"] in listen_ports)]
        exposed = [x for x in mine if not is_loopback(x["addr"])]
        if active == "active":
            if p["port"] not in [x["port"] for x in mine]:
                problems.append("not listening on its port " + _s(p["port"]))
            if p.get("bind") == "loopback" and exposed:
                problems.append("listens beyond loopback: " + _join(exposed))

        serve, problem = _serve(p["name"], serve_map, tailscale, tailscale_status, tailscale_serve)
        if problem:
            problems.append(problem)

        rows.append({
            "name": p["name"],
            "ok": len(problems) == 0,
            "problems": problems,
            "unit": "%s: %s (%s), %s, MainPID %s, restarts %s" % (
                _s(p["unit"]), _s(active), _s(_get(u, "SubState", "?")), _s(_get(u, "UnitFileState", "?")),
                _s(_get(u, "MainPID", "?")), _s(_get(u, "NRestarts", "?"))),
            "health": health,
            "ready": ready,
            "live": live,
            "rpc": rpc,
            "listeners": (_join(sorted(mine, key=lambda x: x["port"])) or "none")
            + (" (loopback only)" if mine and not exposed else ""),
            "serve": serve,
        })
    return rows


def spark_health_row(info, enabled=True, models=None):
    """``{ok, text}`` of the ``openai_models_info`` result ``info``; ``enabled`` false: Spark is not configured;
    ``models``: the model ids the gateways are configured with (each must be listed)."""
    if not _flag(enabled):
        return {"ok": True, "text": "not configured (spark_provider_base_url is empty)"}
    listed = _get(info, "models", _MISSING)
    if _get(info, "failed", False) or not isinstance(listed, list):
        return {"ok": False, "text": "DOWN: " + truncate(one_line(_get(info, "msg", "no answer")), SPARK_TEXT_MAX)}
    wanted = list(models or [])
    # In the configured order (the template's ``difference`` gave a set's order, which varies from run to run).
    missing = []
    for model in wanted:
        if model not in listed and model not in missing:
            missing.append(model)
    health = _get(info, "health", {})
    healthy = _get(health, "ok", True) is not False
    text = "%s answers; /health %s; models: %s; configured: %s%s" % (
        _s(_get(info, "base_url", "")), _s(_get(health, "status", "not checked")), ", ".join(_s(x) for x in listed),
        ", ".join(_s(x) for x in wanted) or "all listed",
        " (NOT LISTED: %s)" % ", ".join(_s(x) for x in missing) if missing else " (listed)")
    return {"ok": healthy and not missing, "text": text}


def settle_report(profiles, units=None, units_error="", health_results=None, ss_lines=None, ps_lines=None, gated=None):
    """Whether every gateway of a run ended settled: the profiles role's last check, after its last change.

    The first five arguments are those of ``health_report`` (the unit active and enabled, ``gateway health`` ok, the
    gateway listening on its port, only on loopback when the profile binds loopback); Serve, liveness and readiness
    are not asked. ``gated``: {name: MainPID} of the gateways the run (re)started or wrote a config to, read right
    after each one passed its health check. A gateway whose MainPID is another one now restarted itself after that
    check (openclaw restarts itself for a config change it does not apply in place): the process that passed the
    check is not the one that runs.

    Returns ``{"ok", "rows": [{name, ok, problems}], "msg"}``; ``msg`` names each profile that did not settle and why.
    """
    gated = gated if isinstance(gated, Mapping) else {}
    units = units if isinstance(units, Mapping) else {}
    rows = []
    for row, p in zip(health_report(profiles, units=units, units_error=units_error, health_results=health_results,
                                    ss_lines=ss_lines, ps_lines=ps_lines, tailscale=False), profiles or []):
        problems = list(row["problems"])
        before = _s(gated.get(p["name"], ""))
        now = _s(_get(_get(units, p["unit"], {}) or {}, "MainPID", "0"))
        if before not in ("", "0") and now != before:
            problems.insert(0, "restarted itself after its health check (MainPID %s, now %s)" % (before, now))
        rows.append({"name": p["name"], "ok": not problems, "problems": problems, "unit": row["unit"],
                     "health": row["health"], "listeners": row["listeners"]})
    bad = [r for r in rows if not r["ok"]]
    msg = "; ".join("%s (%s)" % (r["name"], "; ".join(r["problems"])) for r in bad)
    return {"ok": not bad, "rows": rows, "msg": msg}


class FilterModule(object):
    def filters(self):
        return {"health_report": health_report, "spark_health_row": spark_health_row, "settle_report": settle_report}
