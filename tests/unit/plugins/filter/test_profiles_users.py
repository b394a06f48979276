"""Profiles with their own Unix user: planned in that user's home, grouped per user for site.yml."""
from ansible_collections.homelab.clawdbot.plugins.filter.profiles import gateway_users, profiles_plan, unit_paths

ACCOUNTS = {"user": ["x", "1000", "1000", "", "/home/user", "/bin/bash"],
            "lab": ["x", "1001", "1001", "", "/srv/lab", "/bin/bash"]}
OPENCLAW = {"state_prefix": ".openclaw", "config_name": "openclaw.json", "unit_prefix": "openclaw-gateway",
            "workspace": "{state_dir}/workspace", "env_prefix": "OPENCLAW", "browser_port_configurable": False}


def plan(profiles, **extra):
    return profiles_plan(profiles, "/home/user", dict(OPENCLAW, user="user", **extra))


def test_a_profile_with_its_own_user_lives_in_that_users_home():
    r = plan([{"name": "personal", "port": 18789}, {"name": "lab", "port": 18989, "user": "lab"}], accounts=ACCOUNTS)
    assert r["errors"] == []
    personal, lab = r["profiles"]
    assert (personal["user"], personal["uid"], personal["home"]) == ("user", "1000", "/home/user")
    assert (lab["user"], lab["uid"], lab["home"]) == ("lab", "1001", "/srv/lab")
    assert lab["state_dir"] == "/srv/lab/.openclaw-lab"
    assert lab["config_path"] == "/srv/lab/.openclaw-lab/openclaw.json"
    assert lab["workspace"] == "/srv/lab/.openclaw-lab/workspace"
    assert personal["state_dir"] == "/home/user/.openclaw-personal"


def test_a_user_that_does_not_exist_yet_is_planned_in_home_slash_name():
    lab = plan([{"name": "lab", "port": 18989, "user": "lab"}])["profiles"][0]
    assert (lab["home"], lab["uid"], lab["state_dir"]) == ("/home/lab", None, "/home/lab/.openclaw-lab")


def test_without_a_default_user_everything_stays_in_the_given_home():
    # Callers that do not pass `user` (older playbooks) keep the one-home plan.
    p = profiles_plan([{"name": "ops", "port": 18790}], "/home/user", OPENCLAW)["profiles"][0]
    assert p["home"] == "/home/user" and p["user"] is None


def test_bad_user_names_are_refused_naming_the_profile():
    for bad in ("root", "Lab", "1lab", "", 7, "la b"):
        r = plan([{"name": "lab", "port": 18989, "user": bad}])
        assert any("profiles_list[0] (lab).user" in e for e in r["errors"]), (bad, r["errors"])


def test_a_workspace_must_be_inside_its_own_users_home():
    r = plan([{"name": "lab", "port": 18989, "user": "lab", "workspace": "/home/user/lab-ws"}], accounts=ACCOUNTS)
    assert any("must be a directory inside the gateway user's home /srv/lab" in e for e in r["errors"]), r["errors"]
    ok = plan([{"name": "lab", "port": 18989, "user": "lab", "workspace": "~/ws"}], accounts=ACCOUNTS)
    assert ok["errors"] == [] and ok["profiles"][0]["workspace"] == "/srv/lab/ws"


def test_reserved_dirs_hold_in_every_users_home():
    r = plan([{"name": "lab", "port": 18989, "user": "lab", "workspace": "~/.ssh/ws"}], accounts=ACCOUNTS,
             reserved_dirs=[".ssh"])
    assert any("/srv/lab/.ssh" in e for e in r["errors"]), r["errors"]


def test_ports_stay_unique_across_users():
    r = plan([{"name": "a", "port": 18789}, {"name": "b", "port": 18789, "user": "lab"}], accounts=ACCOUNTS)
    assert any("port 18789 is already used" in e for e in r["errors"])


def test_gateway_users_groups_in_order_of_first_appearance():
    profiles = [{"name": "personal", "port": 18789}, {"name": "lab", "port": 18989, "user": "lab"},
                {"name": "ops", "port": 18790, "user": "user"}, {"name": "lab2", "port": 19189, "user": "lab"}]
    groups = gateway_users(profiles, "user")
    assert [g["user"] for g in groups] == ["user", "lab"]
    assert [p["name"] for p in groups[0]["profiles"]] == ["personal", "ops"]
    assert [p["name"] for p in groups[1]["profiles"]] == ["lab", "lab2"]
    assert gateway_users(None, "user") == []
    # Not a mapping, or a user that is not a string: left with the default user (the plan reports it).
    assert [g["user"] for g in gateway_users(["x", {"name": "a", "user": 5}], "user")] == ["user"]


def test_unit_paths_use_each_profiles_user():
    assert unit_paths([{"name": "personal"}, {"name": "lab", "user": "lab"}], "user", "openclaw-gateway") == [
        "~user/.config/systemd/user/openclaw-gateway-personal.service",
        "~lab/.config/systemd/user/openclaw-gateway-lab.service"]
