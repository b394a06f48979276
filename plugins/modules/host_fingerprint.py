#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: host_fingerprint
short_description: One digest of the host state that the roles read, without returning any of it
description:
  - Reads what one or more M(homelab.clawdbot.host_state_info) requests read (their C(request) return value) and
    returns a single SHA-256 digest of it, and nothing else.
  - Every file that is read, listed as C(read), C(manifests) or C(secret_files) of a request in O(requests),
    counts with its whole content (its SHA-1), not only the parts that host_state_info returns; so does every
    regular file of a request's C(paths) up to 8 MiB (larger ones, such as a node binary, count with their size).
    Directories and links count with their type, mode, owner and target. Modification times never count.
  - M(homelab.clawdbot.converge_stamp) uses it to tell whether a host is still in the state its last full
    converge left it in. Content of secret-bearing files goes into the digest only, never into the result.
version_added: 0.3.0
author: Homelab Clawdbot maintainers (@homelab-clawdbot)
options:
  requests:
    description:
      - The C(request) return values of M(homelab.clawdbot.host_state_info), each a mapping with the keys C(paths),
        C(secret_files) (paths), C(read), C(manifests), C(users), C(packages) and C(user_units) (C(user), C(units)).
      - Missing keys count as empty.
    type: list
    elements: dict
    required: true
  paths:
    description:
      - More paths to count, in addition to those of O(requests) (for example C(/etc/machine-id), so that a
        rebuilt host with the same content never matches the digest of the one before it).
    type: list
    elements: str
    default: []
notes:
  - Runs as root for user units and for paths only root can read.
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
  - module: homelab.clawdbot.host_state_info
  - module: homelab.clawdbot.converge_stamp
"""

EXAMPLES = r"""
- name: Read the install state
  homelab.clawdbot.host_state_info:
    paths: [/usr/local/bin/openclaw]
    users: [user]
  register: state

- name: One digest of the same state (and the machine id)
  homelab.clawdbot.host_fingerprint:
    requests: ["{{ state.request }}"]
    paths: [/etc/machine-id]
  register: fingerprint
"""

RETURN = r"""
digest:
  description: SHA-256 (hex) over everything read, in a stable order.
  returned: always
  type: str
  sample: 0f4e7d4b1e8f5c0b6b7c2a9d3e1f0a2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d1e3f
counted:
  description: How many paths, users, packages and units went into the digest.
  returned: always
  type: int
  sample: 42
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.homelab.clawdbot.plugins.module_utils.host_state import digest_of, fingerprint


def main():
    module = AnsibleModule(
        argument_spec=dict(
            requests=dict(type="list", elements="dict", required=True),
            paths=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    state, counted = fingerprint(module, module.params["requests"], module.params["paths"])
    module.exit_json(changed=False, digest=digest_of(state), counted=counted)


if __name__ == "__main__":
    main()
