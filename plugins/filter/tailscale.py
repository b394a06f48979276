# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``homelab.clawdbot.serve_bypass_errors`` (role tailscale_serve, preflight).

tailscaled in userspace-networking mode (``--tun=userspace-networking``: a container, a host without
``/dev/net/tun``; ``TUN`` is false in ``tailscale status --json``) forwards a tailnet peer's TCP connection to the
node's tailnet IP, on a port that Serve does not handle, to ``127.0.0.1`` on the same port (tailscale
``wgengine/netstack/netstack.go``, ``acceptTCP``). A loopback-bound gateway is then reachable from the whole tailnet
without Serve, and openclaw takes such a connection (loopback socket, no proxy headers) for a local client: it pairs
that client's devices without asking the owner unless ``gateway.nodes.pairing.autoApproveLocal`` is false
(docs/tailscale.md, "Userspace networking"). The filter names the served profiles that would be open that way.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def serve_bypass_errors(profiles, userspace, auto_approve_local=True, flavour="openclaw", allow=False,
                        var="tailscale_serve_profiles"):
    """The refusal (a list of one message, or empty) for a userspace-mode tailscaled in front of served profiles
    that auto-approve local devices. ``auto_approve_local`` is the default of the profiles' own key
    (profiles_auto_approve_local); ``flavour`` the product name (clawdbot has no such setting)."""
    if not userspace or allow or not isinstance(profiles, list):
        return []
    served = [p for p in profiles if isinstance(p, dict) and p.get("serve", True) is not False]
    if flavour != "openclaw":
        open_ = served
    else:
        open_ = [p for p in served if p.get("auto_approve_local", auto_approve_local) is not False]
    if not open_:
        return []
    names = ", ".join("%s (127.0.0.1:%s)" % (p.get("name"), p.get("port")) for p in open_)
    head = ("tailscaled on this host runs in userspace-networking mode (TUN is false in tailscale status --json): a "
            "tailnet peer that connects to this host's tailnet IP on a gateway's port reaches that gateway on "
            "127.0.0.1 without Serve, and the gateway takes it for a local client and pairs its devices without "
            "asking. Open that way: %s. " % names)
    if flavour != "openclaw":
        fix = ("%s cannot be told to stop approving local devices: run tailscaled with a TUN device (kernel "
               "networking), or move to openclaw. " % flavour)
    else:
        fix = ("Set profiles_auto_approve_local: false (or auto_approve_local: false on those profiles in %s), so "
               "that such devices wait for approval as they do through Serve, or run tailscaled with a TUN device "
               "(kernel networking). " % var)
    return [head + fix + ("When a tailnet policy lets peers reach only the Serve ports of this host, set "
                          "tailscale_serve_allow_userspace_bypass: true. Nothing was changed.")]


class FilterModule(object):
    def filters(self):
        return {"serve_bypass_errors": serve_bypass_errors}
