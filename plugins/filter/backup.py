# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of backup.yml and restore.yml.

``homelab.clawdbot.restore_layout``: where ``openclaw backup restore --target <dir>`` put the state root (and a
workspace outside it) of one profile, read from the archive's own ``manifest.json``, with the reasons to refuse it.

``homelab.clawdbot.config_check_error``: why a run of the flavour's config check (``config validate --json`` on
openclaw, ``config get gateway.mode`` on clawdbot) does not accept a staged config, or ''.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible_collections.homelab.clawdbot.plugins.module_utils.clawdbot_cli import (first_error_line,
                                                                                    validator_issues,
                                                                                    validator_json_error)


def _norm(path):
    return posixpath.normpath(str(path)) if path else ""


def _inside(path, root):
    return path == root or path.startswith(root.rstrip("/") + "/")


def restore_layout(manifest, target, profile):
    """{state, workspace, version, created, errors}: the staged state root of ``profile`` (a profiles_plan entry)
    and the staged workspace when the profile's workspace lies outside its state root (else None), both below
    ``target``. ``errors`` lists why the archive is not a backup of that profile's paths."""
    if not isinstance(profile, Mapping) or not profile.get("state_dir"):
        raise AnsibleFilterError("restore_layout: profile must be a profiles_plan entry with state_dir")
    state_dir = _norm(profile["state_dir"])
    workspace = _norm(profile.get("workspace"))
    out = dict(state=None, workspace=None, version=None, created=None, errors=[])
    if not isinstance(manifest, Mapping) or not isinstance(manifest.get("assets"), list):
        out["errors"].append("the archive's manifest.json has no list of assets")
        return out
    out["version"] = manifest.get("runtimeVersion")
    out["created"] = manifest.get("createdAt")
    root = str(manifest.get("archiveRoot") or "")
    target = _norm(target)
    ws_outside = bool(workspace) and not _inside(workspace, state_dir)
    for asset in manifest["assets"]:
        if not isinstance(asset, Mapping):
            out["errors"].append("an asset of manifest.json is not a mapping")
            continue
        kind, source, inner = asset.get("kind"), _norm(asset.get("sourcePath")), str(asset.get("archivePath") or "")
        parts = inner.split("/")
        if not root or inner.startswith("/") or ".." in parts or parts[0] != root:
            out["errors"].append("asset %s has the archive path %r outside the archive root %r" % (source, inner, root))
            continue
        staged = posixpath.join(target, inner)
        if kind == "state" and source == state_dir:
            out["state"] = staged
        elif kind == "workspace" and ws_outside and source == workspace:
            out["workspace"] = staged
        else:
            out["errors"].append(
                "the archive holds %s %s, which is not a path of profile %s (state root %s%s); only archives of this "
                "profile's paths are restored" % (kind, source or "(no path)", profile.get("name", "?"), state_dir,
                                                  ", workspace " + workspace if ws_outside else ""))
    if out["state"] is None and not any("state" in e for e in out["errors"]):
        out["errors"].append("the archive holds no state root %s" % state_dir)
    return out


def config_check_error(result, flavour, candidate):
    """'' when the flavour's config check (a registered command result) accepted ``candidate``, else why not."""
    if not isinstance(result, Mapping) or not isinstance(flavour, Mapping):
        raise AnsibleFilterError("config_check_error: needs a command result and a flavour definition")
    rc = result.get("rc")
    stdout, stderr = result.get("stdout") or "", result.get("stderr") or ""
    if rc is None:
        return "the check did not run: %s" % (result.get("msg") or "no exit code")
    if flavour.get("validate_json"):
        if rc != 0:
            return "rc=%s: %s" % (rc, validator_issues(stdout) or first_error_line(stderr, stdout) or "no output")
        return validator_json_error(stdout, candidate)
    if rc != 0:
        return "rc=%s: %s" % (rc, first_error_line(stderr, stdout) or "no output")
    return ""


class FilterModule(object):
    def filters(self):
        return {"restore_layout": restore_layout, "config_check_error": config_check_error}
