"""The profile planner: validation messages name the variable; ports never collide."""
import pytest

from ansible_collections.homelab.clawdbot.plugins.filter.profiles import profiles_plan

HOME = "/home/user"


def plan(profiles, **defaults):
    return profiles_plan(profiles, HOME, defaults)


def all_ports(p):
    ports = set(p["listen_ports"])
    return ports


def test_runbook_layout_is_fixed_without_sharing_a_port():
    r = plan([{"name": "personal", "port": 18789}, {"name": "ops", "port": 18790}])
    assert r["errors"] == []
    personal, ops = r["profiles"]
    # upstream default for the first profile, relocated browser ports for the second (18790+2 == 18789+3)
    assert personal["listen_ports"] == [18789, 18791, 18792]
    assert ops["listen_ports"] == [18790, 18901, 18902]
    assert not all_ports(personal) & all_ports(ops)
    assert personal["browser_cdp_range"] == [18800, 18899] and ops["browser_cdp_range"] == [18910, 19009]
    assert personal["state_dir"] == "/home/user/.clawdbot-personal"
    assert personal["config_path"] == "/home/user/.clawdbot-personal/clawdbot.json"
    assert ops["unit"] == "clawdbot-gateway-ops.service"
    assert ops["workspace"] == "/home/user/clawd-ops"


def test_far_apart_ports_keep_upstream_defaults():
    r = plan([{"name": "a", "port": 18789}, {"name": "b", "port": 19789}])
    assert [p["browser_control_port"] for p in r["profiles"]] == [18791, 19791]


def test_many_profiles_never_overlap():
    profiles = [{"name": "p%d" % i, "port": 18789 + i} for i in range(6)]
    r = plan(profiles)
    assert r["errors"] == []
    seen = set()
    ranges = []
    for p in r["profiles"]:
        assert not seen & set(p["listen_ports"])
        seen |= set(p["listen_ports"])
        ranges.append(p["browser_cdp_range"])
    for i, a in enumerate(ranges):
        for b in ranges[i + 1:]:
            assert a[1] < b[0] or b[1] < a[0]
    for p in r["profiles"]:
        for lo, hi in ranges:
            assert not any(lo <= x <= hi for x in p["listen_ports"]) or p["browser_cdp_range"] == [lo, hi]


def test_browser_disabled_has_no_browser_ports():
    r = plan([{"name": "a", "port": 18789, "browser": False}, {"name": "b", "port": 18790}])
    assert r["profiles"][0]["listen_ports"] == [18789]
    assert r["profiles"][1]["browser_control_port"] == 18792


@pytest.mark.parametrize("profiles, message", [
    ([{"name": "Bad name", "port": 18789}], "profiles_list[0].name 'Bad name' is invalid"),
    ([{"name": "default", "port": 18789}], "'default' is reserved"),
    ([{"name": "a", "port": 18789}, {"name": "A", "port": 18790}], "profiles_list[1].name 'A' duplicates profiles_list[0]"),
    ([{"name": "a", "port": 80}], "profiles_list[0] (a).port 80 must be an integer between 1024 and 65535"),
    ([{"name": "a", "port": "18789"}], "must be an integer"),
    ([{"name": "a", "port": 18789}, {"name": "b", "port": 18789}], "profiles_list[1] (b).port 18789 is already used by profiles_list[0] (a)"),
    ([{"name": "a", "port": 18789, "bind": "lan"}], "profiles_list[0] (a).bind=lan exposes the gateway beyond loopback"),
    ([{"name": "a", "port": 18789, "bind": "custom"}], "gateway.customBindHost"),
    ([{"name": "a", "port": 18789, "auth_mode": "none"}], "must be token or password"),
    ([{"name": "a", "port": 18789, "auth_mode": "password"}], "auth_mode=password needs profiles_list[0].password"),
    ([{"name": "a", "port": 18789, "tailscale_mode": "funnel"}], "profiles_list[0].allow_funnel is not true"),
    ([{"name": "a", "port": 18789, "tailscale_mode": "funnel", "allow_funnel": True}], "only allows with auth_mode=password"),
    ([{"name": "a", "port": 18789, "tailscale_mode": "serve", "bind": "lan", "token": "x" * 20}], "requires bind=loopback"),
    ([{"name": "a", "port": 18789, "trusted_proxies": ["10.0.0.0/8"]}], "is not an IP address (exact IPs only, no CIDR)"),
    ([{"name": "a", "port": 18789, "token": "short"}], "profiles_list[0] (a).token must be a string of at least 16"),
    ([{"name": "a", "port": 18789, "colour": "red"}], "has unknown keys: colour"),
    ([{"name": "a", "port": 18789, "workspace": "relative/dir"}], "must be an absolute path or start with ~/"),
    ([{"name": "a", "port": 18789, "browser_control_port": 18791},
      {"name": "b", "port": 18790, "browser_control_port": 18792}],
     "profiles_list[1] (b).browser_control_port 18792 clashes with 18792 (profiles_list[0] (a) extension relay port)"),
    ([{"name": "a", "port": 18789, "browser_control_port": 18791}, {"name": "b", "port": 18850}],
     "profiles_list[1] (b).port 18850 lies inside profiles_list[0] (a) browser CDP range 18800-18899"),
    ([], "profiles_list must be a non-empty list"),
])
def test_bad_input_names_the_variable(profiles, message):
    errors = plan(profiles)["errors"]
    assert any(message in e for e in errors), errors


def test_secrets_never_in_errors():
    r = plan([{"name": "a", "port": 18789, "token": "tiny-secret"}])
    assert r["errors"] and not any("tiny-secret" in e for e in r["errors"])
    assert "token" not in r["profiles"][0]


def test_tilde_workspace_is_expanded():
    r = plan([{"name": "a", "port": 18789, "workspace": "~/work/a"}])
    assert r["profiles"][0]["workspace"] == "/home/user/work/a"
