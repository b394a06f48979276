"""Unit tests of homelab.clawdbot.gateway_config (real files in tmp_path, real validator processes)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import stat
import sys

import pytest

from ansible.module_utils import basic

from ansible_collections.homelab.clawdbot.plugins.modules import gateway_config

from conftest import patch_module_args  # ansible-core 2.19 or its 2.16-2.18 equivalent (tests/unit/conftest.py)


CONTRACT_JSON5 = """\
{ gateway:{ mode:"local", port:19100, bind:"loopback",
    auth:{mode:"token", token:"abc", allowTailscale:false}, tailscale:{mode:"off", resetOnExit:false},
    trustedProxies:["127.0.0.1"], controlUi:{enabled:true, basePath:"/clawd", allowInsecureAuth:false} },
  agents:{ defaults:{ model:{primary:"myllm/llama-3.1-70b", fallbacks:[]}, workspace:"~/clawd-probe" } },
  // a comment
  models:{ mode:"merge", providers:{ myllm:{ baseUrl:"http://10.0.0.5:8000/v1", apiKey:"sk-local", api:"openai-completions",
    models:[{id:"llama-3.1-70b", name:"Llama 3.1 70B", contextWindow:131072, maxTokens:8192,}] } } },
}
"""

GATEWAY_SETTINGS = {
    "gateway": {
        "mode": "local",
        "port": 19100,
        "bind": "loopback",
        "auth": {"mode": "token", "allowTailscale": False},
        "tailscale": {"mode": "off"},
    }
}


class ExitJson(Exception):
    pass


class FailJson(Exception):
    pass


@pytest.fixture
def patched_exit(monkeypatch):
    def exit_json(self, **kwargs):
        raise ExitJson(kwargs)

    def fail_json(self, msg, **kwargs):
        kwargs["msg"] = msg
        kwargs["failed"] = True
        raise FailJson(kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)


def _args(args, check, diff):
    args = dict(args)
    if check:
        args["_ansible_check_mode"] = True
    if diff:
        args["_ansible_diff"] = True
    return args


def run(args, check=False, diff=False):
    with patch_module_args(_args(args, check, diff)):
        with pytest.raises(ExitJson) as exc:
            gateway_config.main()
    return exc.value.args[0]


def run_fail(args, check=False, diff=False):
    with patch_module_args(_args(args, check, diff)):
        with pytest.raises(FailJson) as exc:
            gateway_config.main()
    return exc.value.args[0]


def write(path, text, mode=0o600):
    path.write_text(text, encoding="utf-8")
    os.chmod(str(path), mode)


def read_json(path):
    return json.loads(path.read_text(encoding="utf-8"))


def snapshot(directory):
    """Names, bytes, mode and mtime of every file in a directory."""
    result = {}
    for name in sorted(os.listdir(str(directory))):
        full = os.path.join(str(directory), name)
        st = os.stat(full)
        with open(full, "rb") as f:
            result[name] = (f.read(), stat.S_IMODE(st.st_mode), st.st_mtime_ns)
    return result


def file_mode(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


pytestmark = pytest.mark.usefixtures("patched_exit")


# -- merge / remove -------------------------------------------------------------------------------

def test_creates_file_with_mode_0600_and_gateway_format(tmp_path):
    cfg = tmp_path / "clawdbot.json"
    res = run({"path": str(cfg), "settings": GATEWAY_SETTINGS})
    assert res["changed"] is True
    assert read_json(cfg) == GATEWAY_SETTINGS
    assert cfg.read_text(encoding="utf-8") == json.dumps(GATEWAY_SETTINGS, indent=2, ensure_ascii=False) + "\n"
    assert file_mode(cfg) == 0o600
    assert "backup_file" not in res
    assert run({"path": str(cfg), "settings": GATEWAY_SETTINGS})["changed"] is False


def test_user_keys_kept_on_merge_lists_replaced(tmp_path):
    cfg = tmp_path / "clawdbot.json"
    write(cfg, CONTRACT_JSON5)
    res = run({"path": str(cfg), "settings": {
        "gateway": {"port": 19200, "trustedProxies": ["10.0.0.1"], "controlUi": {"basePath": "/bot"}},
        "models": {"providers": {"myllm": {"models": []}}},
    }})
    assert res["changed"] is True
    new = read_json(cfg)
    assert new["gateway"]["port"] == 19200
    assert new["gateway"]["trustedProxies"] == ["10.0.0.1"]
    # keys the user added by hand survive, at every depth
    assert new["gateway"]["controlUi"] == {"enabled": True, "basePath": "/bot", "allowInsecureAuth": False}
    assert new["gateway"]["auth"]["token"] == "abc"
    assert new["agents"]["defaults"]["workspace"] == "~/clawd-probe"
    assert new["models"]["providers"]["myllm"]["baseUrl"] == "http://10.0.0.5:8000/v1"
    assert new["models"]["providers"]["myllm"]["models"] == []


def test_no_rewrite_when_semantically_equal(tmp_path):
    cfg = tmp_path / "clawdbot.json"
    write(cfg, CONTRACT_JSON5)
    os.utime(str(cfg), ns=(1000000000000000000, 1000000000000000000))
    before = snapshot(tmp_path)
    res = run({"path": str(cfg), "settings": {
        "gateway": {"port": 19100, "bind": "loopback", "tailscale": {"mode": "off"}, "trustedProxies": ["127.0.0.1"]},
        "models": {"providers": {"myllm": {"models": [{"maxTokens": 8192.0, "contextWindow": 131072,
                                                       "name": "Llama 3.1 70B", "id": "llama-3.1-70b"}]}}},
    }, "remove": ["gateway.doesNotExist"], "generate_secrets": ["gateway.auth.token"],
        "secrets": {"models.providers.myllm.apiKey": "sk-local"}}, diff=True)
    assert res["changed"] is False
    assert res["generated_secrets"] == []
    assert snapshot(tmp_path) == before  # bytes (comments included), mode, mtime, no backup/temp files
    assert res["diff"]["before"] == res["diff"]["after"]


def test_bool_is_not_a_number(tmp_path):
    cfg = tmp_path / "clawdbot.json"
    write(cfg, '{"gateway": {"controlUi": {"enabled": 1}}}')
    res = run({"path": str(cfg), "settings": {"gateway": {"controlUi": {"enabled": True}}}})
    assert res["changed"] is True
    assert read_json(cfg)["gateway"]["controlUi"]["enabled"] is True


def test_remove_paths(tmp_path):
    cfg = tmp_path / "clawdbot.json"
    write(cfg, CONTRACT_JSON5)
    res = run({"path": str(cfg), "remove": ["gateway.tailscale.resetOnExit", "gateway.controlUi", "no.such.path",
                                            "gateway.port.notADict"]})
    assert res["changed"] is True
    new = read_json(cfg)
    assert new["gateway"]["tailscale"] == {"mode": "off"}
    assert "controlUi" not in new["gateway"]
    assert new["gateway"]["port"] == 19100
    assert res["config"]["gateway"]["tailscale"] == {"mode": "off"}


def test_remove_and_secret_on_same_path_is_rejected(tmp_path):
    cfg = tmp_path / "clawdbot.json"
    res = run_fail({"path": str(cfg), "remove": ["gateway.auth.token"], "generate_secrets": ["gateway.auth.token"]})
    assert "gateway.auth.token" in res["msg"]
    assert not cfg.exists()


# -- secrets --------------------------------------------------------------------------------------

def test_token_generated_once_then_kept(tmp_path):
    cfg = tmp_path / "clawdbot.json"
    args = {"path": str(cfg), "settings": GATEWAY_SETTINGS, "generate_secrets": ["gateway.auth.token"]}
    first = run(args)
    assert first["changed"] is True
    assert first["generated_secrets"] == ["gateway.auth.token"]
    token = read_json(cfg)["gateway"]["auth"]["token"]
    assert re.match(r"^[0-9a-f]{48}$", token)
    assert token not in json.dumps(first)

    second = run(args)
    assert second["changed"] is False
    assert second["generated_secrets"] == []
    assert read_json(cfg)["gateway"]["auth"]["token"] == token


def test_empty_existing_value_gets_generated(tmp_path):
    cfg = tmp_path / "clawdbot.json"
    write(cfg, '{"gateway": {"auth": {"mode": "token", "token": ""}}}')
    res = run({"path": str(cfg), "generate_secrets": ["gateway.auth.token"]})
    assert res["generated_secrets"] == ["gateway.auth.token"]
    assert len(read_json(cfg)["gateway"]["auth"]["token"]) == 48


def test_given_secret_overrides_and_is_not_generated(tmp_path):
    cfg = tmp_path / "clawdbot.json"
    write(cfg, CONTRACT_JSON5)
    res = run({"path": str(cfg), "secrets": {"gateway.auth.token": "given-token-value-123"},
               "generate_secrets": ["gateway.auth.token"]})
    assert res["changed"] is True
    assert res["generated_secrets"] == []
    assert read_json(cfg)["gateway"]["auth"]["token"] == "given-token-value-123"
    # an empty given value counts as "not given": the existing value stays
    res = run({"path": str(cfg), "secrets": {"gateway.auth.token": ""}, "generate_secrets": ["gateway.auth.token"]})
    assert res["changed"] is False
    assert read_json(cfg)["gateway"]["auth"]["token"] == "given-token-value-123"


def test_secrets_never_in_output_or_diff(tmp_path):
    cfg = tmp_path / "clawdbot.json"
    # the old provider key also appears under an unrelated key name
    write(cfg, CONTRACT_JSON5.replace('workspace:"~/clawd-probe"', 'workspace:"~/clawd-probe", note:"sk-local"'))
    secret = "S3cr3t-provider-key-xyz"
    res = run({"path": str(cfg), "settings": {"hooks": {"header": "Bearer " + secret}},
               "secrets": {"models.providers.myllm.apiKey": secret, "channels.telegram.customSecret": secret},
               "generate_secrets": ["hooks.signingKey"]}, diff=True)
    assert res["changed"] is True
    assert res["generated_secrets"] == ["hooks.signingKey"]
    generated = read_json(cfg)["hooks"]["signingKey"]
    dumped = json.dumps(res)
    for value in (secret, generated, "sk-local", '"abc"'):
        assert value not in dumped
    assert res["config"]["channels"]["telegram"]["customSecret"] == "********"
    assert res["config"]["hooks"] == {"header": "Bearer ********", "signingKey": "********"}
    assert res["config"]["gateway"]["auth"]["token"] == "********"  # secret_keys
    assert json.loads(res["diff"]["before"])["agents"]["defaults"]["note"] == "********"
    assert json.loads(res["diff"]["after"])["models"]["providers"]["myllm"]["apiKey"] == "********"
    assert res["diff"]["before_header"] == str(cfg)
    # ... while the file itself holds the real values
    new = read_json(cfg)
    assert new["models"]["providers"]["myllm"]["apiKey"] == secret
    assert new["channels"]["telegram"]["customSecret"] == secret


def test_read_secrets_in_the_real_module_output(tmp_path, monkeypatch, capsys):
    monkeypatch.undo()  # use the real exit_json: Ansible's own no_log filtering applies
    cfg = tmp_path / "clawdbot.json"
    given = "given-provider-key-4711"
    args = {"path": str(cfg), "settings": GATEWAY_SETTINGS, "generate_secrets": ["gateway.auth.token"],
            "secrets": {"models.providers.myllm.apiKey": given},
            "read_secrets": ["gateway.auth.token", "models.providers.myllm.apiKey", "not.there"]}
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            gateway_config.main()
    res = json.loads(capsys.readouterr().out)
    token = read_json(cfg)["gateway"]["auth"]["token"]
    assert res["secret_values"] == {"gateway.auth.token": token, "models.providers.myllm.apiKey": given}
    assert res["invocation"]["module_args"]["secrets"] == {
        "models.providers.myllm.apiKey": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"}
    assert res["config"]["gateway"]["auth"]["token"] == "********"
    without = dict(res)
    del without["secret_values"]
    assert token not in json.dumps(without) and given not in json.dumps(without)


# -- backup / mode / check mode -------------------------------------------------------------------

def test_backup_created_on_change(tmp_path):
    cfg = tmp_path / "clawdbot.json"
    write(cfg, CONTRACT_JSON5)
    res = run({"path": str(cfg), "settings": {"gateway": {"port": 19101}}})
    assert res["changed"] is True
    backup = res["backup_file"]
    assert os.path.dirname(backup) == str(tmp_path)
    with open(backup, encoding="utf-8") as f:
        assert f.read() == CONTRACT_JSON5
    assert file_mode(backup) == 0o600


def test_no_backup_when_disabled(tmp_path):
    cfg = tmp_path / "clawdbot.json"
    write(cfg, CONTRACT_JSON5)
    res = run({"path": str(cfg), "settings": {"gateway": {"port": 19101}}, "backup": False})
    assert res["changed"] is True and "backup_file" not in res
    assert sorted(os.listdir(str(tmp_path))) == ["clawdbot.json"]


def test_mode_fix_reports_changed(tmp_path):
    cfg = tmp_path / "clawdbot.json"
    write(cfg, CONTRACT_JSON5, mode=0o644)
    res = run({"path": str(cfg)}, check=True)
    assert res["changed"] is True
    assert file_mode(cfg) == 0o644
    res = run({"path": str(cfg)})
    assert res["changed"] is True
    assert file_mode(cfg) == 0o600
    assert cfg.read_text(encoding="utf-8") == CONTRACT_JSON5
    assert run({"path": str(cfg)})["changed"] is False
    assert run({"path": str(cfg), "mode": "0640"})["changed"] is True
    assert file_mode(cfg) == 0o640


def test_check_mode_writes_nothing(tmp_path):
    cfg = tmp_path / "clawdbot.json"
    write(cfg, CONTRACT_JSON5)
    before = snapshot(tmp_path)
    res = run({"path": str(cfg), "settings": {"gateway": {"port": 19101}}, "generate_secrets": ["hooks.token"]},
              check=True, diff=True)
    assert res["changed"] is True
    assert res["generated_secrets"] == ["hooks.token"]
    assert res["config"]["gateway"]["port"] == 19101
    assert '"port": 19100' in res["diff"]["before"] and '"port": 19101' in res["diff"]["after"]
    assert snapshot(tmp_path) == before

    missing = tmp_path / "new.json"
    res = run({"path": str(missing), "settings": GATEWAY_SETTINGS}, check=True, diff=True)
    assert res["changed"] is True and res["diff"]["before"] == ""
    assert not missing.exists()


# -- failures -------------------------------------------------------------------------------------

def test_unparsable_file_fails_untouched(tmp_path):
    cfg = tmp_path / "clawdbot.json"
    write(cfg, '{\n  gateway: {\n    port: 19100\n    bind: "loopback"\n  },\n}\n')
    before = snapshot(tmp_path)
    res = run_fail({"path": str(cfg), "settings": GATEWAY_SETTINGS})
    assert str(cfg) in res["msg"]
    assert "line 4 column 5" in res["msg"]
    assert snapshot(tmp_path) == before


def test_missing_directory_fails_clearly(tmp_path):
    cfg = tmp_path / "no-such-profile" / "clawdbot.json"
    res = run_fail({"path": str(cfg), "settings": GATEWAY_SETTINGS})
    assert "does not exist" in res["msg"] and str(tmp_path / "no-such-profile") in res["msg"]
    assert not cfg.parent.exists()


def test_validation_failure_leaves_live_file_untouched(tmp_path):
    cfg = tmp_path / "clawdbot.json"
    write(cfg, CONTRACT_JSON5)
    before = snapshot(tmp_path)
    script = ("echo 'Invalid config at x:\\n- gateway: Unrecognized key: \"bogus\"' >&2; "
              "echo '    at loadConfig (file:///opt/clawdbot/dist/config.js:10:5)' >&2; exit 1")
    res = run_fail({"path": str(cfg), "settings": {"gateway": {"bogus": True}},
                    "validate": {"argv": ["/bin/sh", "-c", script]}})
    assert res["msg"].startswith("the new config for %s was rejected by sh" % cfg)
    assert 'Invalid config at x: - gateway: Unrecognized key: "bogus"' in res["msg"]
    assert "loadConfig" not in res["msg"] and "\\n" not in res["msg"]
    assert res["rc"] == 1
    assert snapshot(tmp_path) == before  # live file untouched, temp file removed, no backup


def test_validation_message_with_literal_backslash_n():
    stderr = ('[clawdbot] Failed to start CLI: Error: Config invalid at /h/.clawdbot-w/clawdbot.json:\\n'
              '- gateway: Unrecognized key: "bogus"\\n- agents.defaults: Expected object\n'
              '    at Object.<anonymous> (file:///x/cli.js:1:1)\n')
    assert gateway_config.summarize_stderr(stderr) == (
        'Config invalid at /h/.clawdbot-w/clawdbot.json: - gateway: Unrecognized key: "bogus"; '
        '- agents.defaults: Expected object')


VALIDATOR = """\
import json, os, stat, sys
path = os.environ["CLAWDBOT_CONFIG_PATH"]
cfg = json.load(open(path))
with open(sys.argv[1], "a") as log:
    log.write(json.dumps({"path": path, "mode": stat.S_IMODE(os.stat(path).st_mode),
                          "port": cfg["gateway"]["port"], "extra": os.environ.get("CLAWDBOT_STATE_DIR")}) + "\\n")
sys.exit(0 if cfg["gateway"]["port"] == 19100 else 1)
"""


def _validator(tmp_path):
    log = tmp_path.parent / (tmp_path.name + "-validator.log")
    return log, {"argv": [sys.executable, "-c", VALIDATOR, str(log)], "env": {"CLAWDBOT_STATE_DIR": "/srv/state"}}


def test_validation_success_sees_candidate(tmp_path):
    cfg = tmp_path / "clawdbot.json"
    write(cfg, '{"gateway": {"port": 1}}')
    log, validate = _validator(tmp_path)
    res = run({"path": str(cfg), "settings": {"gateway": {"port": 19100}}, "validate": validate, "backup": False})
    assert res["changed"] is True and res["validated"] is True
    seen = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(seen) == 1
    assert seen[0]["port"] == 19100 and seen[0]["mode"] == 0o600 and seen[0]["extra"] == "/srv/state"
    assert os.path.dirname(seen[0]["path"]) == str(tmp_path) and seen[0]["path"] != str(cfg)
    assert read_json(cfg) == {"gateway": {"port": 19100}}
    assert sorted(os.listdir(str(tmp_path))) == ["clawdbot.json"]  # temp file moved into place

    # nothing to change: the validator is not run again
    res = run({"path": str(cfg), "settings": {"gateway": {"port": 19100}}, "validate": validate})
    assert res["changed"] is False and res["validated"] is False
    assert len(log.read_text().splitlines()) == 1


def test_validation_rejects_with_python_validator(tmp_path):
    cfg = tmp_path / "clawdbot.json"
    write(cfg, '{"gateway": {"port": 19100}}')
    before = snapshot(tmp_path)
    log, validate = _validator(tmp_path)
    res = run_fail({"path": str(cfg), "settings": {"gateway": {"port": 2}}, "validate": validate})
    assert "rejected by python" in res["msg"]
    assert json.loads(log.read_text())["port"] == 2
    assert snapshot(tmp_path) == before


def test_validation_runs_in_check_mode_without_writing(tmp_path):
    cfg = tmp_path / "clawdbot.json"
    write(cfg, '{"gateway": {"port": 1}}')
    before = snapshot(tmp_path)
    log, validate = _validator(tmp_path)
    res = run({"path": str(cfg), "settings": {"gateway": {"port": 19100}}, "validate": validate}, check=True)
    assert res["changed"] is True and res["validated"] is True
    assert json.loads(log.read_text())["port"] == 19100
    assert snapshot(tmp_path) == before


def test_backups_pruned_to_backup_keep(tmp_path):
    cfg = tmp_path / "clawdbot.json"
    write(cfg, CONTRACT_JSON5)
    # older copies of this file and an unrelated file that looks alike
    for i, stamp in enumerate(["2026-01-01@10:00:00", "2026-01-02@10:00:00", "2026-01-03@10:00:00"]):
        old = tmp_path / ("clawdbot.json.%d.%s~" % (100 + i, stamp))
        write(old, "{}")
        os.utime(str(old), (1000 + i, 1000 + i))
    write(tmp_path / "other.json.1.2026-01-01@10:00:00~", "{}")
    res = run({"path": str(cfg), "settings": {"gateway": {"port": 19101}}, "backup_keep": 2})
    kept = sorted(n for n in os.listdir(str(tmp_path)) if n.startswith("clawdbot.json."))
    assert res["backup_file"].endswith(kept[-1]) or os.path.basename(res["backup_file"]) in kept
    assert len(kept) == 2 and "clawdbot.json.102.2026-01-03@10:00:00~" in kept
    assert sorted(os.path.basename(p) for p in res["pruned_backups"]) == [
        "clawdbot.json.100.2026-01-01@10:00:00~", "clawdbot.json.101.2026-01-02@10:00:00~"]
    assert (tmp_path / "other.json.1.2026-01-01@10:00:00~").exists()


def test_backup_keep_zero_keeps_all(tmp_path):
    cfg = tmp_path / "clawdbot.json"
    write(cfg, CONTRACT_JSON5)
    for i in range(3):
        write(tmp_path / ("clawdbot.json.%d.2026-01-0%d@10:00:00~" % (i, i + 1)), "{}")
    res = run({"path": str(cfg), "settings": {"gateway": {"port": 19101}}})
    assert "pruned_backups" not in res
    assert len([n for n in os.listdir(str(tmp_path)) if n.endswith("~")]) == 4


def test_secrets_inside_settings_never_in_the_real_module_output(tmp_path, monkeypatch, capsys):
    monkeypatch.undo()  # the real exit_json: what -vvv would print is this JSON
    cfg = tmp_path / "clawdbot.json"
    key = "sk-settings-provider-key-0815"
    settings = {"models": {"providers": {"x": {"baseUrl": "http://h/v1", "apiKey": key}}}}
    with patch_module_args({"path": str(cfg), "settings": settings}, ):
        with pytest.raises(SystemExit):
            gateway_config.main()
    out = capsys.readouterr().out
    res = json.loads(out)
    assert key not in out
    assert res["invocation"]["module_args"]["settings"]["models"]["providers"]["x"]["baseUrl"] == "http://h/v1"
    assert read_json(cfg)["models"]["providers"]["x"]["apiKey"] == key
