#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: dm_pairing
short_description: Approve an OpenClaw (or Clawdbot) DM pairing code (Telegram, WhatsApp, Discord, ...)
description:
  - When an unknown sender messages the bot on a channel with DM policy C(pairing), the bot answers with an
    8 character pairing code. This module approves such a code for one profile, which adds the sender to
    the channel's allow list.
  - The approval itself runs C(pairing approve <channel> <CODE>) on both flavours (O(flavour)). What is read
    before differs, because the stores differ.
  - On V(openclaw) (the default flavour) the pending requests and the allow list are tables of
    C(<stateDir>/state/openclaw.sqlite), which this module never opens. It runs C(pairing list <channel> --json)
    (read-only on openclaw) to find the code, then C(pairing approve); the result is taken from the CLI's answer
    (C(Approved <channel> sender <id>.)). The allow list cannot be read, so RV(allow_from) is not returned.
  - On V(clawdbot) the pending requests and the allow list are read directly from the profile's store files
    (C(<stateDir>/credentials/<channel>-pairing.json) and C(<channel>-allowFrom.json)), applying the CLI's
    rules (a code is pending for 1 hour from its creation). C(pairing list) is not used there because it creates
    the store file as a side effect. After C(pairing approve) (the CLI locks the store, removes the request and
    writes the allow list) the result is verified by reading the allow list again.
  - No gateway is needed.
version_added: 0.1.0
author: Homelab Clawdbot maintainers (@homelab-clawdbot)
requirements:
  - The gateway CLI (C(openclaw), or C(clawdbot) for the legacy flavour) installed for the gateway user.
  - On the clawdbot flavour, read access to the gateway user's state dir (run as root or as the gateway user).
  - C(runuser) (util-linux) when the module runs as root for another O(user).
extends_documentation_fragment:
  - homelab.clawdbot.cli
options:
  state:
    description:
      - V(approved) approves the pending request with O(code). Use M(homelab.clawdbot.dm_pairing_info) to list.
    type: str
    choices: [approved]
    default: approved
  channel:
    description:
      - The channel the code was issued on, for example V(telegram), V(whatsapp), V(signal), V(discord),
        V(slack) or V(imessage).
      - Must match C(^[a-z][a-z0-9_-]{0,63}$).
    type: str
    default: telegram
  code:
    description:
      - The pairing code the bot sent to the user. Case-insensitive; 8 characters from
        C(ABCDEFGHJKLMNPQRSTUVWXYZ23456789).
    type: str
    required: true
  notify:
    description:
      - Let the CLI message the user through the channel once approved (C(--notify)).
    type: bool
    default: false
  sender_id:
    description:
      - The sender id (for Telegram the chat id) the code is expected to belong to. A pending code of another
        sender is refused.
      - On the clawdbot flavour, when the code is no longer pending but this sender is already in the allow list,
        nothing changes (idempotent re-runs). On openclaw the allow list is in SQLite and cannot be checked, so a
        code that is no longer pending fails even for a sender approved before.
    type: str
attributes:
  check_mode:
    description:
      - Reports what would be approved; nothing is approved or created.
      - openclaw - runs C(pairing list <channel> --json) only (read-only there).
      - clawdbot - reads the store files only, no CLI call.
    support: full
  diff_mode:
    description: Shows the pending codes (and, on clawdbot, the allow list) before and after.
    support: full
  platform:
    description: Target OS family.
    support: full
    platforms: posix
notes:
  - Codes expire 1 hour after the first message of the sender; an expired code cannot be approved, the user
    has to message the bot again.
  - On openclaw the first approval of a profile also writes C(commands.ownerAllowFrom) into its config, making
    that sender the command owner (contract 5), unless the config already sets it. The module warns when the CLI
    reports this; set C(commands.ownerAllowFrom) in the managed config to avoid it.
  - O(gateway_url), O(gateway_token) and O(timeout) are accepted for symmetry with the other modules; the
    C(pairing) commands use none of them.
seealso:
  - module: homelab.clawdbot.dm_pairing_info
  - module: homelab.clawdbot.device_pairing
"""

EXAMPLES = r"""
- name: Approve the Telegram pairing code the bot sent to me (openclaw, the default flavour)
  homelab.clawdbot.dm_pairing:
    profile: personal
    user: clawdbot
    channel: telegram
    code: abcd2345
    sender_id: "987654321"
    notify: true

- name: Approve a WhatsApp code given on the command line (-e code=...)
  homelab.clawdbot.dm_pairing:
    profile: work
    user: clawdbot
    channel: whatsapp
    code: "{{ code }}"

- name: Approve a code on a legacy clawdbot host (idempotent once the sender is allowed)
  homelab.clawdbot.dm_pairing:
    flavour: clawdbot
    profile: personal
    user: clawdbot
    channel: telegram
    code: abcd2345
    sender_id: "123456789"
"""

RETURN = r"""
approved:
  description: The request approved (or, in check mode, that would be approved); empty when nothing changed.
  returned: always
  type: dict
  contains:
    id:
      description: Sender id (Telegram chat id).
      type: str
    code:
      description: The code, upper-cased.
      type: str
    meta:
      description: Sender details stored by the channel (Telegram username, firstName, lastName; openclaw adds
        accountId).
      type: dict
  sample:
    id: "987654321"
    code: ABCD2345
    meta:
      username: probeuser
      firstName: Probe
      accountId: default
pending:
  description: Codes still pending on the channel after this run, oldest first.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Sender id.
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
      description: Sender details.
      type: dict
    expiresInSeconds:
      description: Seconds until the code expires.
      type: int
  sample: []
allow_from:
  description:
    - Sender ids in the channel's allow list after this run.
    - Not returned on openclaw, whose allow list is in SQLite and is not read.
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
  description:
    - Number of CLI invocations made.
    - openclaw - 1 for the list, plus 1 for an approval.
    - clawdbot - 1 for an approval, otherwise 0.
  returned: always
  type: int
  sample: 2
flavour:
  description: The flavour the CLI was run as (see O(flavour)).
  returned: always
  type: str
  sample: openclaw
msg:
  description: What was done.
  returned: always
  type: str
  sample: approved telegram sender 987654321 (code ABCD2345) on profile personal
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.homelab.clawdbot.plugins.module_utils.clawdbot_cli import (
    CLI_ARGUMENT_SPEC,
    CLIError,
    ClawdbotCLI,
    first_error_line,
)
from ansible_collections.homelab.clawdbot.plugins.module_utils.clawdbot_pairing import (
    dm_approved_sender,
    dm_listing_from_cli,
    dm_owner_line,
    find_dm_request,
    is_dm_unknown_code,
    normalise_allow_entry,
    normalise_code,
    profile_label,
    read_dm_state,
    resolve_credentials_dir,
    summarise_dm_request,
    uses_sqlite_stores,
    validate_channel,
)


def now_ms():
    return int(time.time() * 1000)


def unknown_code_message(channel, code):
    return ("no pending %s pairing request for code %s (codes expire after 1 hour): ask the user to message "
            "the bot again to get a new code" % (channel, code))


def plan_dm_approval(pending_entries, allow_from, channel, code, sender_id=None):
    """Decide what to do with ``code``. Returns dict(action=approve|noop|fail, entry, msg).

    ``allow_from`` None means the allow list cannot be read (openclaw keeps it in SQLite): no no-op then."""
    entry = find_dm_request(pending_entries, code)
    sender = normalise_allow_entry(channel, sender_id) if sender_id is not None else None
    if entry is not None:
        if sender is not None and normalise_allow_entry(channel, entry.get("id")) != sender:
            return dict(action="fail", entry=entry,
                        msg=("%s pairing code %s belongs to sender %s, not to sender_id %s: refusing to approve"
                             % (channel, code, entry.get("id"), sender_id)))
        return dict(action="approve", entry=entry, msg=None)
    if sender is not None and allow_from is not None and sender in allow_from:
        return dict(action="noop", entry=None,
                    msg="%s sender %s is already approved (code %s is no longer pending)" % (channel, sender, code))
    msg = unknown_code_message(channel, code)
    if sender is not None and allow_from is None:
        msg += ("; whether sender %s is already approved cannot be checked (the allow list is in SQLite, which "
                "this module does not read)" % sender)
    return dict(action="fail", entry=None, msg=msg)


def approved_summary(entry):
    meta = entry.get("meta")
    return dict(id=entry.get("id"), code=str(entry.get("code", "")).upper(),
                meta=dict(meta) if isinstance(meta, dict) else {})


def diff_state(pending, allow_from):
    return dict(pending=[p["code"] for p in pending], allow_from=list(allow_from))


def argument_spec():
    spec = dict(CLI_ARGUMENT_SPEC)
    spec.update(
        state=dict(type="str", default="approved", choices=["approved"]),
        channel=dict(type="str", default="telegram"),
        code=dict(type="str", required=True),
        notify=dict(type="bool", default=False),
        sender_id=dict(type="str"),
    )
    return spec


def run_store_files(module, cli, channel, code):
    """clawdbot: read the JSON stores, approve with the CLI, verify in the allow list (contract 5)."""
    p = module.params
    profile = profile_label(cli)
    credentials_dir = resolve_credentials_dir(cli)
    now = now_ms()

    def read_state():
        try:
            return read_dm_state(credentials_dir, channel, now_ms())
        except (OSError, ValueError) as exc:
            module.fail_json(msg=str(exc), cli_calls=len(cli.calls), credentials_dir=credentials_dir,
                             flavour=cli.flavour)

    before = read_state()
    before_pending = [summarise_dm_request(e, now) for e in before["pending_entries"]]
    common = dict(credentials_dir=credentials_dir, flavour=cli.flavour)

    plan = plan_dm_approval(before["pending_entries"], before["allow_from"], channel, code, p["sender_id"])
    if plan["action"] == "fail":
        module.fail_json(msg=plan["msg"], changed=False, approved={}, pending=before_pending,
                         allow_from=before["allow_from"], cli_calls=len(cli.calls), **common)
    if plan["action"] == "noop":
        result = dict(changed=False, msg=plan["msg"], approved={}, pending=before_pending,
                      allow_from=before["allow_from"], cli_calls=len(cli.calls), **common)
        if module._diff:
            state = diff_state(before_pending, before["allow_from"])
            result["diff"] = dict(before=state, after=state)
        module.exit_json(**result)

    entry = plan["entry"]
    sender = normalise_allow_entry(channel, entry.get("id"))
    if module.check_mode:
        after_pending = [x for x in before_pending if x["code"] != code]
        after_allow = list(before["allow_from"])
        if sender not in after_allow:
            after_allow.append(sender)
        msg = "would approve %s sender %s (code %s) on profile %s" % (channel, sender, code, profile)
    else:
        args = ["pairing", "approve", channel, code]
        if p["notify"]:
            args.append("--notify")
        rc, out, err = cli.run(args)
        if rc != 0:
            text = "%s\n%s" % (err, out)
            after = read_state()
            pending = [summarise_dm_request(e, now) for e in after["pending_entries"]]
            if is_dm_unknown_code(text):
                module.fail_json(msg=unknown_code_message(channel, code), changed=False, approved={},
                                 pending=pending, allow_from=after["allow_from"], cli_calls=len(cli.calls),
                                 **common)
            module.fail_json(msg="pairing approve failed on profile %s: %s"
                             % (profile, cli.redact(first_error_line(err, out)) or "rc %s" % rc),
                             rc=rc, stderr=cli.redact(err), stdout=cli.redact(out), changed=False, approved={},
                             pending=pending, allow_from=after["allow_from"], cli_calls=len(cli.calls), **common)
        after = read_state()
        after_pending = [summarise_dm_request(e, now) for e in after["pending_entries"]]
        after_allow = after["allow_from"]
        reported = dm_approved_sender(out)
        if sender not in after_allow:
            module.fail_json(
                msg=("the CLI approved code %s (%s) but %s does not list sender %s; the module and the CLI "
                     "may resolve different state dirs (check profile, binary and cli_env)"
                     % (code, out.strip() or "no output", after["allow_from_file"], sender)),
                changed=True, approved=approved_summary(entry), pending=after_pending, allow_from=after_allow,
                cli_calls=len(cli.calls), **common)
        if reported and normalise_allow_entry(channel, reported) != sender:
            module.warn("the CLI reported approving sender %s, expected %s" % (reported, sender))
        msg = "approved %s sender %s (code %s) on profile %s" % (channel, sender, code, profile)

    result = dict(changed=True, msg=msg, approved=approved_summary(entry), pending=after_pending,
                  allow_from=after_allow, cli_calls=len(cli.calls), **common)
    if module._diff:
        result["diff"] = dict(before=diff_state(before_pending, before["allow_from"]),
                              after=diff_state(after_pending, after_allow))
    module.exit_json(**result)


def run_cli_only(module, cli, channel, code):
    """openclaw: the stores are SQLite tables, so only ``pairing list --json`` and ``pairing approve`` are used."""
    p = module.params
    profile = profile_label(cli)
    now = now_ms()
    common = dict(flavour=cli.flavour)

    try:
        data = cli.run_json(["pairing", "list", channel])
    except CLIError as err:
        module.fail_json(msg="pairing list %s failed on profile %s: %s" % (channel, profile, err.msg), rc=err.rc,
                         stderr=err.stderr, stdout=err.stdout, changed=False, approved={}, pending=[],
                         cli_calls=len(cli.calls), **common)
    try:
        before_entries = dm_listing_from_cli(data, channel, now)
    except ValueError as exc:
        module.fail_json(msg="%s (profile %s)" % (exc, profile), changed=False, approved={}, pending=[],
                         cli_calls=len(cli.calls), **common)
    before_pending = [summarise_dm_request(e, now) for e in before_entries]

    plan = plan_dm_approval(before_entries, None, channel, code, p["sender_id"])
    if plan["action"] != "approve":
        module.fail_json(msg=plan["msg"], changed=False, approved={}, pending=before_pending,
                         cli_calls=len(cli.calls), **common)

    entry = plan["entry"]
    sender = normalise_allow_entry(channel, entry.get("id"))
    after_pending = [x for x in before_pending if x["code"] != code]
    if module.check_mode:
        msg = "would approve %s sender %s (code %s) on profile %s" % (channel, sender, code, profile)
    else:
        args = ["pairing", "approve", channel, code]
        if p["notify"]:
            args.append("--notify")
        rc, out, err = cli.run(args)
        if rc != 0:
            if is_dm_unknown_code("%s\n%s" % (err, out)):
                # expired or approved elsewhere between the list and the approval
                module.fail_json(msg=unknown_code_message(channel, code), changed=False, approved={},
                                 pending=after_pending, cli_calls=len(cli.calls), **common)
            module.fail_json(msg="pairing approve failed on profile %s: %s"
                             % (profile, cli.redact(first_error_line(err, out)) or "rc %s" % rc),
                             rc=rc, stderr=cli.redact(err), stdout=cli.redact(out), changed=False, approved={},
                             pending=before_pending, cli_calls=len(cli.calls), **common)
        reported = dm_approved_sender(out)
        if reported is None:
            module.warn("pairing approve %s %s exited 0 without the line 'Approved %s sender <id>.' (%s)"
                        % (channel, code, channel, out.strip() or "no output"))
        elif normalise_allow_entry(channel, reported) != sender:
            module.warn("the CLI reported approving sender %s, expected %s" % (reported, sender))
        owner = dm_owner_line(out)
        if owner:
            module.warn("%s: the CLI wrote commands.ownerAllowFrom into the config of profile %s, so this sender is "
                        "now its command owner; set commands.ownerAllowFrom in the managed config to choose it"
                        % (owner, profile))
        msg = "approved %s sender %s (code %s) on profile %s" % (channel, sender, code, profile)

    result = dict(changed=True, msg=msg, approved=approved_summary(entry), pending=after_pending,
                  cli_calls=len(cli.calls), **common)
    if module._diff:
        result["diff"] = dict(before=dict(pending=[x["code"] for x in before_pending]),
                              after=dict(pending=[x["code"] for x in after_pending]))
    module.exit_json(**result)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    p = module.params
    channel = p["channel"]
    error = validate_channel(channel)
    if error:
        module.fail_json(msg=error)
    code, error = normalise_code(p["code"])
    if error:
        module.fail_json(msg=error)
    cli = ClawdbotCLI.from_params(module)
    if uses_sqlite_stores(cli):
        run_cli_only(module, cli, channel, code)
    else:
        run_store_files(module, cli, channel, code)


if __name__ == "__main__":
    main()
