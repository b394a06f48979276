"""Unit tests of homelab.clawdbot.run_lock: real kernel locks and a real holder process, in a temporary directory."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import signal
import time

import pytest

from ansible_collections.homelab.clawdbot.plugins.modules import run_lock as mod


@pytest.fixture
def lock(tmp_path, module_main):
    path = str(tmp_path / "locks" / "run.lock")
    pids = []

    def _run(check=False, **params):
        params.setdefault("path", path)
        if check:
            params["_ansible_check_mode"] = True
        failed, result = module_main(mod.main, params)
        pid = (result.get("holder") or {}).get("pid")
        if pid:
            pids.append(pid)
        return failed, result

    _run.path = path
    yield _run
    for pid in pids:  # no holder outlives the test
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass


def _alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_one_run_holds_the_lock_and_another_is_refused_naming_it(lock):
    failed, first = lock(run_id="run-a", holder="site.yml by admin@vm105")
    assert not failed and first["changed"] is True and first["acquired"] is True
    meta = first["holder"]
    assert meta["run_id"] == "run-a" and meta["holder"] == "site.yml by admin@vm105" and _alive(meta["pid"])
    assert oct(os.stat(lock.path + ".json").st_mode & 0o777) == "0o600"
    assert oct(os.stat(os.path.dirname(lock.path)).st_mode & 0o777) == "0o700"
    with open(lock.path + ".json") as f:
        assert json.load(f)["run_id"] == "run-a"

    started = time.monotonic()
    failed, second = lock(run_id="run-b", holder="site.yml by other@awx")
    assert failed and time.monotonic() - started < 5
    assert "Another run changes" in second["msg"] and "This run changed nothing" in second["msg"]
    assert "held by site.yml by admin@vm105 (run run-a) since %s, process %d" % (meta["since"], meta["pid"]) \
        in second["msg"], second["msg"]

    # the same run again: it holds it already (no second holder)
    failed, again = lock(run_id="run-a")
    assert not failed and again["changed"] is False and again["holder"]["pid"] == meta["pid"]

    # another run cannot give it back; the run that holds it can
    failed, other = lock(run_id="run-b", state="absent")
    assert not failed and other["changed"] is False and _alive(meta["pid"])
    failed, released = lock(run_id="run-a", state="absent")
    assert not failed and released["changed"] is True and released["released"] is True
    assert not os.path.exists(lock.path + ".json")
    for _attempt in range(50):
        if not _alive(meta["pid"]):
            break
        time.sleep(0.05)
    assert not _alive(meta["pid"])
    failed, third = lock(run_id="run-b")
    assert not failed and third["acquired"] is True


def test_a_run_that_waits_gets_the_lock_when_the_holder_ends(lock):
    failed, first = lock(run_id="run-a", max_age=2)
    assert not failed
    started = time.monotonic()
    failed, second = lock(run_id="run-b", wait=20)
    assert not failed and second["acquired"] is True, second
    assert 1 <= time.monotonic() - started < 15
    # a wait that runs out says how long it waited
    failed, third = lock(run_id="run-c", wait=1)
    assert failed and "(waited 1 s)" in third["msg"] and "(run run-b)" in third["msg"]


def test_a_dead_holder_frees_the_lock_and_force_ends_a_live_one(lock):
    failed, first = lock(run_id="run-a")
    os.kill(first["holder"]["pid"], signal.SIGKILL)  # as at a reboot or a killed process: the kernel drops the lock
    for _attempt in range(50):
        if not _alive(first["holder"]["pid"]):
            break
        time.sleep(0.05)
    failed, second = lock(run_id="run-b")
    assert not failed and second["acquired"] is True
    failed, forced = lock(run_id="run-gone", state="absent", force=True)
    assert not failed and forced["released"] is True
    failed, third = lock(run_id="run-c")
    assert not failed and third["acquired"] is True


def test_check_mode_takes_nothing_and_says_who_holds_it(lock):
    failed, free = lock(check=True, run_id="run-a")
    assert not failed and free["changed"] is True and free["acquired"] is False and free["holder"] == {}
    assert not os.path.exists(lock.path + ".json")
    failed, first = lock(run_id="run-a", holder="site.yml")
    failed, checked = lock(check=True, run_id="run-b")
    assert not failed and checked["changed"] is False and checked["holder"]["run_id"] == "run-a"
    failed, release = lock(check=True, run_id="run-a", state="absent")
    assert not failed and release["changed"] is True and _alive(first["holder"]["pid"])


def test_bad_arguments_are_refused(lock):
    failed, result = lock(run_id=" ")
    assert failed and "run_id" in result["msg"]
    failed, result = lock(run_id="a", wait=-1)
    assert failed and "wait" in result["msg"]
