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
"""

import grp
import hashlib
import json
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule

UNIT_PROPERTIES = ["LoadState", "ActiveState", "SubState", "UnitFileState", "MainPID", "FragmentPath"]
READ_MAX = 64 * 1024


def _name(lookup, ident):
    try:
        return lookup(ident)[0]
    except KeyError:
        return str(ident)


def path_state(path, checksum_max):
    try:
        st = os.lstat(path)
    except OSError:
        return {"exists": False}
    info = {
        "exists": True,
        "mode": "%04o" % stat.S_IMODE(st.st_mode),
        "uid": st.st_uid,
        "gid": st.st_gid,
        "owner": _name(pwd.getpwuid, st.st_uid),
        "group": _name(grp.getgrgid, st.st_gid),
    }
    if stat.S_ISLNK(st.st_mode):
        info["type"] = "link"
        info["target"] = os.readlink(path)
    elif stat.S_ISDIR(st.st_mode):
        info["type"] = "directory"
    elif stat.S_ISREG(st.st_mode):
        info["type"] = "file"
        info["size"] = st.st_size
        if st.st_size <= checksum_max:
            digest = hashlib.sha1()
            with open(path, "rb") as handle:
                for chunk in iter(lambda: handle.read(65536), b""):
                    digest.update(chunk)
            info["checksum"] = digest.hexdigest()
    else:
        info["type"] = "other"
    return info


def expand(path):
    """Expand a leading ``~`` or ``~user`` (the home of that user on this host); anything else is left as it is."""
    if not path.startswith("~"):
        return path
    name, sep, rest = path[1:].partition("/")
    try:
        home = pwd.getpwnam(name).pw_dir if name else pwd.getpwuid(os.getuid()).pw_dir
    except KeyError:
        return path  # an unknown user: the path does not exist
    return home + sep + rest


def secret_state(path, expected):
    info = path_state(path, 1048576)
    checksum = info.pop("checksum", None)
    info.pop("size", None)
    if info["exists"]:
        info["matches"] = checksum is not None and checksum == expected
    else:
        info["matches"] = False
    return info


def read_text(path):
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_size > READ_MAX:
            return None
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return None


MANIFEST_MAX = 8 * 1024 * 1024
MANIFEST_FIELDS = ("name", "version", "bin", "engines")


def read_manifest(path):
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MANIFEST_MAX:
            return None
        with open(path, "rb") as handle:
            doc = json.loads(handle.read().decode("utf-8", "replace"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict):
        return None
    return dict((k, doc[k]) for k in MANIFEST_FIELDS if k in doc)


def user_entry(name):
    try:
        ent = pwd.getpwnam(name)
    except KeyError:
        return None
    return {"uid": ent.pw_uid, "gid": ent.pw_gid, "home": ent.pw_dir, "shell": ent.pw_shell}


def package_versions(module, names):
    if not names:
        return {}
    out = dict((n, None) for n in names)
    dpkg = module.get_bin_path("dpkg-query")
    if not dpkg:
        return out
    rc, stdout, dummy = module.run_command([dpkg, "-W", "-f=${Package}\t${db:Status-Status}\t${Version}\n"] + names,
                                           environ_update={"LC_ALL": "C"})
    for line in stdout.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[0] in out and parts[1] == "installed":
            out[parts[0]] = parts[2]
    return out


def parse_show(text, units):
    """Parse `systemctl show -p ... a b c`: blocks separated by blank lines, in the order of the units."""
    blocks, current = [], {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
                current = {}
            continue
        key, sep, value = line.partition("=")
        if sep:
            current[key] = value
    if current:
        blocks.append(current)
    return dict(zip(units, blocks)) if len(blocks) == len(units) else None


def user_unit_state(module, spec):
    if not spec:
        return {}, False
    units = spec["units"]
    systemctl = module.get_bin_path("systemctl")
    if not systemctl:
        return {}, False
    argv = [systemctl, "--user", "--machine=%s@.host" % spec["user"], "show", "--no-pager",
            "-p", ",".join(UNIT_PROPERTIES)] + units
    rc, stdout, dummy = module.run_command(argv, environ_update={"LC_ALL": "C"})
    if rc != 0:
        return {}, False
    if not units:
        return {}, True
    parsed = parse_show(stdout, units)
    if parsed is None:
        module.fail_json(msg="could not parse `systemctl --user show` for %s" % ", ".join(units), stdout=stdout)
    return parsed, True


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
    )


if __name__ == "__main__":
    main()
