#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: device_pairing
short_description: Approve or reject pending device pairing requests of an OpenClaw (or Clawdbot) gateway
description:
  - Approves or rejects pending device pairing requests of one profile's gateway, such as the Control UI opened
    from another machine, a TUI, a remote CLI or a node. Works with both flavours (O(flavour)), the current
    C(openclaw) CLI and the legacy C(clawdbot) CLI.
  - Lists the pending requests once, decides which of them are meant, then runs
    C(devices approve <requestId> --json) or C(devices reject <requestId> --json) once per chosen request.
    Every CLI call costs one to a few seconds; the result is built from the list and the approve/reject
    responses without listing again.
  - On openclaw the list is read from the gateway's own store, read-only and as the gateway user (see
    O(list_from)), which saves the C(devices list --json) call; on clawdbot, with O(gateway_url), or when the
    store is not what this module knows, C(devices list --json) is run.
  - C(devices approve) is never run without a request id (on openclaw that only previews the newest request).
  - The C(devices) commands are RPCs of the running gateway, so the gateway service of the profile must be
    running. The gateway keeps pending requests for 5 minutes only; a client that retries later gets a new
    request id.
  - Select requests by O(request_id), or by the selectors O(client_id), O(remote_ip), O(device_id) and
    O(role) (all given selectors must match). Without O(newest) or O(all_matching), exactly one pending
    request must match, otherwise the module fails, approves nothing and lists the candidates (request id,
    client id, remote address and age) in RV(msg) and RV(candidates), with RV(kind=ambiguous) or
    RV(kind=no_match).
  - Tokens are never returned; paired devices only report a token count.
version_added: 0.1.0
author: Homelab Clawdbot maintainers (@homelab-clawdbot)
requirements:
  - The gateway CLI (C(openclaw), or C(clawdbot) for the legacy flavour) installed for the gateway user.
  - The gateway of the profile running (C(devices) commands are gateway RPCs).
  - C(runuser) (util-linux) when the module runs as root for another O(user).
extends_documentation_fragment:
  - homelab.clawdbot.cli
options:
  state:
    description:
      - V(approved) approves the selected pending requests, V(rejected) rejects them.
    type: str
    choices: [approved, rejected]
    default: approved
  request_id:
    description:
      - The request id shown by the Control UI or TUI (C(pairing required)) or by C(devices list).
      - Mutually exclusive with O(client_id), O(remote_ip), O(role), O(newest) and O(all_matching).
        O(device_id) may be combined with it; it must then match the request's device, and when the
        request is no longer pending but the device is already paired the module reports no change.
      - With O(state=approved), a request id that is not pending (expired, already used or mistyped) fails
        with guidance. With O(state=rejected) it is reported as unchanged, with a warning. The same holds when
        the CLI itself answers that the id is not pending (openclaw C(No pending device request matches <id>)
        or C(unknown requestId), clawdbot C(unknown requestId)).
    type: str
  client_id:
    description:
      - Select pending requests by client id, for example V(openclaw-control-ui) (the browser Control UI of the
        openclaw flavour; V(clawdbot-control-ui) on the clawdbot flavour), V(openclaw-tui), V(cli) or V(node).
    type: str
  remote_ip:
    description:
      - Select pending requests by the client's address as seen by the gateway (C(remoteIp)). openclaw reports
        no address for local clients, so such requests never match this selector.
    type: str
  device_id:
    description:
      - Select pending requests by device id (the device's public key fingerprint).
      - When no matching request is pending and this device is already paired, nothing changes.
    type: str
  role:
    description:
      - Select pending requests by requested role (C(role) or one of C(roles)), for example V(operator)
        or V(node).
    type: str
  newest:
    description:
      - When several pending requests match, act on the newest one only.
      - May be used without other selectors to act on the newest pending request of the gateway.
      - Mutually exclusive with O(all_matching) and O(request_id).
    type: bool
    default: false
  all_matching:
    description:
      - Act on every pending request that matches the selectors. Without any selector this means every
        pending request of the gateway, which must be asked for explicitly with this option.
      - When nothing matches, the module reports no change instead of failing.
      - Mutually exclusive with O(newest) and O(request_id).
    type: bool
    default: false
  list_from:
    description:
      - Where the pending requests and paired devices are listed from.
      - V(auto) reads the tables C(device_pairing_pending) and C(device_pairing_paired) of
        C(<stateDir>/state/openclaw.sqlite) the way the gateway answers C(devices list) (read-only, as the
        gateway user, requests older than the 5 minute TTL left out, no key and no token selected) when the
        flavour is openclaw, O(gateway_url) is not set and the file has the tables and columns of openclaw
        2026.9; otherwise, and with V(cli), it runs C(devices list --json). RV(listed_from) says which one was used.
      - The approval or rejection itself always goes through the CLI and the running gateway, whose own check
        refuses a request that is no longer pending.
    type: str
    choices: [auto, cli]
    default: auto
    version_added: 0.3.0
  port:
    description:
      - The gateway port of the profile. Only used to name the gateway address in the error message when
        the gateway is not reachable and the CLI did not name it; the CLI finds the profile's port itself.
    type: int
attributes:
  check_mode:
    description: Lists the requests (read-only) and reports what would be approved or rejected; no approve/reject call is made.
    support: full
  diff_mode:
    description: Shows pending request ids and paired device ids before and after.
    support: full
  platform:
    description: Target OS family.
    support: full
    platforms: posix
notes:
  - A request that expired or was already approved cannot be mapped back to its device from the list output,
    so approving a stale O(request_id) fails unless O(device_id) is given and already paired.
  - Approving grants the device the role and scopes it asked for (see RV(pending[].scopes)).
  - On openclaw the pairing stores are tables of C(<stateDir>/state/openclaw.sqlite). This module reads the device
    tables read-only (O(list_from=auto)) and changes them only through the CLI.
  - With O(list_from=auto) on openclaw, a gateway that is not running is noticed by the approve/reject call, not by
    the listing. When nothing matches, no CLI call is made at all; the outcome is the one the CLI's list would give
    (RV(kind=no_match), or no change with O(all_matching)).
  - On openclaw the CLI on the gateway host, with the gateway token and a loopback URL, presents no device
    identity, so it never shows up as a pending request itself. Pending requests come from the Control UI, the
    TUI and nodes.
seealso:
  - module: homelab.clawdbot.device_pairing_info
  - module: homelab.clawdbot.dm_pairing
"""

EXAMPLES = r"""
- name: Approve the pending Control UI request of profile personal (openclaw, the default flavour)
  homelab.clawdbot.device_pairing:
    profile: personal
    user: clawdbot
    client_id: openclaw-control-ui

- name: Approve the newest Control UI request coming from the laptop
  homelab.clawdbot.device_pairing:
    profile: personal
    user: clawdbot
    client_id: openclaw-control-ui
    remote_ip: 100.101.102.103
    newest: true

- name: Approve one request by id (as shown by the Control UI or TUI), idempotent once the device is paired
  homelab.clawdbot.device_pairing:
    profile: personal
    user: clawdbot
    request_id: da149e4f-5874-4fdb-be78-e6770f5d0664
    device_id: 8281c11186f3266571716c93526f1b7c49fcc97ff273b37e0411f303cf76ca4c

- name: Reject every pending node request
  homelab.clawdbot.device_pairing:
    profile: personal
    user: clawdbot
    state: rejected
    role: node
    all_matching: true

- name: Approve everything that is pending (explicit)
  homelab.clawdbot.device_pairing:
    profile: work
    user: clawdbot
    all_matching: true
    port: 19100
  register: pairing

- name: Legacy host still on clawdbot - approve its Control UI request
  homelab.clawdbot.device_pairing:
    flavour: clawdbot
    profile: personal
    user: clawdbot
    client_id: clawdbot-control-ui

- name: Control UI client id of the flavour a host installs, from the collection's flavour filter
  homelab.clawdbot.device_pairing:
    flavour: "{{ clawdbot_install_package | default(none) | homelab.clawdbot.flavour('name') }}"
    profile: personal
    user: clawdbot
    client_id: "{{ clawdbot_install_package | default(none) | homelab.clawdbot.flavour('control_ui_client_id') }}"
"""

RETURN = r"""
approved:
  description: Requests approved (or, in check mode, that would be approved).
  returned: always
  type: list
  elements: dict
  sample:
    - requestId: da149e4f-5874-4fdb-be78-e6770f5d0664
      deviceId: 8281c11186f3266571716c93526f1b7c49fcc97ff273b37e0411f303cf76ca4c
      clientId: openclaw-tui
      remoteIp: null
      role: operator
rejected:
  description: Requests rejected (or, in check mode, that would be rejected). Same keys as RV(approved).
  returned: always
  type: list
  elements: dict
  sample: []
pending:
  description: Requests still pending after this run (newest first).
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
      description: Client mode, for example C(webchat), C(ui) or C(cli).
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
      description: Seconds since the request was created (requests expire after 300 s).
      type: int
    displayName:
      description: Optional display name of the device.
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
      ageSeconds: 42
      displayName: openclaw-tui
      isRepair: false
paired:
  description: Paired devices after this run (newly approved first). Tokens are never returned.
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
      description: Approval time, ms since epoch (null for a would-be approval in check mode).
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
    - deviceId: 8281c11186f3266571716c93526f1b7c49fcc97ff273b37e0411f303cf76ca4c
      clientId: openclaw-tui
      clientMode: ui
      platform: linux
      deviceFamily: Linux
      displayName: openclaw-tui
      role: operator
      remoteIp: null
      approvedAtMs: 1796110950123
      approvedVia: owner
      lastSeenAtMs: null
      connected: null
      tokenCount: 1
cli_calls:
  description: Number of CLI invocations made (one per approval/rejection, plus one list when RV(listed_from=cli)).
  returned: always
  type: int
  sample: 1
listed_from:
  description:
    - V(store) when the list was read from the gateway's SQLite store, V(cli) when C(devices list --json) was run.
    - With V(store), C(connected) of RV(paired) is V(null) (only the gateway knows its connections).
  returned: once the list was read (also when the module fails afterwards)
  type: str
  sample: store
  version_added: 0.3.0
store_unavailable:
  description: Why the store was not read although O(list_from=auto) on openclaw (for example a column it lacks).
  returned: when the store could not be used on openclaw
  type: str
  version_added: 0.3.0
flavour:
  description: The flavour the CLI was run as (see O(flavour)).
  returned: always
  type: str
  sample: openclaw
msg:
  description: What was done, or why nothing was done.
  returned: always
  type: str
  sample: "approved 1 request(s) on profile personal: da149e4f-5874-4fdb-be78-e6770f5d0664 (openclaw-control-ui from 100.101.102.103)"
kind:
  description:
    - Why the pending requests did not select what to act on. Only set when the module fails for that reason.
    - V(ambiguous) - several pending requests match and neither O(newest) nor O(all_matching) is set; nothing
      was approved or rejected, RV(candidates) lists them.
    - V(no_match) - no pending request matches the selectors (and O(all_matching) is not set).
    - V(not_pending) - O(request_id) is not pending (expired, already used or mistyped).
    - V(device_mismatch) - O(request_id) belongs to another device than O(device_id).
  returned: failure
  type: str
  sample: ambiguous
candidates:
  description:
    - The pending requests that matched when several did (RV(kind=ambiguous)), newest first, with the same keys
      as RV(pending). Empty for the other failures.
  returned: failure
  type: list
  elements: dict
  sample:
    - requestId: 9b1c2d3e-4f50-4a6b-8c7d-8e9fa0b1c2d3
      deviceId: aa11bb22cc33dd44ee55ff6600778899aabbccddeeff00112233445566778899
      clientId: openclaw-control-ui
      clientMode: webchat
      platform: MacIntel
      deviceFamily: null
      role: operator
      scopes: [operator.admin, operator.approvals, operator.pairing]
      remoteIp: 100.101.102.103
      ageSeconds: 12
      displayName: laptop
      isRepair: false
"""

import sys
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.homelab.clawdbot.plugins.module_utils.clawdbot_cli import (
    CLI_ARGUMENT_SPEC,
    CLIError,
    ClawdbotCLI,
)
from ansible_collections.homelab.clawdbot.plugins.module_utils.clawdbot_pairing import (
    age_seconds,
    gateway_failure_message,
    is_unknown_request,
    normalise_device_listing,
    parse_device_action_text,
    profile_label,
    read_device_store,
    uses_sqlite_stores,
    summarise_paired,
    summarise_pending,
    usable_request_id,
)

SELECTOR_FIELDS = (("client_id", "clientId"), ("remote_ip", "remoteIp"), ("device_id", "deviceId"), ("role", "role"))


def now_ms():
    return int(time.time() * 1000)


def selector_from_params(params):
    return dict((key, params.get(key)) for key, _field in SELECTOR_FIELDS if params.get(key) is not None)


def validate_params(params):
    """Option combinations AnsibleModule cannot express (booleans count only when true). Returns msg or None."""
    if params.get("request_id") is not None:
        clash = [k for k in ("client_id", "remote_ip", "role") if params.get(k) is not None]
        clash += [k for k in ("newest", "all_matching") if params.get(k)]
        if clash:
            return "request_id is mutually exclusive with %s" % ", ".join(clash)
        if not params["request_id"].strip():
            return "request_id must not be empty"
    if params.get("newest") and params.get("all_matching"):
        return "newest and all_matching are mutually exclusive"
    if (params.get("request_id") is None and not selector_from_params(params)
            and not params.get("newest") and not params.get("all_matching")):
        return ("nothing selects a pairing request: give request_id, a selector (client_id, remote_ip, "
                "device_id, role), newest: true, or all_matching: true to act on every pending request")
    return None


def entry_matches(entry, selector):
    """True when a pending or paired entry matches every given selector value."""
    for key, field in SELECTOR_FIELDS:
        want = selector.get(key)
        if want is None:
            continue
        if key == "role":
            roles = entry.get("roles") if isinstance(entry.get("roles"), list) else []
            if entry.get("role") != want and want not in roles:
                return False
        elif entry.get(field) != want:
            return False
    return True


def select_requests(listing, selector):
    """Pending requests matching the selector, newest first."""
    return [e for e in listing["pending"] if entry_matches(e, selector)]


def format_age(seconds):
    """``42 s ago``, ``3 min 5 s ago``, ``age unknown``."""
    if seconds is None:
        return "age unknown"
    if seconds < 60:
        return "%d s ago" % seconds
    return "%d min %d s ago" % (seconds // 60, seconds % 60)


def describe_request(entry, now):
    """One readable candidate: request id, client id, remote address and age."""
    return "requestId %s (clientId %s, from %s, %s)" % (
        entry.get("requestId"), entry.get("clientId") or "-", entry.get("remoteIp") or "-",
        format_age(age_seconds(entry, now)))


def describe_selector(selector, newest=False):
    parts = ["%s=%s" % (k, selector[k]) for k, _f in SELECTOR_FIELDS if k in selector]
    if newest:
        parts.append("newest")
    return ", ".join(parts) if parts else "(any)"


def not_pending_message(request_id, profile):
    return ("request %s is not pending on profile %s (requests expire after 5 minutes and get a new id on "
            "the next attempt): reload the Control UI tab (or re-run the client) to create a fresh request, "
            "then run this again" % (request_id, profile))


def plan_action(listing, state, request_id=None, selector=None, newest=False, all_matching=False,
                now=0, profile="default"):
    """Decide which pending requests to act on.

    Returns a dict: ``targets`` (pending entries), ``msg`` (for a no-op), ``warning`` (optional) and
    ``fail`` (None or a dict with ``msg``, ``kind`` and, for ``kind="ambiguous"``, ``candidates``).
    """
    selector = dict(selector or {})
    paired_ids = set(p.get("deviceId") for p in listing["paired"])
    plan = dict(targets=[], msg=None, warning=None, fail=None)

    if request_id is not None:
        found = [e for e in listing["pending"] if e.get("requestId") == request_id]
        device_id = selector.get("device_id")
        if found:
            entry = found[0]
            if device_id is not None and entry.get("deviceId") != device_id:
                plan["fail"] = dict(msg="request %s on profile %s belongs to device %s, not to device_id %s"
                                    % (request_id, profile, entry.get("deviceId"), device_id),
                                    kind="device_mismatch")
                return plan
            plan["targets"] = [entry]
            return plan
        if state == "approved":
            if device_id is not None and device_id in paired_ids:
                plan["msg"] = ("device %s is already paired on profile %s (request %s is no longer pending)"
                               % (device_id, profile, request_id))
                return plan
            plan["fail"] = dict(msg=not_pending_message(request_id, profile), kind="not_pending")
            return plan
        plan["msg"] = "request %s is not pending on profile %s: nothing to reject" % (request_id, profile)
        plan["warning"] = ("request %s is not pending on profile %s (expired, already handled, or mistyped)"
                           % (request_id, profile))
        return plan

    matches = select_requests(listing, selector)
    what = describe_selector(selector)
    if not matches:
        if state == "approved":
            paired = [p for p in listing["paired"] if selector and entry_matches(p, selector)]
            if paired:
                plan["msg"] = ("already paired on profile %s: %s (no pending request matches %s)"
                               % (profile, ", ".join(str(p.get("deviceId")) for p in paired), what))
                return plan
            if all_matching:
                plan["msg"] = "no pending request matches %s on profile %s" % (what, profile)
                return plan
            candidates = [describe_request(e, now) for e in listing["pending"]]
            plan["fail"] = dict(
                msg=("no pending device pairing request matches %s on profile %s (requests expire after "
                     "5 minutes): reload the Control UI tab (or re-run the client) to create a fresh request, "
                     "then run this again. Pending: %s" % (what, profile, "; ".join(candidates) or "none")),
                kind="no_match")
            return plan
        plan["msg"] = "no pending request matches %s on profile %s: nothing to reject" % (what, profile)
        return plan

    if len(matches) == 1 or all_matching:
        plan["targets"] = matches
    elif newest:
        plan["targets"] = matches[:1]
    else:
        candidates = [describe_request(e, now) for e in matches]
        plan["fail"] = dict(
            msg=("%d pending requests match %s on profile %s, so none was %s: %s. Pick the one you opened by "
                 "request_id (or narrow the selector with remote_ip or device_id), or set newest: true or "
                 "all_matching: true"
                 % (len(matches), what, profile, state, "; ".join(candidates))),
            kind="ambiguous", candidates=matches)
    return plan


def acted_summary(entry, response=None):
    device = response.get("device") if isinstance(response, dict) else None
    if not isinstance(device, dict):
        device = {}
    out = dict(requestId=entry.get("requestId"))
    for key in ("deviceId", "clientId", "remoteIp", "role"):
        out[key] = device.get(key, entry.get(key))
    if isinstance(response, dict) and response.get("deviceId") and not device:
        out["deviceId"] = response.get("deviceId")
    return out


def build_after(listing, approved, rejected, approve_responses, now):
    """Pending/paired summaries after the run, without listing again."""
    acted = set(a["requestId"] for a in approved) | set(r["requestId"] for r in rejected)
    pending = [summarise_pending(e, now) for e in listing["pending"] if e.get("requestId") not in acted]
    new_paired = []
    for entry, response in approve_responses:
        device = response.get("device") if isinstance(response, dict) else None
        if isinstance(device, dict):
            new_paired.append(summarise_paired(device))
        else:  # check mode: what the approval would produce
            summary = summarise_paired(entry)
            summary["approvedAtMs"] = None
            new_paired.append(summary)
    new_ids = set(p["deviceId"] for p in new_paired)
    paired = new_paired + [summarise_paired(p) for p in listing["paired"] if p.get("deviceId") not in new_ids]
    return pending, paired


def diff_state(pending, paired):
    return dict(pending=[p["requestId"] for p in pending], paired=[p["deviceId"] for p in paired])


def argument_spec():
    spec = dict(CLI_ARGUMENT_SPEC)
    spec.update(
        state=dict(type="str", default="approved", choices=["approved", "rejected"]),
        request_id=dict(type="str"),
        client_id=dict(type="str"),
        remote_ip=dict(type="str"),
        device_id=dict(type="str"),
        role=dict(type="str"),
        newest=dict(type="bool", default=False),
        all_matching=dict(type="bool", default=False),
        list_from=dict(type="str", default="auto", choices=["auto", "cli"]),
        port=dict(type="int"),
    )
    return spec


def rpc_args(module):
    return ["--timeout", str(int(module.params["timeout"] or 30) * 1000)]


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    p = module.params
    error = validate_params(p)
    if error:
        module.fail_json(msg=error)

    cli = ClawdbotCLI.from_params(module)
    profile = profile_label(cli)
    state = p["state"]
    now = now_ms()

    def fail_call(err, **extra):
        result = dict(msg=gateway_failure_message(cli, err, p["port"]), rc=err.rc, cmd=err.cmd,
                      cli_calls=len(cli.calls), flavour=cli.flavour)
        result.update(extra)
        module.fail_json(**result)

    listing, listed_from, store_unavailable = None, "cli", None
    if p["list_from"] == "auto" and uses_sqlite_stores(cli):
        listing, store_unavailable = read_device_store(cli, sys.executable, now)
        if listing is not None:
            listed_from = "store"
    if listing is None:
        try:
            data = cli.run_json(["devices", "list"] + rpc_args(module), with_gateway=True)
        except CLIError as err:
            fail_call(err, changed=False)
        try:
            listing = normalise_device_listing(data)
        except ValueError as exc:
            module.fail_json(msg="%s (profile %s)" % (exc, profile), cli_calls=len(cli.calls), flavour=cli.flavour)
    extra = dict(listed_from=listed_from)
    if store_unavailable:
        extra["store_unavailable"] = store_unavailable

    plan = plan_action(listing, state, request_id=p["request_id"], selector=selector_from_params(p),
                       newest=p["newest"], all_matching=p["all_matching"], now=now, profile=profile)
    before_pending = [summarise_pending(e, now) for e in listing["pending"]]
    before_paired = [summarise_paired(e) for e in listing["paired"]]

    if plan["fail"]:
        module.fail_json(msg=plan["fail"]["msg"], kind=plan["fail"].get("kind"), changed=False,
                         approved=[], rejected=[], pending=before_pending, paired=before_paired,
                         candidates=[summarise_pending(e, now) for e in plan["fail"].get("candidates", [])],
                         cli_calls=len(cli.calls), flavour=cli.flavour, **extra)
    if plan["warning"]:
        module.warn(plan["warning"])
    # Never run `devices approve` without an id: openclaw then only previews the newest request (rc 1).
    unusable = [e for e in plan["targets"] if not usable_request_id(e.get("requestId"))]
    if unusable:
        module.fail_json(msg=("devices list on profile %s returned %d pending request(s) without a usable requestId "
                              "(%r); refusing to run devices %s without one"
                              % (profile, len(unusable), [e.get("requestId") for e in unusable],
                                 "approve" if state == "approved" else "reject")),
                         changed=False, approved=[], rejected=[], pending=before_pending, paired=before_paired,
                         cli_calls=len(cli.calls), flavour=cli.flavour)

    approved, rejected, approve_responses = [], [], []
    verb = "approve" if state == "approved" else "reject"
    for entry in plan["targets"]:
        rid = entry.get("requestId")
        response = None
        if not module.check_mode:
            try:
                response = cli.run_json(["devices", verb, rid] + rpc_args(module), with_gateway=True,
                                        text_fallback=lambda out: parse_device_action_text(verb, out))
            except CLIError as err:
                if any(is_unknown_request(text) for text in (err.stderr, err.stdout, err.msg)):
                    if state == "rejected":
                        module.warn("request %s disappeared before it could be rejected (expired or handled "
                                    "elsewhere)" % rid)
                        continue
                    pending, paired = build_after(listing, approved, rejected, approve_responses, now)
                    module.fail_json(msg=not_pending_message(rid, profile), kind="not_pending",
                                     changed=bool(approved), approved=approved, rejected=rejected,
                                     pending=[x for x in pending if x["requestId"] != rid], paired=paired,
                                     cli_calls=len(cli.calls), flavour=cli.flavour, **extra)
                pending, paired = build_after(listing, approved, rejected, approve_responses, now)
                fail_call(err, changed=bool(approved or rejected), approved=approved, rejected=rejected,
                          pending=pending, paired=paired, stderr=cli.redact(err.stderr))
        if state == "approved":
            approved.append(acted_summary(entry, response))
            approve_responses.append((entry, response))
        else:
            rejected.append(acted_summary(entry, response))

    pending, paired = build_after(listing, approved, rejected, approve_responses, now)
    acted = approved or rejected
    if acted:
        prefix = "would %s" % verb if module.check_mode else "%s" % ("approved" if state == "approved" else "rejected")
        msg = "%s %d request(s) on profile %s: %s" % (
            prefix, len(acted), profile,
            ", ".join("%s (%s from %s)" % (a["requestId"], a.get("clientId"), a.get("remoteIp") or "-")
                      for a in acted))
    else:
        msg = plan["msg"] or "nothing to do on profile %s" % profile

    result = dict(changed=bool(acted), msg=msg, approved=approved, rejected=rejected, pending=pending,
                  paired=paired, cli_calls=len(cli.calls), flavour=cli.flavour, **extra)
    if module._diff:
        result["diff"] = dict(before=diff_state(before_pending, before_paired), after=diff_state(pending, paired))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
