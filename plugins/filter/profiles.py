# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``homelab.clawdbot.profiles_plan``: validate the profiles list and plan every port.

Returns ``{"profiles": [...normalised...], "errors": [...messages naming the variable...]}``.
The role's preflight fails with all errors at once, before anything on the host changes.

Ports (contract section 3): a gateway on port P listens on P, and its browser control service on C
(default P+2) plus the Chrome extension relay on C+1; a launched managed browser uses CDP ports
C+9 .. C+108. Two profiles on 18789/18790 therefore collide (18790+2 == 18789+3). The plan keeps the
upstream default C=P+2 when it is free and otherwise moves C to ``browser_port_start + k*browser_port_step``
(the first free slot), written explicitly as ``browser.controlUrl`` into the profile's config.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import posixpath
import re

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$", re.IGNORECASE)
BINDS = ("loopback", "lan", "tailnet", "auto")
AUTH_MODES = ("token", "password")
TAILSCALE_MODES = ("off", "serve", "funnel")
# The runbook's two trust zones: the one definition of the default profile list (filter profiles_or_default).
DEFAULT_PROFILES = ({"name": "personal", "port": 18789}, {"name": "ops", "port": 18790})
# Left in a state dir while a change waits for its gateway's restart (filter rollout_plan).
RESTART_MARKER = ".homelab-clawdbot-restart-pending"
CDP_OFFSET = 9
CDP_SPAN = 100
KNOWN_KEYS = {
    "name", "port", "bind", "auth_mode", "token", "password", "allow_tailscale", "trusted_proxies",
    "tailscale_mode", "allow_funnel", "workspace", "browser", "browser_control_port", "environment",
    "settings", "serve", "serve_port", "serve_path", "funnel", "spark", "telegram", "auto_approve_local",
    "owner_allow_from", "user",
}
USER_RE = re.compile(r"^[a-z_][a-z0-9_-]*[$]?$")


CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
ENV_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Environment names that look like secrets are refused: a clawdbot unit is world-readable (0644), and any unit's
# environment is printed by `systemctl --user show` and inherited by every process the gateway starts.
SECRET_ENV_RE = re.compile(r"(TOKEN|PASSWORD|PASSWD|SECRET|API_?KEY|AUTH_?KEY|PRIVATE_?KEY)", re.IGNORECASE)
# Suffixes of the environment the unit template sets itself (after the flavour's prefix, e.g. CLAWDBOT_).
OWNED_ENV_SUFFIXES = ("PROFILE", "STATE_DIR", "CONFIG_PATH", "GATEWAY_PORT", "SYSTEMD_UNIT", "SERVICE_MARKER",
                      "SERVICE_KIND", "SERVICE_VERSION", "DISABLE_BONJOUR", "GATEWAY_TOKEN", "GATEWAY_PASSWORD",
                      "CONFIG_READONLY", "NO_AUTO_UPDATE", "SUPERVISOR_MODE")
OWNED_ENV = ("HOME", "PATH", "USER", "LOGNAME", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "NODE_OPTIONS",
             "TMPDIR")
# Config keys the role owns (a profile's own option sets them). settings may not touch them: the role refuses
# instead of letting settings override a guarded value (docs/inventory.md, "settings").
GUARDED_SETTINGS = {
    ("gateway", "mode"): "the role runs every gateway in local mode",
    ("gateway", "port"): "set %(where)s.port",
    ("gateway", "bind"): "set %(where)s.bind",
    ("gateway", "customBindHost"): "the config schema rejects it",
    ("gateway", "auth"): "set %(where)s.auth_mode, token, password or allow_tailscale",
    ("gateway", "tailscale"): "Serve is owned by the tailscale_serve role; set %(where)s.tailscale_mode",
    ("gateway", "trustedProxies"): "set %(where)s.trusted_proxies",
    ("gateway", "controlUi", "allowInsecureAuth"): "it turns device pairing off for the Control UI",
    ("gateway", "controlUi", "dangerouslyDisableDeviceAuth"): "it turns device pairing off for the Control UI",
    ("agents", "defaults", "workspace"): "set %(where)s.workspace",
    ("browser", "enabled"): "set %(where)s.browser",
    ("browser", "controlUrl"): "set %(where)s.browser_control_port",
    ("channels", "telegram"): "set %(where)s.telegram",
    ("plugins", "entries", "telegram"): "set %(where)s.telegram",
}
# Anywhere in settings: values that open the gateway to anyone.
OPEN_POLICY_KEYS = ("dmPolicy", "groupPolicy")
PLACEHOLDER_RE = re.compile(r"(change[-_ .]?me|changeit|placeholder|replace[-_ .]?me|example|xxxx|dummy|insecure|"
                            r"not[-_ ]?a[-_ ]?secret|your[-_ ]?token|^secret$|^password$|^token$)", re.IGNORECASE)


def has_control(value):
    return isinstance(value, str) and bool(CONTROL_RE.search(value))


def placeholder_reason(secret):
    """Why a secret looks like a placeholder (shipped example values, CHANGE-ME, repeated characters), or None."""
    if not isinstance(secret, str):
        return None
    if PLACEHOLDER_RE.search(secret):
        return "looks like a placeholder (CHANGE-ME, example, ...)"
    if len(set(secret)) < 6:
        return "has fewer than 6 distinct characters"
    return None


def secret_errors(value, label, minimum):
    """Errors of a gateway token or password, never echoing the value."""
    if not isinstance(value, str) or len(value) < minimum:
        return ["%s must be a string of at least %d characters (vault it)" % (label, minimum)]
    errors = []
    if has_control(value):
        errors.append("%s contains a control character (newline, tab, ...)" % label)
    elif value != value.strip():
        errors.append("%s starts or ends with white space" % label)
    reason = placeholder_reason(value)
    if reason:
        errors.append("%s %s: generate one (openssl rand -hex 24) and vault it" % (label, reason))
    return errors


def environment_errors(env, label, env_prefix):
    """Errors of a unit environment mapping: names, owned names, secret-looking names, values."""
    if not isinstance(env, dict):
        return ["%s must be a mapping of NAME: value" % label]
    errors = []
    owned = set(OWNED_ENV) | set("%s_%s" % (env_prefix, s) for s in OWNED_ENV_SUFFIXES)
    for key in sorted(env, key=str):
        value = env[key]
        if not isinstance(key, str) or not ENV_KEY_RE.match(key):
            errors.append("%s has an invalid variable name %r (letters, digits and _, not starting with a digit)"
                          % (label, key))
            continue
        if key.upper() in owned:
            errors.append("%s.%s is set by the role itself (state dir, config path, port, unit markers) and cannot be "
                          "overridden" % (label, key))
        elif SECRET_ENV_RE.search(key):
            errors.append("%s.%s looks like a secret, but a unit is no place for one (world-readable on clawdbot, printed by"
                          " systemctl show, inherited by every child process): put secrets into the config through the"
                          " profile's token/password/telegram options instead" % (label, key))
        if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
            errors.append("%s.%s must be a string or a number" % (label, key))
        elif has_control(str(value)):
            errors.append("%s.%s contains a control character (newline, tab, ...), which would break the unit file"
                          % (label, key))
    return errors


def _walk(obj):
    """Every (path tuple, value) of a nested mapping, parents before children."""
    out = []
    todo = [((), obj)]
    while todo:
        path, current = todo.pop(0)
        if isinstance(current, dict):
            for key, value in current.items():
                out.append((path + (key,), value))
                todo.append((path + (key,), value))
    return out


def settings_errors(settings, label, where, retired=()):
    """settings may add any key but those the role owns or the product retired, and never open a DM/group policy."""
    if not isinstance(settings, dict):
        return []
    errors = []
    retired = [tuple(r.split(".")) for r in retired or []]
    for path, value in _walk(settings):
        if tuple(str(p) for p in path) in retired:
            errors.append("%s.settings.%s is a retired key: this product's config schema rejects it"
                          % (label, ".".join(str(p) for p in path)))
        for guarded, why in GUARDED_SETTINGS.items():
            if path == guarded:
                dotted = ".".join(str(p) for p in path)
                errors.append("%s.settings.%s is managed by the role (%s)" % (label, dotted, why % {"where": where}))
        if path and path[-1] in OPEN_POLICY_KEYS and value == "open":
            errors.append("%s.settings.%s=open lets anyone talk to the gateway; it is refused in settings"
                          % (label, ".".join(str(p) for p in path)))
    return errors


def has_dot_segment(path):
    """True when a path has a ``.`` or ``..`` segment (``/a/../b``, ``/a/./b``, ``/a/..``)."""
    return "/../" in path + "/" or "/./" in path + "/"


def _overlap(a, b):
    return a == b or a.startswith(b.rstrip("/") + "/") or b.startswith(a.rstrip("/") + "/")


TG_KEYS = {"enabled", "bot_token", "dm_policy", "allow_from", "group_policy", "group_allow_from", "allow_open_dm"}
TG_DM_POLICIES = ("pairing", "allowlist", "open", "disabled")
TG_GROUP_POLICIES = ("allowlist", "open", "disabled")


def _plan_telegram(tg, label, where, errors):
    """Validate a profile's telegram settings; return the non-secret plan (the token never leaves the raw input)."""
    if not isinstance(tg, dict):
        errors.append("%s.telegram must be a mapping" % label)
        return None
    unknown = sorted(set(tg) - TG_KEYS)
    if unknown:
        errors.append("%s.telegram has unknown keys: %s" % (label, ", ".join(unknown)))
    plan = dict(enabled=tg.get("enabled", True), dm_policy=tg.get("dm_policy", "pairing"),
                allow_from=tg.get("allow_from"), group_policy=tg.get("group_policy", "allowlist"),
                group_allow_from=tg.get("group_allow_from"))
    if not isinstance(plan["enabled"], bool):
        errors.append("%s.telegram.enabled must be a boolean" % label)
    token = tg.get("bot_token")
    if plan["enabled"] and not (isinstance(token, str) and re.match(r"^[0-9]+:[A-Za-z0-9_-]{20,}$", token)):
        errors.append("%s.telegram.bot_token is missing or not a Telegram bot token (<digits>:<secret>; vault it)" % label)
    if plan["dm_policy"] not in TG_DM_POLICIES:
        errors.append("%s.telegram.dm_policy %r must be one of %s" % (label, plan["dm_policy"], ", ".join(TG_DM_POLICIES)))
    if plan["group_policy"] not in TG_GROUP_POLICIES:
        errors.append("%s.telegram.group_policy %r must be one of %s" % (label, plan["group_policy"], ", ".join(TG_GROUP_POLICIES)))
    for key in ("allow_from", "group_allow_from"):
        value = plan[key]
        if value is not None and (not isinstance(value, list) or
                                  not all(isinstance(x, (str, int)) and not isinstance(x, bool) for x in value)):
            errors.append("%s.telegram.%s must be a list of Telegram user ids (strings or numbers)" % (label, key))
    if plan["dm_policy"] == "open":
        if tg.get("allow_open_dm") is not True:
            errors.append("%s.telegram.dm_policy=open lets anyone talk to the bot; it is refused unless "
                          "%s.telegram.allow_open_dm is true (the runbook's default is pairing + allowlist)" % (label, where))
        elif "*" not in [str(x) for x in plan["allow_from"] or []]:
            errors.append("%s.telegram.dm_policy=open requires \"*\" in telegram.allow_from (the gateway's schema demands it)"
                          % label)
    return plan


def _ports_of(control):
    """Listening ports and CDP range of a browser control port."""
    return {control, control + 1}, (control + CDP_OFFSET, control + CDP_OFFSET + CDP_SPAN - 1)


def _overlaps(ports, rng):
    return [p for p in sorted(ports) if rng[0] <= p <= rng[1]]


def _ranges_overlap(a, b):
    return a[0] <= b[1] and b[0] <= a[1]


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def profiles_plan(profiles, home, defaults=None, var="profiles_list"):
    d = dict(
        bind="loopback", auth_mode="token", allow_tailscale=True, trusted_proxies=None, tailscale_mode="off",
        allow_funnel=False, browser=True, browser_port_start=18791, browser_port_step=110, environment={},
        settings={}, state_prefix=".clawdbot", unit_prefix="clawdbot-gateway", config_name="clawdbot.json",
        workspace="{home}/clawd-{profile}", env_prefix="CLAWDBOT", global_environment=None,
        global_environment_var="profiles_environment", reserved_dirs=None, browser_port_configurable=True,
        auto_approve_local=True, retired_keys=(), user=None, accounts=None,
    )
    d.update(defaults or {})
    errors = []
    planned = []
    if not isinstance(profiles, list) or not profiles:
        return {"profiles": [], "errors": ["%s must be a non-empty list of profiles ({name, port, ...})" % var]}

    if d["global_environment"]:
        errors.extend(environment_errors(d["global_environment"], d["global_environment_var"], d["env_prefix"]))
    home = posixpath.normpath(home) if isinstance(home, str) and home.startswith("/") else home
    accounts = d["accounts"] if isinstance(d["accounts"], dict) else {}

    def account(user):
        """(home, uid) of a gateway user: ``home`` for the default user, else its passwd entry or /home/<user>."""
        entry = accounts.get(user)
        if user == d["user"] or d["user"] is None:
            return home, (entry[1] if entry else None)
        if entry:
            return posixpath.normpath(entry[4]), entry[1]
        return "/home/%s" % user, None

    seen_names = {}
    seen_ports = {}
    for idx, raw in enumerate(profiles):
        where = "%s[%d]" % (var, idx)
        if not isinstance(raw, dict):
            errors.append("%s must be a mapping with at least name and port" % where)
            continue
        name = raw.get("name")
        label = "%s (%s)" % (where, name) if name else where
        if not isinstance(name, str) or not NAME_RE.match(name) or name.lower() == "default":
            errors.append("%s.name %r is invalid: use 1-64 letters, digits, '_' or '-', starting with a letter or digit"
                          " ('default' is reserved)" % (where, name))
            name = None
        elif name.lower() in seen_names:
            errors.append("%s.name %r duplicates %s" % (where, name, seen_names[name.lower()]))
        else:
            seen_names[name.lower()] = where
        unknown = sorted(set(raw) - KNOWN_KEYS)
        if unknown:
            errors.append("%s has unknown keys: %s" % (label, ", ".join(unknown)))

        port = raw.get("port")
        if not _is_int(port) or not 1024 <= port <= 65535:
            errors.append("%s.port %r must be an integer between 1024 and 65535" % (label, port))
            port = None
        elif port in seen_ports:
            errors.append("%s.port %d is already used by %s" % (label, port, seen_ports[port]))
        else:
            seen_ports[port] = label

        p = dict(name=name, port=port, index=idx, label=label)
        # A profile may run as its own Unix account (its own trust zone); the default is the one gateway user.
        user = raw.get("user", d["user"])
        if "user" in raw and (not isinstance(user, str) or not USER_RE.match(user) or user == "root"):
            errors.append("%s.user %r must be a non-root user name (lower-case letters, digits, '_' or '-')" % (label, user))
            user = d["user"]
        p["user"] = user
        phome, p["uid"] = account(user)
        p["home"] = phome
        for key in ("bind", "auth_mode", "allow_tailscale", "tailscale_mode", "allow_funnel", "browser"):
            p[key] = raw.get(key, d[key])
        p["trusted_proxies"] = raw.get("trusted_proxies", d["trusted_proxies"])
        p["serve"] = raw.get("serve", True) is not False
        p["auto_approve_local"] = raw.get("auto_approve_local", d["auto_approve_local"])
        if not isinstance(p["auto_approve_local"], bool):
            errors.append("%s.auto_approve_local must be a boolean" % label)
        p["owner_allow_from"] = raw.get("owner_allow_from")
        if p["owner_allow_from"] is not None and (
                not isinstance(p["owner_allow_from"], list)
                or not all(isinstance(x, str) and x and not has_control(x) for x in p["owner_allow_from"])):
            errors.append("%s.owner_allow_from must be a list of sender ids such as \"telegram:123456789\"" % label)
        p["environment"] = dict(d["environment"] or {}, **(raw.get("environment") if isinstance(raw.get("environment"), dict) else {}))
        # The settings themselves stay out of the plan (a loop prints its items at -v; settings may hold an API key).
        settings = raw.get("settings", d["settings"]) or {}
        p["has_settings"] = bool(settings)
        p["has_token"] = bool(raw.get("token"))
        p["has_password"] = bool(raw.get("password"))
        # Never echo the secrets themselves, only where they are wrong.
        if "token" in raw:
            errors.extend(secret_errors(raw["token"], "%s.token" % label, 16))
        if "password" in raw:
            errors.extend(secret_errors(raw["password"], "%s.password" % label, 12))

        if p["bind"] not in BINDS:
            extra = " ('custom' needs gateway.customBindHost, which the config schema rejects)" if p["bind"] == "custom" else ""
            errors.append("%s.bind %r must be one of %s%s" % (label, p["bind"], ", ".join(BINDS), extra))
        if p["auth_mode"] not in AUTH_MODES:
            errors.append("%s.auth_mode %r must be token or password (the gateway has no auth-less mode)" % (label, p["auth_mode"]))
        if p["auth_mode"] == "password" and not p["has_password"]:
            errors.append("%s.auth_mode=password needs %s.password (vault it)" % (label, where))
        if p["bind"] != "loopback" and not (p["has_token"] if p["auth_mode"] == "token" else p["has_password"]):
            errors.append("%s.bind=%s exposes the gateway beyond loopback without an explicit secret: set %s.token"
                          " (vaulted) or auth_mode=password with a password" % (label, p["bind"], where))
        if p["tailscale_mode"] not in TAILSCALE_MODES:
            errors.append("%s.tailscale_mode %r must be off, serve or funnel" % (label, p["tailscale_mode"]))
        if p["tailscale_mode"] in ("serve", "funnel") and p["bind"] != "loopback":
            errors.append("%s.tailscale_mode=%s requires bind=loopback" % (label, p["tailscale_mode"]))
        if p["tailscale_mode"] == "funnel" or raw.get("funnel"):
            if not p["allow_funnel"]:
                errors.append("%s enables Tailscale Funnel (public internet) but %s.allow_funnel is not true" % (label, where))
            elif p["auth_mode"] != "password":
                errors.append("%s uses Funnel, which the gateway only allows with auth_mode=password" % label)
        if not isinstance(p["allow_tailscale"], bool):
            errors.append("%s.allow_tailscale must be a boolean" % label)
        if p["trusted_proxies"] is not None:
            if not isinstance(p["trusted_proxies"], list):
                errors.append("%s.trusted_proxies must be a list of IP addresses" % label)
            else:
                for ip in p["trusted_proxies"]:
                    try:
                        ipaddress.ip_address(str(ip))
                    except ValueError:
                        errors.append("%s.trusted_proxies entry %r is not an IP address (exact IPs only, no CIDR)" % (label, ip))
        if not isinstance(settings, dict):
            errors.append("%s.settings must be a mapping of extra config keys" % label)
        errors.extend(settings_errors(settings, label, where, d["retired_keys"]))
        errors.extend(environment_errors(raw.get("environment") or {}, "%s.environment" % label, d["env_prefix"]))

        p["telegram"] = None
        tg = raw.get("telegram")
        if tg is not None:
            p["telegram"] = _plan_telegram(tg, label, where, errors)
            if p["telegram"] and p["telegram"]["enabled"] and isinstance(tg.get("bot_token"), str):
                p["_tg_token"] = tg.get("bot_token")

        if name:
            p["state_dir"] = "%s/%s-%s" % (phome, d["state_prefix"], name)
            p["config_path"] = "%s/%s" % (p["state_dir"], d["config_name"])
            p["unit"] = "%s-%s.service" % (d["unit_prefix"], name)
            p["marker"] = "%s/%s" % (p["state_dir"], RESTART_MARKER)
        ws = raw.get("workspace")
        if ws is None:
            ws = d["workspace"].format(home=phome, profile=name, state_dir=p["state_dir"]) if name else None
        elif isinstance(ws, str) and ws.startswith("~/"):
            ws = phome + ws[1:]
        if ws is not None and (not isinstance(ws, str) or not ws.startswith("/")):
            errors.append("%s.workspace %r must be an absolute path or start with ~/" % (label, ws))
        elif ws is not None and has_control(ws):
            errors.append("%s.workspace contains a control character" % label)
        elif ws is not None:
            if has_dot_segment(ws):
                errors.append("%s.workspace %r must not contain . or .. segments" % (label, ws))
            ws = posixpath.normpath(ws)
            if not ws.startswith(phome.rstrip("/") + "/"):
                errors.append("%s.workspace %s must be a directory inside the gateway user's home %s (the role makes it"
                              " 0700 and gives it to that user)" % (label, ws, phome))
        p["workspace"] = ws

        explicit = raw.get("browser_control_port")
        if explicit is not None and not d["browser_port_configurable"]:
            errors.append("%s.browser_control_port cannot be set for this product: its browser control port is derived"
                          " from the gateway port (P+2) and only bound on demand; leave at least 120 ports between"
                          " gateway ports instead" % label)
            explicit = None
        elif explicit is not None and (not _is_int(explicit) or not 1024 <= explicit <= 65535 - CDP_OFFSET - CDP_SPAN):
            errors.append("%s.browser_control_port %r must be an integer between 1024 and %d"
                          % (label, explicit, 65535 - CDP_OFFSET - CDP_SPAN))
            explicit = None
        p["browser_control_port"] = explicit
        planned.append(p)

    # Every profile's state root and workspace are its own: no path equal to, inside or around another one (or the
    # home, the CLI prefix and the unit directory: reserved_dirs).
    homes = sorted(set([home] + [p["home"] for p in planned]))
    reserved = sorted(set((posixpath.normpath(x if x.startswith("/") else "%s/%s" % (h, x)), "a directory the role manages")
                          for x in (d["reserved_dirs"] or []) if isinstance(x, str) for h in homes))
    owned = []
    for p in planned:
        if p.get("state_dir"):
            owned.append((p["state_dir"], "%s state root" % p["label"], p))
        if p.get("workspace") and p["workspace"].startswith("/"):
            owned.append((p["workspace"], "%s workspace" % p["label"], p))
    for p in planned:
        ws = p.get("workspace")
        if not ws or not ws.startswith("/") or not ws.startswith(p["home"].rstrip("/") + "/"):
            continue
        for path, desc, other in owned:
            if other is p and desc.endswith("workspace"):
                continue
            # A workspace inside its own state root (openclaw's default <state dir>/workspace) stays in its zone.
            if other is p and d["workspace"].startswith("{state_dir}/") and ws.startswith(path.rstrip("/") + "/"):
                continue
            if _overlap(ws, path):
                errors.append("%s.workspace %s overlaps %s %s: every profile needs its own workspace, outside every "
                              "state root" % (p["label"], ws, desc, path))
        for path, desc in reserved:
            if _overlap(ws, path):
                errors.append("%s.workspace %s overlaps %s (%s)" % (p["label"], ws, path, desc))

    # One bot cannot long-poll from two gateways: compare tokens without ever printing them.
    seen_tokens = {}
    for p in planned:
        token = p.pop("_tg_token", None)
        if token:
            if token in seen_tokens:
                errors.append("%s and %s use the same telegram.bot_token: one Telegram bot cannot long-poll from two "
                              "gateways; give each profile its own bot" % (seen_tokens[token], p["label"]))
            seen_tokens[token] = p["label"]
    if errors:
        return {"profiles": planned, "errors": errors}

    # Port plan: gateway ports are fixed; explicit browser ports next; then the rest, in gateway-port order.
    listening = {}  # port -> description
    cdp = []        # (range, description)
    for p in planned:
        listening[p["port"]] = "%s gateway port" % p["label"]

    def conflicts(control, owner):
        ports, rng = _ports_of(control)
        found = []
        for q in sorted(ports):
            if q in listening:
                found.append("%d (%s)" % (q, listening[q]))
        for other_rng, desc in cdp:
            hit = _overlaps(ports, other_rng)
            if hit:
                found.append("%d (inside %s %d-%d)" % (hit[0], desc, other_rng[0], other_rng[1]))
            if _ranges_overlap(rng, other_rng):
                found.append("CDP range %d-%d overlaps %s %d-%d" % (rng[0], rng[1], desc, other_rng[0], other_rng[1]))
        for q, desc in listening.items():
            if rng[0] <= q <= rng[1] and not desc.startswith(owner + " "):
                found.append("CDP range %d-%d contains %d (%s)" % (rng[0], rng[1], q, desc))
        return found

    def claim(p, control):
        ports, rng = _ports_of(control)
        p["browser_control_port"] = control
        p["browser_relay_port"] = control + 1
        p["browser_cdp_range"] = list(rng)
        listening[control] = "%s browser control port" % p["label"]
        listening[control + 1] = "%s extension relay port" % p["label"]
        cdp.append((rng, "%s browser CDP range" % p["label"]))

    browsers = [p for p in planned if p["browser"]] if d["browser_port_configurable"] else []
    for p in [q for q in browsers if q["browser_control_port"] is not None]:
        found = conflicts(p["browser_control_port"], p["label"])
        if found:
            errors.append("%s.browser_control_port %d clashes with %s" % (p["label"], p["browser_control_port"], "; ".join(found)))
        claim(p, p["browser_control_port"])
    for p in sorted([q for q in browsers if q["browser_control_port"] is None], key=lambda q: q["port"]):
        candidates = [p["port"] + 2] + [d["browser_port_start"] + k * d["browser_port_step"] for k in range(0, 200)]
        for control in candidates:
            if 1024 <= control <= 65535 - CDP_OFFSET - CDP_SPAN and not conflicts(control, p["label"]):
                claim(p, control)
                break
        else:
            errors.append("%s: no free browser control port found; set browser_control_port or browser: false" % p["label"])
    for p in planned:
        if not p["browser"] or not d["browser_port_configurable"]:
            p["browser_control_port"] = None
            p["browser_relay_port"] = None
            p["browser_cdp_range"] = None
        p["listen_ports"] = sorted(x for x in (p["port"], p.get("browser_control_port"), p.get("browser_relay_port")) if x)
    # A gateway port inside another profile's CDP range (explicit layouts) cannot be fixed by the role.
    for p in planned:
        for rng, desc in cdp:
            if rng[0] <= p["port"] <= rng[1] and not desc.startswith(p["label"] + " "):
                errors.append("%s.port %d lies inside %s %d-%d; move the gateway port or set browser_control_port"
                              % (p["label"], p["port"], desc, rng[0], rng[1]))
    return {"profiles": planned, "errors": errors}


SERVE_PATH_RE = re.compile(r"^/(?:[A-Za-z0-9._~-]+/?)*$")


def serve_mappings(profiles, default_ports=(443, 8443, 10000), var="tailscale_serve_profiles"):
    """Tailscale Serve handlers for the profiles: {name, port (https), path, target (gateway port), funnel}.

    A profile may set serve: false, serve_port, serve_path and funnel. Without serve_port the i-th served
    profile gets default_ports[i] (443, 8443, 10000: the ports Funnel also accepts). Raises on bad input.
    """
    out = []
    errors = []
    if not isinstance(profiles, list):
        errors.append("%s must be a list of profiles ({name, port, ...}), got %s" % (var, type(profiles).__name__))
        profiles = []
    for i, p in enumerate(profiles):
        if not isinstance(p, dict):
            errors.append("%s[%d] must be a mapping with name and port" % (var, i))
        elif not isinstance(p.get("serve", True), bool) or not isinstance(p.get("funnel", False), bool):
            errors.append("%s[%d] (%s): serve and funnel must be booleans" % (var, i, p.get("name")))
    served = [p for p in profiles if isinstance(p, dict) and p.get("serve", True) is not False]
    for i, p in enumerate(served):
        name = p.get("name")
        where = "%s entry %s" % (var, name)
        if not isinstance(name, str) or not NAME_RE.match(name):
            errors.append("%s: name %r is not a profile name" % (where, name))
            continue
        target = p.get("port")
        if not _is_int(target) or not 1024 <= target <= 65535:
            errors.append("%s: port %r (the gateway port Serve proxies to on 127.0.0.1) must be an integer between "
                          "1024 and 65535" % (where, target))
            continue
        path = p.get("serve_path", "/")
        if not isinstance(path, str) or not SERVE_PATH_RE.match(path) or has_dot_segment(path):
            errors.append("%s: serve_path %r must be a URL path such as / or /ops (letters, digits, . _ ~ -, no .. segments)"
                          % (where, path))
            continue
        port = p.get("serve_port")
        if port is None:
            if i >= len(default_ports):
                errors.append("%s: set serve_port (only %d default Serve ports)" % (where, len(default_ports)))
                continue
            port = default_ports[i]
        if not _is_int(port) or not 1 <= port <= 65535:
            errors.append("%s: serve_port %r must be an integer between 1 and 65535" % (where, port))
            continue
        out.append(dict(name=name, port=port, path=path, target=str(target),
                        funnel=bool(p.get("funnel", False))))
    seen = {}
    for m in out:
        key = (m["port"], m["path"])
        if key in seen:
            errors.append("%s: profiles %s and %s both want Serve port %d path %s" % (var, seen[key], m["name"], m["port"], m["path"]))
        seen[key] = m["name"]
    if errors:
        from ansible.errors import AnsibleFilterError
        raise AnsibleFilterError("; ".join(errors))
    return out


ENV_LINE_RE = re.compile(r"^\s*Environment=(.*)$")


def unit_environment(text):
    """The Environment= assignments of a unit file as a dict (quoted or not, as systemd_env writes them, %% undone).

    Reads what a unit written by this collection (or by ``clawdbot gateway install``) sets; an empty or missing
    text gives {}.
    """
    env = {}
    for line in (text or "").splitlines():
        m = ENV_LINE_RE.match(line)
        if not m:
            continue
        value = m.group(1).strip()
        words = []
        while value:
            if value[0] == '"':
                out, i = [], 1
                while i < len(value) and value[i] != '"':
                    if value[i] == "\\" and i + 1 < len(value):
                        i += 1
                    out.append(value[i])
                    i += 1
                words.append("".join(out))
                value = value[i + 1:].lstrip()
            else:
                word, _sep, value = value.partition(" ")
                words.append(word)
                value = value.lstrip()
        for word in words:
            if "=" in word:
                key, _eq, val = word.partition("=")
                env[key] = val.replace("%%", "%")
    return env


def unit_version(text, default="?"):
    """The product version a gateway unit runs: its ``*_SERVICE_VERSION`` (clawdbot), else the ``/versions/<v>/``
    directory of its ExecStart (openclaw's unit carries no version)."""
    for key, value in unit_environment(text or "").items():
        if key.endswith("_SERVICE_VERSION") and value:
            return value
    m = re.search(r"(?m)^ExecStart=.*?/versions/([^/\s\"]+)/", text or "")
    return m.group(1) if m else default


def gateway_users(profiles, default_user):
    """The gateway users of a profiles list, in the order they first appear: ``[{user, profiles: [entries]}]``.

    A profile's own ``user`` wins over ``default_user`` (clawdbot_user). playbooks/site.yml installs the CLI, turns on
    lingering and converges the profiles once per user; entries that are not mappings stay with the default user
    (the plan reports them).
    """
    groups = []
    by_user = {}
    for raw in profiles or []:
        user = raw.get("user", default_user) if isinstance(raw, dict) else default_user
        if not isinstance(user, str):
            user = default_user
        if user not in by_user:
            by_user[user] = {"user": user, "profiles": []}
            groups.append(by_user[user])
        by_user[user]["profiles"].append(raw)
    return groups


def unit_paths(profiles, default_user, unit_prefix):
    """``~<user>/.config/systemd/user/<unit_prefix>-<name>.service`` of each profile, as its own user (else default_user)."""
    out = []
    for raw in profiles or []:
        if isinstance(raw, dict) and raw.get("name"):
            user = raw.get("user") if isinstance(raw.get("user"), str) else default_user
            out.append("~%s/.config/systemd/user/%s-%s.service" % (user, unit_prefix, raw["name"]))
    return out


def profiles_or_default(profiles=None):
    """The profiles list of the inventory (clawdbot_profiles), or the runbook's default personal/ops layout."""
    if profiles is None or profiles == "":
        return [dict(p) for p in DEFAULT_PROFILES]
    return profiles


def profile_selection_errors(selection, profiles, var):
    """Errors of a selection of profiles ("all" or a list of names of profiles that exist): [] when it is fine."""
    names = [p.get("name") for p in profiles or [] if isinstance(p, dict)]
    if selection == "all":
        return []
    if not isinstance(selection, list) or not selection:
        return ["%s must be \"all\" or a non-empty YAML list of profile names (one of %s), got %r"
                % (var, ", ".join(str(n) for n in names), selection)]
    unknown = [x for x in selection if x not in names]
    if unknown:
        return ["%s names %s, which %s not in the profiles (%s)"
                % (var, ", ".join(repr(x) for x in unknown), "is" if len(unknown) == 1 else "are",
                   ", ".join(str(n) for n in names))]
    return []


def systemd_env(key, value):
    """One ``Environment=`` assignment quoted for systemd: ``"KEY=VALUE"`` with ``\\``, ``\"`` and ``%%``.

    systemd unquotes the assignment and resolves C escapes inside the quotes, then expands specifiers (``%``);
    ``$`` is not special in Environment=. Control characters cannot be written and raise.
    """
    text = "%s=%s" % (key, value)
    if CONTROL_RE.search(text):
        from ansible.errors import AnsibleFilterError
        raise AnsibleFilterError("the environment variable %s contains a control character" % key)
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")


def managed_settings(p, flavour, options=None):
    """The config keys the role owns for one planned profile ``p``, in the schema of ``flavour``.

    ``options``: ``auto_approve_local`` (openclaw: gateway.nodes.pairing.autoApproveLocal), ``serve`` (the
    tailscale_serve role puts Serve in front of this gateway: openclaw then needs 127.0.0.1 as a trusted proxy,
    contract 2.1), ``bonjour``. Retired keys of the flavour are never written.
    """
    o = dict(auto_approve_local=True, serve=False, bonjour=False)
    o.update(options or {})
    openclaw = flavour.get("name") == "openclaw"
    gateway = {
        "mode": "local", "port": p["port"], "bind": p["bind"],
        "auth": {"mode": p["auth_mode"], "allowTailscale": p["allow_tailscale"]},
        "tailscale": {"mode": p["tailscale_mode"]},
    }
    settings = {"gateway": gateway, "agents": {"defaults": {"workspace": p["workspace"]}},
                "browser": {"enabled": bool(p["browser"])}}
    proxies = p.get("trusted_proxies")
    if proxies is None and openclaw and o["serve"] and p.get("serve", True):
        proxies = ["127.0.0.1"]
    if proxies is not None:
        gateway["trustedProxies"] = list(proxies)
    if openclaw:
        gateway["nodes"] = {"pairing": {"autoApproveLocal": bool(p.get("auto_approve_local", o["auto_approve_local"]))}}
        # Quiet and offline-safe: no update check, no hosted model catalog (contract 8).
        settings["update"] = {"checkOnStart": False}
        settings["models"] = {"catalogRefresh": {"enabled": False}}
        settings["discovery"] = {"mdns": {"mode": "minimal" if o["bonjour"] else "off"}}
        owners = p.get("owner_allow_from")
        tg = p.get("telegram") or {}
        if owners is None and tg.get("enabled") and tg.get("allow_from"):
            owners = ["telegram:%s" % x for x in tg["allow_from"]]
        if owners is not None:
            # Set by the role, so the first DM approval does not write it into the config (contract 5).
            settings["commands"] = {"ownerAllowFrom": list(owners)}
    else:
        gateway["tailscale"]["resetOnExit"] = False
        if p["browser"] and p.get("browser_control_port"):
            settings["browser"]["controlUrl"] = "http://127.0.0.1:%d" % p["browser_control_port"]
    if p.get("telegram"):
        tg = p["telegram"]
        channel = {"enabled": tg["enabled"], "dmPolicy": tg["dm_policy"], "groupPolicy": tg["group_policy"]}
        if tg["enabled"]:
            channel["tokenFile"] = "%s/telegram-bot-token" % p["state_dir"]
        if tg.get("allow_from") is not None:
            channel["allowFrom"] = tg["allow_from"]
        if tg.get("group_allow_from") is not None:
            channel["groupAllowFrom"] = tg["group_allow_from"]
        settings["channels"] = {"telegram": channel}
        if not openclaw:
            # clawdbot rewrites a config whose enabled channel has no plugin entry (clawdbot contract 2.5).
            settings["plugins"] = {"entries": {"telegram": {"enabled": True}}}
    return settings


class FilterModule(object):
    def filters(self):
        return {"profiles_plan": profiles_plan, "serve_mappings": serve_mappings,
                "profile_selection_errors": profile_selection_errors,
                "profiles_or_default": profiles_or_default, "unit_environment": unit_environment, "systemd_env": systemd_env,
                "managed_settings": managed_settings, "unit_version": unit_version,
                "gateway_users": gateway_users, "unit_paths": unit_paths}
