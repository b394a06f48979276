# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of openai_models_info against real HTTP/HTTPS servers on 127.0.0.1.

The servers answer like the two real servers we care about: llama.cpp ``llama-server`` (the CI stand-in:
extra top-level ``models`` list, ``/health`` -> ``{"status":"ok"}``, API key required on /v1/* only) and
SGLang (Spark: ``root``/``max_model_len`` fields, ``/health`` -> empty body). Nothing leaves loopback; the
only non-loopback lookup is the resolver query for a name under ``.invalid`` (which never resolves).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import ipaddress
import json
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

import pytest

from ansible.module_utils import basic

from ansible_collections.homelab.clawdbot.plugins.modules import openai_models_info

from conftest import patch_module_args  # ansible-core 2.19 or its 2.16-2.18 equivalent (tests/unit/conftest.py)


cryptography = pytest.importorskip("cryptography")
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402

API_KEY = "test-spark-key-7f3a9c"
WRONG_KEY = "wrong-key-0b1d2e"
MODEL = "qwen3-32b-nvfp4"

LLAMA_MODELS = {
    "models": [{"name": MODEL, "model": MODEL, "modified_at": "", "size": "", "digest": "", "type": "model",
                "description": "", "tags": [""], "capabilities": ["completion"], "parameters": "",
                "details": {"parent_model": "", "format": "gguf", "family": "", "families": [""],
                            "parameter_size": "", "quantization_level": ""}}],
    "object": "list",
    "data": [{"id": MODEL, "aliases": [MODEL], "tags": [], "object": "model", "owned_by": "llamacpp",
              "created": 1795529338,
              "meta": {"vocab_type": 2, "n_vocab": 49152, "n_ctx": 2048, "n_ctx_train": 8192, "n_embd": 576,
                       "n_params": 134515008, "size": 98359296, "ftype": "Q4_1"}}],
}
SGLANG_MODELS = {
    "object": "list",
    "data": [
        {"id": MODEL, "object": "model", "created": 1737000000, "owned_by": "sglang", "root": MODEL,
         "parent": None, "max_model_len": 32768},
        {"id": "llama4-scout-17b-nvfp4", "object": "model", "created": 1737000000, "owned_by": "sglang",
         "root": "llama4-scout-17b-nvfp4", "parent": None, "max_model_len": 131072},
    ],
}


# --------------------------------------------------------------------------------------------------------------
# test servers
# --------------------------------------------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    """Routes by the first path segment; the server root behaves like the llama.cpp stand-in."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _send(self, status, body, ctype="application/json", headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        body = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802 (http.server naming)
        self.server.requests.append({"path": self.path, "authorization": self.headers.get("Authorization"),
                                     "accept": self.headers.get("Accept")})
        path = self.path
        scenario = ""
        for name in ("sglang", "loading", "nonjson", "noshape", "badentry", "redirect", "nohealth", "forbidden"):
            if path.startswith("/%s/" % name):
                scenario, path = name, path[len(name) + 1:]
                break

        if path == "/health":
            if scenario == "sglang":
                return self._send(200, "", ctype="text/plain")  # SGLang: empty body
            if scenario == "loading":
                return self._send(503, {"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}})
            if scenario == "nohealth":
                return self._send(404, {"error": {"code": 404, "message": "File Not Found", "type": "not_found_error"}})
            return self._send(200, {"status": "ok"})

        if path == "/v1/models":
            if scenario == "":  # llama.cpp with --api-key: /health public, /v1/* needs the key
                auth = self.headers.get("Authorization")
                if auth != "Bearer %s" % API_KEY:
                    # echo what was sent, to prove the module scrubs the key from messages
                    return self._send(401, {"error": {"code": 401, "type": "authentication_error",
                                                      "message": "Invalid API Key (got %s)" % auth}})
                return self._send(200, LLAMA_MODELS)
            if scenario == "forbidden":
                return self._send(403, {"detail": "Forbidden"})
            if scenario in ("sglang", "nohealth"):
                return self._send(200, SGLANG_MODELS)
            if scenario == "loading":
                return self._send(200, LLAMA_MODELS)
            if scenario == "nonjson":
                return self._send(200, "<html><body>Tailscale Serve: hello</body></html>", ctype="text/html")
            if scenario == "noshape":
                return self._send(200, {"models": [{"name": MODEL}]})
            if scenario == "badentry":
                return self._send(200, {"object": "list", "data": [{"name": MODEL}]})
            if scenario == "redirect":
                return self._send(301, "", headers={"Location": "https://elsewhere.invalid/v1/models"})
        return self._send(404, {"error": {"code": 404, "message": "File Not Found", "type": "not_found_error"}})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, ssl_context=None):
        ThreadingHTTPServer.__init__(self, ("127.0.0.1", 0), Handler)
        self.requests = []
        if ssl_context is not None:
            self.socket = ssl_context.wrap_socket(self.socket, server_side=True)
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def handle_error(self, request, client_address):  # failed TLS handshakes etc. are expected
        pass

    def stop(self):
        self.shutdown()
        self.server_close()
        self.thread.join(5)


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_key(key, path):
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))


def _server_cert(ca_key, ca_cert, sans, directory, stem):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(stem))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = directory / (stem + ".pem"), directory / (stem + ".key")
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key, key_path)
    return cert_path, key_path


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A throwaway CA, a server certificate for 127.0.0.1/localhost and one for another host name."""
    directory = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("homelab.clawdbot test CA"))
        .issuer_name(_name("homelab.clawdbot test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path = directory / "ca.pem"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    good = _server_cert(ca_key, ca_cert, [x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                          x509.DNSName("localhost")], directory, "spark")
    other = _server_cert(ca_key, ca_cert, [x509.DNSName("spark.example.invalid")], directory, "other")
    return {"ca": str(ca_path), "good": good, "other": other}


def _tls_context(cert_key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert_key[0]), str(cert_key[1]))
    return ctx


@pytest.fixture(scope="module")
def http_server():
    server = Server()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def https_server(pki):
    server = Server(_tls_context(pki["good"]))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def https_wrong_host(pki):
    server = Server(_tls_context(pki["other"]))
    yield server
    server.stop()


def _url(server, scheme="http", prefix=""):
    return "%s://127.0.0.1:%d%s" % (scheme, server.server_address[1], prefix)


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch, http_server):
    """Never route the loopback requests through a proxy from the environment."""
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")
    del http_server.requests[:]


@pytest.fixture
def closed_port():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there any more -> connection refused
    return port


@pytest.fixture
def silent_port():
    """A socket that accepts TCP connections (kernel backlog) but never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield sock.getsockname()[1]
    sock.close()


# --------------------------------------------------------------------------------------------------------------
# running the module in-process
# --------------------------------------------------------------------------------------------------------------

class ModuleExit(Exception):
    pass


class ModuleFail(Exception):
    pass


def _exit_json(self, **kwargs):
    kwargs.setdefault("changed", False)
    raise ModuleExit(kwargs)


def _fail_json(self, msg, **kwargs):
    kwargs["failed"] = True
    kwargs["msg"] = msg
    raise ModuleFail(kwargs)


def run(args, check_mode=False):
    """Return ``(failed, result)``."""
    args = dict(args)
    if check_mode:
        args["_ansible_check_mode"] = True
    with patch_module_args(args), \
            mock.patch.object(basic.AnsibleModule, "exit_json", _exit_json), \
            mock.patch.object(basic.AnsibleModule, "fail_json", _fail_json):
        try:
            openai_models_info.main()
        except ModuleExit as e:
            return False, e.args[0]
        except ModuleFail as e:
            return True, e.args[0]
    raise AssertionError("module neither exited nor failed")


def ok(args, **kw):
    failed, result = run(args, **kw)
    assert not failed, result["msg"]
    assert API_KEY not in json.dumps(result)
    return result


def fail(args, **kw):
    failed, result = run(args, **kw)
    assert failed, result
    text = json.dumps(result)
    assert API_KEY not in text and WRONG_KEY not in text
    return result["msg"]


# --------------------------------------------------------------------------------------------------------------
# URL normalisation
# --------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("given", [
    "https://spark.tailnet.ts.net",
    "https://spark.tailnet.ts.net/",
    "https://spark.tailnet.ts.net/v1",
    "https://spark.tailnet.ts.net/v1/",
    "https://spark.tailnet.ts.net//v1//",
    "  https://spark.tailnet.ts.net/v1  ",
])
def test_normalize_spellings(given):
    assert openai_models_info.normalize_base_url(given) == (
        "https://spark.tailnet.ts.net", "https://spark.tailnet.ts.net/v1")


def test_normalize_keeps_path_prefix():
    assert openai_models_info.normalize_base_url("http://gw:8080/spark/v1/") == (
        "http://gw:8080/spark", "http://gw:8080/spark/v1")


@pytest.mark.parametrize("bad", ["spark.tailnet.ts.net", "ftp://spark/v1", "https:///v1", "", "file:///etc/passwd"])
def test_rejects_non_http_urls(bad):
    msg = fail({"base_url": bad})
    assert "base_url" in msg and "http" in msg


# --------------------------------------------------------------------------------------------------------------
# success paths
# --------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", ["", "/", "/v1", "/v1/", "//v1//"])
def test_url_spellings_give_same_requests_and_result(http_server, suffix):
    root = _url(http_server)
    result = ok({"base_url": root + suffix, "api_key": API_KEY})
    assert result["changed"] is False
    assert result["base_url"] == root + "/v1"
    assert result["root_url"] == root
    assert result["models"] == [MODEL]
    assert [r["path"] for r in http_server.requests] == ["/v1/models", "/health"]


def test_llamacpp_shape_key_sent_as_bearer(http_server):
    result = ok({"base_url": _url(http_server), "api_key": API_KEY, "model": MODEL})
    assert result["models"] == [MODEL]
    assert result["model_found"] is True
    assert result["model_details"] == LLAMA_MODELS["data"]
    assert "models" not in result["model_details"][0]
    assert result["health"] == {"checked": True, "status": 200, "ok": True}
    assert http_server.requests[0]["authorization"] == "Bearer " + API_KEY
    assert http_server.requests[0]["accept"] == "application/json"


def test_api_key_whitespace_is_stripped(http_server):
    ok({"base_url": _url(http_server), "api_key": " %s\n" % API_KEY})
    assert http_server.requests[0]["authorization"] == "Bearer " + API_KEY


def test_sglang_shape_order_and_empty_health_body(http_server):
    result = ok({"base_url": _url(http_server, prefix="/sglang/v1")})
    assert result["models"] == [MODEL, "llama4-scout-17b-nvfp4"]
    assert result["model_details"][1]["max_model_len"] == 131072
    assert result["model_found"] is None
    assert result["health"] == {"checked": True, "status": 200, "ok": True}
    assert result["base_url"] == _url(http_server, prefix="/sglang/v1")
    assert http_server.requests[0]["authorization"] is None  # no key given -> no header
    assert [r["path"] for r in http_server.requests] == ["/sglang/v1/models", "/sglang/health"]


def test_check_mode_same_result(http_server):
    result = ok({"base_url": _url(http_server, prefix="/sglang"), "model": "llama4-scout-17b-nvfp4"},
                check_mode=True)
    assert result["changed"] is False
    assert result["model_found"] is True


# --------------------------------------------------------------------------------------------------------------
# authentication
# --------------------------------------------------------------------------------------------------------------

def test_wrong_key_rejected_and_not_leaked(http_server):
    msg = fail({"base_url": _url(http_server), "api_key": WRONG_KEY})
    assert "the endpoint rejected the API key (HTTP 401)" in msg
    assert "check api_key" in msg
    assert _url(http_server) + "/v1/models" in msg
    assert "Invalid API Key" in msg  # the server's message is kept, the echoed key is scrubbed
    assert "********" in msg
    assert http_server.requests[0]["authorization"] == "Bearer " + WRONG_KEY


def test_missing_key_says_key_required(http_server):
    msg = fail({"base_url": _url(http_server)})
    assert "requires an API key (HTTP 401)" in msg
    assert "set api_key" in msg


def test_forbidden_403(http_server):
    msg = fail({"base_url": _url(http_server, prefix="/forbidden"), "api_key": API_KEY})
    assert "rejected the API key (HTTP 403)" in msg
    assert "Forbidden" in msg


# --------------------------------------------------------------------------------------------------------------
# model selection
# --------------------------------------------------------------------------------------------------------------

def test_model_not_served_lists_ids(http_server):
    msg = fail({"base_url": _url(http_server, prefix="/sglang"), "model": "qwen3-32b"})
    assert msg == "model 'qwen3-32b' is not served by %s; /v1/models lists: %s, llama4-scout-17b-nvfp4" % (
        _url(http_server, prefix="/sglang/v1"), MODEL)


# --------------------------------------------------------------------------------------------------------------
# health
# --------------------------------------------------------------------------------------------------------------

def test_health_503_fails(http_server):
    msg = fail({"base_url": _url(http_server, prefix="/loading")})
    assert msg.startswith("health check failed: HTTP 503 (model still loading?)")
    assert _url(http_server, prefix="/loading/health") in msg


def test_health_503_ignored_when_check_health_false(http_server):
    result = ok({"base_url": _url(http_server, prefix="/loading"), "check_health": False, "model": MODEL})
    assert result["health"] == {"checked": False, "status": None, "ok": None}
    assert result["model_found"] is True
    assert [r["path"] for r in http_server.requests] == ["/loading/v1/models"]


def test_health_404_hints_check_health(http_server):
    msg = fail({"base_url": _url(http_server, prefix="/nohealth")})
    assert "health check failed: HTTP 404" in msg and "check_health=false" in msg


# --------------------------------------------------------------------------------------------------------------
# wrong answers
# --------------------------------------------------------------------------------------------------------------

def test_404_mentions_base_url_and_v1_rule(http_server):
    msg = fail({"base_url": _url(http_server, prefix="/api/openai"), "api_key": API_KEY})
    assert "HTTP 404" in msg
    assert _url(http_server, prefix="/api/openai/v1/models") in msg
    assert "base URL may be wrong" in msg and "/v1" in msg


def test_non_json(http_server):
    msg = fail({"base_url": _url(http_server, prefix="/nonjson")})
    assert "did not return JSON" in msg and "/nonjson/v1/models" in msg
    assert "<html>" in msg


def test_wrong_shape_no_data(http_server):
    msg = fail({"base_url": _url(http_server, prefix="/noshape")})
    assert "unexpected shape" in msg and "'data' list" in msg and "keys models" in msg


def test_wrong_shape_entry_without_id(http_server):
    msg = fail({"base_url": _url(http_server, prefix="/badentry")})
    assert "unexpected shape" in msg and "data[0]" in msg and "'id'" in msg


def test_redirect_not_followed(http_server):
    msg = fail({"base_url": _url(http_server, prefix="/redirect"), "api_key": API_KEY})
    assert "redirected (HTTP 301) to https://elsewhere.invalid/v1/models" in msg
    assert len(http_server.requests) == 1


def test_parse_models_helper():
    ids, details = openai_models_info.parse_models("u", json.dumps(SGLANG_MODELS).encode(), lambda t: t)
    assert ids == [MODEL, "llama4-scout-17b-nvfp4"] and details == SGLANG_MODELS["data"]
    with pytest.raises(openai_models_info.EndpointError):
        openai_models_info.parse_models("u", b'[{"id": "x"}]', lambda t: t)
    with pytest.raises(openai_models_info.EndpointError):
        openai_models_info.parse_models("u", b'{"data": [{"id": 3}]}', lambda t: t)


# --------------------------------------------------------------------------------------------------------------
# transport failures
# --------------------------------------------------------------------------------------------------------------

def test_connection_refused(closed_port):
    url = "http://127.0.0.1:%d" % closed_port
    msg = fail({"base_url": url + "/v1", "api_key": API_KEY, "timeout": 3})
    assert msg.startswith("cannot reach %s/v1/models: " % url)
    assert "refused" in msg.lower()


def test_dns_failure():
    msg = fail({"base_url": "https://spark.homelab-clawdbot-test.invalid/v1", "api_key": API_KEY, "timeout": 3})
    assert msg.startswith("cannot reach https://spark.homelab-clawdbot-test.invalid/v1/models: ")
    assert "resolve" in msg


def test_timeout(silent_port):
    msg = fail({"base_url": "http://127.0.0.1:%d" % silent_port, "timeout": 1})
    assert msg.startswith("cannot reach http://127.0.0.1:%d/v1/models: " % silent_port)
    assert "timed out" in msg


def test_timeout_must_be_positive(http_server):
    assert "timeout" in fail({"base_url": _url(http_server), "timeout": 0})


# --------------------------------------------------------------------------------------------------------------
# TLS
# --------------------------------------------------------------------------------------------------------------

def test_tls_untrusted_without_ca_path(https_server):
    before = len(https_server.requests)
    msg = fail({"base_url": _url(https_server, "https"), "api_key": API_KEY})
    assert "not trusted" in msg and "ca_path" in msg
    assert _url(https_server, "https", "/v1/models") in msg
    assert "mismatch" not in msg
    assert len(https_server.requests) == before  # the key never went over the unverified connection


def test_tls_ok_with_ca_path(https_server, pki):
    result = ok({"base_url": _url(https_server, "https", "/v1/"), "api_key": API_KEY, "ca_path": pki["ca"],
                 "model": MODEL})
    assert result["base_url"] == _url(https_server, "https", "/v1")
    assert result["health"]["ok"] is True
    assert https_server.requests[-2]["authorization"] == "Bearer " + API_KEY


def test_tls_localhost_name_with_ca_path(https_server, pki):
    url = "https://localhost:%d" % https_server.server_address[1]
    result = ok({"base_url": url, "api_key": API_KEY, "ca_path": pki["ca"]})
    assert result["root_url"] == url


def test_tls_validate_certs_false(https_server):
    result = ok({"base_url": _url(https_server, "https"), "api_key": API_KEY, "validate_certs": False})
    assert result["models"] == [MODEL]


def test_tls_hostname_mismatch(https_wrong_host, pki):
    before = len(https_wrong_host.requests)
    msg = fail({"base_url": _url(https_wrong_host, "https"), "api_key": API_KEY, "ca_path": pki["ca"]})
    assert "hostname mismatch" in msg and "not valid for this host name" in msg
    assert len(https_wrong_host.requests) == before


def test_https_to_plain_http_port(http_server, pki):
    msg = fail({"base_url": _url(http_server, "https"), "api_key": API_KEY, "ca_path": pki["ca"], "timeout": 3})
    assert "TLS handshake with %s failed" % _url(http_server, "https", "/v1/models") in msg


def test_ca_path_missing(http_server, tmp_path):
    msg = fail({"base_url": _url(http_server), "ca_path": str(tmp_path / "nope.pem")})
    assert "ca_path" in msg and "does not exist" in msg


def test_ca_path_not_pem(http_server, tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n")
    msg = fail({"base_url": _url(http_server), "ca_path": str(bad)})
    assert "ca_path" in msg and "PEM" in msg
