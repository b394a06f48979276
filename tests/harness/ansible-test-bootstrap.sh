#!/usr/bin/env bash
# ansible-test bootstraps pip in its sanity virtualenvs with a get-pip script it downloads from a host
# our CI machines cannot reach; it uses ~/.ansible/test/cache/get_pip_<ver>.py when that exists.
# Put an equivalent there: Python's bundled ensurepip installs pip offline, then pip installs the exact
# packages ansible-test asked for (pip==<ver>) from PyPI.
# shellcheck source=tests/harness/lib.sh
# Usage: ansible-test-bootstrap.sh [virtualenv]   (default: the pinned toolchain's; compat.sh passes the 2.16 one)
. "$(dirname "$0")/lib.sh"
if [ -n "${1:-}" ]; then
  # shellcheck disable=SC1091
  . "$1/bin/activate"
else
  activate_venv
fi
ver=$(python - <<'PY'
import re, pathlib, ansible_test
src = pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
print(re.search(r"default_packages = dict\(\s*pip='([0-9.]+)'", src.read_text()).group(1))
PY
)
cache="$HOME/.ansible/test/cache/get_pip_${ver//./_}.py"
# ansible-test runs pip with a scrubbed environment (PIP_CERT etc. are dropped), so the CA bundle the
# host's pip uses (outbound TLS may be re-signed by a local CA) is written into each venv's pip.conf.
cert="${PIP_CERT:-$(python -m pip config get global.cert 2>/dev/null || true)}"
[ -n "$cert" ] || cert=/etc/ssl/certs/ca-certificates.crt
mkdir -p "$(dirname "$cache")"
cat > "$cache" <<PY
# Offline stand-in for get-pip.py, written by homelab.clawdbot's tests/harness/ansible-test-bootstrap.sh.
import ensurepip
import os
import subprocess
import sys

CERT = "$cert"
if os.path.exists(CERT):
    with open(os.path.join(sys.prefix, "pip.conf"), "w") as f:
        f.write("[global]\ncert = %s\n" % CERT)
ensurepip.bootstrap(upgrade=True)
# ensurepip leaves PIP_CONFIG_FILE=/dev/null behind, which would hide the pip.conf written above
env = {k: v for k, v in os.environ.items() if k not in ("PIP_CONFIG_FILE", "ENSUREPIP_OPTIONS")}
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args, env=env))
PY
info "ansible-test pip bootstrap: $cache"
