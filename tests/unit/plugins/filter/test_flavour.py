# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.clawdbot.plugins.filter.flavour import flavour, node_satisfies, node_version_errors
from ansible_collections.homelab.clawdbot.plugins.module_utils import flavours

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))


def test_default_is_openclaw_and_matches_the_role_default():
    assert flavour(None)["name"] == "openclaw"
    assert flavour("")["package"] == "openclaw"
    with open(os.path.join(REPO, "roles", "clawdbot_install", "defaults", "main.yml")) as f:
        defaults = yaml.safe_load(f)
    assert defaults["clawdbot_install_package"] == flavours.DEFAULT_FLAVOUR


def test_both_flavours_and_a_field():
    assert flavour("clawdbot")["config_name"] == "clawdbot.json"
    assert flavour("openclaw", "unit_prefix") == "openclaw-gateway"
    assert flavour("@scope/openclaw")["name"] == "openclaw"
    assert set(flavour("openclaw")) == set(flavour("clawdbot"))


def test_unknown_package_names_the_variable():
    with pytest.raises(AnsibleFilterError, match="clawdbot_install_package='moltbot'"):
        flavour("moltbot")
    with pytest.raises(AnsibleFilterError, match="no field"):
        flavour("openclaw", "nope")


def test_flavour_copies_are_independent():
    flavour("openclaw")["retired_keys"].append("x")
    assert "x" not in flavour("openclaw")["retired_keys"]


@pytest.mark.parametrize("version,ok", [
    ("v24.22.3", True), ("24.16.0", True), ("24.15.9", False), ("25.0.0", False), ("26.1.0", True),
    ("26.0.5", False), ("22.23.3", False), ("v27.0.0", True),
])
def test_openclaw_engines(version, ok):
    assert node_satisfies(version, ">=24.16.0 <25 || >=26.1.0") is ok


@pytest.mark.parametrize("version,engines,ok", [
    ("22.12.0", ">=22.12.0", True), ("22.11.9", ">=22.12.0", False), ("20.1.0", "^20.0.0", True),
    ("21.0.0", "^20.0.0", False), ("20.3.1", "~20.3", True), ("20.4.0", "~20.3", False), ("18.0.0", "", True),
    ("24.1.0", "24.x", True), ("23.1.0", "24", False), ("24.16.0", ">= 24.16.0", True),
])
def test_ranges(version, engines, ok):
    assert node_satisfies(version, engines) is ok


def test_node_version_errors():
    assert node_version_errors("v24.22.3", ">=24.16.0 <25 || >=26.1.0", "24.16.0") == []
    msg = node_version_errors("v24.10.0", ">=24.16.0 <25 || >=26.1.0", "24.16.0", what="openclaw@2026.9.6")
    assert len(msg) == 1 and "24.10.0" in msg[0] and "openclaw@2026.9.6" in msg[0] and "node_runtime_version" in msg[0]
    assert "node_runtime_minimum_version" in node_version_errors("22.1.0", "", "22.12.0")[0]
    assert "cannot be read" in node_version_errors("", "", "")[0]
    with pytest.raises(AnsibleFilterError):
        node_version_errors("24.1.0", ">=banana")


def test_state_dir_and_version_parsing():
    assert flavours.state_dir("openclaw", "/home/user/", "ops") == "/home/user/.openclaw-ops"
    assert flavours.state_dir("clawdbot", "/home/user", None) == "/home/user/.clawdbot"
    assert flavours.parse_version("openclaw", "OpenClaw 2026.9.6 (eb377ac)\n") == "2026.9.6"
    assert flavours.parse_version("clawdbot", "2026.1.24-3\n") == "2026.1.24-3"
    assert flavours.parse_version("openclaw", "Onboarding needs an interactive TTY.") is None
    assert flavours.flavour_of_binary("/home/u/.clawdbot/bin/clawdbot") == "clawdbot"
    assert flavours.flavour_of_binary("/x/openclaw") == "openclaw"


# -- cli_version and foreign_units ----------------------------------------------------------------

from ansible_collections.homelab.clawdbot.plugins.filter.flavour import FilterModule, cli_version, foreign_units  # noqa: E402


@pytest.mark.parametrize("text,package,want", [
    ("OpenClaw 2026.9.6 (eb377ac)\n", "openclaw", "2026.9.6"),
    ("OpenClaw 2026.9.6 (eb377ac)", None, "2026.9.6"),
    ("OpenClaw 2026.9.6 (eb377ac)", "", "2026.9.6"),
    ("OpenClaw 2026.9.6 (eb377ac)", "@scope/openclaw", "2026.9.6"),
    ("(node:1234) ExperimentalWarning: SQLite\nOpenClaw 2026.10.1-beta.1 (0123abc)\n", "openclaw", "2026.10.1-beta.1"),
    ("Onboarding needs an interactive TTY.", "openclaw", ""),
    ("", "openclaw", ""),
    (None, "openclaw", ""),
    ("2026.1.24-3\n", "clawdbot", "2026.1.24-3"),
    ("Clawdbot v2026.1.24-3", "clawdbot", "2026.1.24-3"),
    # each flavour reads only its own CLI's format
    ("2026.1.24-3", "openclaw", ""),
    ("OpenClaw 2026.9.6 (eb377ac)", "clawdbot", ""),
])
def test_cli_version(text, package, want):
    assert cli_version(text, package) == want


def test_cli_version_unknown_package():
    with pytest.raises(AnsibleFilterError, match="clawdbot_install_package='moltbot'"):
        cli_version("1.0.0", "moltbot")


PROFILES = [{"name": "personal", "port": 18789}, {"name": "ops", "port": 18790}]


def test_foreign_units_of_openclaw_are_the_clawdbot_units():
    assert foreign_units("openclaw", PROFILES) == [
        "clawdbot-gateway.service", "clawdbot-gateway-personal.service", "clawdbot-gateway-ops.service"]
    assert foreign_units(None, PROFILES) == foreign_units("openclaw", PROFILES)


def test_foreign_units_of_clawdbot_are_the_openclaw_units():
    assert foreign_units("clawdbot", PROFILES) == [
        "openclaw-gateway.service", "openclaw-gateway-personal.service", "openclaw-gateway-ops.service"]


def test_foreign_units_never_name_the_own_product():
    for package in flavours.FLAVOUR_NAMES:
        prefix = flavour(package, "unit_prefix")
        assert not [u for u in foreign_units(package, PROFILES) if u.startswith(prefix + "-") or u == prefix + ".service"]


def test_foreign_units_skip_entries_without_a_name():
    assert foreign_units("openclaw", None) == ["clawdbot-gateway.service"]
    assert foreign_units("openclaw", []) == ["clawdbot-gateway.service"]
    assert foreign_units("openclaw", [{"port": 1}, "ops", {"name": 5}, {"name": "ops"}]) == [
        "clawdbot-gateway.service", "clawdbot-gateway-ops.service"]


def test_foreign_units_unknown_package():
    # flavour_name's FlavourError is not wrapped into an AnsibleFilterError here (Ansible still fails the template)
    with pytest.raises((AnsibleFilterError, flavours.FlavourError), match="clawdbot_install_package='moltbot'"):
        foreign_units("moltbot", PROFILES)


def test_the_four_filters_are_registered():
    filters = FilterModule().filters()
    assert filters["flavour"] is flavour and filters["node_version_errors"] is node_version_errors
    assert filters["cli_version"] is cli_version and filters["foreign_units"] is foreign_units


# -- node_version_request_errors and node_installed_errors (the node_runtime role) ---------------------------------

from ansible_collections.homelab.clawdbot.plugins.filter.flavour import (  # noqa: E402
    node_installed_errors, node_version_request_errors)

OPENCLAW = flavour("openclaw")
CLAWDBOT = flavour("clawdbot")


def _request(requested, f=OPENCLAW):
    return node_version_request_errors(requested, f["node_engines"], f["node_minimum"], what="%s@%s" % (f["package"], f["version"]))


@pytest.mark.parametrize("requested", ["24", "26", "27", "24.16.0", "24.22.3", "26.1.0"])
def test_requests_openclaw_can_run_on(requested):
    assert _request(requested) == []


@pytest.mark.parametrize("requested,says", [
    ("22", "no 22.x is inside it"),
    ("22.23.3", "does not satisfy engines.node"),
    ("24.15.9", "is too old: Node.js >= 24.16.0 is needed"),
    ("25", "no 25.x is inside it"),
    ("25.2.0", "does not satisfy engines.node"),
    ("26.0.5", "does not satisfy engines.node"),
    ("20", "node_runtime_version=20 is too old"),
])
def test_requests_openclaw_cannot_run_on(requested, says):
    errors = _request(requested)
    assert len(errors) == 1 and says in errors[0]
    assert errors[0].startswith("node_runtime_version=%s " % requested)
    assert "openclaw@2026.9.6" in errors[0] or "node_runtime_minimum_version" in errors[0]
    assert "set node_runtime_version to" in errors[0]


def test_a_major_below_the_floor_names_the_minimum():
    # "20" for clawdbot: the molecule preflight case expects exactly this start
    errors = _request("20", CLAWDBOT)
    assert errors[0].startswith("node_runtime_version=20 is too old: Node.js >= 22.12.0 is needed (node_runtime_minimum_version)")
    assert _request("22", CLAWDBOT) == [] and _request("24", CLAWDBOT) == [] and _request("22.12.0", CLAWDBOT) == []
    assert "too old" in _request("22.11.1", CLAWDBOT)[0]


def test_a_major_is_its_newest_release():
    # 24.999.999 is inside the range and not below the floor, whatever the floor's minor is
    assert node_version_request_errors("24", ">=24.16.0 <25", "24.99.0") == []
    assert node_version_request_errors("23", "", "24.0.0")[0].startswith("node_runtime_version=23 is too old")
    # a higher minimum than the flavour's floor is honoured for exact versions
    assert "too old" in node_version_request_errors("24.16.0", OPENCLAW["node_engines"], "24.20.0")[0]


@pytest.mark.parametrize("requested", ["", None, "24.1", "v24", "24.16.0-1", "latest", " ", "24.x"])
def test_malformed_requests(requested):
    errors = node_version_request_errors(requested, ">=24.16.0", "24.16.0")
    assert len(errors) == 1 and "must be a major" in errors[0] and errors[0].startswith("node_runtime_version=")


def test_request_with_a_bad_minimum_or_range():
    assert "node_runtime_minimum_version='banana'" in node_version_request_errors("24", "", "banana")[0]
    assert node_version_request_errors("24", None, None) == [] and node_version_request_errors(24, "", "") == []
    with pytest.raises(AnsibleFilterError):
        node_version_request_errors("24", ">=banana", "24.0.0")


def _installed(have, requested="24", f=OPENCLAW):
    return node_installed_errors(have, requested, f["node_engines"], f["node_minimum"], what="openclaw@2026.9.6")


@pytest.mark.parametrize("have,requested", [
    ("v24.22.3", "24"), ("24.16.0-1nodesource1", "24"), ("24.22.3", "24.22.3"), ("v24.22.3\n", "24.22.3"),
    ("26.1.0-1nodesource1", "26"),
])
def test_installed_ok(have, requested):
    assert _installed(have, requested) == []


def test_installed_older_than_the_floor_names_both_variables():
    # the NodeSource 24.10 host: the major matches, the floor does not
    errors = _installed("24.10.0-1nodesource1", "24")
    assert len(errors) == 1 and "node_runtime_minimum_version 24.16.0" in errors[0] and "node_runtime_version" in errors[0]
    assert "openclaw@2026.9.6" in errors[0]


def test_installed_other_version_than_requested():
    assert _installed("v24.22.3", "24.16.0") == ["Node.js 24.22.3 is installed, but node_runtime_version=24.16.0 asks for 24.16.0."]
    assert _installed("26.1.0", "24") == ["Node.js 26.1.0 is installed, but node_runtime_version=24 asks for 24.x."]
    # a clawdbot host still on 22 when openclaw is selected: engines first
    assert "does not satisfy engines.node" in _installed("22.23.3-1nodesource1", "24")[0]


@pytest.mark.parametrize("have", ["", None, "command not found", "v"])
def test_not_installed(have):
    errors = _installed(have)
    assert len(errors) == 1 and "not installed" in errors[0] and "node_runtime_version" in errors[0]


def test_installed_without_a_readable_request_checks_only_range_and_floor():
    assert node_installed_errors("24.22.3", None, ">=24.16.0", "24.16.0") == []
    assert node_installed_errors("24.22.3", "bad", ">=24.16.0", "24.16.0") == []
    assert node_installed_errors("22.1.0", None, "", "22.12.0") != []


def test_node_runtime_filters_are_registered():
    filters = FilterModule().filters()
    assert filters["node_version_request_errors"] is node_version_request_errors
    assert filters["node_installed_errors"] is node_installed_errors


def test_node_runtime_defaults_follow_the_flavour():
    """defaults/main.yml and meta/argument_specs.yml of node_runtime take the Node.js versions from the flavour."""
    with open(os.path.join(REPO, "roles", "node_runtime", "defaults", "main.yml")) as f:
        defaults = yaml.safe_load(f)
    with open(os.path.join(REPO, "roles", "node_runtime", "meta", "argument_specs.yml")) as f:
        spec = yaml.safe_load(f)["argument_specs"]["main"]["options"]
    for var, field in (("node_runtime_version", "node_major"), ("node_runtime_minimum_version", "node_minimum")):
        assert defaults[var] == "{{ (clawdbot_install_package | default(none) | homelab.clawdbot.flavour).%s }}" % field
        assert spec[var]["default"] == defaults[var]
    assert (OPENCLAW["node_major"], OPENCLAW["node_minimum"]) == ("24", "24.16.0")
    assert (CLAWDBOT["node_major"], CLAWDBOT["node_minimum"]) == ("22", "22.12.0")
    # every flavour's own defaults pass the preflight check
    for name in flavours.FLAVOUR_NAMES:
        f = flavour(name)
        assert _request(f["node_major"], f) == [] and _request(f["node_minimum"], f) == []
