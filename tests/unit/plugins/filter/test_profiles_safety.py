"""Bad input the planner must refuse (each message names the variable) and the unit env quoting."""
import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.homelab.clawdbot.plugins.filter.profiles import (
    placeholder_reason, profile_selection_errors, profiles_or_default, profiles_plan, serve_mappings, systemd_env)

HOME = "/home/user"
OPS = {"name": "ops", "port": 18790}


def errors(personal, *others, **defaults):
    profiles = [dict({"name": "personal", "port": 18789}, **personal)] + (list(others) or [OPS])
    return " | ".join(profiles_plan(profiles, HOME, defaults)["errors"])


def test_the_runbook_layout_still_passes():
    assert errors({}) == ""
    assert errors({"workspace": "~/work/personal", "token": "5f2c9a41d0e8b7c6a5f4e3d2"}) == ""


@pytest.mark.parametrize("workspace, expected", [
    ("/etc", "workspace /etc must be a directory inside the gateway user's home /home/user"),
    ("~/", "workspace /home/user must be a directory inside the gateway user's home"),
    ("/home/user", "must be a directory inside the gateway user's home"),
    ("/home/user/../../etc", "must not contain . or .. segments"),
    ("/home/userx/ws", "must be a directory inside the gateway user's home"),
    ("~/.clawdbot-ops", "overlaps profiles_list[1] (ops) state root /home/user/.clawdbot-ops"),
    ("~/.clawdbot-personal/ws", "overlaps profiles_list[0] (personal) state root"),
    ("~/clawd-ops", "overlaps profiles_list[1] (ops) workspace /home/user/clawd-ops"),
    ("~/.ssh", "overlaps /home/user/.ssh (a directory the role manages)"),
    ("~/.config", "overlaps /home/user/.config"),
    ("~/ws\nx", "workspace contains a control character"),
])
def test_workspace_must_be_the_profiles_own_dir_inside_home(workspace, expected):
    msg = errors({"workspace": workspace}, reserved_dirs=[".clawdbot", ".config", ".ssh"])
    assert expected in msg and "profiles_list[0] (personal).workspace" in msg


def test_a_workspace_around_the_cli_prefix_is_refused():
    assert "overlaps /home/user/.clawdbot" in errors({"workspace": "~/.clawdbot"}, reserved_dirs=[".clawdbot"])


@pytest.mark.parametrize("token, expected", [
    ("abc\ndef0123456789xyz", "token contains a control character"),
    ("abc\tdef0123456789xyz", "token contains a control character"),
    (" 5f2c9a41d0e8b7c6a5f4e3d2", "starts or ends with white space"),
    ("CHANGE-ME-personal-gateway-token", "looks like a placeholder"),
    ("changeme-changeme-1234", "looks like a placeholder"),
    ("aaaaaaaaaaaaaaaaaaaaaaaa", "fewer than 6 distinct characters"),
    ("abababababababababab", "fewer than 6 distinct characters"),
    ("short", "at least 16 characters"),
])
def test_bad_tokens_are_refused_without_echoing_them(token, expected):
    msg = errors({"token": token})
    assert "profiles_list[0] (personal).token" in msg and expected in msg
    assert token.strip() not in msg


def test_bad_password_is_refused():
    msg = errors({"auth_mode": "password", "password": "placeholder-pw-1"})
    assert "profiles_list[0] (personal).password looks like a placeholder" in msg


def test_the_shipped_example_tokens_are_placeholders():
    assert placeholder_reason("CHANGE-ME-ops-gateway-token-0000")
    assert placeholder_reason("5f2c9a41d0e8b7c6a5f4e3d2") is None


@pytest.mark.parametrize("env, expected", [
    ({"HOME": "/tmp"}, "environment.HOME is set by the role itself"),
    ({"PATH": "/tmp"}, "environment.PATH is set by the role itself"),
    ({"CLAWDBOT_CONFIG_PATH": "/tmp/x.json"}, "environment.CLAWDBOT_CONFIG_PATH is set by the role itself"),
    ({"clawdbot_state_dir": "/tmp"}, "is set by the role itself"),
    ({"FOO": "a\nExecStartPre=/bin/sh -c id"}, "environment.FOO contains a control character"),
    ({"MY_API_KEY": "x"}, "environment.MY_API_KEY looks like a secret"),
    ({"GITHUB_TOKEN": "x"}, "looks like a secret"),
    ({"1BAD": "x"}, "invalid variable name '1BAD'"),
    ({"A B": "x"}, "invalid variable name"),
    ({"NESTED": {"a": 1}}, "environment.NESTED must be a string or a number"),
])
def test_bad_environment_is_refused(env, expected):
    msg = errors({"environment": env})
    assert "profiles_list[0] (personal).environment" in msg and expected in msg


def test_global_environment_is_checked_under_its_own_name():
    r = profiles_plan([{"name": "personal", "port": 18789}], HOME, {"global_environment": {"HOME": "/"}})
    assert any(e.startswith("profiles_environment.HOME is set by the role itself") for e in r["errors"]), r["errors"]


def test_environment_with_percent_and_quotes_is_fine():
    assert errors({"environment": {"GREETING": '50% "off" \\o/ $HOME'}}) == ""


@pytest.mark.parametrize("settings, expected", [
    ({"gateway": {"bind": "lan"}}, "settings.gateway.bind is managed by the role (set profiles_list[0].bind)"),
    ({"gateway": {"auth": {"mode": "none"}}}, "settings.gateway.auth is managed by the role"),
    ({"gateway": {"tailscale": {"mode": "funnel"}}}, "settings.gateway.tailscale is managed by the role"),
    ({"gateway": {"port": 1}}, "settings.gateway.port is managed by the role"),
    ({"gateway": {"controlUi": {"allowInsecureAuth": True}}}, "settings.gateway.controlUi.allowInsecureAuth"),
    ({"channels": {"telegram": {"dmPolicy": "open"}}}, "settings.channels.telegram is managed by the role"),
    ({"channels": {"discord": {"dmPolicy": "open"}}}, "settings.channels.discord.dmPolicy=open lets anyone"),
    ({"agents": {"defaults": {"workspace": "/etc"}}}, "settings.agents.defaults.workspace is managed by the role"),
    ({"browser": {"controlUrl": "http://0.0.0.0:1"}}, "settings.browser.controlUrl is managed by the role"),
])
def test_settings_cannot_override_a_guarded_key(settings, expected):
    msg = errors({"settings": settings})
    assert "profiles_list[0] (personal)" in msg and expected in msg


def test_settings_may_add_other_keys():
    assert errors({"settings": {"gateway": {"controlUi": {"basePath": "/x"}}, "agents": {"defaults": {"timeout": 5}},
                                "channels": {"discord": {"dmPolicy": "pairing"}}}}) == ""


def test_the_plan_carries_no_settings_values():
    r = profiles_plan([{"name": "personal", "port": 18789, "settings": {"models": {"apiKey": "sk-123"}}}], HOME)
    assert "sk-123" not in repr(r)
    assert r["profiles"][0]["has_settings"] is True


@pytest.mark.parametrize("selection, expected", [
    ("ops,personal", "spark_provider_profiles must be \"all\" or a non-empty YAML list"),
    ([], "non-empty YAML list"),
    (["personal", "opz"], "spark_provider_profiles names 'opz', which is not in the profiles (personal, ops)"),
    ({"personal": True}, "non-empty YAML list"),
])
def test_profile_selection(selection, expected):
    msg = " ".join(profile_selection_errors(selection, profiles_or_default(None), "spark_provider_profiles"))
    assert expected in msg


def test_profile_selection_accepts_all_and_names():
    assert profile_selection_errors("all", [], "x") == []
    assert profile_selection_errors(["ops"], profiles_or_default(None), "x") == []


def test_default_profiles_are_a_fresh_copy():
    a = profiles_or_default(None)
    a[0]["port"] = 1
    assert profiles_or_default(None)[0]["port"] == 18789
    assert profiles_or_default([{"name": "x", "port": 1}]) == [{"name": "x", "port": 1}]


@pytest.mark.parametrize("profile, expected", [
    ({"serve_path": "/../x"}, "serve_path '/../x' must be a URL path"),
    ({"serve_path": "ops"}, "serve_path 'ops' must be a URL path"),
    ({"serve_path": "/a b"}, "must be a URL path"),
    ({"serve_path": "/x?y=1"}, "must be a URL path"),
    ({"port": "http://evil.example:80"}, "port 'http://evil.example:80' (the gateway port Serve proxies to"),
    ({"port": 22}, "must be an integer between 1024 and 65535"),
    ({"serve": "yes"}, "serve and funnel must be booleans"),
])
def test_bad_serve_mappings(profile, expected):
    with pytest.raises(AnsibleFilterError) as e:
        serve_mappings([dict({"name": "personal", "port": 18789}, **profile), OPS])
    assert "tailscale_serve_profiles" in str(e.value) and expected in str(e.value)


def test_serve_mappings_not_a_list():
    with pytest.raises(AnsibleFilterError, match="tailscale_serve_profiles must be a list"):
        serve_mappings("personal")


def test_good_serve_paths():
    out = serve_mappings([{"name": "personal", "port": 18789, "serve_path": "/clawd/ui"}, OPS])
    assert [m["path"] for m in out] == ["/clawd/ui", "/"]


@pytest.mark.parametrize("value, expected", [
    ("plain", '"K=plain"'),
    ("50%", '"K=50%%"'),
    ('say "hi"', '"K=say \\"hi\\""'),
    ("a\\b", '"K=a\\\\b"'),
    ("$HOME", '"K=$HOME"'),
    (18789, '"K=18789"'),
])
def test_systemd_env_quoting(value, expected):
    assert systemd_env("K", value) == expected


def test_systemd_env_refuses_a_newline():
    with pytest.raises(AnsibleFilterError, match="control character"):
        systemd_env("K", "a\nExecStartPre=/bin/true")


def test_unit_environment_reads_back_what_systemd_env_writes():
    from ansible_collections.homelab.clawdbot.plugins.filter.profiles import unit_environment
    value = '50% "quoted" \\back $HOME'
    text = "\n".join(["[Service]", "Environment=%s" % systemd_env("PROBE", value),
                      'Environment="CLAWDBOT_SERVICE_VERSION=2026.1.24-3"', "Environment=PLAIN=1 OTHER=2",
                      "ExecStart=/bin/true"])
    env = unit_environment(text)
    assert env == {"PROBE": value, "CLAWDBOT_SERVICE_VERSION": "2026.1.24-3", "PLAIN": "1", "OTHER": "2"}
    assert unit_environment(None) == {} and unit_environment("") == {}
