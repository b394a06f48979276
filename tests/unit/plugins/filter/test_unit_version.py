# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""unit_version: the version a gateway unit runs, from CLAWDBOT_SERVICE_VERSION or openclaw's versioned ExecStart."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.homelab.clawdbot.plugins.filter.profiles import FilterModule, unit_environment, unit_version

CLAWDBOT_UNIT = """\
# Ansible managed
[Unit]
Description=Clawdbot Gateway (profile: personal, v2026.1.24-3)
After=network-online.target

[Service]
ExecStart="/usr/bin/node" "/home/user/.clawdbot/lib/node_modules/clawdbot/dist/entry.js" gateway --port 18789
Restart=always
Environment="HOME=/home/user"
Environment="CLAWDBOT_PROFILE=personal"
Environment="CLAWDBOT_STATE_DIR=/home/user/.clawdbot-personal"
Environment="CLAWDBOT_SERVICE_MARKER=clawdbot"
Environment="CLAWDBOT_SERVICE_VERSION=2026.1.24-3"
EnvironmentFile=-/home/user/.clawdbot-personal/gateway.env

[Install]
WantedBy=default.target
"""

OPENCLAW_UNIT = """\
# Ansible managed
[Unit]
Description=OpenClaw Gateway (profile: personal)
StartLimitBurst=10

[Service]
ExecStart="/opt/node/bin/node" --max-old-space-size=8192 "/home/user/.openclaw/versions/2026.9.6/node_modules/openclaw/dist/index.js" gateway --port 18789
Restart=always
Environment="HOME=/home/user"
Environment="TMPDIR=/tmp"
Environment="OPENCLAW_PROFILE=personal"
Environment="OPENCLAW_STATE_DIR=/home/user/.openclaw-personal"
Environment="OPENCLAW_CONFIG_READONLY=1"
EnvironmentFile=-/home/user/.openclaw-personal/gateway.env

[Install]
WantedBy=default.target
"""


def test_clawdbot_unit_version_from_the_environment():
    assert unit_version(CLAWDBOT_UNIT) == "2026.1.24-3"


def test_environment_wins_over_a_versioned_exec_start():
    text = CLAWDBOT_UNIT.replace("/.clawdbot/lib/", "/.clawdbot/versions/2026.1.20/")
    assert unit_version(text) == "2026.1.24-3"


def test_openclaw_unit_version_from_exec_start():
    assert not any(k.endswith("_SERVICE_VERSION") for k in unit_environment(OPENCLAW_UNIT))
    assert unit_version(OPENCLAW_UNIT) == "2026.9.6"
    assert unit_version(OPENCLAW_UNIT, "unknown") == "2026.9.6"


def test_unquoted_exec_start():
    text = "[Service]\nExecStart=/usr/bin/node /home/u/.openclaw/versions/2026.10.1-beta.2/node_modules/openclaw/dist/index.js gateway\n"
    assert unit_version(text) == "2026.10.1-beta.2"


@pytest.mark.parametrize("text", ["", None, "[Service]\nExecStart=/usr/bin/node /opt/openclaw/dist/index.js gateway\n",
                                  # a versions/ path outside ExecStart= is not the one the unit runs
                                  "[Service]\n# ExecStart=/x/versions/1.2.3/index.js\nExecStart=/usr/bin/true\n",
                                  'Environment="CLAWDBOT_SERVICE_VERSION="\n'])
def test_no_version(text):
    assert unit_version(text) == "?"
    assert unit_version(text, "unknown") == "unknown"
    assert unit_version(text, default="") == ""


def test_registered_as_a_filter():
    assert FilterModule().filters()["unit_version"] is unit_version
