# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``homelab.clawdbot.cli_json``: parse ``--json`` output of the Clawdbot CLI.

The CLI can print doctor boxes on stdout before the JSON (contract 2.5); this filter skips them.
Returns ``default`` (an empty dict unless given) when no JSON is found, so it can be used in ``until:``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.homelab.clawdbot.plugins.module_utils.clawdbot_cli import parse_json_output


def cli_json(stdout, default=None):
    try:
        return parse_json_output(stdout or "")
    except ValueError:
        return {} if default is None else default


class FilterModule(object):
    def filters(self):
        return {"cli_json": cli_json}
