# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which hosts the collection supports: Debian 12+ or Ubuntu 22.04+ (or a derivative of them), systemd as init."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import shlex

# ID -> the oldest major release the roles are written for (apt, systemd >= 249 user managers, Python 3.9+).
MINIMUM = {"debian": 12, "ubuntu": 22}
SUPPORTED = "Debian 12/13 or Ubuntu 22.04/24.04 (or a derivative with ID_LIKE debian/ubuntu) with systemd as init"


def parse_os_release(text):
    """os-release(5) as a dict: KEY=value lines, values shell-quoted or bare; comments and junk lines skipped."""
    out = {}
    for line in (text or "").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        try:
            words = shlex.split(value)
        except ValueError:
            continue
        out[key.strip()] = words[0] if words else ""
    return out


def host_platform_errors(os_release, systemd_dir=None):
    """[] when the host can run the collection, else messages that say what was found and what is needed.

    ``os_release`` is the text of /etc/os-release (None when it could not be read); ``systemd_dir`` the
    host_state_info entry of /run/systemd/system, which exists when systemd is the init system (sd_booted(3)).
    """
    errors = []
    info = parse_os_release(os_release)
    name = info.get("PRETTY_NAME") or info.get("NAME") or info.get("ID") or "an unknown OS (no /etc/os-release)"
    ident = info.get("ID", "").lower()
    like = info.get("ID_LIKE", "").lower().split()
    if ident in MINIMUM:
        version = info.get("VERSION_ID", "")
        major = version.split(".")[0]
        # testing/unstable have no VERSION_ID: newer than every release
        if major.isdigit() and int(major) < MINIMUM[ident]:
            errors.append("This host runs %s; the collection supports %s." % (name, SUPPORTED))
    elif not set(like) & set(MINIMUM):
        errors.append("This host runs %s; the collection supports %s (it uses apt and systemd user services)." % (name, SUPPORTED))
    if systemd_dir is not None and (systemd_dir or {}).get("type") != "directory":
        errors.append("systemd is not the init system here (/run/systemd/system is missing): the gateways run as "
                      "systemd user services with lingering, so the host needs systemd as PID 1.")
    return errors


class FilterModule(object):
    def filters(self):
        return {"host_platform_errors": host_platform_errors}
