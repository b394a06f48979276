# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_platform_errors: the preflight's check of the OS and the init system (real os-release texts)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.homelab.clawdbot.plugins.filter.platform import FilterModule, host_platform_errors, parse_os_release

DEBIAN_13 = '''PRETTY_NAME="Debian GNU/Linux 13 (trixie)"
NAME="Debian GNU/Linux"
VERSION_ID="13"
VERSION="13 (trixie)"
VERSION_CODENAME=trixie
DEBIAN_VERSION_FULL=13.2
ID=debian
HOME_URL="https://www.debian.org/"
'''
DEBIAN_11 = 'PRETTY_NAME="Debian GNU/Linux 11 (bullseye)"\nVERSION_ID="11"\nID=debian\n'
DEBIAN_SID = 'PRETTY_NAME="Debian GNU/Linux forky/sid"\nNAME="Debian GNU/Linux"\nID=debian\n'
UBUNTU_2404 = '''PRETTY_NAME="Ubuntu 24.04.1 LTS"
NAME="Ubuntu"
VERSION_ID="24.04"
ID=ubuntu
ID_LIKE=debian
'''
UBUNTU_2004 = 'PRETTY_NAME="Ubuntu 20.04.6 LTS"\nVERSION_ID="20.04"\nID=ubuntu\nID_LIKE=debian\n'
MINT = 'PRETTY_NAME="Linux Mint 22"\nID=linuxmint\nID_LIKE="ubuntu debian"\nVERSION_ID="22"\n'
ROCKY = 'PRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.4"\n'
SYSTEMD = {"exists": True, "type": "directory"}
NO_SYSTEMD = {"exists": False}


@pytest.mark.parametrize("text", [DEBIAN_13, DEBIAN_SID, UBUNTU_2404, MINT])
def test_supported_hosts_pass(text):
    assert host_platform_errors(text, SYSTEMD) == []


@pytest.mark.parametrize("text,name", [(DEBIAN_11, "Debian GNU/Linux 11 (bullseye)"), (UBUNTU_2004, "Ubuntu 20.04.6 LTS"),
                                       (ROCKY, "Rocky Linux 9.4 (Blue Onyx)")])
def test_unsupported_os_is_named(text, name):
    errors = host_platform_errors(text, SYSTEMD)
    assert len(errors) == 1 and "This host runs %s;" % name in errors[0] and "Debian 12/13" in errors[0]


def test_no_os_release():
    errors = host_platform_errors(None, SYSTEMD)
    assert len(errors) == 1 and "an unknown OS (no /etc/os-release)" in errors[0]


def test_systemd_must_be_init():
    errors = host_platform_errors(DEBIAN_13, NO_SYSTEMD)
    assert len(errors) == 1 and "/run/systemd/system is missing" in errors[0]
    assert host_platform_errors(DEBIAN_13, {"exists": True, "type": "file"})[0].startswith("systemd is not the init system")
    # not read: not checked
    assert host_platform_errors(DEBIAN_13) == []


def test_both_problems_reported():
    assert len(host_platform_errors(ROCKY, NO_SYSTEMD)) == 2


def test_parse_os_release_quoting_and_junk():
    text = "# comment\nID=debian\nNAME='Debian GNU/Linux'\nBROKEN\nX=\"unterminated\nEMPTY=\n"
    assert parse_os_release(text) == {"ID": "debian", "NAME": "Debian GNU/Linux", "EMPTY": ""}


def test_registered():
    assert FilterModule().filters()["host_platform_errors"] is host_platform_errors
