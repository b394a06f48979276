#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: gateway_config
short_description: Manage the Ansible-owned keys of a Clawdbot gateway config file
description:
  - Manages the keys Ansible owns inside a Clawdbot gateway config file (C(~/.clawdbot-<profile>/clawdbot.json))
    while keeping every key that was added by hand.
  - The existing file may be JSON5 (comments, trailing commas, unquoted keys, single-quoted strings); it is
    parsed, the desired O(settings), O(remove), O(secrets) and O(generate_secrets) are applied, and the result is
    compared B(semantically) with what was read. When nothing changes, the file is not rewritten, so its formatting
    and comments are kept.
  - When something changes, the file is written as plain JSON with a two-space indent, like the gateway writes it
    itself. Comments in the file are lost at that point.
  - Run this module as the gateway user (C(become_user)), so the files it creates belong to that user.
  - Secret values (O(secrets), generated secrets and values of keys named in O(secret_keys)) never appear in
    RV(config) or in the diff, also where they appear under other key names; they are replaced by C(********).
    Values of keys named in O(secret_keys) inside O(settings) are also hidden from the reported invocation
    (what C(-vvv) prints).
  - With O(validate), the candidate config is written to a temporary file next to the live file and checked by the
    Clawdbot CLI before the live file is replaced, so a config the gateway would reject never goes live.
version_added: 0.1.0
author: Homelab Clawdbot maintainers (@homelab-clawdbot)
options:
  path:
    description:
      - The gateway config file, usually C(~/.clawdbot-<profile>/clawdbot.json) of the gateway user.
      - The directory must already exist. When the file does not exist, it is created from O(settings) etc.
      - When O(path) is a symlink, its target is updated.
    type: path
    required: true
  settings:
    description:
      - Desired values, deep-merged into the existing config.
      - Dictionaries are merged recursively; every other value (strings, numbers, booleans, V(null), lists) replaces
        the existing value. Keys that are not mentioned are kept.
    type: dict
    default: {}
  remove:
    description:
      - Dotted paths (for example V(gateway.tailscale.resetOnExit)) to delete from the config when present.
      - Applied after O(settings). Write C(\\.) for a literal dot inside a key.
    type: list
    elements: str
    default: []
  secrets:
    description:
      - 'Dotted path to secret string value, set like O(settings) (for example C({"gateway.auth.token": "..."})).'
      - The values never appear in the output or the diff.
      - Empty values are ignored, so an unset variable can fall back to O(generate_secrets).
    type: dict
    default: {}
  generate_secrets:
    description:
      - Dotted paths that get a random token (48 hex characters) when the path is missing or empty in the config and
        not given in O(secrets).
      - A generated value is kept on later runs; it is never regenerated while present.
      - The paths (never the values) that were generated in this run are returned in RV(generated_secrets).
    type: list
    elements: str
    default: []
  secret_keys:
    description:
      - Key names whose values are masked as C(********) in the diff and in RV(config), wherever they appear.
    type: list
    elements: str
    default: [token, password, apiKey, botToken, controlToken]
  read_secrets:
    description:
      - Dotted paths whose values in the resulting config are returned unmasked in RV(secret_values), for example the
        (possibly generated) gateway token needed for health checks.
      - "B(Always set) C(no_log: true) B(on the task) when using this option, otherwise the values are printed."
    type: list
    elements: str
    default: []
  mode:
    description:
      - The permissions of the config file, as an octal string (V("0600")), a number or a symbolic mode.
      - Enforced on every run; a mode-only fix reports a change.
    type: raw
    default: "0600"
  backup:
    description:
      - When the file exists and its content changes, keep a timestamped copy next to it
        (C(<name>.<pid>.<YYYY-MM-DD@HH:MM:SS>~), mode 0600 like the live file).
    type: bool
    default: true
  backup_keep:
    description:
      - When a new copy is made, keep only this many of the newest copies of this file and remove the older ones
        (they hold the same secrets as the live file).
      - V(0) keeps every copy.
    type: int
    default: 0
    version_added: 0.3.0
  validate:
    description:
      - Check the candidate config with a command before the live file is replaced.
      - The candidate is written to a temporary file (mode 0600) in the directory of O(path), the command is run
        without a shell with O(validate.env_var) pointing at that file, and the live file is only replaced when the
        command exits with 0. The temporary file is always removed.
      - Validation runs only when the content changes, also in check mode.
    type: dict
    suboptions:
      argv:
        description:
          - The command and its arguments (no shell and no C(~) expansion, so give an absolute path).
          - For Clawdbot use C([/home/<user>/.clawdbot/bin/clawdbot, config, get, gateway.mode]); it exits with 1 and prints
            C(Config invalid) when the config is rejected.
        type: list
        elements: str
        required: true
      env_var:
        description:
          - The environment variable that receives the path of the candidate file.
        type: str
        default: CLAWDBOT_CONFIG_PATH
      json:
        description:
          - The command prints a JSON result like C(openclaw config validate --json) does, with the keys C(valid) and
            C(path).
          - The candidate is then accepted only when the exit code is 0, C(valid) is V(true) and C(path) is the
            candidate file itself (openclaw swaps a candidate at a canonical config path for the live file);
            a rejection reports the C(issues).
          - For openclaw use C([/home/<user>/.openclaw/bin/openclaw, --profile, <name>, config, validate, --json])
            with O(validate.env_var=OPENCLAW_CONFIG_PATH).
        type: bool
        default: false
        version_added: 0.3.0
      env:
        description:
          - Extra environment variables for the command (for example C(CLAWDBOT_STATE_DIR)).
        type: dict
        default: {}
attributes:
  check_mode:
    support: full
    description: Reports the change and the diff without touching the live file; only the validation temp file is written and removed.
  diff_mode:
    support: full
    description: Returns the masked config before and after the change, as pretty-printed JSON.
  platform:
    support: full
    platforms: posix
    description: Runs on the gateway host.
notes:
  - The change detection compares parsed values, not text, so reformatting the file by hand does not cause a change.
  - Numbers compare like in JavaScript (V(1) equals V(1.0)), but booleans never equal numbers.
  - An empty existing file is treated as an empty object.
"""

EXAMPLES = r"""
- name: Manage the gateway config of the "work" profile
  homelab.clawdbot.gateway_config:
    path: ~/.clawdbot-work/clawdbot.json
    settings:
      gateway:
        mode: local
        port: 19100
        bind: loopback
        auth:
          mode: token
          allowTailscale: false
        tailscale:
          mode: serve
        trustedProxies: [127.0.0.1]
    remove:
      - gateway.tailscale.resetOnExit
    generate_secrets:
      - gateway.auth.token
    validate:
      argv: [/home/clawd/.clawdbot/bin/clawdbot, config, get, gateway.mode]
      env:
        CLAWDBOT_STATE_DIR: ~/.clawdbot-work
  become: true
  become_user: clawd

- name: Point the default agent at a local OpenAI-compatible server, API key from the vault
  homelab.clawdbot.gateway_config:
    path: ~/.clawdbot-work/clawdbot.json
    settings:
      agents:
        defaults:
          model:
            primary: myllm/llama-3.1-70b
            fallbacks: []
      models:
        mode: merge
        providers:
          myllm:
            baseUrl: http://10.0.0.5:8000/v1
            api: openai-completions
            models:
              - id: llama-3.1-70b
                name: Llama 3.1 70B
                contextWindow: 131072
                maxTokens: 8192
    secrets:
      models.providers.myllm.apiKey: "{{ vault_myllm_api_key }}"
  become: true
  become_user: clawd

- name: Read the (possibly generated) gateway token for the health checks
  homelab.clawdbot.gateway_config:
    path: ~/.clawdbot-work/clawdbot.json
    generate_secrets: [gateway.auth.token]
    read_secrets: [gateway.auth.token]
  become: true
  become_user: clawd
  no_log: true
  register: gateway_cfg

- name: Use the token
  ansible.builtin.set_fact:
    clawdbot_gateway_token: "{{ gateway_cfg.secret_values['gateway.auth.token'] }}"
  no_log: true
"""

RETURN = r"""
path:
  description: The config file.
  returned: always
  type: str
  sample: /home/clawd/.clawdbot-work/clawdbot.json
config:
  description: The resulting config (what would be written in check mode), with secret values replaced by C(********).
  returned: success
  type: dict
  sample: {"gateway": {"mode": "local", "port": 19100, "bind": "loopback", "auth": {"mode": "token", "token": "********"}}}
generated_secrets:
  description: The dotted paths that got a newly generated value in this run (never the values).
  returned: success
  type: list
  elements: str
  sample: [gateway.auth.token]
secret_values:
  description:
    - Dotted path to value, for the paths in O(read_secrets) that exist in the resulting config. B(Not masked.)
  returned: when O(read_secrets) is not empty
  type: dict
  sample: {"gateway.auth.token": "3f9c..."}
pruned_backups:
  description: Older copies removed because of O(backup_keep).
  returned: when a copy was made and O(backup_keep) removed older ones
  type: list
  elements: str
  sample: [/home/clawd/.clawdbot-work/clawdbot.json.4242.2026-01-01@10:00:00~]
backup_file:
  description: The copy of the previous file.
  returned: when the file existed and changed, O(backup=true) and not in check mode
  type: str
  sample: /home/clawd/.clawdbot-work/clawdbot.json.12345.2026-01-31@10:00:00~
validated:
  description: Whether the candidate config was checked with O(validate) (and accepted) in this run.
  returned: success
  type: bool
  sample: true
changed_paths:
  description:
    - Dotted paths of the keys whose value this run changes (or would change in check mode), sorted; V(<root>)
      when the file is created. Names only, never values, so secret keys may be listed.
    - Lets a role decide whether a gateway applies the change itself (hot reload) or needs a restart.
  returned: success
  type: list
  elements: str
  sample: [gateway.auth.token, gateway.port]
  version_added: 0.3.0
"""

import copy
import json
import math
import os
import re
import tempfile
from secrets import token_hex

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.homelab.clawdbot.plugins.module_utils.clawdbot_cli import validator_issues, validator_json_error
from ansible_collections.homelab.clawdbot.plugins.module_utils.json5_lite import loads as json5_loads

MASK = "********"
NO_LOG_MASK = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
DEFAULT_SECRET_KEYS = ["token", "password", "apiKey", "botToken", "controlToken"]
ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
CLI_PREFIX_RE = re.compile(r"^(?:\[[\w.-]+\]\s*)?(?:Failed to start CLI:\s*)?(?:Error:\s*)?")


class ConfigError(Exception):
    pass


# -- dotted paths ---------------------------------------------------------------------------------

def split_path(dotted):
    """``a.b\\.c`` -> ``["a", "b.c"]``; raises ConfigError on empty segments."""
    parts = []
    current = []
    i = 0
    while i < len(dotted):
        ch = dotted[i]
        if ch == "\\" and i + 1 < len(dotted) and dotted[i + 1] in ".\\":
            current.append(dotted[i + 1])
            i += 2
            continue
        if ch == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    if any(p == "" for p in parts):
        raise ConfigError("invalid dotted path %r (empty key)" % dotted)
    return parts


def get_path(obj, parts):
    """Return (found, value)."""
    cur = obj
    for key in parts:
        if not isinstance(cur, dict) or key not in cur:
            return False, None
        cur = cur[key]
    return True, cur


def set_path(obj, parts, value, dotted):
    cur = obj
    for idx, key in enumerate(parts[:-1]):
        nxt = cur.get(key)
        if nxt is None:
            nxt = cur[key] = {}
        elif not isinstance(nxt, dict):
            raise ConfigError("cannot set %s: %s is a %s, not an object"
                              % (dotted, ".".join(parts[:idx + 1]), type(nxt).__name__))
        cur = nxt
    cur[parts[-1]] = value


def del_path(obj, parts):
    cur = obj
    for key in parts[:-1]:
        cur = cur.get(key) if isinstance(cur, dict) else None
        if not isinstance(cur, dict):
            return False
    if parts[-1] in cur:
        del cur[parts[-1]]
        return True
    return False


# -- config operations ----------------------------------------------------------------------------

def deep_merge(base, overlay):
    """Merge ``overlay`` into ``base`` in place: dicts recursively, everything else replaces."""
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def same(a, b):
    """Semantic (JSON/JavaScript) equality: booleans are not numbers, 1 == 1.0, NaN == NaN."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict):
        if not isinstance(b, dict) or set(a) != set(b):
            return False
        return all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        if not isinstance(b, list) or len(a) != len(b):
            return False
        return all(same(x, y) for x, y in zip(a, b))
    numbers = (int, float)
    if isinstance(a, numbers) or isinstance(b, numbers):
        if not (isinstance(a, numbers) and isinstance(b, numbers)):
            return False
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        return a == b
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    return type(a) is type(b) and a == b


def changed_paths(before, after, prefix=""):
    """Dotted paths of the leaves (or whole subtrees) that differ between two configs, sorted."""
    if isinstance(before, dict) and isinstance(after, dict):
        out = []
        for key in sorted(set(before) | set(after), key=str):
            path = "%s.%s" % (prefix, key) if prefix else str(key)
            if key not in before or key not in after:
                out.append(path)
            elif not same(before[key], after[key]):
                out.extend(changed_paths(before[key], after[key], path))
        return out
    return [] if same(before, after) else [prefix or "<root>"]


def is_empty(value):
    return value is None or (isinstance(value, str) and not value.strip())


def mask_text(text, secret_strings):
    """Mask a string equal to a secret, and secrets of 8+ characters embedded in it (URLs, headers)."""
    if text in secret_strings:
        return MASK
    for secret in sorted(secret_strings, key=len, reverse=True):
        if len(secret) >= 8 and secret in text:
            text = text.replace(secret, MASK)
    return text


def mask(obj, secret_keys, secret_strings):
    if isinstance(obj, dict):
        result = {}
        for key, value in obj.items():
            if key in secret_keys and not isinstance(value, (dict, list)) and not is_empty(value):
                result[key] = MASK
            else:
                result[key] = mask(value, secret_keys, secret_strings)
        return result
    if isinstance(obj, list):
        return [mask(v, secret_keys, secret_strings) for v in obj]
    if isinstance(obj, str) and secret_strings:
        return mask_text(obj, secret_strings)
    return obj


def dump(obj):
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


def summarize_stderr(stderr, stdout=""):
    """The human part of a validator failure: no ANSI, no JS stack lines, literal ``\\n`` expanded."""
    text = ANSI_RE.sub("", stderr or "").strip() or ANSI_RE.sub("", stdout or "").strip()
    lines = []
    for raw in text.splitlines():
        for part in raw.replace("\\r\\n", "\\n").split("\\n"):
            part = part.strip()
            if not part or part.startswith("at ") or not re.search(r"\w", part):
                continue
            part = CLI_PREFIX_RE.sub("", part, count=1).strip() or part
            lines.append(part)
    if not lines:
        return "no error output"
    message = lines[0]
    for line in lines[1:8]:
        message += (" " if message.endswith(":") else "; ") + line
    if len(message) > 1000:
        message = message[:997] + "..."
    return message


# -- the module -----------------------------------------------------------------------------------

class GatewayConfig(object):

    def __init__(self, module):
        self.module = module
        p = module.params
        self.path = p["path"]
        self.write_path = os.path.realpath(self.path) if os.path.islink(self.path) else self.path
        self.directory = os.path.dirname(os.path.abspath(self.write_path))
        self.secret_keys = set(p["secret_keys"] or [])
        self.secret_strings = set()
        self.generated = []
        self.result = dict(changed=False, path=self.path, generated_secrets=self.generated, validated=False)

    def fail(self, msg, **kwargs):
        self.result.update(kwargs)
        self.module.fail_json(msg=msg, **self.result)

    # reading -------------------------------------------------------------------------------------

    def read(self):
        if not os.path.isdir(self.directory):
            self.fail("the directory %s of %s does not exist (create the profile's state dir first)"
                      % (self.directory, self.path))
        if os.path.isdir(self.write_path):
            self.fail("%s is a directory, not a config file" % self.path)
        if not os.path.exists(self.write_path):
            return False, {}
        try:
            with open(self.write_path, "rb") as f:
                data = f.read()
        except (IOError, OSError) as e:
            self.fail("cannot read %s: %s" % (self.path, to_native(e)))
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            self.fail("%s is not valid UTF-8 (byte %d); the file was left untouched" % (self.path, e.start))
        if not text.strip(u"\ufeff \t\r\n"):
            return True, {}
        try:
            existing = json5_loads(text)
        except ValueError as e:
            self.fail("cannot parse %s as JSON5: %s; the file was left untouched" % (self.path, to_native(e)))
        if not isinstance(existing, dict):
            self.fail("%s must contain a JSON object at the top level, found %s; the file was left untouched"
                      % (self.path, type(existing).__name__))
        return True, existing

    # building the candidate ----------------------------------------------------------------------

    def build(self, existing):
        p = self.module.params
        secrets = dict((k, v) for k, v in (p["secrets"] or {}).items() if v is not None and v != "")
        for key, value in secrets.items():
            if not isinstance(value, str):
                raise ConfigError("the value of secrets[%r] must be a string, not %s" % (key, type(value).__name__))
        removes = [(r, split_path(r)) for r in p["remove"]]
        secret_paths = set(secrets) | set(p["generate_secrets"])
        conflicts = sorted(set(p["remove"]) & secret_paths)
        if conflicts:
            raise ConfigError("these paths are both removed and set as secrets: %s" % ", ".join(conflicts))

        candidate = copy.deepcopy(existing)
        deep_merge(candidate, p["settings"] or {})
        for _dotted, parts in removes:
            del_path(candidate, parts)
        for dotted, value in secrets.items():
            set_path(candidate, split_path(dotted), value, dotted)
        for dotted in p["generate_secrets"]:
            parts = split_path(dotted)
            if dotted in secrets:
                continue
            found, current = get_path(candidate, parts)
            if found and not is_empty(current):
                continue
            value = token_hex(24)
            set_path(candidate, parts, value, dotted)
            self.generated.append(dotted)
            self.module.no_log_values.add(value)

        # Everything that is, was or becomes a secret value is masked wherever it appears.
        for dotted in secret_paths:
            parts = split_path(dotted)
            for obj in (existing, candidate):
                found, value = get_path(obj, parts)
                if found and isinstance(value, str) and value:
                    self.secret_strings.add(value)
        return candidate

    def masked(self, obj):
        return mask(obj, self.secret_keys, self.secret_strings)

    # writing -------------------------------------------------------------------------------------

    def write_temp(self, content):
        fd, tmp = tempfile.mkstemp(prefix=".%s.ansible-" % os.path.basename(self.write_path), suffix=".tmp",
                                   dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(content.encode("utf-8"))
        except Exception:
            self.cleanup(tmp)
            raise
        return tmp

    def cleanup(self, tmp):
        if tmp and os.path.exists(tmp):
            try:
                os.unlink(tmp)
            except OSError:
                pass

    def run_validator(self, tmp):
        spec = self.module.params["validate"]
        argv = list(spec["argv"])
        if not argv:
            self.cleanup(tmp)
            self.fail("validate.argv must not be empty")
        env = dict((str(k), str(v)) for k, v in (spec.get("env") or {}).items())
        env[spec.get("env_var") or "CLAWDBOT_CONFIG_PATH"] = tmp
        try:
            rc, out, err = self.module.run_command(argv, environ_update=env, cwd=self.directory,
                                                   expand_user_and_vars=False, check_rc=False)
        except Exception as e:  # pylint: disable=broad-except
            self.cleanup(tmp)
            self.fail("could not run the validator %s: %s" % (argv[0], to_native(e)))
        if spec.get("json") and rc == 0:
            rc, err = self.check_validator_json(out, tmp, err)
        elif spec.get("json"):
            issues = validator_issues(out)
            if issues:
                err = issues
        if rc != 0:
            self.cleanup(tmp)
            summary = mask_text(summarize_stderr(err, out), self.secret_strings) if self.secret_strings \
                else summarize_stderr(err, out)
            self.fail("the new config for %s was rejected by %s (rc=%d, the live file was left untouched): %s"
                      % (self.path, os.path.basename(argv[0]), rc, summary),
                      rc=rc, cmd=argv, stdout=self.redact(out), stderr=self.redact(err))
        self.result["validated"] = True

    @staticmethod
    def check_validator_json(out, tmp, err):
        """(rc, message): a JSON validator must say valid and name the candidate, not another file."""
        error = validator_json_error(out, tmp)
        return (1, error) if error else (0, err)

    def redact(self, text):
        return mask_text(text or "", self.secret_strings) if self.secret_strings else (text or "")

    def replace(self, tmp, existed):
        mode = self.module.params["mode"]
        if existed:
            # atomic_move copies the mode of the live file onto the new one; fix it first so the new
            # content is never readable with a wider mode.
            self.module.set_mode_if_different(self.write_path, mode, False)
            if self.module.params["backup"]:
                self.result["backup_file"] = self.module.backup_local(self.write_path)
                os.chmod(self.result["backup_file"], 0o600)
                self.prune_backups()
        old_umask = os.umask(0o077)  # a created file starts as 0600 (atomic_move applies the umask)
        try:
            self.module.atomic_move(tmp, self.write_path)
        finally:
            os.umask(old_umask)
        self.module.set_mode_if_different(self.write_path, mode, True)

    def prune_backups(self):
        keep = self.module.params["backup_keep"] or 0
        if keep <= 0:
            return
        name = os.path.basename(self.write_path)
        pattern = re.compile(r"^%s\.[0-9]+\.[0-9]{4}-[0-9]{2}-[0-9]{2}@[0-9]{2}:[0-9]{2}:[0-9]{2}~$" % re.escape(name))
        copies = []
        for entry in os.listdir(self.directory):
            if pattern.match(entry):
                full = os.path.join(self.directory, entry)
                copies.append((os.path.getmtime(full), entry, full))
        copies.sort(reverse=True)
        pruned = []
        for _mtime, _entry, full in copies[keep:]:
            os.unlink(full)
            pruned.append(full)
        if pruned:
            self.result["pruned_backups"] = pruned

    def run(self):
        module = self.module
        p = module.params
        existed, existing = self.read()
        try:
            candidate = self.build(existing)
        except ConfigError as e:
            self.fail(to_native(e))

        content_changed = not existed or not same(existing, candidate)
        if not content_changed:
            candidate = existing  # report what is in the file (1 stays 1, not 1.0)
        self.result["config"] = self.masked(candidate)
        self.result["changed_paths"] = changed_paths(existing, candidate) if existed else ["<root>"]
        if module._diff:
            self.result["diff"] = dict(
                before=self.masked_dump(existing) if existed else "",
                after=self.masked_dump(candidate),
                before_header=self.path,
                after_header=self.path,
            )

        if content_changed:
            tmp = None
            try:
                if p["validate"] or not module.check_mode:
                    tmp = self.write_temp(dump(candidate))
                if p["validate"]:
                    self.run_validator(tmp)
                if not module.check_mode:
                    self.replace(tmp, existed)
                    tmp = None
            except (IOError, OSError) as e:
                self.fail("cannot write %s: %s" % (self.path, to_native(e)))
            finally:
                self.cleanup(tmp)
            self.result["changed"] = True
        else:
            self.result["changed"] = module.set_mode_if_different(self.write_path, p["mode"], False)

        self.read_secrets(candidate)
        module.exit_json(**self.result)

    def masked_dump(self, obj):
        return dump(self.masked(obj))

    def read_secrets(self, candidate):
        wanted = self.module.params["read_secrets"]
        if not wanted:
            return
        values = {}
        for dotted in wanted:
            found, value = get_path(candidate, split_path(dotted))
            if found:
                values[dotted] = value
        self.result["secret_values"] = values
        # The caller asked for these values (and must use no_log on the task): keep Ansible from masking
        # them, but still hide the secrets option in the reported invocation.
        for value in values.values():
            if isinstance(value, str):
                self.module.no_log_values.discard(value)
        params = dict(self.module.params)
        params["secrets"] = dict((k, NO_LOG_MASK) for k in (params.get("secrets") or {}))
        self.result["invocation"] = dict(module_args=params)


def hide_setting_secrets(module):
    """Values of secret_keys inside settings (an API key a user put there) are no_log values: masked everywhere."""
    keys = set(module.params["secret_keys"] or [])

    def walk(obj):
        if isinstance(obj, dict):
            for key, value in obj.items():
                if key in keys and isinstance(value, str) and not is_empty(value):
                    module.no_log_values.add(value)
                else:
                    walk(value)
        elif isinstance(obj, list):
            for value in obj:
                walk(value)

    walk(module.params["settings"])


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            settings=dict(type="dict", default={}),
            remove=dict(type="list", elements="str", default=[]),
            secrets=dict(type="dict", default={}, no_log=True),
            generate_secrets=dict(type="list", elements="str", default=[], no_log=False),
            secret_keys=dict(type="list", elements="str", default=DEFAULT_SECRET_KEYS, no_log=False),
            read_secrets=dict(type="list", elements="str", default=[], no_log=False),
            mode=dict(type="raw", default="0600"),
            backup=dict(type="bool", default=True),
            backup_keep=dict(type="int", default=0),
            validate=dict(
                type="dict",
                options=dict(
                    argv=dict(type="list", elements="str", required=True),
                    env_var=dict(type="str", default="CLAWDBOT_CONFIG_PATH"),
                    json=dict(type="bool", default=False),
                    env=dict(type="dict", default={}),
                ),
            ),
        ),
        supports_check_mode=True,
    )
    hide_setting_secrets(module)
    GatewayConfig(module).run()


if __name__ == "__main__":
    main()
