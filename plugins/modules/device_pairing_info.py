#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: device_pairing_info
short_description: List pending and paired Clawdbot devices of one profile
description:
  - Runs C(devices list --json) once against the profile's running gateway and returns summaries of the
    pending device pairing requests and of the paired devices.
  - Never changes anything. Tokens are never returned; paired devices only report a token count.
version_added: 0.1.0
author: Homelab Clawdbot maintainers (@homelab-clawdbot)
requirements:
  - The Clawdbot CLI (C(clawdbot), C(moltbot) or C(openclaw)) installed for the gateway user.
  - The gateway of the profile running (C(devices list) is a gateway RPC).
  - C(runuser) (util-linux) when the module runs as root for another O(user).
options:
  port:
    description:
      - The gateway port of the profile. Only used to name the gateway address in the error message when
        the gateway is not reachable; the CLI finds the profile's port itself.
    type: int
  profile:
    description:
      - The Clawdbot profile (C(--profile), placed before the subcommand). Omit it, or use V(default), for
        the default profile (state dir C(~/.clawdbot)).
    type: str
  user:
    description:
      - The gateway user to run the CLI as. When the module runs as root and this names another user, the
        CLI runs through C(runuser -u <user> --).
      - Defaults to the user running the module.
    type: str
  binary:
    description:
      - Path of the CLI executable. Defaults to C(~/.clawdbot/bin/clawdbot) in the gateway user's home.
      - The flavour (clawdbot, moltbot, openclaw) is derived from the file name.
    type: path
  cli_env:
    description:
      - Extra environment variables for the CLI, for example C(CLAWDBOT_STATE_DIR).
    type: dict
    default: {}
  gateway_url:
    description:
      - Gateway WebSocket URL passed as C(--url). Normally not needed, the CLI targets the profile's gateway.
    type: str
  gateway_token:
    description:
      - Gateway token. Passed through the environment (C(CLAWDBOT_GATEWAY_TOKEN), C(OPENCLAW_GATEWAY_TOKEN)
        for openclaw), never on the command line.
    type: str
  timeout:
    description:
      - Timeout of the gateway RPC in seconds, passed to C(devices list) as C(--timeout) in milliseconds.
    type: int
    default: 30
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
seealso:
  - module: homelab.clawdbot.device_pairing
"""

EXAMPLES = r"""
- name: Show what is waiting for approval on profile personal
  homelab.clawdbot.device_pairing_info:
    profile: personal
    user: clawdbot
  register: devices

- name: Print the pending Control UI requests
  ansible.builtin.debug:
    msg: "{{ devices.pending | selectattr('clientId', 'equalto', 'clawdbot-control-ui') | list }}"
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
      description: Client id, for example C(clawdbot-control-ui) or C(cli).
      type: str
    clientMode:
      description: Client mode.
      type: str
    platform:
      description: Client platform.
      type: str
    role:
      description: Requested role.
      type: str
    scopes:
      description: Requested scopes.
      type: list
      elements: str
    remoteIp:
      description: Client address as seen by the gateway.
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
    - requestId: 21043250-ab50-42e2-b879-29f686d15832
      deviceId: 6fa7e9e7f0d1bf5bccb8762808e1c2f3af8862ebc23485b6ff4779412a0de84d
      clientId: cli
      clientMode: cli
      platform: linux
      role: operator
      scopes: [operator.admin, operator.approvals, operator.pairing]
      remoteIp: 172.17.0.2
      ageSeconds: 12
      displayName: null
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
    platform:
      description: Platform.
      type: str
    role:
      description: Role.
      type: str
    remoteIp:
      description: Address at pairing time.
      type: str
    approvedAtMs:
      description: Approval time, ms since epoch.
      type: int
    tokenCount:
      description: Number of device tokens issued.
      type: int
  sample:
    - deviceId: 0e1d86d3a6f14b2c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c
      clientId: cli
      platform: linux
      role: operator
      remoteIp: 127.0.0.1
      approvedAtMs: 1795526926294
      tokenCount: 1
cli_calls:
  description: Number of CLI invocations made (always 1).
  returned: always
  type: int
  sample: 1
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
                         cli_calls=len(cli.calls))
    try:
        listing = normalise_device_listing(data)
    except ValueError as exc:
        module.fail_json(msg="%s (profile %s)" % (exc, profile_label(cli)), cli_calls=len(cli.calls))
    module.exit_json(changed=False,
                     pending=[summarise_pending(e, now) for e in listing["pending"]],
                     paired=[summarise_paired(e) for e in listing["paired"]],
                     cli_calls=len(cli.calls))


if __name__ == "__main__":
    main()
