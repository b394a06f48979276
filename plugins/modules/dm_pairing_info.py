#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: dm_pairing_info
short_description: List pending OpenClaw (or Clawdbot) DM pairing codes of a channel
description:
  - Returns the pending DM pairing codes of one channel of a profile (a code is pending for 1 hour from its
    creation), without changing anything.
  - On V(openclaw) (the default flavour, O(flavour)) the stores are tables of
    C(<stateDir>/state/openclaw.sqlite), which this module never opens. It runs
    C(pairing list <channel> --json), which is read-only on openclaw. The allow list cannot be read that way, so
    RV(allow_from), RV(expired_count) and RV(credentials_dir) are not returned.
  - On V(clawdbot) it reads the profile's store files (C(<stateDir>/credentials/<channel>-pairing.json) and
    C(<channel>-allowFrom.json)) and also returns the approved sender ids. It makes no CLI call there and never
    creates or changes a file (clawdbot's C(pairing list) would create the store file).
version_added: 0.1.0
author: Homelab Clawdbot maintainers (@homelab-clawdbot)
requirements:
  - On openclaw, the C(openclaw) CLI installed for the gateway user, and C(runuser) (util-linux) when the module
    runs as root for another O(user).
  - On clawdbot, read access to the gateway user's state dir (run as root or as the gateway user).
extends_documentation_fragment:
  - homelab.clawdbot.cli
options:
  channel:
    description:
      - The channel, for example V(telegram), V(whatsapp), V(signal), V(discord), V(slack) or V(imessage).
      - Must match C(^[a-z][a-z0-9_-]{0,63}$).
    type: str
    default: telegram
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
  - On clawdbot only the name of O(binary) matters (it may select the flavour); the CLI is not run. C(CLAWDBOT_STATE_DIR)
    and C(CLAWDBOT_OAUTH_DIR) in O(cli_env) move the store files that are read.
  - O(gateway_url), O(gateway_token) and O(timeout) are accepted for symmetry with the other modules; the
    C(pairing) commands use none of them.
seealso:
  - module: homelab.clawdbot.dm_pairing
"""

EXAMPLES = r"""
- name: Show pending Telegram pairing codes of profile personal (openclaw, the default flavour)
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
    sender_id: "987654321"
  when: tg.pending | length == 1

- name: Pending codes and the allow list on a legacy clawdbot host
  homelab.clawdbot.dm_pairing_info:
    flavour: clawdbot
    profile: personal
    user: clawdbot
    channel: telegram
  register: legacy_tg
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
      description: Sender details stored by the channel (openclaw adds C(accountId)).
      type: dict
    expiresInSeconds:
      description: Seconds until the code expires.
      type: int
  sample:
    - id: "987654321"
      code: ABCD2345
      createdAt: "2026-12-01T07:47:54.098Z"
      lastSeenAt: "2026-12-01T07:47:54.098Z"
      meta:
        username: probeuser
        firstName: Probe
        accountId: default
      expiresInSeconds: 3412
expired_count:
  description: Expired requests still in the store file (the CLI prunes them on its next write).
  returned: on the clawdbot flavour
  type: int
  sample: 0
allow_from:
  description: Approved sender ids of the channel.
  returned: on the clawdbot flavour
  type: list
  elements: str
  sample: ["123456789"]
credentials_dir:
  description: The directory holding the store files.
  returned: on the clawdbot flavour
  type: str
  sample: /home/clawdbot/.clawdbot-personal/credentials
cli_calls:
  description: Number of CLI invocations made (1 on openclaw, 0 on clawdbot).
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
    dm_listing_from_cli,
    profile_label,
    read_dm_state,
    resolve_credentials_dir,
    summarise_dm_request,
    uses_sqlite_stores,
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
    now = now_ms()
    if uses_sqlite_stores(cli):
        # openclaw: SQLite stores, read only through the CLI (`pairing list` is read-only there, contract 5)
        try:
            data = cli.run_json(["pairing", "list", channel])
        except CLIError as err:
            module.fail_json(msg="pairing list %s failed on profile %s: %s" % (channel, profile_label(cli), err.msg),
                             rc=err.rc, stderr=err.stderr, stdout=err.stdout, cli_calls=len(cli.calls),
                             flavour=cli.flavour)
        try:
            entries = dm_listing_from_cli(data, channel, now)
        except ValueError as exc:
            module.fail_json(msg="%s (profile %s)" % (exc, profile_label(cli)), cli_calls=len(cli.calls),
                             flavour=cli.flavour)
        module.exit_json(changed=False, pending=[summarise_dm_request(e, now) for e in entries],
                         cli_calls=len(cli.calls), flavour=cli.flavour)

    credentials_dir = resolve_credentials_dir(cli)
    try:
        state = read_dm_state(credentials_dir, channel, now)
    except (OSError, ValueError) as exc:
        module.fail_json(msg=str(exc), credentials_dir=credentials_dir, cli_calls=0, flavour=cli.flavour)
    module.exit_json(changed=False,
                     pending=[summarise_dm_request(e, now) for e in state["pending_entries"]],
                     expired_count=state["expired_count"],
                     allow_from=state["allow_from"],
                     credentials_dir=credentials_dir,
                     cli_calls=0,
                     flavour=cli.flavour)


if __name__ == "__main__":
    main()
