"""`make demo`'s summary (tests/harness/demo.sh summary) against a stand-in of the demo host.

The summary's commands run in the demo host's shell over SSH, where none of lib.sh's functions exist. A stub `ssh`
runs each remote command in a fresh `bash -c` (no functions, no harness variables), with stubs of what the demo host
answers (sudo, id, systemctl, ss, tailscale). The stub `systemctl` refuses what the real one refuses: an unknown
option (`'-*'` once reached it as an option) and more than one pattern word. Issue V, item 4: the summary printed
`demo_unit_prefix: command not found` and `systemctl: invalid option -- '*'` instead of the units.
"""
import os
import stat
import subprocess

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
DEMO = os.path.join(REPO, "tests", "harness", "demo.sh")

UNITS = {
    "openclaw": ["openclaw-gateway-personal.service", "openclaw-gateway-ops.service"],
    "clawdbot": ["clawdbot-gateway-personal.service", "clawdbot-gateway-ops.service"],
}

STUBS = {
    # ssh [options] admin@127.0.0.1 COMMAND...: the command words joined, as ssh sends them, run by a fresh shell
    "ssh": r'''#!/bin/bash
while [ $# -gt 0 ]; do case "$1" in -p|-i|-o) shift 2 ;; -*) shift ;; *@*) shift; break ;; *) shift ;; esac; done
exec env -i PATH="$DEMO_HOST_PATH" HOME=/nonexistent DEMO_HOST_UNITS="$DEMO_HOST_UNITS" bash -c "$*"
''',
    # sudo [-u USER] [VAR=value...] COMMAND...
    "sudo": r'''#!/bin/bash
[ "$1" = -u ] && shift 2
exec env "$@"
''',
    "id": r'''#!/bin/bash
[ "$1" = -u ] && { echo 1000; exit 0; }
echo "uid=1000(user)"
''',
    # systemctl --user list-units PATTERN --no-legend --no-pager: the units of the demo host that match
    "systemctl": r'''#!/bin/bash
patterns=()
for a in "$@"; do
  case "$a" in
    --user|--no-legend|--no-pager|list-units) ;;
    -*) echo "systemctl: invalid option -- '${a#-}'" >&2; exit 1 ;;
    *) patterns+=("$a") ;;
  esac
done
[ ${#patterns[@]} -le 1 ] || { echo "systemctl: more than one pattern: ${patterns[*]}" >&2; exit 1; }
[ -n "$XDG_RUNTIME_DIR" ] || { echo "Failed to connect to bus: \$XDG_RUNTIME_DIR not set" >&2; exit 1; }
for u in $DEMO_HOST_UNITS; do
  case "$u" in ${patterns[0]:-*}) echo "  $u loaded active running gateway" ;; esac
done
''',
    "ss": r'''#!/bin/bash
echo "LISTEN 0 128 0.0.0.0:22 0.0.0.0:*"
echo "LISTEN 0 511 127.0.0.1:18789 0.0.0.0:*"
echo "LISTEN 0 511 127.0.0.1:18790 0.0.0.0:*"
''',
    "tailscale": r'''#!/bin/bash
case "$1" in
  serve) echo "https://vm102-demo.tailnet.homelab.test (tailnet only)" ;;
  status) echo "100.64.0.1 vm102-demo demo@ linux -" ;;
esac
''',
}


@pytest.fixture
def demo_host(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in STUBS.items():
        path = bin_dir / name
        path.write_text(text)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    # the demo host's PATH: the stubs, then the basic tools (grep, echo, env); the controller's PATH starts with the
    # stubs too, so demo.sh's own ssh is the stub
    host_path = "%s:/usr/bin:/bin" % bin_dir
    return tmp_path, host_path


@pytest.mark.parametrize("flavour", ["openclaw", "clawdbot"])
def test_the_summary_lists_the_units_listeners_and_tailnet_of_the_demo_host(demo_host, flavour):
    tmp_path, host_path = demo_host
    env = {
        "PATH": host_path,
        "HOME": str(tmp_path),
        "HOMELAB_CLAWDBOT_CACHE": str(tmp_path / "cache"),
        "HOMELAB_CLAWDBOT_FLAVOUR": flavour,
        "DEMO_HOST_PATH": host_path,
        "DEMO_HOST_UNITS": " ".join(UNITS[flavour] + ["unrelated.service"]),
    }
    proc = subprocess.run(["bash", DEMO, "summary"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=60, check=False)
    out = proc.stdout
    assert proc.returncode == 0, out
    assert "command not found" not in out and "invalid option" not in out and "more than one pattern" not in out, out
    for unit in UNITS[flavour]:
        assert unit in out, out
    assert "unrelated.service" not in out, out
    assert "127.0.0.1:18789" in out and "127.0.0.1:18790" in out and "0.0.0.0:22" not in out, out
    assert "https://vm102-demo.tailnet.homelab.test" in out, out
    assert "vm102-demo is up" in out and "/home/user/.%s-personal/%s.json" % (flavour, flavour) in out, out
