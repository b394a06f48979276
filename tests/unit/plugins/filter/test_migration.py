# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.clawdbot.plugins.filter.migration import (
    doctor_changes, migration_plan, migration_space_errors)

HOME = "/home/user"
UNITS = HOME + "/.config/systemd/user/"
PROFILES = [{"name": "personal", "port": 18789}, {"name": "ops", "port": 18790}]


def state(*present, running=(), dirs=()):
    """A host_state_info result: ``present`` paths exist (directories when named in ``dirs`` or ending in a state
    root or workspace name), ``running`` clawdbot units are active."""
    paths = {}
    for p in present:
        is_dir = p in dirs or not (p.endswith(".json") or p.endswith(".service"))
        paths[p] = {"exists": True, "type": "directory" if is_dir else "file"}
    units = {u: {"ActiveState": "active" if u in running else "inactive"} for u in
             ("clawdbot-gateway-personal.service", "clawdbot-gateway-ops.service")}
    return {"paths": paths, "user_units": units}


def clawdbot_host(*names, running=True):
    out = []
    for n in names:
        out += [HOME + "/.clawdbot-" + n, HOME + "/.clawdbot-%s/clawdbot.json" % n,
                UNITS + "clawdbot-gateway-%s.service" % n, HOME + "/clawd-" + n]
    return out


def by_name(plan):
    return {p["name"]: p for p in plan["profiles"]}


def test_paths_of_both_products_for_the_same_inventory():
    plan = migration_plan(PROFILES, HOME, "user")
    assert plan["errors"] == []
    p = by_name(plan)["personal"]
    assert p["legacy"] == {"state_dir": HOME + "/.clawdbot-personal", "config": HOME + "/.clawdbot-personal/clawdbot.json",
                           "unit": "clawdbot-gateway-personal.service",
                           "unit_path": UNITS + "clawdbot-gateway-personal.service", "workspace": HOME + "/clawd-personal"}
    assert p["target"] == {"state_dir": HOME + "/.openclaw-personal", "config": HOME + "/.openclaw-personal/openclaw.json",
                           "unit": "openclaw-gateway-personal.service",
                           "unit_path": UNITS + "openclaw-gateway-personal.service",
                           "workspace": HOME + "/.openclaw-personal/workspace"}
    # the default workspaces differ: the clawdbot one is copied into the new state root
    assert p["workspace_copy"] is True and p["workspace_in_state"] is True
    assert HOME + "/.clawdbot/identity/device.json" in plan["paths"]
    assert "clawdbot-gateway-ops.service" in plan["units"] and "openclaw-gateway-ops.service" in plan["units"]
    assert "action" not in p


def test_a_workspace_set_in_the_inventory_stays_where_it_is():
    plan = migration_plan([{"name": "personal", "port": 18789, "workspace": HOME + "/clawd-personal"}], HOME, "user")
    p = by_name(plan)["personal"]
    assert p["legacy"]["workspace"] == p["target"]["workspace"] == HOME + "/clawd-personal"
    assert p["workspace_copy"] is False


def test_a_clawdbot_host_is_migrated_profile_by_profile():
    host = state(*clawdbot_host("personal", "ops"), running=["clawdbot-gateway-personal.service"])
    plan = migration_plan(PROFILES, HOME, "user", host)
    assert plan["errors"] == [] and plan["migrate"] == ["personal", "ops"] and plan["finish"] == []
    p = by_name(plan)
    assert p["personal"]["action"] == "migrate" and p["personal"]["incomplete"] is False
    assert p["personal"]["legacy_running"] is True and p["ops"]["legacy_running"] is False


def test_a_target_left_by_an_interrupted_run_is_redone_from_the_untouched_old_state():
    present = clawdbot_host("personal") + [HOME + "/.openclaw-personal", HOME + "/.openclaw-personal/openclaw.json"]
    plan = migration_plan(PROFILES[:1], HOME, "user", state(*present))
    p = by_name(plan)["personal"]
    assert plan["errors"] == [] and p["action"] == "migrate" and p["incomplete"] is True


def test_a_run_that_stopped_after_the_health_gate_is_finished():
    present = [HOME + "/.clawdbot-personal", HOME + "/.openclaw-personal", HOME + "/.openclaw-personal/openclaw.json",
               UNITS + "openclaw-gateway-personal.service"]
    plan = migration_plan(PROFILES[:1], HOME, "user", state(*present))
    assert plan["errors"] == [] and plan["finish"] == ["personal"] and plan["migrate"] == []


def test_migrated_and_new_profiles_need_nothing():
    present = [HOME + "/.openclaw-personal", HOME + "/.openclaw-personal/openclaw.json",
               UNITS + "openclaw-gateway-personal.service"]
    plan = migration_plan(PROFILES, HOME, "user", state(*present))
    p = by_name(plan)
    assert plan["errors"] == [] and plan["migrate"] == [] and plan["finish"] == []
    assert p["personal"]["action"] == "done" and p["ops"]["action"] == "new"


def test_clawdbot_data_without_a_unit_is_carried_over():
    plan = migration_plan(PROFILES[:1], HOME, "user", state(HOME + "/.clawdbot-personal", HOME + "/.clawdbot-personal/clawdbot.json"))
    assert plan["migrate"] == ["personal"]
    # no old workspace: nothing to copy
    assert by_name(plan)["personal"]["workspace_copy"] is False


def test_refusals_name_the_paths():
    # a unit without its state root
    plan = migration_plan(PROFILES[:1], HOME, "user", state(UNITS + "clawdbot-gateway-personal.service"))
    assert len(plan["errors"]) == 1 and HOME + "/.clawdbot-personal" in plan["errors"][0] and plan["migrate"] == []
    # both state roots, no clawdbot unit, no openclaw unit: which one is live is unknown
    both = state(HOME + "/.clawdbot-personal", HOME + "/.openclaw-personal", HOME + "/.openclaw-personal/openclaw.json")
    plan = migration_plan(PROFILES[:1], HOME, "user", both)
    assert "unclear" in plan["errors"][0]
    # a workspace outside the state root whose target exists
    profiles = [{"name": "personal", "port": 18789, "workspace": HOME + "/work/personal"}]
    plan = migration_plan(profiles, HOME, "user", state(*clawdbot_host("personal") + [HOME + "/work/personal"]))
    # the same inventory workspace on both sides: nothing to copy, so no refusal
    assert plan["errors"] == []
    # a profile of another user
    plan = migration_plan([{"name": "personal", "port": 18789, "user": "zone2"}], HOME, "user")
    assert "own user zone2" in plan["errors"][0]
    # bad inventory: the profiles filter's own messages
    plan = migration_plan([{"name": "default", "port": 18789}], HOME, "user")
    assert "clawdbot_profiles[0].name" in plan["errors"][0]
    with pytest.raises(AnsibleFilterError):
        migration_plan(PROFILES, "home/user", "user")


def test_space():
    df = "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/vda 100 50 4000 5% /\n"
    assert migration_space_errors("1024\t/a\n2048\t/b\n---\n" + df) == []
    err = migration_space_errors("10240\t/a\n---\n" + df)
    assert len(err) == 1 and "12 MiB (10 MiB x 1.2)" in err[0] and "3 MiB are free" in err[0]
    assert "clawdbot_migrate_space_margin" in err[0]
    assert migration_space_errors("10240\t/a\n---\n" + df, 0.3) == []
    assert "could not read" in migration_space_errors("")[0]
    assert "could not read" in migration_space_errors("x\t/a\n---\n" + df)[0]


# openclaw 2026.9.6 `doctor --fix --non-interactive` on a profile copied from clawdbot 2026.1.24-3 (this scenario)
DOCTOR = """\
\u25c7  Legacy config keys detected \u2500\u2500\u2500\u2500\u2500\u2500\u256e
\u2502                                          \u2502
\u2502  Removed retired gateway.tailscale.resetOnExit config.              \u2502
\u2502  Removed retired ui.assistant; configure agents.list[].identity     \u2502
\u251c\u2500\u2500\u2500\u2500\u2500\u256f
\u25c7  Legacy state detected \u2500\u2500\u2500\u256e
\u2502  Migrated 1 device-auth token to SQLite.                                \u2502
\u2502  device pairing store migrated to SQLite: imported 4 paired device(s),  \u2502
\u2502  kept 0 existing record(s)                                            \u2502
\u2502  Migrated 2 telegram/default allowFrom entries \u2192 shared SQLite state    \u2502
\u2502  Removed retired device-auth JSON after verified SQLite import.  \u2502
\u2502  Legacy Browser Relay Authentication is enabled                       \u2502
"""


def test_doctor_changes():
    out = doctor_changes(DOCTOR)
    assert out["retired"] == ["gateway.tailscale.resetOnExit", "ui.assistant (configure agents.list[].identity)"]
    assert out["steps"] == [
        "Removed retired gateway.tailscale.resetOnExit config.",
        "Removed retired ui.assistant; configure agents.list[].identity",
        "Migrated 1 device-auth token to SQLite.",
        "device pairing store migrated to SQLite: imported 4 paired device(s),",
        "Migrated 2 telegram/default allowFrom entries \u2192 shared SQLite state",
        "Removed retired device-auth JSON after verified SQLite import."]
    assert doctor_changes("") == {"steps": [], "retired": []}
    assert doctor_changes(None) == {"steps": [], "retired": []}
