# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""gateway_config validate.json: a `config validate --json` validator must say valid and name the candidate.

Real files in tmp_path and a real validator process (a Python script standing in for
`openclaw --profile <name> config validate --json`, which reads the candidate from OPENCLAW_CONFIG_PATH).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat
import sys

import pytest

from ansible_collections.homelab.clawdbot.plugins.modules import gateway_config

# argv[1]: behaviour, argv[2]: the live config path (what openclaw would check instead of a canonical candidate),
# argv[3]: a log of the candidates seen.
VALIDATOR = r"""
import json, os, sys
mode, live, log = sys.argv[1], sys.argv[2], sys.argv[3]
path = os.environ["OPENCLAW_CONFIG_PATH"]
cfg = json.load(open(path))
with open(log, "a") as f:
    f.write(json.dumps({"path": path, "cfg": cfg}) + "\n")
if mode == "valid":
    print(json.dumps({"valid": True, "path": path}))
    sys.exit(0)
if mode == "other":
    print(json.dumps({"valid": True, "path": live}))
    sys.exit(0)
if mode == "issues":
    print(json.dumps({"valid": False, "path": path, "issues": [
        {"path": "gateway", "message": 'Unrecognized key: "bogus"'},
        {"path": "agents.defaults", "message": "Expected object"}]}))
    sys.exit(1)
if mode == "not-valid-rc0":
    print(json.dumps({"valid": False, "path": path}))
    sys.exit(0)
if mode == "text":
    print("Config OK")
    sys.exit(0)
if mode == "text-rc1":
    print("Config invalid", file=sys.stderr)
    sys.exit(1)
sys.exit(2)
"""


def write(path, text, mode=0o600):
    path.write_text(text, encoding="utf-8")
    os.chmod(str(path), mode)


def snapshot(directory):
    """Names, bytes, mode and mtime of every file in a directory."""
    result = {}
    for name in sorted(os.listdir(str(directory))):
        full = os.path.join(str(directory), name)
        st = os.stat(full)
        with open(full, "rb") as f:
            result[name] = (f.read(), stat.S_IMODE(st.st_mode), st.st_mtime_ns)
    return result


@pytest.fixture
def setup(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    cfg = state / "openclaw.json"
    write(cfg, '{"gateway": {"mode": "local", "port": 18789}}\n')
    log = tmp_path / "validator.log"

    def validate(mode, json_flag=True):
        return {"argv": [sys.executable, "-c", VALIDATOR, mode, str(cfg), str(log)],
                "env_var": "OPENCLAW_CONFIG_PATH", "json": json_flag}

    def seen():
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return state, cfg, validate, seen


def params(cfg, validate, **extra):
    p = {"path": str(cfg), "settings": {"gateway": {"port": 18800}}, "validate": validate, "backup": False}
    p.update(extra)
    return p


def test_valid_json_naming_the_candidate_replaces_the_file(module_main, setup):
    state, cfg, validate, seen = setup
    failed, res = module_main(gateway_config.main, params(cfg, validate("valid")))
    assert not failed, res.get("msg")
    assert res["changed"] is True and res["validated"] is True
    assert json.loads(cfg.read_text()) == {"gateway": {"mode": "local", "port": 18800}}
    calls = seen()
    assert len(calls) == 1 and calls[0]["cfg"]["gateway"]["port"] == 18800
    assert calls[0]["path"] != str(cfg) and os.path.dirname(calls[0]["path"]) == str(state)
    assert sorted(os.listdir(str(state))) == ["openclaw.json"]  # the candidate was moved into place


def test_valid_json_in_check_mode_writes_nothing(module_main, setup):
    state, cfg, validate, seen = setup
    before = snapshot(state)
    failed, res = module_main(gateway_config.main, dict(params(cfg, validate("valid")), _ansible_check_mode=True))
    assert not failed and res["changed"] is True and res["validated"] is True
    assert len(seen()) == 1
    assert snapshot(state) == before


def test_rc0_but_another_file_checked_is_rejected(module_main, setup):
    state, cfg, validate, seen = setup
    before = snapshot(state)
    failed, res = module_main(gateway_config.main, params(cfg, validate("other")))
    assert failed
    assert res["msg"].startswith("the new config for %s was rejected by" % cfg)
    assert "the live file was left untouched" in res["msg"]
    assert "instead of the candidate" in res["msg"] and "checked %s instead" % cfg in res["msg"]
    assert res["rc"] == 1
    assert res["validated"] is False
    assert len(seen()) == 1
    assert snapshot(state) == before  # live file untouched, candidate removed, no backup


def test_rc1_with_issues_reports_them(module_main, setup):
    state, cfg, validate, _seen = setup
    before = snapshot(state)
    failed, res = module_main(gateway_config.main, params(cfg, validate("issues"), settings={"gateway": {"bogus": True}}))
    assert failed
    assert 'gateway: Unrecognized key: "bogus"' in res["msg"]
    assert "gateway: Unrecognized key" in res["msg"] and "agents.defaults: Expected object" in res["msg"]
    assert res["rc"] == 1
    assert snapshot(state) == before


def test_rc0_valid_false_is_rejected(module_main, setup):
    state, cfg, validate, _seen = setup
    before = snapshot(state)
    failed, res = module_main(gateway_config.main, params(cfg, validate("not-valid-rc0")))
    assert failed and "did not report valid: true" in res["msg"]
    assert snapshot(state) == before


def test_non_json_output_is_rejected_with_json_true(module_main, setup):
    state, cfg, validate, _seen = setup
    before = snapshot(state)
    failed, res = module_main(gateway_config.main, params(cfg, validate("text")))
    assert failed
    assert "the validator printed no JSON: Config OK" in res["msg"]
    assert res["rc"] == 1
    assert snapshot(state) == before


def test_non_json_failure_keeps_stderr(module_main, setup):
    state, cfg, validate, _seen = setup
    before = snapshot(state)
    failed, res = module_main(gateway_config.main, params(cfg, validate("text-rc1")))
    assert failed and "Config invalid" in res["msg"] and res["rc"] == 1
    assert snapshot(state) == before


def test_same_output_accepted_without_json(module_main, setup):
    # json=false (the clawdbot validator): only the exit code counts, stdout is not read
    _state, cfg, validate, _seen = setup
    failed, res = module_main(gateway_config.main, params(cfg, validate("text", json_flag=False)))
    assert not failed and res["validated"] is True
    assert json.loads(cfg.read_text())["gateway"]["port"] == 18800


def test_check_validator_json_follows_symlinks(tmp_path):
    cand = tmp_path / "cand.json"
    cand.write_text("{}")
    link = tmp_path / "link.json"
    os.symlink(str(cand), str(link))
    out = json.dumps({"valid": True, "path": str(link)})
    assert gateway_config.GatewayConfig.check_validator_json(out, str(cand), "warn") == (0, "warn")


def test_validator_issues():
    assert gateway_config.validator_issues('{"valid": false, "issues": [{"path": "gateway", "message": "x"}]}') == "gateway: x"
    assert gateway_config.validator_issues('{"valid": false, "error": {"message": "cannot read"}}') == "cannot read"
    assert gateway_config.validator_issues("not json") == ""
    assert gateway_config.validator_issues("[1]") == ""
