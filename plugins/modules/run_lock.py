#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: run_lock
short_description: One converging run at a time on a gateway host
description:
  - Takes (O(state=present)) or gives back (O(state=absent)) the host's run lock, so that two runs that change the
    host (two admins, AWX next to a shell) cannot break each other's rollout. C(playbooks/site.yml) (and so
    C(upgrade.yml)) holds it from before its first change until its end, also when it fails.
  - The lock is a kernel lock (C(flock)) on O(path), held by a small process that the module leaves on the host (it
    only sleeps). It is gone when that process is, which O(state=absent) ends, which ends by itself after O(max_age)
    seconds, and which a reboot ends. So a run that died (Ctrl-C, a lost connection) holds the lock for at most O(max_age) seconds; a lock is
    never taken over while its process lives, unless O(force=true).
  - Beside it, C(<path>.json) (0600) says who holds it (O(holder), O(run_id), since when, until when, the process). A
    run that finds the lock held waits up to O(wait) seconds for it, then fails naming that holder.
version_added: 0.3.0
author: Homelab Clawdbot maintainers (@homelab-clawdbot)
options:
  state:
    description:
      - V(present) takes the lock, V(absent) gives it back (only the run that holds it, see O(force)).
    type: str
    choices: [present, absent]
    default: present
  run_id:
    description:
      - Identifies the run; the same value takes and gives back the lock.
    type: str
    required: true
  holder:
    description:
      - Who runs what, for the message another run gets (for example C(site.yml by admin@vm105)).
    type: str
    default: ''
  path:
    description:
      - The lock file. Its directory is made (0700) if it is missing. The default is on C(/run), which a reboot empties.
    type: path
    default: /run/lock/homelab-clawdbot/run.lock
  wait:
    description:
      - Seconds to wait for a lock another run holds; V(0) fails at once.
    type: int
    default: 0
  max_age:
    description:
      - Seconds after which the lock's process gives the lock back by itself (a run that died without giving it
        back). Longer than the longest run.
    type: int
    default: 7200
  force:
    description:
      - With O(state=absent), end the lock's process whatever run holds it (a run known to be gone).
    type: bool
    default: false
notes:
  - Runs as root (the lock and its process belong to root).
  - Check mode takes and gives back nothing, and says whether the lock is free (RV(holder)).
attributes:
  check_mode:
    description: Reports whether the lock is held, changes nothing.
    support: full
  diff_mode:
    description: No diff.
    support: none
  platform:
    description: Target OS family.
    support: full
    platforms: posix
"""

EXAMPLES = r"""
- name: Take the host's run lock (fail at once when another run holds it)
  homelab.clawdbot.run_lock:
    run_id: "{{ _run_id }}"
    holder: "site.yml by {{ lookup('ansible.builtin.env', 'USER') }}"

- name: Give it back
  homelab.clawdbot.run_lock:
    run_id: "{{ _run_id }}"
    state: absent
"""

RETURN = r"""
acquired:
  description: Whether this call took the lock (O(state=present)).
  returned: always
  type: bool
  sample: true
released:
  description: Whether this call gave the lock back (O(state=absent)).
  returned: always
  type: bool
  sample: false
holder:
  description:
    - Who holds the lock now (after this call), from C(<path>.json); empty when it is free.
  returned: always
  type: dict
  sample:
    run_id: 3f9c1a7b2e04
    holder: site.yml by admin@vm105
    since: "2026-12-07T18:42:07Z"
    until: "2026-12-07T20:42:07Z"
    pid: 51233
"""

import errno
import fcntl
import json
import os
import signal
import time

from ansible.module_utils.basic import AnsibleModule


def _iso(when):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))


def _start_time(pid):
    """The start time of a process (field 22 of /proc/<pid>/stat), None when it does not exist."""
    try:
        with open("/proc/%d/stat" % int(pid)) as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (IOError, OSError, ValueError, IndexError, TypeError):
        return None


def read_meta(path):
    try:
        with open(path + ".json") as f:
            meta = json.load(f)
        return meta if isinstance(meta, dict) else {}
    except (IOError, OSError, ValueError):
        return {}


def try_lock(path):
    """An fd holding the exclusive lock of ``path``, or None when another process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except (IOError, OSError) as e:
        os.close(fd)
        if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return None
        raise
    return fd


def spawn_holder(fd, max_age):
    """Leave a process that keeps ``fd`` (and so its lock) open for ``max_age`` seconds or until SIGTERM; its pid."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (runs in the forked child)
        try:
            os.setsid()
            if os.fork() > 0:
                os._exit(0)
            os.write(write_end, str(os.getpid()).encode())
            os.chdir("/")
            devnull = os.open(os.devnull, os.O_RDWR)
            for target in (0, 1, 2):
                os.dup2(devnull, target)
            keep = {fd, 0, 1, 2}
            for other in range(3, 1024):
                if other not in keep:
                    try:
                        os.close(other)
                    except OSError:
                        pass
            signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
            deadline = time.time() + max_age
            while time.time() < deadline:
                time.sleep(min(60, max(0.1, deadline - time.time())))
        finally:
            os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    holder = b""
    while True:
        chunk = os.read(read_end, 32)
        if not chunk:
            break
        holder += chunk
    os.close(read_end)
    return int(holder)


def held_text(meta, path):
    if not meta:
        return "held by a process without a record beside %s" % path
    return "held by %s (run %s) since %s, process %s on this host; it gives the lock back at %s at the latest" % (
        meta.get("holder") or "a run", meta.get("run_id", "?"), meta.get("since", "?"), meta.get("pid", "?"),
        meta.get("until", "?"))


def acquire(module, path, run_id, holder, wait, max_age):
    deadline = time.monotonic() + max(0, wait)
    while True:
        meta = read_meta(path)
        if meta.get("run_id") == run_id and _start_time(meta.get("pid")) == meta.get("pid_start"):
            return False, meta  # this run holds it already
        if module.check_mode:
            fd = try_lock(path)
            if fd is None:
                return False, meta
            os.close(fd)
            return True, {}
        fd = try_lock(path)
        if fd is not None:
            break
        if time.monotonic() >= deadline:
            module.fail_json(msg="Another run changes %s now: the run lock %s is %s. This run changed nothing. "
                                 "Run again when it is done%s." % (os.uname()[1], path, held_text(meta, path),
                                                                   " (waited %d s)" % wait if wait > 0 else ""),
                             acquired=False, released=False, holder=meta)
        time.sleep(1)
    try:
        since = time.time()
        pid = spawn_holder(fd, max_age)
        meta = {"run_id": run_id, "holder": holder, "since": _iso(since), "until": _iso(since + max_age), "pid": pid,
                "pid_start": _start_time(pid)}
        tmp = path + ".json.tmp"
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            json.dump(meta, f)
        os.rename(tmp, path + ".json")
    finally:
        os.close(fd)
    return True, meta


def release(module, path, run_id, force):
    meta = read_meta(path)
    pid = meta.get("pid")
    alive = pid is not None and _start_time(pid) is not None and _start_time(pid) == meta.get("pid_start")
    if not alive or (meta.get("run_id") != run_id and not force):
        # not held by this run (another run's lock stays), or its process is gone already
        return False, (meta if alive else {})
    if module.check_mode:
        return True, {}
    os.kill(int(pid), signal.SIGTERM)
    for _attempt in range(100):
        fd = try_lock(path)
        if fd is not None:
            os.close(fd)
            break
        time.sleep(0.05)
    else:
        module.fail_json(msg="The run lock %s is still held after its process %s was asked to end." % (path, pid),
                         acquired=False, released=False, holder=meta)
    try:
        os.unlink(path + ".json")
    except OSError:
        pass
    return True, {}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", choices=["present", "absent"], default="present"),
            run_id=dict(type="str", required=True),
            holder=dict(type="str", default=""),
            path=dict(type="path", default="/run/lock/homelab-clawdbot/run.lock"),
            wait=dict(type="int", default=0),
            max_age=dict(type="int", default=7200),
            force=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if not p["run_id"].strip():
        module.fail_json(msg="run_id must not be empty")
    if p["wait"] < 0 or p["max_age"] < 1:
        module.fail_json(msg="wait must be 0 or more and max_age 1 or more (seconds)")
    directory = os.path.dirname(p["path"])
    if not os.path.isdir(directory):
        if module.check_mode:
            module.exit_json(changed=p["state"] == "present", acquired=False, released=False, holder={})
        os.makedirs(directory, 0o700)
    if p["state"] == "present":
        changed, meta = acquire(module, p["path"], p["run_id"], p["holder"], p["wait"], p["max_age"])
        module.exit_json(changed=changed, acquired=changed and not module.check_mode, released=False, holder=meta)
    changed, meta = release(module, p["path"], p["run_id"], p["force"])
    module.exit_json(changed=changed, acquired=False, released=changed and not module.check_mode, holder=meta)


if __name__ == "__main__":
    main()
