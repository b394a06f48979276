#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: converge_stamp
short_description: Tell whether a host is still as the last full converge, which changed nothing, left it
description:
  - Lets C(playbooks/site.yml) skip the roles on a host where nothing would change, with one read of the host
    instead of one per role.
  - O(state=check) digests the play's inputs (every variable named C(node_runtime_*), C(clawdbot_*),
    C(systemd_linger_*), C(spark_provider_*), C(profiles_*), C(tailscale_serve_*), C(homelab_*), the collection's own
    files and the ansible-core version) and reads the host again with the requests the roles made in the last full
    run (M(homelab.clawdbot.host_fingerprint)), as one digest. RV(match) is true only when the inputs, the
    collection and that digest are the same as after the last full run B(and) that run changed nothing the digest
    covers; so after any change one more full run checks that nothing is left to do before a run is skipped.
  - O(state=record) reads the host with the requests the roles made in this run (O(reads)) and keeps the record for
    the next run, in O(cache_dir) on the controller (one JSON file per host, mode 0600, no secret in it, only digests
    and paths). The host is not changed; the task always reports C(changed=false).
  - Without a record (first run, a new controller, an ephemeral execution environment) every run is a full run.
version_added: 0.3.0
author: Homelab Clawdbot maintainers (@homelab-clawdbot)
options:
  state:
    description:
      - V(check) compares, V(record) keeps the record of a full run.
    type: str
    choices: [check, record]
    default: check
  cache_dir:
    description:
      - Directory on the controller for the records (C(~) is expanded). Empty turns the check off (RV(match) is
        always false).
      - A directory that cannot be used (no write access, a file in its place) gives a warning and RV(match=false),
        so every role runs; the run does not fail.
    type: str
    required: true
  volatile:
    description:
      - A reason why this run must not be skipped whatever the record says (for example a version resolved from
        the registry on every run); empty when there is none.
    type: str
    default: ''
  check:
    description:
      - With O(state=record), the registered result of this module's O(state=check) in the same run (its inputs
        and its read of the host before the converge).
    type: dict
  reads:
    description:
      - With O(state=record), the registered results of M(homelab.clawdbot.host_state_info) of this run (their
        C(request)), or plain request mappings with the same keys.
    type: list
    elements: raw
    default: []
  paths:
    description:
      - With O(state=record), more paths whose state counts (for example the gateway configs and C(/etc/machine-id)).
    type: list
    elements: str
    default: []
notes:
  - Runs on the controller and reads the host through M(homelab.clawdbot.host_fingerprint).
  - What the record does not cover is checked on every run by the playbook itself (Spark, Tailscale Serve, the
    preflight). Set C(clawdbot_converge_cache_dir) to an empty string to run every role on every run.
attributes:
  action:
    description: Runs on the controller.
    support: full
  check_mode:
    description: O(state=check) runs in check mode; O(state=record) writes nothing in check mode.
    support: full
  diff_mode:
    description: Nothing on the host changes, so there is no diff.
    support: none
  platform:
    description: Target OS family.
    support: full
    platforms: posix
seealso:
  - module: homelab.clawdbot.host_fingerprint
  - module: homelab.clawdbot.host_state_info
"""

EXAMPLES = r"""
- name: Compare the host with the last full run
  homelab.clawdbot.converge_stamp:
    cache_dir: ~/.cache/homelab-clawdbot/converged
  register: stamp

- name: Converge (only when something may differ)
  ansible.builtin.include_tasks: converge.yml
  when: not stamp.match

- name: Keep the record of this full run
  homelab.clawdbot.converge_stamp:
    state: record
    cache_dir: ~/.cache/homelab-clawdbot/converged
    check: "{{ stamp }}"
    reads: ["{{ node_state }}", "{{ profiles_state }}"]
    paths: [/etc/machine-id]
  when: not stamp.match and not ansible_check_mode
"""

RETURN = r"""
match:
  description: Whether the host may skip the converge (O(state=check)).
  returned: always
  type: bool
reason:
  description: "Why the host may or may not skip the converge, for example C(inputs changed: profiles_list)."
  returned: when state is check, or when the record was not written
  type: str
  sample: the host changed since the last run
inputs:
  description: A digest per input variable (names and digests only), used to name the inputs that changed.
  returned: when state is check and cache_dir is set
  type: dict
inputs_digest:
  description: One digest of the inputs, the collection and the ansible-core version.
  returned: when state is check and cache_dir is set
  type: str
spec:
  description: The requests of the last full run (paths and unit names), or V(null) without a record.
  returned: when state is check and cache_dir is set
  type: dict
before:
  description: The host's digest read with RV(spec) before the converge, or V(null) without a record.
  returned: when state is check and cache_dir is set
  type: str
record:
  description: The record file on the controller.
  returned: when cache_dir is set
  type: str
recorded:
  description: Whether the record was written (O(state=record)).
  returned: when state is record
  type: bool
verified:
  description: Whether this full run changed nothing the digest covers (the next run may then be skipped).
  returned: when state is record and the record was written
  type: bool
digest:
  description: The host's digest after this run (O(state=record)).
  returned: when state is record and the record was written
  type: str
"""
