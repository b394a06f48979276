# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of playbooks/migrate-openclaw.yml (a clawdbot-era host moved to openclaw, profile by profile).

``homelab.clawdbot.migration_plan``: for each profile of the inventory, where its clawdbot state, config, unit and
workspace are and where openclaw's will be (the same profile list planned for both products by ``profiles_plan``),
and, given what the host holds (``host_state_info``), what the migration does with it: ``migrate``, ``finish`` (an
earlier run got as far as the new gateway), ``done`` or ``new`` (nothing of clawdbot to carry over), with the reasons
to refuse.

``homelab.clawdbot.migration_space_errors``: whether the file system of the gateway user's home can hold the copies.

``homelab.clawdbot.doctor_changes``: what ``openclaw doctor --fix`` says it migrated and which config keys it removed
as retired, from its boxed text output.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath
import re

from ansible.errors import AnsibleFilterError
from ansible_collections.homelab.clawdbot.plugins.filter.profiles import profiles_plan
from ansible_collections.homelab.clawdbot.plugins.module_utils.flavours import get_flavour

SOURCE = "clawdbot"
TARGET = "openclaw"


def _plan_for(flavour_name, profiles, home, user):
    f = get_flavour(flavour_name)
    plan = profiles_plan(profiles, home, dict(
        user=user, state_prefix=f["state_prefix"], config_name=f["config_name"], unit_prefix=f["unit_prefix"],
        env_prefix=f["env_prefix"], workspace=f["workspace"], browser_port_configurable=f["browser_port_configurable"],
        retired_keys=f["retired_keys"]), "clawdbot_profiles")
    return plan


def _inside(path, root):
    return path == root or path.startswith(root.rstrip("/") + "/")


def _exists(state, path):
    return bool(((state or {}).get("paths") or {}).get(path, {}).get("exists"))


def _is_dir(state, path):
    return ((state or {}).get("paths") or {}).get(path, {}).get("type") == "directory"


def migration_plan(profiles, home, user, state=None):
    """The migration of ``profiles`` (the inventory's list) of the gateway user ``user``, whose home is ``home``.

    Without ``state``: {profiles, paths, units, errors}, where ``paths`` and ``units`` are what to read with
    host_state_info (paths, and user_units of the gateway user). With ``state`` (that result), each profile also gets
    ``action`` (migrate, finish, done, new), ``incomplete`` (an earlier run left a target behind: it is moved aside,
    never deleted), ``workspace_copy`` and ``legacy_running``; ``migrate`` and ``finish`` list the names, and
    ``errors`` the reasons to refuse (every one names the path and what to do)."""
    if not isinstance(home, str) or not home.startswith("/"):
        raise AnsibleFilterError("migration_plan: home must be an absolute path, got %r" % (home,))
    home = posixpath.normpath(home)
    old = _plan_for(SOURCE, profiles, home, user)
    new = _plan_for(TARGET, profiles, home, user)
    errors = list(new["errors"])
    unit_dir = home + "/.config/systemd/user"
    out = []
    paths = []
    units = []
    if not errors:
        for o, n in zip(old["profiles"], new["profiles"]):
            if o.get("user") != user:
                errors.append("clawdbot_profiles (%s) runs as its own user %s: migrate-openclaw.yml moves the profiles of "
                              "clawdbot_user only; migrate that user's profiles by hand (docs/operations.md)"
                              % (o["name"], o["user"]))
                continue
            p = dict(name=o["name"], port=n["port"],
                     legacy=dict(state_dir=o["state_dir"], config=o["config_path"], unit=o["unit"],
                                 unit_path=unit_dir + "/" + o["unit"], workspace=o["workspace"]),
                     target=dict(state_dir=n["state_dir"], config=n["config_path"], unit=n["unit"],
                                 unit_path=unit_dir + "/" + n["unit"], workspace=n["workspace"]))
            p["workspace_copy"] = p["legacy"]["workspace"] != p["target"]["workspace"]
            # a workspace inside the old state root comes along with the state copy
            p["workspace_in_state"] = _inside(p["target"]["workspace"], p["target"]["state_dir"])
            out.append(p)
            for side in ("legacy", "target"):
                paths.extend([p[side]["state_dir"], p[side]["config"], p[side]["unit_path"], p[side]["workspace"]])
            units.extend([p["legacy"]["unit"], p["target"]["unit"]])
    # the clawdbot-era device identity (per HOME in clawdbot 2026.1.24-3), carried over on request
    identity = home + "/" + get_flavour(SOURCE)["state_prefix"] + "/identity/device.json"
    result = dict(profiles=out, paths=list(dict.fromkeys(paths + [identity])), units=list(dict.fromkeys(units)),
                  identity=identity, errors=errors, migrate=[], finish=[])
    if state is None or errors:
        return result

    user_units = (state or {}).get("user_units") or {}
    for p in out:
        lg = p["legacy"]
        tg = p["target"]
        legacy_unit = _exists(state, lg["unit_path"])
        legacy_state = _is_dir(state, lg["state_dir"])
        target_config = _exists(state, tg["config"])
        target_unit = _exists(state, tg["unit_path"])
        p["legacy_running"] = (user_units.get(lg["unit"]) or {}).get("ActiveState") in ("active", "activating", "reloading")
        p["incomplete"] = False
        if legacy_unit:
            # the clawdbot gateway is still installed: (re)do the migration from its untouched state
            if not legacy_state:
                errors.append("%s: %s exists but its state root %s does not; restore the profile (restore.yml) or "
                              "remove the unit before migrating" % (p["name"], lg["unit_path"], lg["state_dir"]))
                continue
            p["action"] = "migrate"
            p["incomplete"] = _exists(state, tg["state_dir"])
        elif legacy_state and target_config and target_unit:
            # an earlier run removed the clawdbot unit after the health gate and stopped before the state was renamed
            p["action"] = "finish"
        elif legacy_state and not target_config:
            # clawdbot data without a unit (a gateway removed by hand): carried over, nothing to stop
            p["action"] = "migrate"
            p["incomplete"] = _exists(state, tg["state_dir"])
        elif legacy_state:
            errors.append("%s: both %s (clawdbot) and %s (openclaw) exist and no clawdbot unit does, so it is unclear "
                          "which one holds the profile; move the one that is not in use aside and run again"
                          % (p["name"], lg["state_dir"], tg["state_dir"]))
            continue
        else:
            p["action"] = "done" if target_config else "new"
        if p["action"] == "migrate" and p["workspace_copy"] and not p["workspace_in_state"] \
                and _exists(state, tg["workspace"]):
            errors.append("%s: the workspace %s would be copied to %s, which exists; set the profile's workspace to %s "
                          "to keep it where it is, or move %s aside"
                          % (p["name"], lg["workspace"], tg["workspace"], lg["workspace"], tg["workspace"]))
            continue
        if p["action"] == "migrate" and p["workspace_copy"] and not _is_dir(state, lg["workspace"]):
            # nothing to copy: openclaw starts an empty workspace
            p["workspace_copy"] = False
        if p["action"] in ("migrate", "finish"):
            result[p["action"]].append(p["name"])
    return result


def migration_space_errors(stdout, margin=1.2, var="clawdbot_migrate_space_margin"):
    """[] when the free space of the file system holds ``margin`` times the size of the copies, else one message.

    ``stdout`` is what ``du -sk <copies>; echo ---; df -Pk <home>`` printed: the sizes in KiB, a line ``---``, and df's
    table, whose last line has the free KiB in its fourth column. Unparsable input is an error too."""
    try:
        parts = ("\n" + (stdout or "")).split("\n---\n", 1)
        du = parts[0]
        df = parts[1]
        need = sum(int(line.split()[0]) for line in du.splitlines() if line.strip())
        free = int(df.strip().splitlines()[-1].split()[3])
        margin = float(margin)
    except (ValueError, IndexError, TypeError):
        return ["could not read the space needed (du -sk) or free (df -Pk) from %r" % (stdout,)]
    if need * margin > free:
        return ["the copies need %d MiB (%d MiB x %.1f) but only %d MiB are free where the state roots live; free space "
                "or lower %s" % (int(need * margin / 1024), need // 1024, margin, free // 1024, var)]
    return []


_BOX = "\u2502\u256e\u256f\u256d\u2570\u2500\u25c7\u25c6\u251c\u2514\u250c\u2510\u2518"
_STEP_RE = re.compile(r"^(Migrated|Imported|Moved|Converted|device pairing store|Removed retired)\b", re.I)
# "Removed retired gateway.tailscale.resetOnExit config." / "Removed retired ui.assistant; configure agents.list[].identity"
_RETIRED_RE = re.compile(r"^Removed retired ([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_\[\]-]+)+)(?: config)?[.;,]?\s*(.*?)[.\s]*$")


def doctor_changes(stdout):
    """{steps, retired}: the lines of ``openclaw doctor --fix`` output that say what it migrated or removed (box
    drawing stripped), and the dotted config keys it removed as retired, each with upstream's hint when it gives one
    (``ui.assistant (configure agents.list[].identity)``)."""
    steps = []
    retired = []
    for raw in (stdout or "").splitlines():
        line = raw.strip().strip(_BOX).strip()
        if not line or not _STEP_RE.match(line):
            continue
        steps.append(line)
        m = _RETIRED_RE.match(line)
        if m:
            retired.append("%s (%s)" % (m.group(1), m.group(2)) if m.group(2) else m.group(1))
    return {"steps": steps, "retired": retired}


class FilterModule(object):
    def filters(self):
        return {"migration_plan": migration_plan, "migration_space_errors": migration_space_errors,
                "doctor_changes": doctor_changes}
