# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""managed_settings: the keys the profiles role owns, per flavour, for profiles planned with the flavour's names."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.homelab.clawdbot.plugins.filter.profiles import managed_settings, profiles_plan
from ansible_collections.homelab.clawdbot.plugins.module_utils.flavours import get_flavour

HOME = "/home/user"
TOKENS = {"personal": "123456789:" + "A1b2C3d4E5f6G7h8I9j0K" * 2, "ops": "987654321:" + "z9Y8x7W6v5U4t3S2r1Q0p" * 2}


def plan_options(f, **extra):
    """What roles/profiles/vars/main.yml hands profiles_plan as _profiles_plan_options (the flavour's names)."""
    reserved = []
    for d in (f["install_dir"], f["state_prefix"]):
        if d not in reserved:
            reserved.append(d)
    opts = dict(state_prefix=f["state_prefix"], config_name=f["config_name"], unit_prefix=f["unit_prefix"],
                workspace=f["workspace"], browser_port_configurable=f["browser_port_configurable"],
                env_prefix=f["env_prefix"], auto_approve_local=True,
                reserved_dirs=reserved + [".config", ".ssh", ".cache", ".npm", ".local/share/systemd"])
    opts.update(extra)
    return opts


def plan(name, profiles, **extra):
    r = profiles_plan(profiles, HOME, plan_options(get_flavour(name), **extra))
    return r


def planned(name, profiles, **extra):
    r = plan(name, profiles, **extra)
    assert r["errors"] == []
    return r["profiles"]


def settings_for(name, profile, options=None, others=None):
    profiles = [profile] + list(others or [])
    p = planned(name, profiles)[0]
    return p, managed_settings(p, get_flavour(name), options)


def has_path(obj, dotted):
    for key in dotted.split("."):
        if not isinstance(obj, dict) or key not in obj:
            return False
        obj = obj[key]
    return True


def telegram(name, **kw):
    tg = dict(bot_token=TOKENS[name], allow_from=[123456789, "555"])
    tg.update(kw)
    return tg


FULL_PROFILES = [
    {"name": "personal", "port": 18789, "telegram": telegram("personal")},
    {"name": "ops", "port": 18790, "trusted_proxies": ["100.64.0.7"], "auto_approve_local": False,
     "owner_allow_from": ["telegram:42"], "telegram": telegram("ops", enabled=False)},
]


# -- openclaw -------------------------------------------------------------------------------------

@pytest.mark.parametrize("options", [None, {"serve": True}, {"serve": True, "bonjour": True},
                                     {"auto_approve_local": False}])
def test_openclaw_never_writes_a_retired_key(options):
    f = get_flavour("openclaw")
    assert f["retired_keys"]
    for p in planned("openclaw", FULL_PROFILES):
        settings = managed_settings(p, f, options)
        written = [k for k in f["retired_keys"] if has_path(settings, k)]
        assert written == [], "%s writes retired keys %s" % (p["name"], written)


def test_openclaw_quiet_offline_defaults():
    p, s = settings_for("openclaw", {"name": "personal", "port": 18789})
    assert s["update"] == {"checkOnStart": False}
    assert s["models"] == {"catalogRefresh": {"enabled": False}}
    assert s["discovery"] == {"mdns": {"mode": "off"}}
    assert s["gateway"]["mode"] == "local" and s["gateway"]["port"] == 18789
    assert s["agents"]["defaults"]["workspace"] == "/home/user/.openclaw-personal/workspace" == p["workspace"]
    assert s["browser"] == {"enabled": True}
    assert "tailscale" in s["gateway"] and "resetOnExit" not in s["gateway"]["tailscale"]
    assert "plugins" not in s and "channels" not in s and "commands" not in s


def test_openclaw_bonjour_is_minimal_mdns():
    _p, s = settings_for("openclaw", {"name": "personal", "port": 18789}, {"bonjour": True})
    assert s["discovery"]["mdns"]["mode"] == "minimal"


def test_openclaw_auto_approve_local_default_and_profile_override():
    _p, s = settings_for("openclaw", {"name": "personal", "port": 18789})
    assert s["gateway"]["nodes"]["pairing"]["autoApproveLocal"] is True
    # the profile's own option wins over the role-wide one (also over the options of managed_settings)
    _p, s = settings_for("openclaw", {"name": "personal", "port": 18789, "auto_approve_local": False},
                         {"auto_approve_local": True})
    assert s["gateway"]["nodes"]["pairing"]["autoApproveLocal"] is False
    # the role-wide default (profiles_auto_approve_local) through the plan
    p = planned("openclaw", [{"name": "personal", "port": 18789}], auto_approve_local=False)[0]
    s = managed_settings(p, get_flavour("openclaw"))
    assert s["gateway"]["nodes"]["pairing"]["autoApproveLocal"] is False
    # a profile dictionary without the key falls back to the options
    p = dict(planned("openclaw", [{"name": "personal", "port": 18789}])[0])
    del p["auto_approve_local"]
    s = managed_settings(p, get_flavour("openclaw"), {"auto_approve_local": False})
    assert s["gateway"]["nodes"]["pairing"]["autoApproveLocal"] is False


def test_openclaw_trusts_loopback_only_behind_serve_without_own_proxies():
    profile = {"name": "personal", "port": 18789}
    _p, s = settings_for("openclaw", profile, {"serve": True})
    assert s["gateway"]["trustedProxies"] == ["127.0.0.1"]
    _p, s = settings_for("openclaw", profile, {"serve": False})
    assert "trustedProxies" not in s["gateway"]
    _p, s = settings_for("openclaw", profile)
    assert "trustedProxies" not in s["gateway"]
    _p, s = settings_for("openclaw", dict(profile, trusted_proxies=["100.64.0.7"]), {"serve": True})
    assert s["gateway"]["trustedProxies"] == ["100.64.0.7"]
    _p, s = settings_for("openclaw", dict(profile, trusted_proxies=[]), {"serve": True})
    assert s["gateway"]["trustedProxies"] == []


def test_openclaw_owner_allow_from():
    _p, s = settings_for("openclaw", {"name": "personal", "port": 18789, "telegram": telegram("personal")})
    assert s["commands"] == {"ownerAllowFrom": ["telegram:123456789", "telegram:555"]}
    _p, s = settings_for("openclaw", {"name": "personal", "port": 18789, "owner_allow_from": ["telegram:42"],
                                      "telegram": telegram("personal")})
    assert s["commands"] == {"ownerAllowFrom": ["telegram:42"]}
    _p, s = settings_for("openclaw", {"name": "personal", "port": 18789, "owner_allow_from": ["telegram:42"]})
    assert s["commands"] == {"ownerAllowFrom": ["telegram:42"]}
    # a disabled channel names no owners
    _p, s = settings_for("openclaw", {"name": "personal", "port": 18789, "telegram": telegram("personal", enabled=False)})
    assert "commands" not in s


def test_openclaw_telegram_token_file_in_state_dir_and_no_plugin_entry():
    p, s = settings_for("openclaw", {"name": "personal", "port": 18789, "telegram": telegram("personal")})
    assert p["state_dir"] == "/home/user/.openclaw-personal"
    channel = s["channels"]["telegram"]
    assert channel["tokenFile"] == "/home/user/.openclaw-personal/telegram-bot-token"
    assert channel["enabled"] is True and channel["dmPolicy"] == "pairing" and channel["groupPolicy"] == "allowlist"
    assert channel["allowFrom"] == [123456789, "555"]
    assert "plugins" not in s
    assert TOKENS["personal"] not in json.dumps(s) and "bot_token" not in json.dumps(s)


# -- clawdbot -------------------------------------------------------------------------------------

def test_clawdbot_keeps_reset_on_exit_control_url_and_plugin_entry():
    profiles = planned("clawdbot", FULL_PROFILES)
    f = get_flavour("clawdbot")
    for p in profiles:
        s = managed_settings(p, f, {"serve": True})
        assert s["gateway"]["tailscale"]["resetOnExit"] is False
        assert p["browser_control_port"]
        assert s["browser"] == {"enabled": True, "controlUrl": "http://127.0.0.1:%d" % p["browser_control_port"]}
        assert s["plugins"] == {"entries": {"telegram": {"enabled": True}}}
        for key in ("update", "models", "discovery", "commands"):
            assert key not in s
        assert "nodes" not in s["gateway"]
    personal, ops = profiles
    assert personal["browser_control_port"] == 18791 and ops["browser_control_port"] == 18901
    s = managed_settings(personal, f, {"serve": True})
    assert "trustedProxies" not in s["gateway"]  # clawdbot: only the profile's own trusted_proxies
    assert s["channels"]["telegram"]["tokenFile"] == "/home/user/.clawdbot-personal/telegram-bot-token"
    assert managed_settings(ops, f)["gateway"]["trustedProxies"] == ["100.64.0.7"]
    assert "tokenFile" not in managed_settings(ops, f)["channels"]["telegram"]


def test_clawdbot_without_browser_has_no_control_url():
    _p, s = settings_for("clawdbot", {"name": "personal", "port": 18789, "browser": False})
    assert s["browser"] == {"enabled": False}
    assert "plugins" not in s  # no telegram


# -- profiles_plan with the openclaw names --------------------------------------------------------

def test_openclaw_default_workspace_inside_its_own_state_root_is_accepted():
    r = plan("openclaw", [{"name": "personal", "port": 18789}, {"name": "ops", "port": 18790}])
    assert r["errors"] == []
    personal, ops = r["profiles"]
    assert personal["state_dir"] == "/home/user/.openclaw-personal"
    assert personal["workspace"] == "/home/user/.openclaw-personal/workspace"
    assert ops["workspace"] == "/home/user/.openclaw-ops/workspace"
    assert ops["config_path"] == "/home/user/.openclaw-ops/openclaw.json"
    assert ops["unit"] == "openclaw-gateway-ops.service"
    # the browser port is derived upstream (P+2), not planned
    assert personal["browser_control_port"] is None and personal["listen_ports"] == [18789]


def test_openclaw_refuses_browser_control_port_naming_the_profile():
    r = plan("openclaw", [{"name": "personal", "port": 18789}, {"name": "ops", "port": 18790, "browser_control_port": 19000}])
    assert len(r["errors"]) == 1
    assert r["errors"][0].startswith("profiles_list[1] (ops).browser_control_port cannot be set")
    assert "P+2" in r["errors"][0]


@pytest.mark.parametrize("workspace", ["~/.openclaw-personal/ops-work", "/home/user/.openclaw-personal/workspace",
                                       "/home/user/.openclaw-personal"])
def test_openclaw_workspace_inside_another_profiles_state_root_is_refused(workspace):
    r = plan("openclaw", [{"name": "personal", "port": 18789}, {"name": "ops", "port": 18790, "workspace": workspace}])
    assert any(e.startswith("profiles_list[1] (ops).workspace") and "profiles_list[0] (personal) state root" in e
               for e in r["errors"]), r["errors"]


def test_retired_keys_in_settings_are_refused_and_serve_false_trusts_no_proxy():
    from ansible_collections.homelab.clawdbot.plugins.filter.profiles import managed_settings, profiles_plan
    from ansible_collections.homelab.clawdbot.plugins.module_utils.flavours import get_flavour
    oc = get_flavour("openclaw")
    opts = dict(state_prefix=oc["state_prefix"], config_name=oc["config_name"], unit_prefix=oc["unit_prefix"],
                workspace=oc["workspace"], browser_port_configurable=False, env_prefix="OPENCLAW",
                retired_keys=oc["retired_keys"])
    plan = profiles_plan([{"name": "personal", "port": 18789, "settings": {"gateway": {"token": "x" * 20}}},
                          {"name": "ops", "port": 18790, "serve": False}], "/home/user", opts)
    assert any("settings.gateway.token is a retired key" in e for e in plan["errors"]), plan["errors"]
    ops = [p for p in plan["profiles"] if p["name"] == "ops"][0]
    assert "trustedProxies" not in managed_settings(ops, oc, {"serve": True})["gateway"]
