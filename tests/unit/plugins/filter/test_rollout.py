# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.homelab.clawdbot.plugins.filter.rollout import restart_needed, rollout_plan, rollout_stop, unit_drift
from ansible_collections.homelab.clawdbot.plugins.module_utils.flavours import get_flavour

OC = get_flavour("openclaw")
CB = get_flavour("clawdbot")
PROFILES = [{"name": "personal", "unit": "openclaw-gateway-personal.service", "marker": "/h/.openclaw-personal/m"},
            {"name": "ops", "unit": "openclaw-gateway-ops.service", "marker": "/h/.openclaw-ops/m"}]
RUNNING = {"openclaw-gateway-personal.service": {"ActiveState": "active", "UnitFileState": "enabled"},
           "openclaw-gateway-ops.service": {"ActiveState": "active", "UnitFileState": "enabled"}}


def cfg(name, changed, paths=()):
    return {"item": {"name": name}, "changed": changed, "changed_paths": list(paths)}


def test_hot_keys_need_no_restart_on_openclaw_but_do_on_clawdbot():
    assert restart_needed(["gateway.nodes.pairing.autoApproveLocal", "gateway.auth.token"], OC) is False
    assert restart_needed(["gateway.port"], OC) is True
    assert restart_needed(["gateway.authx"], OC) is True  # a prefix match is by whole segments
    assert restart_needed(["gateway.nodes.pairing.autoApproveLocal"], CB) is True
    assert restart_needed([], OC) is False


def test_no_change_is_no_rollout():
    plan = rollout_plan(PROFILES, OC, [cfg("personal", False), cfg("ops", False)], RUNNING)
    assert plan["rollout"] == [] and plan["start"] == [] and plan["changed"] == []


def test_hot_change_is_rolled_out_without_restart_and_a_port_change_with_one():
    plan = rollout_plan(PROFILES, OC, [cfg("personal", True, ["gateway.nodes.pairing.autoApproveLocal"]),
                                       cfg("ops", True, ["gateway.port"])], RUNNING, unit_drift=["ops"])
    assert plan["rollout"] == ["personal", "ops"]
    assert plan["profiles"]["personal"]["hot"] is True and plan["profiles"]["personal"]["restart"] is False
    assert plan["profiles"]["ops"]["restart"] is True and plan["profiles"]["ops"]["unit"] is True


def test_a_pending_marker_or_a_new_token_restarts_a_running_gateway():
    markers = {"/h/.openclaw-ops/m": {"exists": True}, "/h/.openclaw-personal/m": {"exists": False}}
    plan = rollout_plan(PROFILES, OC, [cfg("personal", False), cfg("ops", False)], RUNNING, tokens=["personal"],
                        markers=markers)
    assert plan["rollout"] == ["personal", "ops"]
    assert plan["profiles"]["ops"]["pending"] is True and plan["profiles"]["ops"]["restart"] is True
    assert plan["changed"] == ["personal", "ops"]


def test_stopped_or_disabled_gateways_are_started_not_rolled_out():
    units = {"openclaw-gateway-personal.service": {"ActiveState": "inactive", "UnitFileState": "enabled"},
             "openclaw-gateway-ops.service": {"ActiveState": "active", "UnitFileState": "disabled"}}
    plan = rollout_plan(PROFILES, OC, [cfg("personal", True, ["<root>"]), cfg("ops", False)], units)
    assert plan["rollout"] == [] and plan["start"] == ["personal", "ops"]
    # no user manager read at all: everything is "not running" (the role refuses that case before)
    assert rollout_plan(PROFILES, OC, [], {})["start"] == ["personal", "ops"]


def test_a_unit_between_states_is_planned_as_running_and_any_change_restarts_it():
    # issue V: ops restarting (Restart=always, or a start under way) when the host is read, personal stopping; a hot
    # key written in place would reach a process that reads it or not, and restarts itself later for the rest
    units = {"openclaw-gateway-personal.service": {"ActiveState": "deactivating", "UnitFileState": "enabled",
                                                   "MainPID": "812"},
             "openclaw-gateway-ops.service": {"ActiveState": "activating", "UnitFileState": "enabled", "MainPID": "0"}}
    plan = rollout_plan(PROFILES, OC, [cfg("personal", True, ["gateway.nodes.pairing.autoApproveLocal"]),
                                       cfg("ops", True, ["gateway.bind"])], units)
    assert plan["rollout"] == ["personal", "ops"] and plan["start"] == []
    for name, state in (("personal", "deactivating"), ("ops", "activating")):
        info = plan["profiles"][name]
        assert info["running"] is True and info["transitional"] == state
        assert info["restart"] is True and info["hot"] is False
    assert plan["profiles"]["personal"]["pid"] == "812"
    # unchanged: nothing to do (the run's last check waits for it and checks it)
    plan = rollout_plan(PROFILES, OC, [cfg("personal", False), cfg("ops", False)], units)
    assert plan["rollout"] == [] and plan["start"] == [] and plan["profiles"]["ops"]["transitional"] == "activating"
    # a reloading unit too; a settled one has no transitional state and keeps its hot path
    units["openclaw-gateway-ops.service"]["ActiveState"] = "reloading"
    plan = rollout_plan(PROFILES, OC, [cfg("ops", True, ["gateway.nodes.pairing.autoApproveLocal"])], units)
    assert plan["profiles"]["ops"]["restart"] is True
    plan = rollout_plan(PROFILES, OC, [cfg("ops", True, ["gateway.nodes.pairing.autoApproveLocal"])], RUNNING)
    assert plan["profiles"]["ops"]["transitional"] is None and plan["profiles"]["ops"]["hot"] is True


def test_unit_drift_by_content_owner_and_mode():
    state = {"paths": {"/u/openclaw-gateway-personal.service": {"mode": "0600", "owner": "user"},
                       "/u/openclaw-gateway-ops.service": {"mode": "0644", "owner": "user"}},
             "read": {"/u/openclaw-gateway-personal.service": "A", "/u/openclaw-gateway-ops.service": "B"}}
    assert unit_drift(PROFILES, {"personal": "A", "ops": "B"}, "/u", state, "user", "0600") == ["ops"]
    assert unit_drift(PROFILES, {"personal": "X", "ops": "B"}, "/u/", state, "user", "0644") == ["personal"]


def test_systemctl_show_blocks_by_id():
    from ansible_collections.homelab.clawdbot.plugins.filter.rollout import systemctl_show
    text = ("Id=openclaw-gateway-personal.service\nActiveState=active\nExecStart={ path=/opt/node/bin/node ; argv[]=a=b }\n"
            "\nId=openclaw-gateway-ops.service\nActiveState=failed\n\n")
    units = systemctl_show(text)
    assert units["openclaw-gateway-personal.service"]["ExecStart"] == "{ path=/opt/node/bin/node ; argv[]=a=b }"
    assert units["openclaw-gateway-ops.service"]["ActiveState"] == "failed"
    assert systemctl_show("") == {} and systemctl_show(None) == {}


def test_a_version_change_of_a_running_openclaw_gateway_snapshots_its_state_db():
    configs = [cfg("personal", False), cfg("ops", False)]
    old = {"personal": "2026.9.5", "ops": "2026.9.6"}
    plan = rollout_plan(PROFILES, OC, configs, RUNNING, unit_drift=["personal", "ops"], old_versions=old,
                        version="2026.9.6")
    # personal moves from 2026.9.5; ops only gets a new unit on the same version
    assert plan["profiles"]["personal"]["snapshot"] is True
    assert plan["profiles"]["personal"]["old_version"] == "2026.9.5"
    assert plan["profiles"]["ops"]["snapshot"] is False
    # not without a restart, an unknown old version, a stopped gateway, or on clawdbot (no SQLite stores)
    assert rollout_plan(PROFILES, OC, configs, RUNNING, old_versions=old, version="2026.9.6")["profiles"]["personal"][
        "snapshot"] is False
    assert rollout_plan(PROFILES, OC, configs, RUNNING, unit_drift=["personal"], old_versions={"personal": ""},
                        version="2026.9.6")["profiles"]["personal"]["snapshot"] is False
    assert rollout_plan(PROFILES, OC, configs, {}, unit_drift=["personal"], old_versions=old,
                        version="2026.9.6")["profiles"]["personal"]["snapshot"] is False
    assert rollout_plan(PROFILES, CB, configs, RUNNING, unit_drift=["personal"], old_versions=old,
                        version="2026.9.6")["profiles"]["personal"]["snapshot"] is False


def test_unit_cli_runs_the_version_the_unit_runs():
    from ansible_collections.homelab.clawdbot.plugins.filter.rollout import unit_cli
    entry = "/home/user/.openclaw/versions/2026.9.5/node_modules/openclaw/dist/index.js"
    props = {"ExecStart": "{ path=/opt/node/bin/node ; argv[]=/opt/node/bin/node %s gateway --port 18789 ; "
                          "ignore_errors=no ; start_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }" % entry}
    assert unit_cli(props, "/cli") == ["/opt/node/bin/node", entry]
    assert unit_cli({"ExecStart": "{ path=/bin/sleep ; argv[]=/bin/sleep 10 ; }"}, "/cli") == ["/cli"]
    assert unit_cli({}, "/cli") == ["/cli"] and unit_cli(None, "/cli") == ["/cli"]


def test_rollout_stop_names_the_hosts_done_and_the_ones_left_untouched():
    hosts = ["vm102a", "vm102b", "vm102c"]
    out = rollout_stop(hosts, ["vm102a", "vm102b", "vm102c"], ["vm102b"], "vm102b", "Install the CLI", "No matching version\n found")
    assert (out["done"], out["failed_before"], out["same_batch"], out["untouched"]) == (["vm102a"], [], [], ["vm102c"])
    assert out["msg"].startswith("'Install the CLI' failed on vm102b: No matching version found. The rollout stopped at vm102b.")
    assert "Done before it: vm102a." in out["msg"] and "Not touched: vm102c." in out["msg"]


def test_rollout_stop_with_larger_batches_and_an_earlier_failure():
    hosts = ["a", "b", "c", "d", "e", "f"]
    # serial 2 with max_fail_percentage 50: b failed in the first batch, d fails now while c (same batch) goes on
    out = rollout_stop(hosts, ["a", "c", "d", "e", "f"], ["c", "d"], "d")
    assert (out["done"], out["failed_before"], out["same_batch"], out["untouched"]) == (["a"], ["b"], ["c"], ["e", "f"])
    assert "Failed before it: b." in out["msg"] and "In the same batch (their run went on): c." in out["msg"]
    assert out["msg"].startswith("a task failed on d.")


def test_rollout_stop_all_at_once_and_one_host_alone():
    out = rollout_stop(["a", "b"], ["a", "b"], ["a", "b"], "b", "t", "boom")
    assert out["untouched"] == [] and out["same_batch"] == ["a"]
    assert out["msg"] == "'t' failed on b: boom. The other hosts ran at the same time: a."
    alone = rollout_stop(["a"], ["a"], ["a"], "a", "t", "boom")
    assert alone["msg"] == "'t' failed on a: boom."
    # the last host of the play: nothing after it
    last = rollout_stop(["a", "b"], ["a", "b"], ["b"], "b")
    assert last["untouched"] == [] and "Done before it: a. No host was left untouched." in last["msg"]
