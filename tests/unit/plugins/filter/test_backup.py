# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.clawdbot.plugins.filter.backup import config_check_error, restore_layout
from ansible_collections.homelab.clawdbot.plugins.module_utils import flavours

ROOT = "2026-12-01T20-29-05.120+00-00-openclaw-backup"
STATE = "/home/clawdbot/.openclaw-personal"
PROFILE = {"name": "personal", "state_dir": STATE, "workspace": STATE + "/workspace"}


def manifest(*assets):
    """The shape of manifest.json that openclaw 2026.9.6 `backup create` writes (measured)."""
    return {"schemaVersion": 1, "archiveRoot": ROOT, "runtimeVersion": "2026.9.6", "createdAt": "2026-12-01T20:29:05.120Z",
            "assets": [{"kind": k, "sourcePath": p, "archivePath": "%s/payload/posix%s" % (ROOT, p)} for k, p in assets]}


def test_state_root_inside_which_the_workspace_lies():
    out = restore_layout(manifest(("state", STATE)), "/stage/upstream/", PROFILE)
    assert out["errors"] == []
    assert out["state"] == "/stage/upstream/%s/payload/posix%s" % (ROOT, STATE)
    assert out["workspace"] is None
    assert out["version"] == "2026.9.6" and out["created"] == "2026-12-01T20:29:05.120Z"


def test_workspace_outside_the_state_root_is_staged_too():
    profile = dict(PROFILE, workspace="/srv/ws/personal/")
    out = restore_layout(manifest(("state", STATE), ("workspace", "/srv/ws/personal")), "/stage/upstream", profile)
    assert out["errors"] == []
    assert out["workspace"] == "/stage/upstream/%s/payload/posix/srv/ws/personal" % ROOT


def test_another_profiles_state_is_refused():
    out = restore_layout(manifest(("state", "/home/clawdbot/.openclaw-ops")), "/stage/upstream", PROFILE)
    assert out["state"] is None
    assert len(out["errors"]) == 1 and "/home/clawdbot/.openclaw-ops" in out["errors"][0] and STATE in out["errors"][0]


def test_extra_assets_are_refused():
    out = restore_layout(manifest(("state", STATE), ("config", "/etc/openclaw.json"), ("workspace", "/srv/other")),
                         "/stage/upstream", PROFILE)
    assert out["state"] is not None
    assert [e.split(" which")[0] for e in out["errors"]] == ["the archive holds config /etc/openclaw.json,",
                                                             "the archive holds workspace /srv/other,"]


def test_no_state_asset_at_all():
    out = restore_layout(manifest(), "/stage/upstream", PROFILE)
    assert out["errors"] == ["the archive holds no state root %s" % STATE]


@pytest.mark.parametrize("inner", ["/abs/path", ROOT + "/../escape", "other-root/payload/posix" + STATE, ""])
def test_archive_paths_outside_the_root_are_refused(inner):
    doc = manifest()
    doc["assets"] = [{"kind": "state", "sourcePath": STATE, "archivePath": inner}]
    out = restore_layout(doc, "/stage/upstream", PROFILE)
    assert out["state"] is None and "outside the archive root" in out["errors"][0]


@pytest.mark.parametrize("doc", [None, {}, {"assets": "x"}, []])
def test_not_a_manifest(doc):
    assert restore_layout(doc, "/t", PROFILE)["errors"] == ["the archive's manifest.json has no list of assets"]


def test_profile_must_be_a_plan_entry():
    with pytest.raises(AnsibleFilterError):
        restore_layout(manifest(), "/t", {"name": "x"})


OPENCLAW = flavours.get_flavour("openclaw")
CLAWDBOT = flavours.get_flavour("clawdbot")
CAND = "/home/u/.clawdbot-restore-personal-1/tree/state/openclaw.json"


def test_openclaw_valid_for_the_candidate():
    res = {"rc": 0, "stdout": json.dumps({"valid": True, "path": CAND}), "stderr": ""}
    assert config_check_error(res, OPENCLAW, CAND) == ""


def test_openclaw_valid_but_for_another_file():
    res = {"rc": 0, "stdout": json.dumps({"valid": True, "path": "/home/u/.openclaw-personal/openclaw.json"})}
    assert "instead of the candidate" in config_check_error(res, OPENCLAW, CAND)


def test_openclaw_invalid_names_the_issues():
    res = {"rc": 1, "stdout": json.dumps({"valid": False, "issues": [{"path": "meta", "message": 'Unrecognized key: "lastTouchedAt"'}]}),
           "stderr": ""}
    assert config_check_error(res, OPENCLAW, CAND) == 'rc=1: meta: Unrecognized key: "lastTouchedAt"'


def test_clawdbot_by_exit_code():
    assert config_check_error({"rc": 0, "stdout": "local\n"}, CLAWDBOT, CAND) == ""
    err = config_check_error({"rc": 1, "stdout": "", "stderr": "Error: Config invalid\n"}, CLAWDBOT, CAND)
    assert err.startswith("rc=1: ") and "Config invalid" in err


def test_did_not_run():
    assert config_check_error({"msg": "timeout"}, OPENCLAW, CAND) == "the check did not run: timeout"
    with pytest.raises(AnsibleFilterError):
        config_check_error("x", OPENCLAW, CAND)
