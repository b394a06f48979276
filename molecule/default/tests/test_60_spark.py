"""Spark as the openclaw gateways' LLM: a real OpenAI-compatible server (llama.cpp llama-server on the "spark"
platform, HTTPS with a test CA, API key, SmolLM2-135M served as qwen3-32b-nvfp4), one real agent turn through the
gateway, and Spark faults refused before the config changes."""
import json
import os
import time

import pytest
import testinfra
from helpers import GATEWAY_HOSTS, PROFILES, run_module, run_playbook, snapshot_diff
from oc import cli_json, read_config, snapshot, unit_path

testinfra_hosts = GATEWAY_HOSTS
SITE = "playbooks/site.yml"
KEY = "test-spark-key-0123456789"
MODEL = "qwen3-32b-nvfp4"


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_provider_in_every_profile(host, profile):
    cfg = read_config(host, profile)
    provider = cfg["models"]["providers"]["spark"]
    assert provider["baseUrl"] == "https://spark:18443/v1"  # given without /v1: the role writes the client's form
    assert provider["api"] == "openai-completions"
    assert provider["apiKey"] == KEY
    assert [m["id"] for m in provider["models"]] == [MODEL]
    assert provider["models"][0]["contextWindow"] == 32768
    assert provider["models"][0]["compat"] == {"supportsTools": False}
    assert cfg["agents"]["defaults"]["model"]["primary"] == "spark/" + MODEL
    unit = host.file(unit_path(host, profile)).content_string
    assert "NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt" in unit
    assert KEY not in unit


def test_models_info_module_from_vm102(host):
    res = run_module("homelab.clawdbot.openai_models_info", {
        "base_url": "https://spark:18443/", "api_key": KEY, "ca_path": "/etc/homelab-clawdbot/spark-ca.pem",
        "model": MODEL})
    assert not res.get("failed"), res
    assert res["models"] == [MODEL] and res["base_url"] == "https://spark:18443/v1"
    assert res["health"]["ok"] is True and res["model_found"] is True
    assert KEY not in json.dumps(res)


def test_gateway_runs_an_agent_turn_on_spark(host):
    """One real agent turn through the personal gateway (not --local): the gateway calls Spark."""
    tasks_before = served_tasks()
    out, reply = cli_json(host, "personal", "agent", "--agent", "main", "--message", "'Say hello in five words.'",
                          "--json", "--timeout", "400")
    assert out.rc == 0 and reply, out.stdout[-2000:] + out.stderr[-3000:]
    assert reply["status"] == "ok", reply
    meta = reply["result"]["meta"]["agentMeta"]
    assert meta["provider"] == "spark" and meta["model"] == MODEL
    # what really answered (the server names its model in the response), not only what was asked for
    assert meta["terminalReceipt"]["effective"] == {"provider": "spark", "model": MODEL, "responseModel": MODEL}
    assert meta["terminalReceipt"]["rerouted"] is False
    texts = [p.get("text") or "" for p in reply["result"]["payloads"]]
    assert any(t.strip() for t in texts), reply
    print("agent reply via the gateway: %r (estimated prompt %s tokens)"
          % (texts, meta.get("contextBudgetStatus", {}).get("estimatedPromptTokens")))
    # the server on the spark host processed the gateway's completion request (llama-server logs each task)
    assert served_tasks() > tasks_before


def served_tasks():
    log = spark_host().run("journalctl -u spark-standin.service --no-pager -o cat").stdout
    return log.count("launch_slot_")


def spark_host():
    return testinfra.get_host("ansible://spark", ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])


FAULTS = {
    "wrong key": ({"spark_provider_api_key": "wrong-key-0123456789"}, "rejected the API key (HTTP 401)"),
    "unknown model": ({"spark_provider_models": [{"id": "llama4-scout-17b-nvfp4"}]},
                      "model 'llama4-scout-17b-nvfp4' is not served by https://spark:18443/v1; /v1/models lists: qwen3-32b-nvfp4"),
    "bad CA": ({"spark_provider_ca_cert": "/etc/ssl/certs/ca-certificates.crt"}, "certificate is not trusted"),
    "spark down": ({}, "cannot reach https://spark:18443/v1/models"),
    "context window below openclaw's floor": ({"spark_provider_context_window": 3999}, "context windows must be >= 4000"),
}


@pytest.mark.parametrize("case", sorted(FAULTS))
def test_spark_faults_fail_before_the_config_changes(host, case):
    extra, message = FAULTS[case]
    before = snapshot(host)
    if case == "spark down":
        assert spark_host().run("systemctl stop spark-standin.service").rc == 0
    try:
        rc, out = run_playbook(SITE, "-e", json.dumps(extra))
    finally:
        if case == "spark down":
            spark_host().run("systemctl start spark-standin.service")
            for _attempt in range(30):
                if spark_host().run("curl -sk -o /dev/null -w '%{http_code}' https://localhost:18443/health").stdout == "200":
                    break
                time.sleep(1)
    assert rc != 0, out[-3000:]
    assert message in " ".join(out.split()), out[-4000:]
    after = snapshot(host)
    assert after == before, snapshot_diff(before, after)
    assert KEY not in out and "wrong-key-0123456789" not in out
