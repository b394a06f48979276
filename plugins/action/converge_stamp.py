# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of homelab.clawdbot.converge_stamp (documentation: plugins/modules/converge_stamp.py).

Runs on the controller: digests the play's inputs, keeps one record per host in a controller directory, and asks
the host for one digest of the state the roles read (homelab.clawdbot.host_fingerprint)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import hashlib
import hmac
import json
import os
import shlex
import tempfile
import time

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

# The variables that can change what a converge does: every role's options, the playbooks' clawdbot_* options and
# the shared facts of playbooks/vars/homelab.yml, by prefix (role defaults live in the collection's files, which
# count through collection_digest()).
PREFIXES = ("node_runtime_", "clawdbot_", "systemd_linger_", "spark_provider_", "profiles_", "tailscale_serve_",
            "homelab_")
EXTRA = ("_homelab_product", "_homelab_migrating")
# Options of how to run, not of what the host should look like.
EXCLUDE = frozenset((
    "clawdbot_rollout_serial", "clawdbot_rollout_max_fail_percentage",
    "homelab_rollout_serial", "homelab_rollout_max_fail_percentage",
    "clawdbot_converge_cache_dir", "homelab_converge_cache", "homelab_converge_volatile",
    "clawdbot_run_lock_wait", "homelab_run_lock_wait", "homelab_run_holder",
))
COLLECTION_DIRS = ("meta", "playbooks", "plugins", "roles")
REQUEST_KEYS = frozenset(("paths", "secret_files", "read", "manifests", "users", "packages", "user_units"))
FORMAT = 1


def selected_names(names):
    """The variable names that count as inputs, sorted."""
    return sorted(n for n in names
                  if n not in EXCLUDE and (n.startswith(PREFIXES) or n in EXTRA))


def _sha256(data):
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def value_digest(value, key):
    """A stable, keyed digest of one templated value (vault strings and other objects as their text). Keyed with
    the controller's own random key (cache_key()), so the digest of a weak secret cannot be guessed from outside."""
    data = json.dumps(value, sort_keys=True, separators=(",", ":"), default=to_text).encode("utf-8")
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def cache_key(directory):
    """The random key of the cache directory (created 0600 on first use, in a 0700 directory; when several hosts'
    workers create it at once, the first link wins and every worker reads that one)."""
    if not os.path.isdir(directory):
        try:
            os.makedirs(directory, 0o700)
        except OSError:
            if not os.path.isdir(directory):
                raise
    path = os.path.join(directory, ".key")
    if not os.path.exists(path):
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".key.")
        with os.fdopen(fd, "w") as handle:
            handle.write(binascii.hexlify(os.urandom(32)).decode("ascii") + "\n")
        try:
            os.link(tmp, path)
        except OSError:
            pass  # another worker's key is in place
        os.unlink(tmp)
    with open(path) as handle:
        return binascii.unhexlify(handle.read().strip())


def open_cache(directory):
    """The cache directory's key, or None and why the directory cannot be used (a file in its place, no write
    access, a damaged key): without a record a run is a full run, never a failed one."""
    try:
        return cache_key(directory), None
    except (IOError, OSError, ValueError, TypeError) as exc:
        return None, "the record directory %s cannot be used (%s): every role runs, and no record is kept" % (
            directory, to_text(exc))


def write_record(path, record):
    """Write the record as a private file, replacing the old one in one step."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".stamp.")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(record, handle, sort_keys=True, indent=1)
        os.chmod(tmp, 0o600)
        os.rename(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def collection_digest(root):
    """One digest over the collection's own files (roles with their defaults and templates, plugins, playbooks), so a
    new release of the collection never matches a record an older one wrote."""
    digest = hashlib.sha256()
    for top in COLLECTION_DIRS:
        for base, dirs, files in os.walk(os.path.join(root, top)):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                if name.endswith((".pyc", ".pyo")):
                    continue
                path = os.path.join(base, name)
                digest.update(os.path.relpath(path, root).encode("utf-8") + b"\0")
                with open(path, "rb") as handle:
                    digest.update(hashlib.sha256(handle.read()).digest())
    return digest.hexdigest()


def host_state_source():
    """The source of plugins/module_utils/host_state.py (standard library only), which the host runs as a script."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils", "host_state.py")
    with open(path) as handle:
        return handle.read()


def inputs_digest(inputs, collection, ansible_version):
    return _sha256(json.dumps({"inputs": inputs, "collection": collection, "ansible": ansible_version},
                              sort_keys=True, separators=(",", ":")))


def changed_inputs(before, after):
    """Names of the inputs that differ between two {name: digest} mappings."""
    return sorted(n for n in set(before) | set(after) if before.get(n) != after.get(n))


def decide(record, inputs_sum, inputs, current, volatile):
    """Whether the host may skip the converge, and why (not)."""
    if volatile:
        return False, volatile
    if not record:
        return False, "no record of an earlier run on this controller"
    if record.get("inputs_digest") != inputs_sum:
        names = changed_inputs(record.get("inputs") or {}, inputs)
        return False, ("inputs changed: %s" % ", ".join(names)) if names else \
            "the collection or ansible-core changed since the last run"
    if current != record.get("digest"):
        return False, "the host changed since the last run"
    if not record.get("verified"):
        return False, "the last run changed the host; this run checks that nothing is left to do"
    return True, "the host and the inputs are as the last run, which changed nothing, left them"


def spec_from_reads(reads, paths):
    """The fingerprint request: the `request` of every host_state_info result given, plus more paths."""
    requests = []
    for read in reads or []:
        if isinstance(read, dict) and isinstance(read.get("request"), dict):
            requests.append(read["request"])
        elif isinstance(read, dict) and read and set(read) <= REQUEST_KEYS:
            # a plain request mapping (for paths the roles do not read through host_state_info); anything else
            # (a skipped task's result, another module's) asks nothing
            requests.append(read)
    return {"requests": requests, "paths": sorted(set(paths or []))}


def verified(check, spec, digest):
    """A run changed nothing the fingerprint covers when the host, read with the same request before the converge
    (the record's spec, at check time) and after it, gives the same digest."""
    return bool(check.get("before")) and check.get("spec") == spec and check.get("before") == digest


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("state", "cache_dir", "volatile", "check", "reads", "paths"))

    def _record_path(self, cache_dir, task_vars):
        host = task_vars.get("inventory_hostname", "host")
        where = ":".join(to_text(self._templar.template(task_vars.get(name, default)))
                         for name, default in (("ansible_host", host), ("ansible_port", ""), ("ansible_user", "")))
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in host)
        return os.path.join(os.path.expanduser(cache_dir), "%s-%s.json" % (safe, _sha256(where)[:12]))

    def _inputs(self, task_vars, key):
        inputs = {}
        for name in selected_names(task_vars):
            try:
                value = self._templar.template(task_vars[name])
            except AnsibleError:
                value = to_text(task_vars[name])
            inputs[name] = value_digest(value, key)
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        version = (task_vars.get("ansible_version") or {}).get("full", "")
        return inputs, inputs_digest(inputs, collection_digest(root), version)

    def _fingerprint(self, spec, task_vars):
        """The host's digest: host_state.py run as one plain Python process on the host (no module payload: on an
        unchanged host this read is most of what a re-run costs); the module host_fingerprint, which computes the
        same digest with the same code, when that cannot run (no pipelining to pass the script, another shell)."""
        args = {"requests": spec["requests"], "paths": spec["paths"]}
        digest = self._fingerprint_script(args, task_vars)
        if digest:
            return digest
        res = self._execute_module(module_name="homelab.clawdbot.host_fingerprint", module_args=args,
                                   task_vars=task_vars)
        if res.get("failed"):
            raise AnsibleError("host_fingerprint failed: %s" % res.get("msg", res))
        return res["digest"]

    def _fingerprint_script(self, args, task_vars):
        if not getattr(self._connection, "has_pipelining", False):
            return None
        python = to_text(self._templar.template(task_vars.get("ansible_python_interpreter") or ""))
        if not python or python.startswith("auto"):
            python = (task_vars.get("ansible_facts") or {}).get("discovered_interpreter_python") or "/usr/bin/python3"
        script = "%s\nscript_main(json.loads(%r))\n" % (host_state_source(), json.dumps(args))
        try:
            res = self._low_level_execute_command("%s -" % shlex.quote(python), sudoable=True, in_data=script)
            out = json.loads(to_text(res.get("stdout", "")).strip().splitlines()[-1])
        except Exception:  # noqa: BLE001 -- any trouble: the module reads the same
            return None
        return out.get("digest") if res.get("rc") == 0 and not out.get("failed") else None

    @staticmethod
    def _load(path):
        try:
            with open(path) as handle:
                record = json.load(handle)
        except (IOError, OSError, ValueError):
            return None
        return record if isinstance(record, dict) and record.get("format") == FORMAT else None

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        args = self._task.args
        state = args.get("state", "check")
        cache_dir = args.get("cache_dir") or ""
        result["changed"] = False
        if state not in ("check", "record"):
            return dict(result, failed=True, msg="state must be check or record, not %r" % state)
        if not cache_dir:
            return dict(result, match=False, reason="no cache directory (clawdbot_converge_cache_dir is empty)")
        path = self._record_path(cache_dir, task_vars)
        try:
            if state == "check":
                return self._check(result, path, args, task_vars)
            return self._record(result, path, args, task_vars)
        except AnsibleError as exc:
            return dict(result, failed=True, msg=to_text(exc))

    def _check(self, result, path, args, task_vars):
        key, trouble = open_cache(os.path.dirname(path))
        if trouble:
            return dict(result, match=False, reason=trouble, warnings=[trouble], record=path)
        inputs, inputs_sum = self._inputs(task_vars, key)
        record = self._load(path)
        spec = record.get("spec") if record else None
        current = self._fingerprint(spec, task_vars) if spec else None
        volatile = args.get("volatile") or ""
        match, reason = decide(record, inputs_sum, inputs, current, volatile)
        result.update(match=match, reason=reason, inputs=inputs, inputs_digest=inputs_sum, spec=spec, before=current,
                      record=path)
        return result

    def _record(self, result, path, args, task_vars):
        check = args.get("check") or {}
        if not check.get("inputs_digest"):
            raise AnsibleError("check must be the registered result of converge_stamp with state=check")
        if self._task.check_mode:
            return dict(result, recorded=False, reason="check mode: nothing was converged")
        spec = spec_from_reads(args.get("reads"), args.get("paths") or [])
        digest = self._fingerprint(spec, task_vars)
        record = {
            "format": FORMAT,
            "host": task_vars.get("inventory_hostname"),
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "inputs_digest": check["inputs_digest"],
            "inputs": check.get("inputs") or {},
            "spec": spec,
            "digest": digest,
            "verified": verified(check, spec, digest),
        }
        try:
            write_record(path, record)
        except (IOError, OSError) as exc:
            trouble = "the record %s could not be written (%s): the next run runs every role" % (path, to_text(exc))
            return dict(result, recorded=False, reason=trouble, warnings=[trouble], digest=digest, record=path)
        result.update(recorded=True, verified=record["verified"], digest=digest, record=path)
        return result
