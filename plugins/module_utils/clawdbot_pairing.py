# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure helpers shared by the pairing modules (device_pairing[_info], dm_pairing[_info]).

Both flavours (module_utils/flavours.py) are handled; ``cli`` is a :class:`ClawdbotCLI` (or anything with its
``flavour``, ``profile``, ``home``, ``state_dir``, ``extra_env``, ``gateway_url`` and ``redact``).

Device pairing (contract 4, same on both flavours apart from error texts and new fields): ``devices list
--json`` is an RPC of the running gateway; the helpers here summarise its output (never returning tokens) and
turn a failed call into a message that names the profile, the gateway URL and the systemd unit.

DM pairing (contract 5):

* clawdbot: the CLI works directly on ``<credentials>/<channel>-pairing.json`` and ``<channel>-allowFrom.json``,
  and ``pairing list`` *creates* the pairing file, so listing is done here by reading the files, applying the
  CLI's rules (1 h TTL from ``createdAt``; an unparsable ``createdAt`` counts as expired; codes compared
  upper-cased).
* openclaw: the stores are tables of ``<stateDir>/state/openclaw.sqlite``; ``pairing list <channel> --json`` is
  read-only there and is the only source (:func:`dm_listing_from_cli`).

openclaw's device pairing tables are also read directly, read-only and as the gateway user, to save the listing
CLI call of ``device_pairing`` (:func:`read_device_store`); nothing here ever writes to the database.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import errno
import json
import os
import re

from ansible_collections.homelab.clawdbot.plugins.module_utils import flavours
from ansible_collections.homelab.clawdbot.plugins.module_utils.clawdbot_cli import (
    first_error_line,
    parse_json_output,
)

# ---------------------------------------------------------------------------------------------
# generic


def flavour_of(cli):
    """The flavour definition of the runner (openclaw reads ``OPENCLAW_*`` only, clawdbot ``CLAWDBOT_*``)."""
    return flavours.get_flavour(cli.flavour)


# Flavours whose device and DM pairing stores are tables of <stateDir>/state/openclaw.sqlite (openclaw contract
# 4.1, 5); flavours.py has no field for it. The clawdbot flavour keeps JSON files under the state dir.
_SQLITE_STORE_FLAVOURS = ("openclaw",)


def uses_sqlite_stores(cli):
    """True when the pairing stores are SQLite tables (openclaw): only the CLI may change them."""
    return cli.flavour in _SQLITE_STORE_FLAVOURS


def profile_label(cli):
    return cli.profile or "default"


def is_default_profile(cli):
    return not cli.profile or cli.profile.lower() == "default"


def service_name(cli):
    """The gateway's systemd user unit for the runner's profile (contract 1.3)."""
    base = flavour_of(cli)["unit_prefix"]
    if is_default_profile(cli):
        return "%s.service" % base
    return "%s-%s.service" % (base, cli.profile)


def cli_env_value(cli, suffix, environ=None):
    """The value of ``<PREFIX>_<suffix>`` as the CLI will see it (``cli_env`` beats the process env)."""
    environ = os.environ if environ is None else environ
    name = "%s_%s" % (flavour_of(cli)["env_prefix"], suffix)
    value = cli.extra_env.get(name)
    if value is None:
        value = environ.get(name)
    return str(value) if value else None


def _expand_home(path, home):
    if path == "~":
        return home
    if path.startswith("~/"):
        return os.path.join(home, path[2:])
    return path


def resolve_state_dir(cli, environ=None):
    """State dir honouring ``*_STATE_DIR`` overrides (``~`` is the gateway user's home)."""
    value = cli_env_value(cli, "STATE_DIR", environ)
    if value:
        return os.path.abspath(_expand_home(value, cli.home))
    return cli.state_dir


def resolve_credentials_dir(cli, environ=None):
    """Where the DM pairing stores live: ``*_OAUTH_DIR`` or ``<stateDir>/credentials``."""
    value = cli_env_value(cli, "OAUTH_DIR", environ)
    if value:
        return os.path.abspath(_expand_home(value, cli.home))
    return os.path.join(resolve_state_dir(cli, environ), "credentials")


# ---------------------------------------------------------------------------------------------
# device pairing (contract 4)

DEVICE_PENDING_TTL_SECONDS = 300

_UNREACHABLE_MARKERS = ("gateway closed (1006", "econnrefused", "connect failed", "ehostunreach",
                        "enotfound", "etimedout", "gateway timeout", "gateway not reachable",
                        "gateway_transport_error")

# The CLI refused a request id that is not pending (expired, already used or mistyped), contract 4.2:
# clawdbot (approve and reject) and openclaw reject: ``unknown requestId`` (openclaw: in the JSON error envelope
# on stdout and as ``[openclaw] Reason: unknown requestId`` on stderr); openclaw approve (its own pre-check):
# ``No pending device request matches <id>. Run ...`` on stderr, stdout empty.
_UNKNOWN_REQUEST_MARKERS = ("unknown requestid", "no pending device request matches")


def is_gateway_unreachable(text):
    text = (text or "").lower()
    return any(marker in text for marker in _UNREACHABLE_MARKERS)


def is_unknown_request(text):
    text = (text or "").lower()
    return any(marker in text for marker in _UNKNOWN_REQUEST_MARKERS)


def gateway_target(text, stdout=None):
    """The gateway URL the CLI tried: ``Gateway target: ws://…`` (clawdbot), ``gateway.url`` of the openclaw
    error envelope, or the URL in ``Gateway not reachable at ws://… (ECONNREFUSED).``."""
    m = re.search(r"Gateway target:\s*(\S+)", text or "")
    if m:
        return m.group(1)
    for candidate in (stdout, text):
        try:
            data = parse_json_output(candidate or "")
        except ValueError:
            continue
        gateway = data.get("gateway") if isinstance(data, dict) else None
        if isinstance(gateway, dict) and isinstance(gateway.get("url"), str) and gateway["url"]:
            return gateway["url"]
    m = re.search(r"not reachable at\s+(wss?://[^\s()]+?)[.,]?(?:\s|\(|$)", text or "")
    return m.group(1) if m else None


def identity_hint(cli):
    """Why a CLI gets ``pairing required`` and how to avoid it (contract 1.1 / 4.3 of each flavour)."""
    if uses_sqlite_stores(cli):
        return ("its device identity, table device_identities of %s/state/openclaw.sqlite, is not paired with "
                "that gateway; on the gateway host the CLI sends no identity to a loopback URL when it has the "
                "gateway token" % cli.state_dir)
    return ("its device identity ~/%s/identity is not paired with that gateway; a loopback connection on the "
            "gateway host pairs automatically" % flavour_of(cli)["state_prefix"])


def gateway_failure_message(cli, err, port=None):
    """A one-line message for a failed gateway RPC (no stack trace)."""
    text = "%s\n%s" % (err.stderr or "", err.stdout or "")
    reason = first_error_line(err.stderr, err.stdout) or err.msg
    reason = cli.redact(reason)
    if is_gateway_unreachable(text):
        url = cli.gateway_url or gateway_target(text, err.stdout)
        if not url:
            url = "ws://127.0.0.1:%d" % port if port else "the profile's configured port"
        return ("the gateway of profile %s is not reachable at %s: %s \u2014 is %s running?"
                % (profile_label(cli), url, reason, service_name(cli)))
    if "pairing required" in text:
        return ("the gateway of profile %s refused this CLI: %s (%s)" % (profile_label(cli), reason, identity_hint(cli)))
    if "plaintext ws://" in text:
        # openclaw refuses ws:// to a non-loopback host (contract 4.3 point 4)
        return ("the CLI refused gateway_url on profile %s: %s (use wss://, a loopback URL, or set "
                "%s_ALLOW_INSECURE_PRIVATE_WS=1 in cli_env on a trusted private network)"
                % (profile_label(cli), reason, flavour_of(cli)["env_prefix"]))
    if "unauthorized" in text.lower():
        return ("the gateway of profile %s rejected the credentials: %s (check gateway_token)"
                % (profile_label(cli), reason))
    return "devices call failed on profile %s: %s" % (profile_label(cli), reason)


def normalise_device_listing(data):
    """Validate ``devices list --json`` output; returns ``{'pending': [...], 'paired': [...]}``."""
    if not isinstance(data, dict):
        raise ValueError("devices list --json did not return an object")
    out = {}
    for key in ("pending", "paired"):
        value = data.get(key) or []
        if isinstance(value, dict):  # on-disk shape (keyed by id); the RPC returns arrays
            value = list(value.values())
        if not isinstance(value, list):
            raise ValueError("devices list --json: '%s' is not a list" % key)
        out[key] = [entry for entry in value if isinstance(entry, dict)]
    out["pending"].sort(key=lambda e: e.get("ts") or 0, reverse=True)
    return out


def age_seconds(entry, now_ms):
    ts = entry.get("ts")
    if not isinstance(ts, (int, float)) or isinstance(ts, bool):
        return None
    return max(0, int((now_ms - ts) // 1000))


def summarise_pending(entry, now_ms):
    """A pending request without its public key. ``deviceFamily`` is openclaw only (None on clawdbot); local
    clients have no ``remoteIp`` on openclaw."""
    return dict(
        requestId=entry.get("requestId"),
        deviceId=entry.get("deviceId"),
        clientId=entry.get("clientId"),
        clientMode=entry.get("clientMode"),
        platform=entry.get("platform"),
        deviceFamily=entry.get("deviceFamily"),
        role=entry.get("role"),
        scopes=list(entry.get("scopes") or []),
        remoteIp=entry.get("remoteIp"),
        ageSeconds=age_seconds(entry, now_ms),
        displayName=entry.get("displayName"),
        isRepair=bool(entry.get("isRepair")),
    )


def summarise_paired(entry):
    """A paired device without its key and tokens. ``displayName``, ``deviceFamily``, ``approvedVia``,
    ``lastSeenAtMs`` and ``connected`` are openclaw fields (contract 4.2), None on clawdbot."""
    tokens = entry.get("tokens")
    return dict(
        deviceId=entry.get("deviceId"),
        clientId=entry.get("clientId"),
        clientMode=entry.get("clientMode"),
        platform=entry.get("platform"),
        deviceFamily=entry.get("deviceFamily"),
        displayName=entry.get("displayName"),
        role=entry.get("role"),
        remoteIp=entry.get("remoteIp"),
        approvedAtMs=entry.get("approvedAtMs"),
        approvedVia=entry.get("approvedVia"),
        lastSeenAtMs=entry.get("lastSeenAtMs"),
        connected=entry.get("connected"),
        tokenCount=(entry["tokenCount"] if isinstance(entry.get("tokenCount"), int)
                    else len(tokens) if isinstance(tokens, (list, dict)) else 0),
    )


# ---------------------------------------------------------------------------------------------
# device pairing store, read-only (openclaw 2026.9: contract 4.1)
#
# The gateway answers ``devices list`` from the tables device_pairing_pending and device_pairing_paired of
# <stateDir>/state/openclaw.sqlite, read-only, dropping pending requests older than DEVICE_PAIRING_PENDING_TTL_MS
# (``nowMs - (refreshedAtMs ?? ts) > 3e5``, dist/pairing-files-*.mjs). Reading the same rows here saves the CLI
# call (its Node start and RPC round trip, 1.3-2 s) that listing costs. Only the CLI ever writes (approve/reject
# go through the gateway, whose own pre-check still refuses a request that is no longer pending).
#
# The reader runs as the gateway user (runuser when the module is root): opened read-only, SQLite may still create
# the -wal/-shm files of a WAL database, and root-owned ones would lock the gateway out. It never selects a public
# key or a token (only the number of token entries, counted by SQLite). When the file, a table or a column is not
# what was measured, it answers "unavailable" and the module lists through the CLI instead.

DEVICE_STORE_RELPATH = ("state", "openclaw.sqlite")
DEVICE_STORE_UNAVAILABLE_RC = 3

_STORE_PENDING_COLUMNS = ("request_id", "device_id", "display_name", "platform", "device_family", "client_id",
                          "client_mode", "browser_origin", "role", "roles_json", "scopes_json", "remote_ip",
                          "silent", "is_repair", "ts", "refreshed_at_ms")
_STORE_PAIRED_COLUMNS = ("device_id", "display_name", "operator_label", "platform", "device_family", "client_id",
                         "client_mode", "role", "roles_json", "scopes_json", "remote_ip", "approved_via",
                         "created_at_ms", "approved_at_ms", "last_seen_at_ms", "last_seen_reason")

# Run as ``python3 -c DEVICE_STORE_SCRIPT <db path> <pending columns> <paired columns>``; prints
# {"pending": [[...]], "paired": [[... , token count]]} (rows in the column order given), or exits 3 with
# {"unavailable": "<why>"}.
DEVICE_STORE_SCRIPT = r"""
import json, sqlite3, sys
try:
    from urllib.parse import quote
except ImportError:
    from urllib import quote
path, pending_cols, paired_cols = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(",")
def unavailable(why):
    sys.stdout.write(json.dumps({"unavailable": why}))
    sys.exit(3)
try:
    con = sqlite3.connect("file:%s?mode=ro" % quote(path), uri=True, timeout=5)
    for table, cols in (("device_pairing_pending", pending_cols), ("device_pairing_paired", paired_cols + ["tokens_json"])):
        have = set(row[1] for row in con.execute("pragma table_info(%s)" % table))
        missing = [c for c in cols if c not in have]
        if missing:
            unavailable("%s has no column %s" % (table, ", ".join(missing)) if have else "no table %s" % table)
    pending = con.execute("select %s from device_pairing_pending" % ", ".join(pending_cols)).fetchall()
    paired = con.execute("select %s, (select count(*) from json_each(coalesce(tokens_json, '[]'))) "
                         "from device_pairing_paired" % ", ".join(paired_cols)).fetchall()
except sqlite3.Error as exc:
    unavailable("sqlite: %s" % exc)
sys.stdout.write(json.dumps({"pending": [list(r) for r in pending], "paired": [list(r) for r in paired]}))
"""


def _camel(column):
    head, _sep, rest = column.partition("_")
    parts = rest.split("_") if rest else []
    return head + "".join(x.capitalize() for x in parts)


def _json_column(value):
    if value is None:
        return None
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return None


def _store_record(columns, row):
    """A row as the gateway's record (``fromPendingRow``/``fromPairedRow``): camelCase keys, ``*_json`` columns
    decoded under their name without ``Json``, 0/1 flags as booleans, NULLs left out."""
    out = {}
    for column, value in zip(columns, row):
        if value is None:
            continue
        if column.endswith("_json"):
            value = _json_column(value)
            if value is None:
                continue
            column = column[:-len("_json")]
        elif column in ("silent", "is_repair"):
            value = value != 0
        out[_camel(column)] = value
    return out


def device_listing_from_store(doc, now_ms, ttl_ms=DEVICE_PENDING_TTL_SECONDS * 1000):
    """The ``devices list --json`` shape (through :func:`normalise_device_listing`) of what
    :data:`DEVICE_STORE_SCRIPT` printed: pending requests the gateway still considers pending (not older than the
    TTL, counted from ``refreshedAtMs`` when set, else ``ts``), paired devices with ``tokenCount`` and
    ``connected`` None (only the gateway knows its connections). Raises ValueError on a shape it does not know."""
    if not isinstance(doc, dict) or not isinstance(doc.get("pending"), list) or not isinstance(doc.get("paired"), list):
        raise ValueError("the device store reader printed no pending/paired lists")
    pending = []
    for row in doc["pending"]:
        entry = _store_record(_STORE_PENDING_COLUMNS, row)
        since = entry.get("refreshedAtMs", entry.get("ts"))
        if not isinstance(since, int) or now_ms - since > ttl_ms:
            continue
        pending.append(entry)
    paired = []
    for row in doc["paired"]:
        entry = _store_record(_STORE_PAIRED_COLUMNS, row[:-1])
        entry["tokenCount"] = row[-1] if isinstance(row[-1], int) else 0
        entry["connected"] = None
        paired.append(entry)
    return normalise_device_listing({"pending": pending, "paired": paired})


def device_store_path(cli, environ=None):
    """``<stateDir>/state/openclaw.sqlite`` of the runner's profile (``*_STATE_DIR`` honoured)."""
    return os.path.join(resolve_state_dir(cli, environ), *DEVICE_STORE_RELPATH)


def read_device_store(cli, python, now_ms):
    """``(listing, None)`` read from the profile's SQLite store as the gateway user (``cli.run_as_user``), or
    ``(None, why)`` when it cannot be used: another flavour, a remote gateway (``gateway_url``), no such file, or
    tables and columns other than those measured. ``python`` is the interpreter to run the reader with."""
    if not uses_sqlite_stores(cli):
        return None, "the %s flavour keeps no SQLite store" % cli.flavour
    if cli.gateway_url:
        return None, "gateway_url names a gateway whose store is not on this host"
    path = device_store_path(cli)
    cmd = [python, "-c", DEVICE_STORE_SCRIPT, path, ",".join(_STORE_PENDING_COLUMNS), ",".join(_STORE_PAIRED_COLUMNS)]
    rc, out, err = cli.run_as_user(cmd, {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"})
    try:
        doc = json.loads(out) if out and out.strip() else None
    except ValueError:
        doc = None
    if rc == DEVICE_STORE_UNAVAILABLE_RC and isinstance(doc, dict) and doc.get("unavailable"):
        return None, "%s: %s" % (path, doc["unavailable"])
    if rc != 0 or doc is None:
        return None, "%s: the reader failed (rc %s): %s" % (path, rc, first_error_line(err, out) or "no output")
    try:
        return device_listing_from_store(doc, now_ms), None
    except ValueError as exc:
        return None, "%s: %s" % (path, exc)


def parse_device_action_text(verb, stdout):
    """Text-mode answer of ``devices approve|reject <id>`` when it is not JSON (contract 4.2):
    ``Approved <deviceId> (<requestId>)`` (openclaw), ``Approved <deviceId>`` (clawdbot), ``Rejected <deviceId>``.
    Returns the ``--json`` shape without ``device`` (``{"deviceId", "requestId"?}``) or None."""
    word = "Approved" if verb == "approve" else "Rejected"
    for line in (stdout or "").splitlines():
        m = re.match(r"^\s*%s\s+(\S+?)(?:\s+\((\S+?)\))?\.?\s*$" % word, line)
        if m:
            out = dict(deviceId=m.group(1))
            if m.group(2):
                out["requestId"] = m.group(2)
            return out
    return None


def usable_request_id(request_id):
    """True for an id that can be passed to ``devices approve|reject``: never empty (openclaw's ``devices approve``
    without an id only previews the newest request, rc 1) and never option-like."""
    return isinstance(request_id, str) and bool(request_id.strip()) and not request_id.startswith("-")


def describe_candidate(entry, now_ms):
    age = age_seconds(entry, now_ms)
    return "requestId=%s clientId=%s remoteIp=%s age=%s" % (
        entry.get("requestId"), entry.get("clientId"), entry.get("remoteIp") or "-",
        "%ds" % age if age is not None else "?")


# ---------------------------------------------------------------------------------------------
# DM pairing (contract 5)

DM_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
DM_CODE_LENGTH = 8
DM_PENDING_TTL_MS = 60 * 60 * 1000
CHANNEL_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
_CODE_RE = re.compile(r"^[%s]{%d}$" % (DM_CODE_ALPHABET, DM_CODE_LENGTH))

_ISO_RE = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|z|[+-]\d{2}:?\d{2})?\s*$")


def validate_channel(channel):
    """Returns an error message or None."""
    if not isinstance(channel, str) or not CHANNEL_RE.match(channel):
        return ("channel must match ^[a-z][a-z0-9_-]{0,63}$ (e.g. telegram, whatsapp, discord), got %r"
                % (channel,))
    return None


def normalise_code(code):
    """Returns (CODE, error message or None)."""
    value = (code or "").strip().upper()
    if not _CODE_RE.match(value):
        return value, ("code must be %d characters from %s (case-insensitive; no 0, 1, I or O), got %r"
                       % (DM_CODE_LENGTH, DM_CODE_ALPHABET, code))
    return value, None


def parse_iso_ms(value):
    """ms since epoch for an ISO-8601 timestamp as the CLI writes it (``toISOString``); None if unparsable."""
    if not isinstance(value, str):
        return None
    m = _ISO_RE.match(value)
    if not m:
        return None
    year, month, day, hour, minute, second, frac, tz = m.groups()
    try:
        parts = (int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
        if not (1 <= parts[1] <= 12 and 1 <= parts[2] <= 31 and parts[3] <= 24 and parts[4] <= 59 and parts[5] <= 59):
            return None
        seconds = calendar.timegm(parts + (0, 0, 0))
    except (ValueError, OverflowError):
        return None
    ms = seconds * 1000 + (int((frac or "0")[:3].ljust(3, "0")) if frac else 0)
    if tz and tz not in ("Z", "z"):
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        ms -= sign * (int(digits[:2]) * 60 + int(digits[2:])) * 60 * 1000
    return ms


def dm_store_paths(credentials_dir, channel):
    return (os.path.join(credentials_dir, "%s-pairing.json" % channel),
            os.path.join(credentials_dir, "%s-allowFrom.json" % channel))


def read_json_store(path):
    """(value, exists). Missing file -> (None, False). Raises ValueError/OSError with a readable message."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except (IOError, OSError) as exc:
        if getattr(exc, "errno", None) in (errno.ENOENT, errno.ENOTDIR):
            return None, False
        raise OSError("cannot read %s: %s (run the module as root or as the gateway user)"
                      % (path, getattr(exc, "strerror", None) or exc))
    try:
        return json.loads(raw.decode("utf-8")), True
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("%s is not valid JSON (%s); fix or remove it before pairing" % (path, exc))


def is_dm_request_expired(entry, now_ms):
    created = parse_iso_ms(entry.get("createdAt"))
    if not created:
        return True
    return now_ms - created > DM_PENDING_TTL_MS


def dm_pending_requests(store, now_ms):
    """Pending requests as the CLI's approve sees them: well-formed and not expired, oldest first."""
    reqs = store.get("requests") if isinstance(store, dict) else None
    if not isinstance(reqs, list):
        return []
    out = []
    for entry in reqs:
        if not isinstance(entry, dict):
            continue
        if not isinstance(entry.get("id"), str) or not isinstance(entry.get("code"), str):
            continue
        if not isinstance(entry.get("createdAt"), str) or is_dm_request_expired(entry, now_ms):
            continue
        out.append(entry)
    out.sort(key=lambda e: e.get("createdAt"))
    return out


def dm_expired_count(store, now_ms):
    reqs = store.get("requests") if isinstance(store, dict) else None
    if not isinstance(reqs, list):
        return 0
    return len([e for e in reqs if isinstance(e, dict) and is_dm_request_expired(e, now_ms)])


def normalise_allow_entry(channel, entry):
    value = str(entry).strip()
    if not value or value == "*":
        return ""
    prefixes = {"telegram": r"^(telegram|tg):", "signal": r"^signal:", "discord": r"^(discord|user):",
                "slack": r"^(slack|user):", "matrix": r"^(matrix|user):"}
    pattern = prefixes.get(channel)
    if pattern:
        value = re.sub(pattern, "", value, flags=re.IGNORECASE)
    return value


def dm_allow_from(store, channel):
    values = store.get("allowFrom") if isinstance(store, dict) else None
    if not isinstance(values, list):
        return []
    out = []
    for value in values:
        if isinstance(value, (dict, list)) or value is None:
            continue
        norm = normalise_allow_entry(channel, value)
        if norm and norm not in out:
            out.append(norm)
    return out


def find_dm_request(pending, code):
    code = (code or "").strip().upper()
    for entry in pending:
        if str(entry.get("code", "")).upper() == code:
            return entry
    return None


def summarise_dm_request(entry, now_ms):
    created = parse_iso_ms(entry.get("createdAt"))
    expires_in = None
    if created:
        expires_in = max(0, int((created + DM_PENDING_TTL_MS - now_ms) // 1000))
    meta = entry.get("meta")
    return dict(
        id=entry.get("id"),
        code=str(entry.get("code", "")).upper(),
        createdAt=entry.get("createdAt"),
        lastSeenAt=entry.get("lastSeenAt"),
        meta=dict(meta) if isinstance(meta, dict) else {},
        expiresInSeconds=expires_in,
    )


def dm_listing_from_cli(data, channel, now_ms):
    """Pending requests from ``pairing list <channel> --json`` (openclaw contract 5):
    ``{"channel": "telegram", "requests": [{"id", "code", "createdAt", "lastSeenAt", "meta": {...}}]}``.

    The same rules as for the clawdbot store apply (well-formed, not expired, oldest first). Raises ValueError."""
    if not isinstance(data, dict) or not isinstance(data.get("requests"), list):
        raise ValueError("pairing list %s --json did not return an object with a requests list" % channel)
    if data.get("channel") not in (None, channel):
        raise ValueError("pairing list %s --json answered for channel %r" % (channel, data.get("channel")))
    return dm_pending_requests(data, now_ms)


def dm_approved_sender(stdout):
    """The sender id of ``Approved <channel> sender <id>.`` (both flavours), or None."""
    m = re.search(r"^\s*Approved \S+ sender (\S+?)\.?\s*$", stdout or "", re.MULTILINE)
    return m.group(1) if m else None


def dm_owner_line(stdout):
    """openclaw's ``Command owner configured telegram:<id> (commands.ownerAllowFrom was empty).`` or None: the first
    approval also writes ``commands.ownerAllowFrom`` into the config (contract 5)."""
    m = re.search(r"^\s*(Command owner configured .*)$", stdout or "", re.MULTILINE)
    return m.group(1).strip() if m else None


def is_dm_unknown_code(text):
    """``No pending pairing request found for code ...`` (clawdbot ``Error:``, openclaw ``Reason:``)."""
    return "no pending pairing request" in (text or "").lower()


def read_dm_state(credentials_dir, channel, now_ms):
    """Read both stores without creating anything. Raises OSError/ValueError with readable messages."""
    pairing_path, allow_path = dm_store_paths(credentials_dir, channel)
    store, _exists = read_json_store(pairing_path)
    allow, _exists = read_json_store(allow_path)
    return dict(
        pairing_file=pairing_path,
        allow_from_file=allow_path,
        pending_entries=dm_pending_requests(store, now_ms),
        expired_count=dm_expired_count(store, now_ms),
        allow_from=dm_allow_from(allow, channel),
    )
