#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: tailscale_serve
short_description: Declarative Tailscale Serve handlers and operator for local gateways
version_added: 0.1.0
description:
  - Makes the node's Tailscale Serve config contain exactly the wanted HTTPS handlers (port and mount path to a
    local target) and sets the Tailscale operator, comparing C(tailscale serve status --json) and
    C(tailscale debug prefs) with the wanted state and running C(tailscale serve --bg --yes ...) only for what differs.
  - Handlers this module created earlier (remembered in I(state_path)) and no longer wanted are removed with
    C(tailscale serve --https=<port> --set-path=<path> off). Handlers on ports or paths it does not own are never
    touched, and C(tailscale serve reset) is never run.
  - C(tailscale status --json) exits 0 even when the node is logged out, so the module reads C(BackendState) and fails
    unless it is C(Running). With I(auth_key) and C(NeedsLogin) it logs the node in first (then checks HTTPS and the
    MagicDNS name, then serves), at I(login_server) when given (a self-hosted control server such as headscale).
    The auth key never appears on a command line.
  - C(tailscale up) refuses to drop a setting that is not the default and not mentioned on its command line. When
    the node has such settings (for example C(--accept-routes) set by hand), the login repeats them with their
    current values as the CLI names them, so the login changes nothing but the login.
  - A node that is logged in to another control server than I(login_server) is refused before anything changes.
  - An operator that is another user is never replaced unless I(operator_replace) is true; the module fails before
    it changes anything (also in check mode).
  - Serve commands run as I(run_as) (the operator), which proves the operator works; as root when no operator is set.
requirements:
  - The tailscale CLI and a running tailscaled (or the collection's test double).
author:
  - Homelab Clawdbot maintainers (@homelab-clawdbot)
attributes:
  check_mode:
    support: full
    description:
      - Reads the state and reports what would change; runs no command that writes.
      - A C(NeedsLogin) node with I(auth_key) reports C(changed) (it would log in) without checking HTTPS certificates
        and the MagicDNS name, which are only known once the node is logged in; I(urls) is then empty.
  diff_mode:
    support: full
    description: Shows the owned handlers and the operator before and after.
  platform:
    support: full
    platforms: posix
    description: Runs on the node that serves (as root).
options:
  binary:
    description: The tailscale CLI (name on C(PATH) or absolute path).
    type: str
    default: tailscale
  operator:
    description:
      - The user that may change Serve without root (C(tailscale set --operator=<user>), run as root only when the
        current operator differs). Empty leaves the operator alone and runs Serve commands as root.
      - When no operator is set, it is set. When the current operator is another user, the module fails unless
        I(operator_replace) is true.
    type: str
    default: ''
  operator_replace:
    description:
      - Replace an operator that is another user (C(OperatorUser) of C(tailscale debug prefs)) with I(operator).
      - When false, such an operator makes the module fail before anything changes, because that account may rely
        on it (another service that manages Tailscale without root).
    type: bool
    default: false
  run_as:
    description: User that runs the Serve commands. Defaults to I(operator), or root when I(operator) is empty.
    type: str
  login_server:
    description:
      - The control server the node logs in to with I(auth_key) (C(tailscale up --login-server=<url>)), for a
        self-hosted one such as headscale. Empty means Tailscale's own (or whatever the node already uses).
      - When set, a node that is C(Running) but logged in to another control server makes the module fail before
        anything changes.
    type: str
    default: ''
  auth_key:
    description:
      - A Tailscale auth key. Only used when the node is C(NeedsLogin); then C(tailscale up --auth-key=file:<path>)
        logs it in (with C(--operator) set to I(operator), or to the current operator when I(operator) is empty).
      - The key is written to a temporary file (mode 0600, owned by the user running the module, normally root, in
        the module's private temporary directory) and the file is removed afterwards in every case, so the key is
        never part of a command line (visible in C(ps)). Never logged or returned.
    type: str
  mappings:
    description: The wanted HTTPS handlers.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: A label (the profile name); used as the key of the returned I(urls).
        type: str
        required: true
      port:
        description: The HTTPS port on the tailnet (443, 8443, ...).
        type: int
        required: true
      path:
        description: The mount path.
        type: str
        default: /
      target:
        description: The local target; a port number means C(http://127.0.0.1:<port>).
        type: str
        required: true
      funnel:
        description: Expose the handler to the public internet with Tailscale Funnel instead of tailnet-only Serve.
        type: bool
        default: false
  state_path:
    description: File that remembers which handlers this module owns.
    type: path
    default: /var/lib/homelab-clawdbot/tailscale-serve.json
  require_https:
    description: Fail early when the tailnet has no HTTPS certificates (Serve over HTTPS needs them).
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Serve the two gateways tailnet-only, operator = the gateway user
  homelab.clawdbot.tailscale_serve:
    operator: user
    mappings:
      - {name: personal, port: 443, target: "18789"}
      - {name: ops, port: 8443, target: "18790"}
  register: serve

- name: Show the tailnet URLs
  ansible.builtin.debug:
    var: serve.urls
"""

RETURN = r"""
backend_state:
  description: C(BackendState) of the node.
  returned: always
  type: str
  sample: Running
userspace:
  description:
    - Whether tailscaled runs in userspace-networking mode (C(TUN) is false in C(tailscale status --json)). In that
      mode tailscaled forwards a peer's TCP connection to the node's tailnet IP on a port Serve does not handle to
      C(127.0.0.1) on the same port, so loopback-bound services are reachable from the tailnet without Serve.
  returned: success
  type: bool
  sample: false
control_url:
  description: The control server the node uses (C(ControlURL) of C(tailscale debug prefs)); empty before any login.
  returned: success
  type: str
  sample: https://controlplane.tailscale.com
dns_name:
  description: The node's MagicDNS name without the trailing dot.
  returned: when the node is Running
  type: str
  sample: vm102.tail1234ab.ts.net
logged_in:
  description:
    - Whether the node was logged in with I(auth_key) (in check mode, whether it would be).
  returned: success
  type: bool
  sample: false
urls:
  description: Tailnet URL per mapping name. Empty in check mode when the node would first be logged in.
  returned: success
  type: dict
  sample: {personal: "https://vm102.tail1234ab.ts.net/", ops: "https://vm102.tail1234ab.ts.net:8443/"}
operator:
  description: The operator before and after.
  returned: success
  type: dict
  sample: {before: null, after: user}
added:
  description: Handlers created or changed, as C(port path -> target).
  returned: success
  type: list
  elements: str
  sample: ["443 / -> http://127.0.0.1:18789"]
removed:
  description: Owned handlers removed.
  returned: success
  type: list
  elements: str
  sample: ["10000 /"]
owned:
  description:
    - The handlers this module owns (tracked in O(state_path)) before and after the run. In check mode C(after) is
      what a real run would record.
  returned: success
  type: dict
  sample: {"before": ["443 /"], "after": ["443 /", "8443 /"]}
commands:
  description: The tailscale commands run (auth keys redacted).
  returned: success
  type: list
  elements: list
serve_config:
  description: C(tailscale serve status --json) after the changes.
  returned: success
  type: dict
"""

import json
import os
import pwd
import shlex
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

HTTPS_CAP = "https"
# `tailscale up` (cmd/tailscale/cli/up.go, accidentalUpPrefix): the CLI then prints the whole command to run.
ACCIDENTAL_UP = "requires mentioning all"
# ipn.IsLoginServerSynonym: both name Tailscale's own control server.
DEFAULT_CONTROL_URLS = ("https://controlplane.tailscale.com", "https://login.tailscale.com")
LOGIN_TIMEOUT = "120s"


def same_control(a, b):
    a, b = (a or "").rstrip("/"), (b or "").rstrip("/")
    return a == b or (a in DEFAULT_CONTROL_URLS and b in DEFAULT_CONTROL_URLS)


def repeated_flags(message):
    """The flags `tailscale up` asks to repeat (the current values of the node's non-default settings), from the
    command line its accidental-revert error prints; the auth key and the other pref-less flags are left out."""
    for line in message.splitlines():
        words = line.strip().split(" ", 2)
        if words[:2] == ["tailscale", "up"] and len(words) == 3:
            return [a for a in shlex.split(words[2])
                    if a.startswith("--") and not a.startswith(("--auth-key", "--authkey", "--timeout"))]
    return None


def normalise_target(target):
    target = str(target).strip()
    if target.isdigit():
        return "http://127.0.0.1:%s" % target
    return target


def normalise_path(path):
    path = "/" + (path or "/").strip().lstrip("/")
    if len(path) > 1:
        path = path.rstrip("/")
    return path


def handler_key(port, path):
    return "%d %s" % (port, path)


def current_handler(serve_config, host, port, path):
    """(proxy target, funnel) of a handler in a ServeConfig, or (None, False)."""
    hostport = "%s:%d" % (host, port)
    tcp = (serve_config.get("TCP") or {}).get(str(port)) or {}
    handlers = ((serve_config.get("Web") or {}).get(hostport) or {}).get("Handlers") or {}
    handler = handlers.get(path)
    if not tcp.get("HTTPS") or not handler:
        return None, False
    return handler.get("Proxy"), bool((serve_config.get("AllowFunnel") or {}).get(hostport))


def plan(serve_config, host, wanted, owned):
    """Decide which serve commands are needed.

    wanted: list of dicts (name, port, path, target, funnel) with normalised path/target.
    owned: list of "port path" keys created earlier.
    Returns (add, remove): add = wanted entries that differ; remove = (port, path) owned, unwanted and present.
    """
    add = []
    for m in wanted:
        proxy, funnel = current_handler(serve_config, host, m["port"], m["path"])
        if proxy != m["target"] or funnel != m["funnel"]:
            add.append(m)
    wanted_keys = set(handler_key(m["port"], m["path"]) for m in wanted)
    remove = []
    for key in owned:
        if key in wanted_keys:
            continue
        port, path = key.split(" ", 1)
        proxy, _funnel = current_handler(serve_config, host, int(port), path)
        if proxy is not None:
            remove.append((int(port), path))
    return add, remove


def url_for(host, port, path):
    base = "https://%s%s" % (host, "" if port == 443 else ":%d" % port)
    return base + (path if path.endswith("/") else path + "/")


class TailscaleServe(object):
    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.commands = []
        self.binary = self.find_binary()

    def fail(self, msg, **kw):
        self.module.fail_json(msg=msg, commands=self.commands, **kw)

    def find_binary(self):
        b = self.p["binary"]
        if os.path.isabs(b):
            if os.access(b, os.X_OK):
                return b
            path = None
        else:
            path = self.module.get_bin_path(b, required=False, opt_dirs=["/usr/bin", "/usr/local/bin", "/usr/sbin"])
        if not path:
            self.module.fail_json(msg="the tailscale CLI was not found (binary=%s): install Tailscale on this host and log it "
                                      "in (sudo tailscale up) before applying tailscale_serve" % b)
        return path

    def run(self, args, as_user=None, data=None):
        argv = [self.binary] + list(args)
        cmd = argv
        if as_user and as_user != "root" and os.geteuid() == 0:
            cmd = ["runuser", "-u", as_user, "--"] + argv
        # The module only passes --auth-key=file:<path>; a literal key would never be shown.
        shown = [("--auth-key=********" if a.startswith("--auth-key=") and not a.startswith("--auth-key=file:")
                  else a) for a in cmd]
        rc, out, err = self.module.run_command(cmd, data=data, environ_update={"LC_ALL": "C"})
        if not args[-1:] == ["--json"] and args[:1] != ["debug"]:
            self.commands.append(shown)
        return rc, out, err

    def read_json(self, args, what):
        rc, out, err = self.run(args)
        if rc != 0:
            first = (err or out).strip().splitlines()[0] if (err or out).strip() else "rc=%d" % rc
            if "failed to connect" in first.lower() or "Failed to connect" in first:
                self.fail("tailscaled is not reachable (%s): %s; start it (sudo systemctl start tailscaled)" % (what, first))
            self.fail("%s failed: %s" % (what, first), rc=rc, stderr=err)
        try:
            return json.loads(out)
        except ValueError:
            self.fail("could not parse the JSON of %s" % what, stdout=out[:2000])

    def status(self):
        return self.read_json(["status", "--json"], "tailscale status --json")

    def needs_login(self, status):
        """True when the node is logged out and an auth key is given; fails unless Running otherwise."""
        state = status.get("BackendState")
        if state == "Running":
            return False
        if state == "NeedsLogin" and self.p.get("auth_key"):
            return True
        self.fail_not_connected(state)

    def fail_not_connected(self, state):
        hint = {
            "NeedsLogin": "log the node in first (sudo tailscale up), or set tailscale_serve_auth_key",
            "Stopped": "bring it up with: sudo tailscale up",
            "NeedsMachineAuth": "approve the machine in the Tailscale admin console",
        }.get(state, "wait until it is Running")
        self.fail("Tailscale is not connected (BackendState=%s): %s. Serve was not changed." % (state, hint),
                  backend_state=state)

    def login(self, operator):
        """tailscale up --auth-key=file:<0600 temp file> [--login-server=URL] [--operator=U]; the file is removed in
        every case. When the CLI asks for the node's other non-default settings, they are repeated as it names them."""
        key = self.p["auth_key"]
        fd, path = tempfile.mkstemp(prefix="tailscale-auth-key-", dir=self.module.tmpdir)
        try:
            with os.fdopen(fd, "w") as f:
                os.fchmod(f.fileno(), 0o600)
                f.write(key)
            args = ["up", "--auth-key=file:%s" % path, "--timeout=%s" % LOGIN_TIMEOUT]
            if self.p["login_server"]:
                args.append("--login-server=%s" % self.p["login_server"])
            if operator:
                # `tailscale up` refuses to drop a non-default setting that is not mentioned (contract 2.5).
                args.append("--operator=%s" % operator)
            rc, out, err = self.run(args)
            more = repeated_flags(err or out) if rc != 0 and ACCIDENTAL_UP in " ".join((err or out).split()) else None
            if more:
                named = set(a.split("=", 1)[0] for a in args)
                rc, out, err = self.run(args + [a for a in more if a.split("=", 1)[0] not in named])
        finally:
            try:
                os.unlink(path)
            except OSError:
                pass
        if rc != 0:
            self.fail("tailscale up with the given auth key failed: %s" % (err or out).strip().replace(key, "********"),
                      rc=rc)
        self.changed = True
        status = self.status()
        self.prefs = self.read_prefs()
        if status.get("BackendState") != "Running":
            self.fail_not_connected(status.get("BackendState"))
        return status

    def check_operator(self, want_op, op_before):
        if want_op and op_before and op_before != want_op and not self.p["operator_replace"]:
            self.fail("the Tailscale operator is '%s', not '%s': another account may rely on it, so it is not replaced "
                      "unless you ask for it. Set tailscale_serve_operator_replace: true (module option "
                      "operator_replace) to make '%s' the operator, or tailscale_serve_set_operator: false to leave "
                      "it alone (Serve then runs as root). Nothing was changed."
                      % (op_before, want_op, want_op), operator=dict(before=op_before, after=op_before))

    def check_https(self, status):
        if not self.p["require_https"]:
            return
        selfst = status.get("Self") or {}
        caps = set((selfst.get("CapMap") or {}).keys()) | set(selfst.get("Capabilities") or [])
        if HTTPS_CAP not in caps:
            self.fail("HTTPS certificates are not enabled for this tailnet (the node has no https capability): enable "
                      "MagicDNS and HTTPS in the Tailscale admin console (headscale: grant the https nodeAttr in its "
                      "policy); tailscale serve over HTTPS needs them")
        if not status.get("CertDomains"):
            self.fail("HTTPS certificates are not enabled for this tailnet (CertDomains is empty): the control server "
                      "issues no certificate domain, so no TLS handshake through Serve can complete. Enable HTTPS in "
                      "the Tailscale admin console. A control server without certificates (headscale) needs "
                      "tailscale_serve_require_https: false (module option require_https), and browsers then cannot "
                      "reach Serve over HTTPS")

    def check_control(self, status):
        """A Running node logged in to another control server than login_server is not ours to serve from."""
        want, have = self.p["login_server"], self.prefs.get("ControlURL") or ""
        if want and status.get("BackendState") == "Running" and have and not same_control(want, have):
            self.fail("this node is logged in to the control server %s, not %s (tailscale_serve_login_server, module "
                      "option login_server); move it by hand (sudo tailscale up --login-server=%s --force-reauth) or "
                      "correct the variable. Nothing was changed." % (have, want, want))

    def read_prefs(self):
        rc, out, err = self.run(["debug", "prefs"])
        if rc != 0:
            self.fail("tailscale debug prefs failed: %s" % (err or out).strip())
        try:
            return json.loads(out)
        except ValueError:
            self.fail("could not parse tailscale debug prefs", stdout=out[:2000])

    def read_owned(self):
        try:
            with open(self.p["state_path"]) as f:
                return list(json.load(f).get("owned", []))
        except (IOError, OSError, ValueError):
            return []

    def write_owned(self, owned):
        path = self.p["state_path"]
        d = os.path.dirname(path)
        if d and not os.path.isdir(d):
            os.makedirs(d, 0o755)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"owned": sorted(owned)}, f, indent=2)
            f.write("\n")
        os.chmod(tmp, 0o644)
        os.rename(tmp, path)

    def main(self):
        self.changed = False
        wanted = []
        seen = {}
        for m in self.p["mappings"]:
            entry = dict(name=m["name"], port=int(m["port"]), path=normalise_path(m.get("path")),
                         target=normalise_target(m["target"]), funnel=bool(m.get("funnel")))
            if not 1 <= entry["port"] <= 65535:
                self.fail("mappings entry %s: port %d is out of range" % (entry["name"], entry["port"]))
            key = handler_key(entry["port"], entry["path"])
            if key in seen:
                self.fail("mappings %s and %s both want https port %d path %s" % (seen[key], entry["name"], entry["port"], entry["path"]))
            seen[key] = entry["name"]
            wanted.append(entry)

        status = self.status()
        login = self.needs_login(status)

        want_op = self.p["operator"] or None
        if want_op:
            try:
                pwd.getpwnam(want_op)
            except KeyError:
                if not self.module.check_mode:  # a preflight may run before the user is created
                    self.fail("operator user '%s' does not exist on this host" % want_op)
        self.prefs = self.read_prefs()
        op_before = self.prefs.get("OperatorUser") or None
        self.check_control(status)
        self.check_operator(want_op, op_before)
        op_now = op_before

        host = None
        if login:
            if self.module.check_mode:
                # HTTPS certificates and the MagicDNS name are only known once the node is logged in.
                self.changed = True
                op_now = want_op or op_before
            else:
                status = self.login(want_op or op_before)
                op_now = self.prefs.get("OperatorUser") or None
        if not (login and self.module.check_mode):
            self.check_https(status)
            host = ((status.get("Self") or {}).get("DNSName") or "").rstrip(".")
            if not host:
                self.fail("the node has no MagicDNS name (Self.DNSName is empty); enable MagicDNS in the tailnet")

        op_after = op_now
        if want_op and op_now != want_op:
            op_after = want_op
            self.changed = True
            if not self.module.check_mode:
                rc, out, err = self.run(["set", "--operator=%s" % want_op])
                if rc != 0:
                    self.fail("tailscale set --operator=%s failed (it must run as root): %s" % (want_op, (err or out).strip()))

        run_as = self.p.get("run_as") or want_op or "root"
        serve_before = self.read_json(["serve", "status", "--json"], "tailscale serve status --json")
        owned = self.read_owned()
        add, remove = plan(serve_before, host or "", wanted, owned)
        if add or remove:
            self.changed = True
        if not self.module.check_mode:
            for port, path in remove:
                rc, out, err = self.run(["serve", "--https=%d" % port, "--set-path=%s" % path, "off"], as_user=run_as)
                if rc != 0:
                    self.fail("removing the handler on port %d path %s failed: %s" % (port, path, (err or out).strip()))
            for m in add:
                verb = "funnel" if m["funnel"] else "serve"
                args = [verb, "--bg", "--yes", "--https=%d" % m["port"]]
                if m["path"] != "/":
                    args.append("--set-path=%s" % m["path"])
                args.append(m["target"])
                rc, out, err = self.run(args, as_user=run_as)
                if rc != 0:
                    self.fail("tailscale %s for %s failed: %s" % (verb, m["name"], (err or out).strip()), rc=rc)
                if "Serve started" not in out and "Funnel started" not in out:
                    # e.g. HTTPS not enabled: the CLI prints an enable URL and exits 0 without applying anything
                    self.fail("tailscale %s for %s did not apply the config: %s" % (verb, m["name"], out.strip()))
        serve_after = serve_before
        new_owned = sorted(set(handler_key(m["port"], m["path"]) for m in wanted))
        if not self.module.check_mode:
            if add or remove:
                serve_after = self.read_json(["serve", "status", "--json"], "tailscale serve status --json")
                still, gone = plan(serve_after, host, wanted, [handler_key(p, q) for p, q in remove])
                if still or gone:
                    self.fail("tailscale serve status does not show the wanted handlers after applying them",
                              serve_config=serve_after)
            if sorted(owned) != new_owned:
                self.write_owned(new_owned)

        result = dict(
            changed=self.changed,
            backend_state=status.get("BackendState"),
            userspace=status.get("TUN") is False,
            control_url=self.prefs.get("ControlURL") or "",
            dns_name=host,
            logged_in=login,
            urls=dict((m["name"], url_for(host, m["port"], m["path"])) for m in wanted) if host else {},
            operator=dict(before=op_before, after=op_after),
            added=["%d %s -> %s%s" % (m["port"], m["path"], m["target"], " (funnel)" if m["funnel"] else "") for m in add],
            removed=["%d %s" % r for r in remove],
            owned=dict(before=sorted(owned), after=new_owned),
            commands=self.commands,
            serve_config=serve_after,
        )
        if self.module._diff:
            before = dict(operator=op_before, handlers=sorted(
                "%d %s -> %s" % (m["port"], m["path"], current_handler(serve_before, host or "", m["port"], m["path"])[0])
                for m in wanted) + ["%d %s (owned)" % r for r in remove])
            after = dict(operator=op_after, handlers=sorted("%d %s -> %s" % (m["port"], m["path"], m["target"]) for m in wanted))
            result["diff"] = dict(before=json.dumps(before, indent=2) + "\n", after=json.dumps(after, indent=2) + "\n")
        self.module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            binary=dict(type="str", default="tailscale"),
            operator=dict(type="str", default=""),
            operator_replace=dict(type="bool", default=False),
            run_as=dict(type="str"),
            login_server=dict(type="str", default=""),
            auth_key=dict(type="str", no_log=True),
            mappings=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                port=dict(type="int", required=True),
                path=dict(type="str", default="/"),
                target=dict(type="str", required=True),
                funnel=dict(type="bool", default=False),
            )),
            state_path=dict(type="path", default="/var/lib/homelab-clawdbot/tailscale-serve.json"),
            require_https=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    try:
        TailscaleServe(module).main()
    except (OSError, IOError) as e:
        module.fail_json(msg="tailscale_serve failed: %s" % to_native(e))


if __name__ == "__main__":
    main()
