# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one definition of the two product flavours this collection installs.

``openclaw`` (npm package ``openclaw``, 2026.9.x on Node >= 24.16) is the live upstream and the default;
``clawdbot`` (2026.1.24-3 on Node 22) is the legacy flavour that existing VM102 hosts run until they migrate.
Every role (through the ``homelab.clawdbot.flavour`` filter), module and playbook reads the names, paths and
commands below from here; nothing else spells them. Facts come from the measured contracts
(``openclaw-contract.md`` for 2026.9.6, ``clawdbot-contract.md`` for 2026.1.24-3), section numbers in comments.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

DEFAULT_FLAVOUR = "openclaw"

_FLAVOURS = {
    "openclaw": dict(
        name="openclaw",
        product="OpenClaw",
        package="openclaw",
        binary="openclaw",
        # Pinned release (contract 0.7: 10-20 stable releases a month, so always an exact version).
        version="2026.9.6",
        # `openclaw --version` prints "OpenClaw 2026.9.6 (eb377ac)" (contract 0.5).
        version_regex=r"^OpenClaw (\S+)",
        # Smallest model context window the gateway accepts (spark-standin.md: 4000, a warning below 8000).
        context_window_min=4000,
        # engines.node of 2026.9.6, enforced by the preinstall and at run (node:sqlite, contract 0.3).
        node_major="24",
        node_minimum="24.16.0",
        node_engines=">=24.16.0 <25 || >=26.1.0",
        # npm prefix of the user-scope install (upstream's install-cli.sh default, anchors-2026-12 1.x).
        install_dir=".openclaw",
        # The CLI's own entry point relative to the package, as the upstream unit runs it (contract 1.3).
        entrypoint="dist/index.js",
        state_prefix=".openclaw",
        config_name="openclaw.json",
        unit_prefix="openclaw-gateway",
        env_prefix="OPENCLAW",
        service_marker="openclaw",
        control_ui_client_id="openclaw-control-ui",
        # Default workspace: <state dir>/workspace (contract 1.1).
        workspace="{state_dir}/workspace",
        # `config validate --json`: rc 0/1, pure JSON with valid and path (contract 2.2).
        validate_args=["config", "validate", "--json"],
        validate_json=True,
        health_args=["gateway", "health", "--json"],
        # The CLI's view of the service and an RPC round trip: rc 1 when the RPC fails (contract 6); health.yml.
        status_args=["gateway", "status", "--json", "--require-rpc"],
        # Liveness on the gateway port (no auth): 200 {"ok": true, "status": "live"} while it serves (contract 6).
        live_path="/healthz",
        # Readiness on the gateway port (no auth): 200 {"ready": true} once startup and every channel pass, 503
        # {"ready": false, "failing": [...]} otherwise (contract 6); health.yml reports it.
        ready_path="/readyz",
        # backup.yml / restore.yml go through upstream's own archives: `backup create` snapshots the SQLite stores
        # consistently while the gateway runs, `backup restore` verifies an archive and unpacks it into a fresh
        # staging directory only (issue 15; measured on 2026.9.6, docs/operations.md).
        backup_args=["backup", "create", "--verify", "--json"],
        restore_args=["backup", "restore", "--json"],
        # The SQLite stores, under the state root. A newer release migrates their schema the first time it opens
        # them (2026.9.6: schema 17 -> 18, by the gateway, `backup create`, `pairing list`, but not `config
        # validate`), and the older one then refuses the whole state dir ("uses newer schema version 18; this build
        # supports 17"). So a rollout that changes the version copies this directory while the gateway is stopped
        # and puts the copy back if it rolls back (roles/profiles rollout.yml).
        state_db_dir="state",
        # Keys the schema no longer accepts (contract 2.1, 10.5): never written, refused in settings.
        retired_keys=["gateway.tailscale.resetOnExit", "gateway.controlUi.allowInsecureAuth", "gateway.token",
                      "browser.controlUrl", "meta.lastTouchedAt"],
        # The browser control port is derived (P+2) and not configurable any more (contract 3).
        browser_port_configurable=False,
        # Config keys a running gateway applies itself, without a restart (contract 2.4, docs hot-reload table);
        # a change of any other key is written while the gateway is stopped and then started.
        hot_reload_keys=["gateway.auth.token", "gateway.auth.password", "gateway.auth.allowTailscale",
                         "gateway.trustedProxies", "gateway.nodes", "agents", "models", "channels", "plugins", "update",
                         "telemetry", "discovery.mdns.mode"],
        unit=dict(
            description="OpenClaw Gateway (profile: {profile})",
            node_args=["--max-old-space-size=8192"],
            unit_lines=[["StartLimitBurst", "10"], ["StartLimitIntervalSec", "300"]],
            service_lines=[["Restart", "always"], ["RestartSec", "5"], ["RestartPreventExitStatus", "78"],
                           ["TimeoutStopSec", "330"], ["TimeoutStartSec", "30"], ["SuccessExitStatus", "0 143"],
                           ["OOMPolicy", "continue"], ["KillMode", "mixed"]],
            # 0600 as `gateway install` writes it (contract 1.3).
            mode="0600",
            version_in_unit=False,
            tmpdir="/tmp",
            # profiles_external_supervisor: a stray doctor --fix / gateway restart refuses (contract 1.5).
            external_supervisor_env=[["OPENCLAW_SUPERVISOR_MODE", "external"]],
            # Ansible owns the config: without CONFIG_READONLY a start can put openclaw.json.bak back over the
            # template or migrate keys (contract 2.5); NO_AUTO_UPDATE keeps the updater off (contract 8).
            fixed_env=[["OPENCLAW_CONFIG_READONLY", "1"], ["OPENCLAW_NO_AUTO_UPDATE", "1"]],
        ),
    ),
    "clawdbot": dict(
        name="clawdbot",
        product="Clawdbot",
        package="clawdbot",
        binary="clawdbot",
        version="2026.1.24-3",
        version_regex=r"^(?:[Cc]lawdbot )?v?(\d\S*)$",
        context_window_min=16000,
        node_major="22",
        node_minimum="22.12.0",
        node_engines=">=22.12.0",
        install_dir=".clawdbot",
        entrypoint="dist/entry.js",
        state_prefix=".clawdbot",
        config_name="clawdbot.json",
        unit_prefix="clawdbot-gateway",
        env_prefix="CLAWDBOT",
        service_marker="clawdbot",
        control_ui_client_id="clawdbot-control-ui",
        workspace="{home}/clawd-{profile}",
        # clawdbot has no validator: `config get gateway.mode` exits 1 on an invalid config (clawdbot contract 2.2).
        validate_args=["config", "get", "gateway.mode"],
        validate_json=False,
        health_args=["gateway", "health", "--json"],
        status_args=None,
        live_path=None,
        ready_path=None,
        # No backup command: backup.yml archives the state items itself, with the gateway stopped.
        backup_args=None,
        restore_args=None,
        # JSON files the gateway rewrites in place; no schema version.
        state_db_dir=None,
        retired_keys=[],
        browser_port_configurable=True,
        # Every config change restarts a clawdbot gateway (the role restarts it, as it always did).
        hot_reload_keys=[],
        unit=dict(
            description="Clawdbot Gateway (profile: {profile}, v{version})",
            node_args=[],
            unit_lines=[],
            service_lines=[["Restart", "always"], ["RestartSec", "5"], ["KillMode", "process"]],
            mode="0644",
            version_in_unit=True,
            tmpdir=None,
            external_supervisor_env=[],
            fixed_env=[],
        ),
    ),
}

FLAVOUR_NAMES = tuple(sorted(_FLAVOURS))


class FlavourError(ValueError):
    pass


def flavour_name(package=None):
    """The flavour an npm package name selects (None or '' = the default flavour)."""
    if package is None or package == "":
        return DEFAULT_FLAVOUR
    base = str(package).rsplit("/", 1)[-1]
    if base in _FLAVOURS:
        return base
    raise FlavourError("clawdbot_install_package=%r is not a supported product: use one of %s"
                       % (package, ", ".join(FLAVOUR_NAMES)))


def get_flavour(package=None):
    """A copy of the flavour definition for an npm package name (see flavour_name)."""
    return copy.deepcopy(_FLAVOURS[flavour_name(package)])


def flavour_of_binary(binary, default=DEFAULT_FLAVOUR):
    """The flavour whose binary name the file name of ``binary`` contains (modules get a binary, not a package),
    else ``default``."""
    name = (binary or "").rsplit("/", 1)[-1]
    for flavour in FLAVOUR_NAMES:
        if _FLAVOURS[flavour]["binary"] in name:
            return flavour
    return default


def state_dir(flavour, home, profile=None):
    f = _FLAVOURS[flavour]
    if not profile or profile.lower() == "default":
        return "%s/%s" % (home.rstrip("/"), f["state_prefix"])
    return "%s/%s-%s" % (home.rstrip("/"), f["state_prefix"], profile)


def parse_version(flavour, text):
    """The version in ``<cli> --version`` output, or None."""
    regex = re.compile(_FLAVOURS[flavour]["version_regex"])
    for line in (text or "").splitlines():
        m = regex.match(line.strip())
        if m:
            return m.group(1)
    return None
