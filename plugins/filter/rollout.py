# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters ``homelab.clawdbot.restart_needed``, ``homelab.clawdbot.rollout_plan`` and ``homelab.clawdbot.rollout_stop``.

A gateway watches its config file: openclaw applies most keys itself (hot reload) and restarts itself for the
rest, clawdbot restarts on every change. Writing every profile's config first and rolling units out later would
therefore restart every gateway at once. The profiles role instead takes the running profiles one at a time:
a change the gateway applies itself is written in place and health-checked; any other change is written while
the gateway is stopped, then it is started and health-checked. A marker file left in the state dir before such a
change says "restart pending", so a run that was interrupted or failed restarts what it left behind next time.

A unit between states when the host is read (``activating``: a start under way or a ``Restart=always`` restart in
flight; ``deactivating``; ``reloading``) is planned as running, and any change to it as a restart: a config written in
place while its process is starting may be read by that process or not, and a process that reads it later restarts
itself for keys it cannot apply in place. Stopping it first makes the process that passes the health check the one
that reads the written config.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# The ActiveStates of a unit between two states (systemd's UNIT_ACTIVATING, UNIT_DEACTIVATING, UNIT_RELOADING).
TRANSITIONAL = ("activating", "deactivating", "reloading")


def _under(path, prefixes):
    return any(path == p or path.startswith(p + ".") for p in prefixes)


def restart_needed(paths, flavour):
    """True when a config change of ``paths`` (dotted) needs a restart of a running gateway of ``flavour``."""
    hot = flavour.get("hot_reload_keys") or []
    return any(not _under(p, hot) for p in paths or [])


def rollout_plan(profiles, flavour, configs, units, unit_drift=None, tokens=None, markers=None, old_versions=None,
                 version=None):
    """What the profiles role does per profile.

    ``configs``: the results of the check-mode gateway_config loop (``item.name``, ``changed``, ``changed_paths``);
    ``units``: host_state_info's ``user_units``; ``unit_drift``: names whose unit file differs; ``tokens``: names
    whose secret file was rewritten; ``markers``: host_state_info ``paths`` of ``<state_dir>/<marker>`` files;
    ``old_versions``: {name: the version its current unit runs, empty when unknown}; ``version``: the one it will run.

    ``snapshot`` is true for a running gateway that is restarted onto another version of a product whose SQLite
    stores a new version migrates (flavour ``state_db_dir``): the rollout copies that directory while the gateway is
    stopped and puts it back when it rolls back, because the old version cannot open a migrated store.

    Returns ``{"profiles": {name: {...}}, "rollout": [...], "start": [...], "changed": [...]}``: ``rollout`` are
    the running gateways that change (one at a time, in plan order), ``start`` the ones that are not running or
    not enabled (written and started together). A profile's ``transitional`` is the ActiveState of a unit between
    states (planned as running; a change to it is a restart), ``pid`` its MainPID when the host was read.
    """
    by_name = {}
    for r in configs or []:
        name = (r.get("item") or {}).get("name")
        if name:
            by_name[name] = r
    unit_drift = set(unit_drift or [])
    tokens = set(tokens or [])
    markers = markers or {}
    out = {"profiles": {}, "rollout": [], "start": [], "changed": []}
    for p in profiles:
        name = p["name"]
        r = by_name.get(name, {})
        state = (units or {}).get(p["unit"]) or {}
        transitional = state.get("ActiveState") if state.get("ActiveState") in TRANSITIONAL else None
        running = state.get("ActiveState") == "active" or bool(transitional)
        enabled = state.get("UnitFileState") == "enabled"
        pending = bool((markers.get(p.get("marker", "")) or {}).get("exists"))
        config = bool(r.get("changed"))
        paths = r.get("changed_paths") or []
        unit = name in unit_drift
        token = name in tokens
        restart = unit or token or pending or (config and (bool(transitional) or restart_needed(paths, flavour)))
        old = (old_versions or {}).get(name) or ""
        snapshot = bool(flavour.get("state_db_dir")) and running and restart and bool(version) and old not in ("", version)
        info = dict(config=config, config_paths=paths, unit=unit, token=token, pending=pending, running=running,
                    enabled=enabled, restart=restart, hot=config and not restart, snapshot=snapshot,
                    old_version=old or None, transitional=transitional, pid=state.get("MainPID") or None)
        out["profiles"][name] = info
        if config or unit or token or pending:
            out["changed"].append(name)
        if running and (config or restart):
            out["rollout"].append(name)
        elif not running or not enabled:
            out["start"].append(name)
    return out


def systemctl_show(text):
    """``systemctl show`` output of several units (blocks separated by blank lines) as {Id: {property: value}}."""
    out = {}
    for block in (text or "").split("\n\n"):
        props = {}
        for line in block.splitlines():
            if "=" in line:
                key, _sep, value = line.partition("=")
                props[key] = value
        if props.get("Id"):
            out[props["Id"]] = props
    return out


def unit_cli(props, fallback):
    """The command that runs the product version a unit runs: node and the script from the ExecStart of its
    ``systemctl show`` properties (``{ path=... ; argv[]=node script gateway ... ; ... }``), else ``[fallback]``.

    Day-2 commands that open a profile's state must use the version that owns it: a newer CLI migrates the SQLite
    stores under a gateway that still runs the old version, which then cannot open them."""
    exec_start = (props or {}).get("ExecStart") or ""
    m = re.search(r"argv\[\]=([^;]*)", exec_start)
    argv = m.group(1).split() if m else []
    for i, arg in enumerate(argv[1:], start=1):
        if arg.endswith((".js", ".mjs", ".cjs")):
            return argv[:i + 1]
    return [fallback]


def unit_drift(profiles, texts, unit_dir, state, owner, mode):
    """Names of the profiles whose unit file (read by host_state_info) differs from ``texts`` in content, owner or mode."""
    out = []
    for p in profiles:
        path = "%s/%s" % (unit_dir.rstrip("/"), p["unit"])
        st = (state.get("paths") or {}).get(path) or {}
        if (state.get("read") or {}).get(path) != texts.get(p["name"]) or st.get("mode") != mode or st.get("owner") != owner:
            out.append(p["name"])
    return out


def rollout_stop(all_hosts, active_hosts, batch, host, task=None, error=None):
    """Where a host-by-host rollout stands when ``host`` fails (the rescue of site.yml's provision play and of
    migrate-openclaw.yml's move play).

    ``all_hosts``: ``ansible_play_hosts_all`` (the play's hosts in the order the batches take them);
    ``active_hosts``: ``ansible_play_hosts`` (those that have not failed); ``batch``: ``ansible_play_batch`` (the
    current batch's hosts that have not failed). The hosts before the current batch were done (or failed before),
    the ones after its last host were not touched by this play.

    Returns ``{"done", "failed_before", "same_batch", "untouched", "msg"}``.
    """
    order = list(all_hosts or [])
    active = set(active_hosts or [])
    current = set(batch or []) | {host}
    positions = [order.index(h) for h in current if h in order]
    first, last = (min(positions), max(positions)) if positions else (len(order), len(order))
    before = order[:first]
    out = {
        "done": [h for h in before if h in active],
        "failed_before": [h for h in before if h not in active],
        "same_batch": [h for h in order[first:last + 1] if h != host and h in current],
        "untouched": order[last + 1:],
    }
    what = "%s failed on %s" % ("%r" % task if task else "a task", host)
    msg = [what + (": %s" % " ".join(str(error).split()) if error else "") + "."]
    if len(order) > 1 and not before and not out["untouched"]:
        msg.append("The other hosts ran at the same time: %s." % ", ".join(out["same_batch"]))
    elif len(order) > 1:
        msg.append("The rollout stopped at %s." % host)
        for key, label in (("done", "Done before it"), ("failed_before", "Failed before it"),
                           ("same_batch", "In the same batch (their run went on)"),
                           ("untouched", "Not touched")):
            if out[key]:
                msg.append("%s: %s." % (label, ", ".join(out[key])))
        if not out["untouched"]:
            msg.append("No host was left untouched.")
        msg.append("Fix the cause and run the playbook again: the hosts already done are a no-op.")
    out["msg"] = " ".join(msg)
    return out


class FilterModule(object):
    def filters(self):
        return {"restart_needed": restart_needed, "rollout_plan": rollout_plan, "unit_drift": unit_drift,
                "systemctl_show": systemctl_show, "unit_cli": unit_cli, "rollout_stop": rollout_stop}
