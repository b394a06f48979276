#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: host_state_info
short_description: Read everything a role needs to decide what to change, in one round trip
description:
  - Reads, without changing anything, the state of many paths, users, Debian packages and systemd user units, and
    returns it in one result.
  - The roles of this collection call it once, compare the result with what they want, and run their
    changing tasks only for what differs ("read state, compare, then act" in bulk). On an unchanged host a
    re-run then costs one remote call per role instead of one per file.
  - Checksums are SHA-1 (what M(ansible.builtin.stat) and M(ansible.builtin.copy) use), so a role can compare
    them with C(content | hash('sha1')) of what it would write.
version_added: 0.2.0
author: Homelab Clawdbot maintainers (@homelab-clawdbot)
options:
  paths:
    description:
      - Paths to C(lstat). Symlinks are not followed; their target is returned.
      - A leading C(~user/) is expanded on the host, so a role can ask for a user's files before it knows the
        home directory; results are keyed by the path as given.
    type: list
    elements: str
    default: []
  checksum_max_bytes:
    description:
      - Regular files up to this size get a SHA-1 checksum.
    type: int
    default: 1048576
  secret_files:
    description:
      - Secret-bearing files to compare without revealing anything about their content, as a mapping of the
        path (C(~user/) expanded) to the SHA-1 the file should have.
      - The result says only whether each file exists, its type, mode and owner, and whether it C(matches);
        neither content nor checksum is returned, and the expected checksums are hidden from logs.
    type: dict
    default: {}
  read:
    description:
      - Small text files (at most 64 KiB) whose content is returned, for example package manifests.
      - Never list secret-bearing files here; the content is part of the result.
      - C(~user/) is expanded as in O(paths); results are keyed by the path as given.
    type: list
    elements: str
    default: []
  manifests:
    description:
      - npm package manifests (C(package.json), any size; openclaw's is about 140 KiB) of which only the fields
        C(name), C(version), C(bin) and C(engines) are returned, as a mapping; V(null) when the file is missing or
        not JSON.
      - C(~user/) is expanded as in O(paths); results are keyed by the path as given.
    type: list
    elements: str
    default: []
    version_added: 0.3.0
  users:
    description:
      - User names to look up in the passwd database.
    type: list
    elements: str
    default: []
  packages:
    description:
      - Debian package names whose installed version is returned (C(dpkg-query)); V(null) when not installed.
    type: list
    elements: str
    default: []
  user_units:
    description:
      - Systemd user units of one user, read through that user's service manager
        (C(systemctl --user --machine=<user>@.host show), so the module must run as root).
    type: dict
    suboptions:
      user:
        description: The user whose service manager is asked.
        type: str
        required: true
      units:
        description: Unit names.
        type: list
        elements: str
        required: true
notes:
  - Runs as root for O(user_units) and for paths only root can read.
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
"""

EXAMPLES = r"""
- name: Read the install state
  homelab.clawdbot.host_state_info:
    paths:
      - /home/user/.clawdbot/bin/clawdbot
      - /home/user/.clawdbot/versions/2026.1.24-3/package.json
    read:
      - /home/user/.clawdbot/versions/2026.1.24-3/node_modules/clawdbot/package.json
    users: [user]
    packages: [git]
    user_units:
      user: user
      units: [clawdbot-gateway-personal.service]
  become: true
  register: state

- name: Write package.json only when it differs
  ansible.builtin.template:
    src: package.json.j2
    dest: /home/user/.clawdbot/versions/2026.1.24-3/package.json
    mode: "0644"
  when: >-
    state.paths['/home/user/.clawdbot/versions/2026.1.24-3/package.json'].checksum | default('')
    != lookup('ansible.builtin.template', 'package.json.j2') | hash('sha1')
"""

RETURN = r"""
paths:
  description: One entry per path in O(paths).
  returned: always
  type: dict
  sample:
    /home/user/.clawdbot/bin/clawdbot:
      exists: true
      type: link
      target: ../versions/2026.1.24-3/node_modules/clawdbot/dist/entry.js
      mode: "0777"
      owner: user
      group: user
      uid: 1000
      gid: 1000
    /etc/homelab-clawdbot/spark-ca.pem:
      exists: true
      type: file
      size: 1184
      mode: "0644"
      owner: root
      group: root
      uid: 0
      gid: 0
      checksum: 5f0ab4e0d3b1c4a6e0a3f3d6c1a2b3c4d5e6f708
secret_files:
  description: For each path in O(secret_files), C(exists), C(type), C(mode), C(owner), C(group) and C(matches).
  returned: always
  type: dict
  sample: {"/home/user/.clawdbot-personal/telegram-bot-token": {"exists": true, "type": "file", "mode": "0600",
           "owner": "user", "group": "user", "matches": true}}
read:
  description: Content of each file in O(read), or V(null) when it is missing, not a regular file or too large.
  returned: always
  type: dict
  sample: {"/home/user/.clawdbot/versions/2026.1.24-3/node_modules/clawdbot/package.json": "{\"version\": \"2026.1.24-3\"}"}
manifests:
  description: The C(name), C(version), C(bin) and C(engines) of each manifest in O(manifests), or V(null).
  returned: always
  type: dict
  sample: {"~user/.openclaw/versions/2026.9.6/node_modules/openclaw/package.json":
           {"name": "openclaw", "version": "2026.9.6", "bin": {"openclaw": "openclaw.mjs"},
            "engines": {"node": ">=24.16.0 <25 || >=26.1.0"}}}
users:
  description: passwd entry of each user in O(users), or V(null) when it does not exist.
  returned: always
  type: dict
  sample: {"user": {"uid": 1000, "gid": 1000, "home": "/home/user", "shell": "/bin/bash"}}
packages:
  description: Installed version of each package in O(packages), or V(null).
  returned: always
  type: dict
  sample: {"git": "1:2.39.5-0+deb12u2"}
packages_missing:
  description: The names in O(packages) that are not installed, in the order given (what an apt task installs).
  returned: always
  type: list
  elements: str
  sample: [acl]
user_units:
  description:
    - Properties of each unit in O(user_units.units) (C(LoadState), C(ActiveState), C(SubState), C(UnitFileState),
      C(MainPID), C(FragmentPath)), or an empty dict when the user's service manager is not running.
  returned: always
  type: dict
  sample:
    clawdbot-gateway-personal.service:
      LoadState: loaded
      ActiveState: active
      SubState: running
      UnitFileState: enabled
      MainPID: "689"
      FragmentPath: /home/user/.config/systemd/user/clawdbot-gateway-personal.service
user_manager:
  description: Whether the service manager of O(user_units.user) answered.
  returned: always
  type: bool
machine:
  description: The host's machine hardware name (C(uname -m)), for example C(x86_64) or C(aarch64).
  returned: always
  type: str
  sample: x86_64
request:
  description:
    - What was asked, without the expected checksums of O(secret_files) (only their paths).
    - site.yml hands the requests of a run to M(homelab.clawdbot.converge_stamp), which reads the same again, as one
      digest, on the next run (M(homelab.clawdbot.host_fingerprint)).
  returned: always
  type: dict
  version_added: 0.3.0
  sample: {"paths": ["/var/lib/systemd/linger/user"], "secret_files": [], "read": [], "manifests": [], "users": ["user"],
           "packages": ["dbus-user-session"], "user_units": null}
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.homelab.clawdbot.plugins.module_utils.host_state import (
    expand, package_versions, path_state, read_manifest, read_text, secret_state, user_entry, user_unit_state)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            paths=dict(type="list", elements="str", default=[]),
            checksum_max_bytes=dict(type="int", default=1048576),
            secret_files=dict(type="dict", default={}, no_log=True),
            read=dict(type="list", elements="str", default=[]),
            manifests=dict(type="list", elements="str", default=[]),
            users=dict(type="list", elements="str", default=[]),
            packages=dict(type="list", elements="str", default=[]),
            user_units=dict(type="dict", options=dict(
                user=dict(type="str", required=True),
                units=dict(type="list", elements="str", required=True),
            )),
        ),
        supports_check_mode=True,
    )
    p = module.params
    units, manager = user_unit_state(module, p["user_units"])
    packages = package_versions(module, p["packages"])
    module.exit_json(
        changed=False,
        paths=dict((path, path_state(expand(path), p["checksum_max_bytes"])) for path in p["paths"]),
        secret_files=dict((path, secret_state(expand(path), str(expected)))
                          for path, expected in p["secret_files"].items()),
        read=dict((path, read_text(expand(path))) for path in p["read"]),
        manifests=dict((path, read_manifest(expand(path))) for path in p["manifests"]),
        users=dict((name, user_entry(name)) for name in p["users"]),
        packages=packages,
        packages_missing=[name for name in p["packages"] if packages.get(name) is None],
        user_units=units,
        user_manager=manager,
        machine=os.uname()[4],
        request=dict(paths=p["paths"], secret_files=sorted(p["secret_files"]), read=p["read"], manifests=p["manifests"],
                     users=p["users"], packages=p["packages"], user_units=p["user_units"]),
    )


if __name__ == "__main__":
    main()
