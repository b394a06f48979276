# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only host state shared by host_state_info (what the roles compare against) and host_fingerprint (one
digest of the same reads, which lets site.yml skip a host whose state and inputs match its last no-op run)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import hashlib
import json
import os
import pwd
import stat

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


def _read_regular(path, limit):
    """The text of a regular file of at most `limit` bytes (symlinks followed); None otherwise. OSError propagates."""
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
        return None
    with open(path, "rb") as handle:
        return handle.read().decode("utf-8", "replace")


def read_text(path):
    try:
        return _read_regular(path, READ_MAX)
    except OSError:
        return None


MANIFEST_MAX = 8 * 1024 * 1024
MANIFEST_FIELDS = ("name", "version", "bin", "engines")


def read_manifest(path):
    try:
        text = _read_regular(path, MANIFEST_MAX)
        if text is None:
            return None
        doc = json.loads(text)
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


FINGERPRINT_CHECKSUM_MAX = MANIFEST_MAX  # every manifest host_state_info reads counts with its content


def fingerprint(module, requests, extra_paths):
    """Everything the requests (host_state_info's `request` return values) read, as one structure: for every path
    of any list its lstat-derived state with the SHA-1 of a regular file's whole content (up to 8 MiB), the users'
    passwd entries, the package versions and the user units' properties per user. Returns (state, counted)."""
    paths, users, packages, units = set(extra_paths or []), set(), set(), {}
    for req in requests or []:
        for key in ("paths", "secret_files", "read", "manifests"):
            paths.update(req.get(key) or [])
        users.update(req.get("users") or [])
        packages.update(req.get("packages") or [])
        spec = req.get("user_units") or {}
        if spec.get("user"):
            units.setdefault(spec["user"], set()).update(spec.get("units") or [])
    state = {
        "paths": dict((p, path_state(expand(p), FINGERPRINT_CHECKSUM_MAX)) for p in sorted(paths)),
        "users": dict((u, user_entry(u)) for u in sorted(users)),
        "packages": package_versions(module, sorted(packages)),
        "user_units": {},
    }
    for user in sorted(units):
        read, manager = user_unit_state(module, {"user": user, "units": sorted(units[user])})
        state["user_units"][user] = {"manager": manager, "units": read}
    counted = len(state["paths"]) + len(state["users"]) + len(state["packages"]) + sum(len(u) for u in units.values())
    return state, counted


def digest_of(state):
    return hashlib.sha256(json.dumps(state, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


class PlainRunner(object):
    """What fingerprint() needs of AnsibleModule (get_bin_path, run_command, fail_json), with the standard library
    only: converge_stamp runs this file as a plain Python script on the host (one process, no module payload)."""

    PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]

    def get_bin_path(self, name):
        for base in os.environ.get("PATH", "").split(os.pathsep) + self.PATH:
            path = os.path.join(base, name)
            if base and os.path.isfile(path) and os.access(path, os.X_OK):
                return path
        return None

    def run_command(self, argv, environ_update=None):
        import subprocess
        env = dict(os.environ)
        env.update(environ_update or {})
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        out, err = proc.communicate()
        return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")

    def fail_json(self, msg, **kwargs):
        raise RuntimeError(msg)


def script_main(args):
    """Entry point when this file runs as a script: prints {"digest", "counted"} or {"failed", "msg"} as JSON."""
    import sys
    try:
        state, counted = fingerprint(PlainRunner(), args.get("requests"), args.get("paths"))
        out = {"digest": digest_of(state), "counted": counted}
    except Exception as exc:  # noqa: BLE001 -- reported to the controller, which falls back to the module
        out = {"failed": True, "msg": "%s: %s" % (type(exc).__name__, exc)}
    sys.stdout.write(json.dumps(out) + "\n")
