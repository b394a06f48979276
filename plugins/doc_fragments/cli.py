# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Options of every module that runs the gateway CLI (module_utils/clawdbot_cli.py CLI_ARGUMENT_SPEC).

    The names of both flavours come from module_utils/flavours.py; keep the paths and prefixes below in step
    with it.
    """

    DOCUMENTATION = r"""
options:
  flavour:
    description:
      - The product whose CLI is run. V(openclaw) is the current product (npm package C(openclaw)), V(clawdbot)
        the legacy one (C(clawdbot) 2026.1.24-3) that hosts run until they migrate.
      - It selects the default O(binary), the env var prefix (C(OPENCLAW_) or C(CLAWDBOT_); openclaw ignores
        C(CLAWDBOT_*) variables), the state dir (C(~/.openclaw[-<profile>]) or C(~/.clawdbot[-<profile>])), the
        systemd unit named in messages (C(openclaw-gateway[-<profile>].service) or
        C(clawdbot-gateway[-<profile>].service)) and how the pairing modules read their data.
      - Defaults to the flavour named by the file name of O(binary) when O(binary) is given (a name containing
        C(openclaw) or C(clawdbot); any other name means V(openclaw)). Without O(binary), to the product whose CLI
        the user has in the default place (C(~/.openclaw/bin/openclaw) first, then C(~/.clawdbot/bin/clawdbot)),
        else V(openclaw). Set it when the binary
        has another name; when it contradicts the binary's name, the module warns and uses O(flavour).
    type: str
    choices: [openclaw, clawdbot]
  profile:
    description:
      - The gateway profile (C(--profile), placed before the subcommand). Omit it, or use V(default), for the
        default profile (state dir C(~/.openclaw), or C(~/.clawdbot) for the clawdbot flavour); profile V(work)
        uses C(~/.openclaw-work) (C(~/.clawdbot-work)).
    type: str
  user:
    description:
      - The gateway user to run the CLI as, whose home holds the state dir. When the module runs as root and this
        names another user, the CLI runs through C(runuser -u <user> --).
      - Defaults to the user running the module.
    type: str
  binary:
    description:
      - Path of the CLI executable.
      - Defaults to C(~/.openclaw/bin/openclaw) in the gateway user's home for the openclaw flavour, and to
        C(~/.clawdbot/bin/clawdbot) for the clawdbot flavour (the user-scope install of the
        C(homelab.clawdbot.clawdbot_install) role).
    type: path
  cli_env:
    description:
      - Extra environment variables for the CLI, with the flavour's prefix, for example C(OPENCLAW_STATE_DIR)
        (openclaw) or C(CLAWDBOT_STATE_DIR) (clawdbot). They win over the variables the module sets.
    type: dict
    default: {}
  gateway_url:
    description:
      - Gateway WebSocket URL, passed as C(--url) to the gateway RPCs (the C(devices) commands). Normally not
        needed, the CLI targets the profile's gateway.
      - The DM pairing commands (C(pairing)) need no gateway and do not use it.
      - The openclaw CLI refuses plaintext C(ws://) to a non-loopback host; use C(wss://), or set
        C(OPENCLAW_ALLOW_INSECURE_PRIVATE_WS=1) in O(cli_env) on a trusted private network.
    type: str
  gateway_token:
    description:
      - Gateway token, passed through the environment as C(OPENCLAW_GATEWAY_TOKEN) (openclaw) or
        C(CLAWDBOT_GATEWAY_TOKEN) (clawdbot), never on the command line.
      - Normally not needed on the gateway host, where the CLI reads the token from the profile's config. Not used
        by the DM pairing commands.
    type: str
  timeout:
    description:
      - Timeout of each gateway RPC in seconds, passed to the C(devices) commands as C(--timeout) in milliseconds.
      - The DM pairing commands have no timeout and ignore it.
    type: int
    default: 30
"""
