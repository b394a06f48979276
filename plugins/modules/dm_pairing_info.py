#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: dm_pairing_info
short_description: List pending Clawdbot DM pairing codes and the allow list of a channel
description:
  - Reads the profile's DM pairing store files (C(<stateDir>/credentials/<channel>-pairing.json) and
    C(<channel>-allowFrom.json)) and returns the pending codes (applying the CLI's 1 hour expiry) and the
    approved sender ids.
  - Makes no CLI call and never creates or changes a file (C(pairing list) would create the store file).
version_added: 0.1.0
author: Homelab Clawdbot maintainers (@homelab-clawdbot)
requirements:
  - Read access to the gateway user's state dir (run as root or as the gateway user).
options:
  channel:
    description:
      - The channel, for example V(telegram), V(whatsapp), V(signal), V(discord), V(slack) or V(imessage).
      - Must match C(^[a-z][a-z0-9_-]{0,63}$).
    type: str
    default: telegram
  profile:
    description:
      - The Clawdbot profile. Omit it, or use V(default), for the default profile (state dir C(~/.clawdbot)).
    type: str
  user:
    description:
      - The gateway user whose state dir is read. Defaults to the user running the module.
    type: str
  binary:
    description:
      - Path of the CLI executable; only its name matters here (the flavour selects C(~/.openclaw-<profile>)
        for openclaw and the env var prefix). Defaults to C(~/.clawdbot/bin/clawdbot).
    type: path
  cli_env:
    description:
      - Environment the CLI would get. C(CLAWDBOT_STATE_DIR) and C(CLAWDBOT_OAUTH_DIR) (or the
        C(OPENCLAW_)/C(MOLTBOT_) names for those flavours) move the store files.
    type: dict
    default: {}
  gateway_url:
    description:
      - Not used (no gateway is involved); accepted for symmetry with the other modules.
    type: str
  gateway_token:
    description:
      - Not used; accepted for symmetry with the other modules.
    type: str
  timeout:
    description:
      - Not used; accepted for symmetry with the other modules.
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
  - module: homelab.clawdbot.dm_pairing
"""

EXAMPLES = r"""
- name: Show pending Telegram pairing codes of profile personal
  homelab.clawdbot.dm_pairing_info:
    profile: personal
    user: clawdbot
    channel: telegram
  register: tg

- name: Approve the only pending code when it comes from the expected chat
  homelab.clawdbot.dm_pairing:
    profile: personal
    user: clawdbot
    channel: telegram
    code: "{{ tg.pending[0].code }}"
    sender_id: "123456789"
  when: tg.pending | length == 1
"""

RETURN = r"""
pending:
  description: Pending (not expired) requests, oldest first.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Sender id (Telegram chat id).
      type: str
    code:
      description: Pairing code.
      type: str
    createdAt:
      description: When the first message arrived (ISO 8601).
      type: str
    lastSeenAt:
      description: When the last message arrived (ISO 8601).
      type: str
    meta:
      description: Sender details stored by the channel.
      type: dict
    expiresInSeconds:
      description: Seconds until the code expires.
      type: int
  sample:
    - id: "123456789"
      code: ABCD2345
      createdAt: "2026-11-24T13:34:57.000Z"
      lastSeenAt: "2026-11-24T13:34:57.000Z"
      meta:
        username: probeuser
        firstName: Probe
      expiresInSeconds: 3412
expired_count:
  description: Expired requests still in the store file (the CLI prunes them on its next write).
  returned: always
  type: int
  sample: 0
allow_from:
  description: Approved sender ids of the channel.
  returned: always
  type: list
  elements: str
  sample: ["123456789"]
credentials_dir:
  description: The directory holding the store files.
  returned: always
  type: str
  sample: /home/clawdbot/.clawdbot-personal/credentials
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.homelab.clawdbot.plugins.module_utils.clawdbot_cli import (
    CLI_ARGUMENT_SPEC,
    ClawdbotCLI,
)
from ansible_collections.homelab.clawdbot.plugins.module_utils.clawdbot_pairing import (
    read_dm_state,
    resolve_credentials_dir,
    summarise_dm_request,
    validate_channel,
)


def now_ms():
    return int(time.time() * 1000)


def main():
    spec = dict(CLI_ARGUMENT_SPEC)
    spec.update(channel=dict(type="str", default="telegram"))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    channel = module.params["channel"]
    error = validate_channel(channel)
    if error:
        module.fail_json(msg=error)
    cli = ClawdbotCLI.from_params(module)
    credentials_dir = resolve_credentials_dir(cli)
    now = now_ms()
    try:
        state = read_dm_state(credentials_dir, channel, now)
    except (OSError, ValueError) as exc:
        module.fail_json(msg=str(exc), credentials_dir=credentials_dir)
    module.exit_json(changed=False,
                     pending=[summarise_dm_request(e, now) for e in state["pending_entries"]],
                     expired_count=state["expired_count"],
                     allow_from=state["allow_from"],
                     credentials_dir=credentials_dir)


if __name__ == "__main__":
    main()
