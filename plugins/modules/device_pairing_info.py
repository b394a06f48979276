#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: device_pairing_info
short_description: List pending and paired devices of one OpenClaw (or Clawdbot) gateway profile
description:
  - Runs C(devices list --json) once against the profile's running gateway and returns summaries of the
    pending device pairing requests and of the paired devices. Works with both flavours (O(flavour)).
  - Never changes anything. Tokens and public keys are never returned; paired devices only report a token count.
version_added: 0.1.0
author: Homelab Clawdbot maintainers (@homelab-clawdbot)
requirements:
  - The gateway CLI (C(openclaw), or C(clawdbot) for the legacy flavour) installed for the gateway user.
  - The gateway of the profile running (C(devices list) is a gateway RPC).
  - C(runuser) (util-linux) when the module runs as root for another O(user).
extends_documentation_fragment:
  - homelab.clawdbot.cli
options:
  port:
    description:
      - The gateway port of the profile. Only used to name the gateway address in the error message when
        the gateway is not reachable and the CLI did not name it; the CLI finds the profile's port itself.
    type: int
attributes:
  check_mode:
    description: The module only reads; it runs in check mode as well.
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: none
  platform:
    description: Target OS family.
    support: full
    platforms: posix
notes:
  - On openclaw the pairing stores are tables of C(<stateDir>/state/openclaw.sqlite); this module only uses the
    CLI and never opens that database.
seealso:
  - module: homelab.clawdbot.device_pairing
"""

EXAMPLES = r"""
- name: Show what is waiting for approval on profile personal (openclaw, the default flavour)
  homelab.clawdbot.device_pairing_info:
    profile: personal
    user: clawdbot
  register: devices

- name: Print the pending Control UI requests
  ansible.builtin.debug:
    msg: "{{ devices.pending | selectattr('clientId', 'equalto', 'openclaw-control-ui') | list }}"

- name: The same on a legacy clawdbot host
  homelab.clawdbot.device_pairing_info:
    flavour: clawdbot
    profile: personal
    user: clawdbot
  register: legacy_devices

- name: Print its pending Control UI requests (clawdbot's client id)
  ansible.builtin.debug:
    msg: "{{ legacy_devices.pending | selectattr('clientId', 'equalto', 'clawdbot-control-ui') | list }}"
"""

RETURN = r"""
pending:
  description: Pending requests, newest first (the gateway drops them after 5 minutes).
  returned: always
  type: list
  elements: dict
  contains:
    requestId:
      description: Request id.
      type: str
    deviceId:
      description: Device id.
      type: str
    clientId:
      description: Client id, for example C(openclaw-control-ui), C(openclaw-tui) (C(clawdbot-control-ui) on
        clawdbot) or C(cli).
      type: str
    clientMode:
      description: Client mode.
      type: str
    platform:
      description: Client platform.
      type: str
    deviceFamily:
      description: Device family, for example C(Linux) (openclaw only; null on clawdbot).
      type: str
    role:
      description: Requested role.
      type: str
    scopes:
      description: Requested scopes.
      type: list
      elements: str
    remoteIp:
      description: Client address as seen by the gateway (null for local clients on openclaw).
      type: str
    ageSeconds:
      description: Seconds since the request was created.
      type: int
    displayName:
      description: Optional display name.
      type: str
    isRepair:
      description: Whether the request re-pairs an already known device.
      type: bool
  sample:
    - requestId: da149e4f-5874-4fdb-be78-e6770f5d0664
      deviceId: 8281c11186f3266571716c93526f1b7c49fcc97ff273b37e0411f303cf76ca4c
      clientId: openclaw-tui
      clientMode: ui
      platform: linux
      deviceFamily: Linux
      role: operator
      scopes: [operator.admin, operator.read, operator.write, operator.approvals]
      remoteIp: null
      ageSeconds: 12
      displayName: openclaw-tui
      isRepair: false
paired:
  description: Paired devices, most recently approved first.
  returned: always
  type: list
  elements: dict
  contains:
    deviceId:
      description: Device id.
      type: str
    clientId:
      description: Client id.
      type: str
    clientMode:
      description: Client mode.
      type: str
    platform:
      description: Platform.
      type: str
    deviceFamily:
      description: Device family (openclaw only; null on clawdbot).
      type: str
    displayName:
      description: Display name (openclaw only; null on clawdbot).
      type: str
    role:
      description: Role.
      type: str
    remoteIp:
      description: Address at pairing time (null for local clients on openclaw).
      type: str
    approvedAtMs:
      description: Approval time, ms since epoch.
      type: int
    approvedVia:
      description: How the device was approved, for example C(owner) or C(silent) (openclaw only; null on clawdbot).
      type: str
    lastSeenAtMs:
      description: Last time the device was seen, ms since epoch (openclaw only; null on clawdbot).
      type: int
    connected:
      description: Whether the device is connected now (openclaw only; null on clawdbot).
      type: bool
    tokenCount:
      description: Number of device tokens issued.
      type: int
  sample:
    - deviceId: 6bc9703e5d1f4a2b8c0e7d6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b
      clientId: openclaw-tui
      clientMode: ui
      platform: linux
      deviceFamily: Linux
      displayName: openclaw-tui
      role: operator
      remoteIp: null
      approvedAtMs: 1796110860388
      approvedVia: silent
      lastSeenAtMs: 1796110860364
      connected: false
      tokenCount: 1
cli_calls:
  description: Number of CLI invocations made (always 1).
  returned: always
  type: int
  sample: 1
flavour:
  description: The flavour the CLI was run as (see O(flavour)).
  returned: always
  type: str
  sample: openclaw
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.homelab.clawdbot.plugins.module_utils.clawdbot_cli import (
    CLI_ARGUMENT_SPEC,
    CLIError,
    ClawdbotCLI,
)
from ansible_collections.homelab.clawdbot.plugins.module_utils.clawdbot_pairing import (
    gateway_failure_message,
    normalise_device_listing,
    profile_label,
    summarise_paired,
    summarise_pending,
)


def now_ms():
    return int(time.time() * 1000)


def main():
    spec = dict(CLI_ARGUMENT_SPEC)
    spec.update(port=dict(type="int"))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    cli = ClawdbotCLI.from_params(module)
    now = now_ms()
    try:
        data = cli.run_json(["devices", "list", "--timeout", str(int(module.params["timeout"] or 30) * 1000)],
                            with_gateway=True)
    except CLIError as err:
        module.fail_json(msg=gateway_failure_message(cli, err, module.params["port"]), rc=err.rc, cmd=err.cmd,
                         cli_calls=len(cli.calls), flavour=cli.flavour)
    try:
        listing = normalise_device_listing(data)
    except ValueError as exc:
        module.fail_json(msg="%s (profile %s)" % (exc, profile_label(cli)), cli_calls=len(cli.calls),
                         flavour=cli.flavour)
    module.exit_json(changed=False,
                     pending=[summarise_pending(e, now) for e in listing["pending"]],
                     paired=[summarise_paired(e) for e in listing["paired"]],
                     cli_calls=len(cli.calls), flavour=cli.flavour)


if __name__ == "__main__":
    main()
