#!/usr/bin/env bash
# Create/refresh the Python virtualenv with the pinned toolchain (requirements-dev.txt) and link this
# repository as the collection homelab.clawdbot so FQCN plugins resolve from a plain checkout.
# shellcheck source=tests/harness/lib.sh
. "$(dirname "$0")/lib.sh"
req="$REPO_ROOT/requirements-dev.txt"
want=$(sha256sum "$req" | cut -c1-16)
if [ ! -x "$VENV_DIR/bin/python" ] || [ "$(cat "$VENV_DIR/.requirements" 2>/dev/null)" != "$want" ]; then
  # Created once, then updated in place: checkouts of different commits share this virtualenv, and clearing it
  # under a run of another checkout would break that run. pip moves every pinned package to its pin.
  info "creating/updating the virtualenv $VENV_DIR (pinned requirements-dev.txt)"
  if [ ! -x "$VENV_DIR/bin/python" ]; then
    python3 -m venv "$VENV_DIR" || die "python3 -m venv failed (apt-get install python3-venv?)"
  fi
  log="$CACHE_DIR/pip-install.log"
  { "$VENV_DIR/bin/python" -m pip install --disable-pip-version-check --upgrade pip &&
    "$VENV_DIR/bin/python" -m pip install --disable-pip-version-check -r "$req"; } > "$log" 2>&1 ||
    { tail -n 30 "$log" >&2; die "pip install failed (log: $log)"; }
  echo "$want" > "$VENV_DIR/.requirements"
else
  info "virtualenv $VENV_DIR is up to date"
fi
"$HARNESS_DIR/link-collection.sh"
