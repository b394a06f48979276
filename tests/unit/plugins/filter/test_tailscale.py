"""serve_bypass_errors: a userspace-mode tailscaled in front of served profiles that pair local devices silently."""
from ansible_collections.homelab.clawdbot.plugins.filter.tailscale import serve_bypass_errors

PROFILES = [{"name": "personal", "port": 18789}, {"name": "ops", "port": 18790}]


def test_kernel_mode_and_the_opt_out_pass():
    assert serve_bypass_errors(PROFILES, False) == []
    assert serve_bypass_errors(PROFILES, True, allow=True) == []


def test_userspace_names_every_served_profile_that_auto_approves():
    (msg,) = serve_bypass_errors(PROFILES, True)
    assert "personal (127.0.0.1:18789), ops (127.0.0.1:18790)" in msg
    assert "profiles_auto_approve_local: false" in msg and "tailscale_serve_allow_userspace_bypass" in msg


def test_the_profile_key_wins_over_the_default_and_unserved_profiles_do_not_count():
    profiles = [{"name": "personal", "port": 18789, "auto_approve_local": False},
                {"name": "ops", "port": 18790, "serve": False},
                {"name": "lab", "port": 18801}]
    (msg,) = serve_bypass_errors(profiles, True)
    assert "lab (127.0.0.1:18801)" in msg and "personal" not in msg.split("Open that way")[1].split(".")[0]
    assert "ops (" not in msg
    assert serve_bypass_errors(profiles, True, auto_approve_local=False) == []
    assert serve_bypass_errors(PROFILES, True, auto_approve_local=False) == []


def test_clawdbot_has_no_setting_so_every_served_profile_counts():
    profiles = [{"name": "personal", "port": 18789, "auto_approve_local": False}]
    (msg,) = serve_bypass_errors(profiles, True, auto_approve_local=False, flavour="clawdbot")
    assert "clawdbot cannot be told" in msg and "TUN device" in msg
