"""Unit tests of the JSON5 reader used for Clawdbot config files."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math

import pytest

from ansible_collections.homelab.clawdbot.plugins.module_utils.json5_lite import JSON5DecodeError, loads

CONTRACT_EXAMPLE = """\
{ gateway:{ mode:"local", port:19100, bind:"loopback",
    auth:{mode:"token", token:"abc", allowTailscale:false}, tailscale:{mode:"off", resetOnExit:false},
    trustedProxies:["127.0.0.1"], controlUi:{enabled:true, basePath:"/clawd", allowInsecureAuth:false} },
  agents:{ defaults:{ model:{primary:"myllm/llama-3.1-70b", fallbacks:[]}, workspace:"~/clawd-probe" } },
  // a comment
  models:{ mode:"merge", providers:{ myllm:{ baseUrl:"http://10.0.0.5:8000/v1", apiKey:"sk-local", api:"openai-completions",
    models:[{id:"llama-3.1-70b", name:"Llama 3.1 70B", contextWindow:131072, maxTokens:8192,}] } } },
}
"""

HAND_EDITED = """\
// Clawdbot config, edited by hand
{
  /* the gateway
     block */
  gateway: {
    mode: 'local',        // single quotes
    port: 0x4A9C,         // hex
    'bind': "loopback",
    trustedProxies: [
      '127.0.0.1',
      "::1",              // trailing comma next
    ],
  },
  $schema_v: +1,
  ratio: .5,
  limit: 5.,
  scale: -2.5e3,
}
"""


def test_contract_example():
    cfg = loads(CONTRACT_EXAMPLE)
    assert cfg["gateway"]["port"] == 19100
    assert cfg["gateway"]["auth"] == {"mode": "token", "token": "abc", "allowTailscale": False}
    assert cfg["gateway"]["controlUi"]["basePath"] == "/clawd"
    assert cfg["agents"]["defaults"]["model"]["fallbacks"] == []
    provider = cfg["models"]["providers"]["myllm"]
    assert provider["models"] == [{"id": "llama-3.1-70b", "name": "Llama 3.1 70B",
                                   "contextWindow": 131072, "maxTokens": 8192}]
    assert list(cfg) == ["gateway", "agents", "models"]


def test_hand_edited_file():
    cfg = loads(HAND_EDITED)
    assert cfg == {
        "gateway": {"mode": "local", "port": 0x4A9C, "bind": "loopback", "trustedProxies": ["127.0.0.1", "::1"]},
        "$schema_v": 1,
        "ratio": 0.5,
        "limit": 5.0,
        "scale": -2500.0,
    }
    assert isinstance(cfg["$schema_v"], int)


def test_plain_json_fast_path():
    assert loads('{"a": [1, 2.5, true, false, null], "b": "\\u00e9"}') == {"a": [1, 2.5, True, False, None], "b": u"\u00e9"}
    assert loads(b'{"a": 1}') == {"a": 1}


@pytest.mark.parametrize("text, expected", [
    ('"a\\nb\\tc\\"d\\\\e"', 'a\nb\tc"d\\e'),
    ("'it\\'s \"quoted\"'", 'it\'s "quoted"'),
    ('"\\u0041\\u00e9\\uD83D\\uDE00"', u"A\u00e9\U0001F600"),
    ('"line one \\\nline two"', "line one line two"),
    ('"crlf \\\r\ncontinued"', "crlf continued"),
    ('"\\x41\\0\\v\\q"', "A\0\vq"),
    ("'tab\tinside'", "tab\tinside"),
])
def test_strings(text, expected):
    assert loads(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("0x1F", 31),
    ("-0x1f", -31),
    ("+17", 17),
    (".25", 0.25),
    ("-.25", -0.25),
    ("3.", 3.0),
    ("1e3", 1000.0),
    ("Infinity", float("inf")),
    ("+Infinity", float("inf")),
    ("-Infinity", float("-inf")),
])
def test_numbers(text, expected):
    assert loads("[%s]" % text) == [expected]
    assert loads("{n: %s}" % text) == {"n": expected}


def test_nan():
    assert math.isnan(loads("{ v: NaN, }")["v"])


def test_keys():
    assert loads("{a_b: 1, $c: 2, d1: 3, 'e-f': 4, \"g h\": 5, \\u0069d: 6, caf\u00e9: 7}") == {
        "a_b": 1, "$c": 2, "d1": 3, "e-f": 4, "g h": 5, "id": 6, u"caf\u00e9": 7}


def test_comments_everywhere_and_bom():
    assert loads(u"\ufeff/*a*/[/*b*/1/*c*/,//d\n2//e\n,]//f") == [1, 2]


def test_duplicate_keys_last_wins():
    assert loads("{a: 1, a: 2,}") == {"a": 2}


@pytest.mark.parametrize("text, line, col, fragment", [
    ('{\n  gateway: {\n    port: 19100\n    bind: "loopback"\n  }\n}', 4, 5, "expected ',' or '}'"),
    ("{\n  a: 01\n}", 2, 6, "leading zeros"),
    ("{\n  a: 'open\n}", 2, 11, "line break in a string"),
    ("[1,,2]", 1, 4, "expected a value"),
    ("{a: 1} x", 1, 8, "after the end"),
    ("{\n/* never closed\n", 2, 1, "unterminated /* comment"),
    ("{a: tru}", 1, 5, "expected a value"),
    ("", 1, 1, "empty document"),
    ("{a:1", 1, 5, "end of input"),
    ("{\r\n a: @}", 2, 5, "'@'"),
])
def test_errors_have_line_and_column(text, line, col, fragment):
    with pytest.raises(ValueError) as exc:
        loads(text)
    err = exc.value
    assert isinstance(err, JSON5DecodeError)
    assert (err.lineno, err.colno) == (line, col)
    assert str(err).endswith("at line %d column %d" % (line, col))
    assert fragment in str(err)
