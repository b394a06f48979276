#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: openai_models_info
short_description: List the models an OpenAI-compatible endpoint (SGLang, llama.cpp) serves
version_added: "0.1.0"
description:
  - Queries C(GET <root>/v1/models) of an OpenAI-compatible inference server (for example SGLang on Spark,
    or llama.cpp C(llama-server)) from the managed host, like the C(curl) checks of the runbook, and returns
    the served model ids.
  - C(GET /v1/models) is the source of truth. The model id a client such as Clawdbot must use is exactly
    the C(id) of an entry of its C(data) list. Only C(data[].id) is interpreted; extra fields (llama.cpp's
    top-level C(models) list, SGLang's C(root) and C(max_model_len)) are tolerated.
  - "The /v1 rule: O(base_url) may be given with or without a trailing C(/v1) and with or without trailing
    slashes; all spellings are treated the same. The module returns RV(root_url) (without C(/v1)) and
    RV(base_url) (the root plus C(/v1)). Clawdbot's C(openai-completions) provider needs the form WITH C(/v1)
    in C(models.providers.<id>.baseUrl), so use RV(base_url) there. Clients that append C(/v1/...)
    themselves need RV(root_url)."
  - Optionally checks C(GET <root>/health). Only the HTTP status counts (200 is healthy); the body is
    ignored because SGLang answers with an empty body and llama.cpp with C({"status":"ok"}). HTTP 503
    usually means the model is still loading.
  - Redirects are not followed, so the API key is never sent to another URL; a redirect fails with the
    target URL in the message.
  - The standard proxy environment variables (C(https_proxy), C(no_proxy), ...) of the managed host apply.
  - This module never changes anything.
author: Homelab Clawdbot maintainers (@homelab-clawdbot)
options:
  base_url:
    description:
      - URL of the OpenAI-compatible endpoint, for example C(https://spark.tailnet.ts.net) or
        C(https://spark.tailnet.ts.net/v1).
      - A trailing C(/v1) and trailing slashes are removed to find the root URL.
      - Only C(http) and C(https) URLs are accepted.
    type: str
    required: true
  api_key:
    description:
      - "API key, sent as C(Authorization: Bearer <api_key>)."

      - Omit it for endpoints without authentication.
      - The key is never returned and never included in error messages.
    type: str
  model:
    description:
      - A model id that must be listed by C(/v1/models). The module fails when it is not served.
      - Compare with the C(id) field, for example C(qwen3-32b-nvfp4) (the SGLang C(--served-model-name) or
        llama.cpp C(--alias)).
    type: str
  check_health:
    description:
      - Also request C(GET <root>/health) and fail unless it answers HTTP 200.
      - Set to V(false) for servers without a C(/health) endpoint.
    type: bool
    default: true
  validate_certs:
    description:
      - Verify the server's TLS certificate and host name for C(https) URLs.
      - Only set to V(false) for throwaway test setups; prefer O(ca_path).
    type: bool
    default: true
  ca_path:
    description:
      - PEM file with the CA certificate(s) to trust for the endpoint (private CA, self-signed test
        certificate). When given, only these CAs are trusted.
      - Path on the managed host.
    type: path
  timeout:
    description:
      - Timeout in seconds for connecting and for each response.
    type: int
    default: 10
attributes:
  check_mode:
    support: full
    description: The module only reads from the endpoint, so it behaves the same in check mode.
  diff_mode:
    support: none
    description: The module never changes anything, so there is nothing to diff.
  platform:
    support: full
    platforms: posix
    description: Runs on the managed host; requests are made from there, as the gateway would make them.
notes:
  - Requests are sent from the managed host, so name resolution, routing (for example the Tailnet) and
    trusted CAs are those of the managed host.
seealso:
  - name: OpenAI API reference, list models
    description: The C(GET /v1/models) endpoint this module reads.
    link: https://platform.openai.com/docs/api-reference/models/list
"""

EXAMPLES = r"""
- name: List the models Spark serves (the base URL may be given with or without /v1)
  homelab.clawdbot.openai_models_info:
    base_url: https://spark.tailnet.ts.net/v1
    api_key: "{{ spark_api_key }}"
  register: spark_models

- name: Show the ids Clawdbot may use
  ansible.builtin.debug:
    msg: "{{ spark_models.models }} via {{ spark_models.base_url }}"

- name: Fail early unless the configured model is served, trusting a private CA
  homelab.clawdbot.openai_models_info:
    base_url: https://spark.tailnet.ts.net
    api_key: "{{ spark_api_key }}"
    model: qwen3-32b-nvfp4
    ca_path: /etc/ssl/private-ca/spark-ca.pem

- name: Check a llama.cpp stand-in over plain HTTP without a health check
  homelab.clawdbot.openai_models_info:
    base_url: http://127.0.0.1:30001/
    check_health: false
    timeout: 5
"""

RETURN = r"""
models:
  description: The model ids (C(data[].id) of C(/v1/models)) in the order the server lists them.
  returned: success
  type: list
  elements: str
  sample: ["qwen3-32b-nvfp4"]
model_details:
  description: The C(data) entries of C(/v1/models) as the server returned them (fields vary by server).
  returned: success
  type: list
  elements: dict
  sample:
    - id: qwen3-32b-nvfp4
      object: model
      owned_by: sglang
      root: qwen3-32b-nvfp4
      max_model_len: 32768
base_url:
  description:
    - The API base URL, the root URL plus C(/v1).
    - This is the form Clawdbot's C(openai-completions) provider needs in C(models.providers.<id>.baseUrl).
  returned: success
  type: str
  sample: https://spark.tailnet.ts.net/v1
root_url:
  description: The root URL of the server, without C(/v1) and without trailing slash.
  returned: success
  type: str
  sample: https://spark.tailnet.ts.net
health:
  description: Result of the C(GET <root>/health) check.
  returned: success
  type: dict
  contains:
    checked:
      description: Whether the health endpoint was requested (O(check_health)).
      returned: success
      type: bool
      sample: true
    status:
      description: HTTP status of C(/health); V(null) when not checked.
      returned: success
      type: int
      sample: 200
    ok:
      description: V(true) when C(/health) answered HTTP 200; V(null) when not checked.
      returned: success
      type: bool
      sample: true
  sample:
    checked: true
    status: 200
    ok: true
model_found:
  description:
    - V(true) when O(model) is listed (the module fails when it is not); V(null) when O(model) was not given.
  returned: success
  type: bool
  sample: true
"""

import json
import os
import socket
import ssl
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.module_utils.urls import ConnectionError as UrlsConnectionError
from ansible.module_utils.urls import open_url

HTTP_AGENT = "homelab.clawdbot.openai_models_info"
BODY_SNIPPET = 200
# OpenSSL X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_EMAIL_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH
HOSTNAME_MISMATCH_CODES = (62, 63, 64)
CERT_VERIFY_ERROR = getattr(ssl, "SSLCertVerificationError", ssl.CertificateError)


class EndpointError(Exception):
    """A failure with a message that is safe to show (no secret)."""


def normalize_base_url(base_url):
    """Return ``(root_url, api_base_url)`` for any spelling of the base URL, or raise ValueError."""
    url = (base_url or "").strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValueError(
            "base_url must be an http:// or https:// URL such as https://spark.tailnet.ts.net "
            "(with or without /v1), got %r" % url
        )
    if parts.query or parts.fragment:
        raise ValueError("base_url must not contain a query string or fragment, got %r" % url)
    root = url.rstrip("/")
    while root.endswith("/v1"):
        root = root[: -len("/v1")].rstrip("/")
    # root still contains scheme://netloc because netloc is not empty
    return root, root + "/v1"


class Scrubber(object):
    """Removes the API key from any text that may end up in a message."""

    def __init__(self, secret):
        self.secret = secret

    def __call__(self, text):
        text = to_text(text, errors="surrogate_or_replace")
        if self.secret:
            text = text.replace(self.secret, "********")
        return text


def _body_snippet(error, scrub):
    try:
        body = error.read()
    except Exception:  # pylint: disable=broad-except
        return ""
    text = scrub(body).strip()
    if not text:
        return ""
    # prefer the OpenAI-style {"error": {"message": ...}} when present
    try:
        data = json.loads(text)
        if isinstance(data, dict):
            err = data.get("error")
            if isinstance(err, dict) and isinstance(err.get("message"), str):
                text = err["message"]
            elif isinstance(err, str):
                text = err
            elif isinstance(data.get("detail"), str):
                text = data["detail"]
    except ValueError:
        pass
    text = " ".join(text.split())
    if len(text) > BODY_SNIPPET:
        text = text[:BODY_SNIPPET] + "..."
    return scrub(text)


def _tls_message(url, reason):
    code = getattr(reason, "verify_code", None)
    detail = getattr(reason, "verify_message", None) or to_native(reason)
    if code in HOSTNAME_MISMATCH_CODES or "mismatch" in to_native(detail).lower():
        return (
            "TLS verification of %s failed: the server certificate is not valid for this host name "
            "(hostname mismatch: %s). Use the host name the certificate was issued for in base_url "
            "(for Tailscale Serve the MagicDNS name, for example https://spark.<tailnet>.ts.net)." % (url, detail)
        )
    return (
        "TLS verification of %s failed: the server certificate is not trusted (%s). Give the CA that "
        "signed it via ca_path (spark_provider_ca_cert in the spark_provider role), or set validate_certs=false "
        "for a throwaway test setup only." % (url, detail)
    )


class Client(object):
    def __init__(self, api_key, validate_certs, ca_path, timeout):
        self.api_key = api_key
        self.validate_certs = validate_certs
        self.ca_path = ca_path if validate_certs else None
        self.timeout = timeout
        self.scrub = Scrubber(api_key)

    def get(self, url, expect_json=True):
        """Return ``(status, body_bytes)`` for a 2xx answer; raise HTTPError for others, EndpointError on
        transport problems."""
        headers = {"Accept": "application/json" if expect_json else "*/*"}
        unredirected = []
        if self.api_key:
            headers["Authorization"] = "Bearer %s" % self.api_key
            unredirected.append("Authorization")
        try:
            resp = open_url(
                url,
                method="GET",
                headers=headers,
                validate_certs=self.validate_certs,
                ca_path=self.ca_path,
                timeout=self.timeout,
                http_agent=HTTP_AGENT,
                follow_redirects="none",
                unredirected_headers=unredirected,
                use_netrc=False,
            )
            try:
                return resp.getcode(), resp.read()
            finally:
                resp.close()
        except HTTPError:
            raise
        except URLError as e:
            raise EndpointError(self._transport_message(url, e.reason))
        except (ssl.SSLError, socket.timeout, OSError, UrlsConnectionError, ValueError) as e:
            raise EndpointError(self._transport_message(url, e))

    def _transport_message(self, url, reason):
        if isinstance(reason, CERT_VERIFY_ERROR):
            return self.scrub(_tls_message(url, reason))
        if isinstance(reason, ssl.SSLError):
            return self.scrub(
                "TLS handshake with %s failed: %s (does the server speak %s on that port?)"
                % (url, to_native(reason), urlsplit(url).scheme)
            )
        if isinstance(reason, socket.gaierror):
            why = "host name does not resolve (%s)" % to_native(reason)
        elif isinstance(reason, (socket.timeout, TimeoutError)):
            why = "timed out after %s seconds" % self.timeout
        elif isinstance(reason, ConnectionRefusedError):
            why = "connection refused (%s)" % to_native(reason)
        else:
            why = to_native(reason) or reason.__class__.__name__
        return self.scrub("cannot reach %s: %s" % (url, why))


def _http_error_message(url, error, api_key_given, scrub, what):
    code = error.code
    snippet = _body_snippet(error, scrub)
    server_says = (" Server said: %s" % snippet) if snippet else ""
    if code in (401, 403):
        if api_key_given:
            return (
                "the endpoint rejected the API key (HTTP %d) for %s; check api_key.%s" % (code, url, server_says)
            )
        return (
            "the endpoint requires an API key (HTTP %d) for %s but none was given; set api_key.%s"
            % (code, url, server_says)
        )
    if 300 <= code < 400:
        location = error.headers.get("Location") if error.headers is not None else None
        return (
            "%s redirected (HTTP %d) to %s; redirects are not followed so the API key is never sent "
            "elsewhere. Set base_url to the final URL." % (url, code, location or error.url or "an unknown location")
        )
    if what == "models" and code == 503:
        return "GET %s failed: HTTP 503 (model still loading?).%s" % (url, server_says)
    return (
        "GET %s failed: HTTP %d. The base URL may be wrong: give the server root (for example "
        "https://spark.tailnet.ts.net) or the same with /v1; the module requests <root>/v1/models, so do not "
        "include /v1/models or any other path beyond /v1.%s" % (url, code, server_says)
    )


def parse_models(url, body, scrub):
    """Return ``(ids, details)`` from a /v1/models body, or raise EndpointError."""
    try:
        data = json.loads(to_text(body, errors="surrogate_or_replace"))
    except ValueError:
        text = " ".join(scrub(body).split())
        if len(text) > BODY_SNIPPET:
            text = text[:BODY_SNIPPET] + "..."
        raise EndpointError(
            "%s did not return JSON (is base_url an OpenAI-compatible endpoint?). Body starts with: %r" % (url, text)
        )
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise EndpointError(
            "%s returned JSON of an unexpected shape: expected an object with a 'data' list of models "
            "(OpenAI 'list models' format), got %s" % (url, _shape(data))
        )
    ids = []
    details = []
    for index, entry in enumerate(data["data"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not entry["id"]:
            raise EndpointError(
                "%s returned JSON of an unexpected shape: data[%d] is not an object with a non-empty string "
                "'id' (got %s)" % (url, index, _shape(entry))
            )
        ids.append(entry["id"])
        details.append(entry)
    return ids, details


def _shape(value):
    if isinstance(value, dict):
        return "an object with keys %s" % (", ".join(sorted(str(k) for k in value)) or "(none)")
    if isinstance(value, list):
        return "a list of %d items" % len(value)
    return "a %s" % type(value).__name__


def run(module):
    params = module.params
    try:
        root_url, api_base_url = normalize_base_url(params["base_url"])
    except ValueError as e:
        module.fail_json(msg=to_native(e))

    if params["timeout"] is None or params["timeout"] <= 0:
        module.fail_json(msg="timeout must be a positive number of seconds, got %r" % params["timeout"])

    ca_path = params["ca_path"]
    if ca_path and params["validate_certs"] and not os.path.isfile(ca_path):
        module.fail_json(msg="ca_path %s does not exist or is not a file on the managed host" % ca_path)

    if ca_path and params["validate_certs"]:
        try:
            ssl.create_default_context(cafile=ca_path)
        except (ssl.SSLError, OSError, ValueError) as e:
            module.fail_json(msg="ca_path %s is not a readable PEM CA bundle: %s" % (ca_path, to_native(e)))

    api_key = (params["api_key"] or "").strip() or None
    client = Client(api_key, params["validate_certs"], ca_path, params["timeout"])
    scrub = client.scrub

    models_url = api_base_url + "/models"
    health_url = root_url + "/health"

    try:
        try:
            dummy, body = client.get(models_url)
        except HTTPError as e:
            raise EndpointError(_http_error_message(models_url, e, bool(api_key), scrub, "models"))
        ids, details = parse_models(models_url, body, scrub)

        health = dict(checked=False, status=None, ok=None)
        if params["check_health"]:
            try:
                status, dummy = client.get(health_url, expect_json=False)
            except HTTPError as e:
                status = e.code
                snippet = _body_snippet(e, scrub)
                hint = " (model still loading?)" if status == 503 else ""
                if status in (401, 403):
                    hint = " (the health endpoint requires authentication; check api_key)"
                elif 300 <= status < 400:
                    hint = " (redirect to %s)" % (e.headers.get("Location") if e.headers is not None else e.url)
                elif status == 404:
                    hint = " (no /health endpoint; set check_health=false for servers without one)"
                raise EndpointError(
                    "health check failed: HTTP %d%s from %s%s" % (status, hint, health_url,
                                                                  (". Server said: %s" % snippet) if snippet else "")
                )
            if status != 200:
                raise EndpointError(
                    "health check failed: HTTP %d from %s (expected 200)" % (status, health_url)
                )
            health = dict(checked=True, status=status, ok=True)
    except EndpointError as e:
        module.fail_json(msg=scrub(to_native(e)), base_url=api_base_url, root_url=root_url)

    model_found = None
    if params["model"] is not None:
        model_found = params["model"] in ids
        if not model_found:
            module.fail_json(
                msg=scrub(
                    "model '%s' is not served by %s; /v1/models lists: %s"
                    % (params["model"], api_base_url, ", ".join(ids) if ids else "(no models)")
                ),
                models=ids,
                base_url=api_base_url,
                root_url=root_url,
                health=health,
                model_found=False,
            )

    if not ids:
        module.warn("%s lists no models" % models_url)

    module.exit_json(
        changed=False,
        models=ids,
        model_details=details,
        base_url=api_base_url,
        root_url=root_url,
        health=health,
        model_found=model_found,
    )


def main():
    module = AnsibleModule(
        argument_spec=dict(
            base_url=dict(type="str", required=True),
            api_key=dict(type="str", no_log=True),
            model=dict(type="str"),
            check_health=dict(type="bool", default=True),
            validate_certs=dict(type="bool", default=True),
            ca_path=dict(type="path"),
            timeout=dict(type="int", default=10),
        ),
        supports_check_mode=True,
    )
    run(module)


if __name__ == "__main__":
    main()
