# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""gateway_config's changed_paths: the dotted keys a run changes (names only), what the profiles role's rollout
plan uses to tell a hot-reloadable change from one that needs a restart."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.homelab.clawdbot.plugins.modules.gateway_config import changed_paths


def test_leaf_changes_are_named_by_their_dotted_path():
    before = {"gateway": {"port": 18789, "auth": {"token": "a", "mode": "token"}}, "ui": {"x": 1}}
    after = {"gateway": {"port": 18795, "auth": {"token": "b", "mode": "token"}}, "ui": {"x": 1}}
    assert changed_paths(before, after) == ["gateway.auth.token", "gateway.port"]


def test_added_and_removed_subtrees_are_named_once():
    before = {"gateway": {"port": 1}, "old": {"a": {"b": 1}}}
    after = {"gateway": {"port": 1, "nodes": {"pairing": {"autoApproveLocal": False}}}}
    assert changed_paths(before, after) == ["gateway.nodes", "old"]


def test_json_equality_not_python_equality():
    assert changed_paths({"a": 1}, {"a": 1.0}) == []
    assert changed_paths({"a": True}, {"a": 1}) == ["a"]
    assert changed_paths({"a": [1, 2]}, {"a": [2, 1]}) == ["a"]
    assert changed_paths({}, {}) == []
