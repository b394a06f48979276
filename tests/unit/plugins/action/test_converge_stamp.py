# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the controller side of homelab.clawdbot.converge_stamp: which variables count as inputs, the keyed
digests, the decision to skip a host, the record's request and its verification."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat
from unittest.mock import MagicMock

import pytest

from ansible_collections.homelab.clawdbot.plugins.action import converge_stamp as cs

KEY = b"k" * 32
SPEC = {"requests": [{"paths": ["/etc/x"]}], "paths": ["/etc/machine-id"]}


def test_inputs_are_the_collections_variables_without_how_to_run():
    names = ["clawdbot_profiles", "profiles_list", "node_runtime_version", "spark_provider_api_key",
             "tailscale_serve_operator", "systemd_linger_state", "homelab_flavour", "_homelab_product",
             "clawdbot_rollout_serial", "homelab_rollout_serial", "clawdbot_converge_cache_dir", "homelab_converge_cache",
             "homelab_converge_volatile", "clawdbot_run_lock_wait", "homelab_run_lock_wait", "homelab_run_holder",
             "ansible_host", "inventory_hostname", "_profiles_plan", "_homelab_converged", "spark_other"]
    assert cs.selected_names(names) == [
        "_homelab_product", "clawdbot_profiles", "homelab_flavour", "node_runtime_version", "profiles_list",
        "spark_provider_api_key", "systemd_linger_state", "tailscale_serve_operator"]


def test_value_digests_are_keyed_and_stable():
    value = {"b": [1, 2], "a": "test-spark-key-0123456789"}
    assert cs.value_digest(value, KEY) == cs.value_digest({"a": "test-spark-key-0123456789", "b": [1, 2]}, KEY)
    assert cs.value_digest(value, KEY) != cs.value_digest(value, b"x" * 32)
    assert cs.value_digest(value, KEY) != cs.value_digest(dict(value, b=[2, 1]), KEY)
    # without the key nobody can test a guess of the secret against the digest
    import hashlib
    import json
    plain = hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert plain != cs.value_digest(value, KEY)


def test_cache_key_is_created_once_and_private(tmp_path):
    d = str(tmp_path / "converged")
    key = cs.cache_key(d)
    assert len(key) == 32 and cs.cache_key(d) == key
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(os.path.join(d, ".key")).st_mode) == 0o600
    assert [f for f in os.listdir(d) if f != ".key"] == []


def test_a_cache_directory_that_cannot_be_used_means_a_full_run_not_a_failure(tmp_path):
    taken = tmp_path / "taken"
    taken.write_text("a file where the directory should be\n")
    key, trouble = cs.open_cache(str(taken))
    assert key is None and str(taken) in trouble and "every role runs" in trouble
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / ".key").write_text("not hex\n")
    key, trouble = cs.open_cache(str(damaged))
    assert key is None and "cannot be used" in trouble
    good = str(tmp_path / "good")
    key, trouble = cs.open_cache(good)
    assert trouble is None and key == cs.cache_key(good)


def test_a_record_is_written_private_in_one_step_or_not_at_all(tmp_path):
    path = str(tmp_path / "h.json")
    cs.write_record(path, {"format": cs.FORMAT, "digest": "d"})
    assert json.load(open(path))["digest"] == "d"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with pytest.raises(TypeError):
        cs.write_record(path, {"format": cs.FORMAT, "digest": object()})
    assert json.load(open(path))["digest"] == "d"
    assert os.listdir(str(tmp_path)) == ["h.json"]
    with pytest.raises(OSError):
        cs.write_record(str(tmp_path / "missing" / "h.json"), {})


def test_collection_digest_follows_the_files(tmp_path):
    (tmp_path / "roles" / "r" / "defaults").mkdir(parents=True)
    f = tmp_path / "roles" / "r" / "defaults" / "main.yml"
    f.write_text("a: 1\n")
    (tmp_path / "plugins" / "__pycache__").mkdir(parents=True)
    before = cs.collection_digest(str(tmp_path))
    (tmp_path / "plugins" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    (tmp_path / "README.md").write_text("docs do not count\n")
    assert cs.collection_digest(str(tmp_path)) == before
    f.write_text("a: 2\n")
    assert cs.collection_digest(str(tmp_path)) != before


def record(**kw):
    base = {"inputs_digest": "I", "inputs": {"clawdbot_profiles": "p1"}, "spec": SPEC, "digest": "D", "verified": True}
    base.update(kw)
    return base


def test_decide_skips_only_a_verified_record_with_the_same_inputs_and_state():
    assert cs.decide(record(), "I", {"clawdbot_profiles": "p1"}, "D", "") == (
        True, "the host and the inputs are as the last run, which changed nothing, left them")
    assert cs.decide(None, "I", {}, None, "") == (False, "no record of an earlier run on this controller")
    assert cs.decide(record(), "J", {"clawdbot_profiles": "p2", "profiles_list": "x"}, "D", "") == (
        False, "inputs changed: clawdbot_profiles, profiles_list")
    assert cs.decide(record(), "J", {"clawdbot_profiles": "p1"}, "D", "")[1] == \
        "the collection or ansible-core changed since the last run"
    assert cs.decide(record(), "I", {}, "E", "") == (False, "the host changed since the last run")
    assert cs.decide(record(verified=False), "I", {}, "D", "")[0] is False
    assert cs.decide(record(), "I", {}, "D", "clawdbot_install_version is latest") == (
        False, "clawdbot_install_version is latest")


def test_spec_from_reads_keeps_requests_and_drops_skipped_tasks():
    reads = [{"request": {"paths": ["/a"]}, "paths": {}}, {"skipped": True, "changed": False},
             {"secret_files": ["/h/.openclaw-personal/openclaw.json"]}, "not a result", None, {},
             {"changed": False, "rc": 0, "stdout": "x", "delta": "0:00:00.01"}]
    assert cs.spec_from_reads(reads, ["/etc/machine-id", "/etc/machine-id"]) == {
        "requests": [{"paths": ["/a"]}, {"secret_files": ["/h/.openclaw-personal/openclaw.json"]}],
        "paths": ["/etc/machine-id"]}


def test_a_run_is_verified_only_when_the_same_request_read_the_same_before_and_after():
    check = {"before": "D", "spec": SPEC}
    assert cs.verified(check, SPEC, "D") is True
    assert cs.verified(check, SPEC, "E") is False  # this run changed something
    assert cs.verified(dict(check, spec={"requests": [], "paths": []}), SPEC, "D") is False  # asked something else
    assert cs.verified({"before": None, "spec": None}, SPEC, "D") is False  # no earlier record


def test_the_host_runs_host_state_as_a_script():
    src = cs.host_state_source()
    assert "def script_main(args):" in src and "import ansible" not in src


def _action(args, check_mode=False):
    task = MagicMock()
    task.args = args
    task.async_val = 0
    task.check_mode = check_mode
    return cs.ActionModule(task=task, connection=MagicMock(), play_context=MagicMock(), loader=MagicMock(),
                           templar=MagicMock(), shared_loader_obj=None)


def test_the_action_warns_and_runs_every_role_when_the_records_directory_cannot_be_used(tmp_path):
    taken = tmp_path / "taken"
    taken.write_text("a file\n")
    res = _action({"state": "check", "cache_dir": str(taken)}).run(task_vars={"inventory_hostname": "vm102"})
    assert not res.get("failed") and res["match"] is False and res["changed"] is False
    assert "cannot be used" in res["reason"] and res["warnings"] == [res["reason"]]
    # no inputs_digest: site.yml's record task is skipped for this host
    assert "inputs_digest" not in res
