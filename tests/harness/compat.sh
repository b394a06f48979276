#!/usr/bin/env bash
# `make compat` (a stage of `make test`): ansible-test sanity and the unit tests on the lowest ansible-core the
# collection supports (2.16, meta/runtime.yml), in their own virtualenv ($CACHE_DIR/venv-core2.16, pinned in
# tests/harness/requirements-core2.16.txt). The pinned release (requirements-dev.txt, 2.19.14, also the newest on
# PyPI here) is what the sanity and unit stages run. The docs-sync unit tests are left out here: they compare
# pages antsibull-docs renders with the pinned toolchain.
# shellcheck source=tests/harness/lib.sh
. "$(dirname "$0")/lib.sh"

req="$HARNESS_DIR/requirements-core2.16.txt"
venv="$CACHE_DIR/venv-core2.16"
want=$(sha256sum "$req" | cut -c1-16)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.requirements" 2>/dev/null)" != "$want" ]; then
  info "creating $venv (ansible-core 2.16)"
  rm -rf "$venv" && python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req" > "$CACHE_DIR/venv-core2.16.log" 2>&1 ||
    { tail -20 "$CACHE_DIR/venv-core2.16.log" >&2; die "pip install -r $req failed"; }
  echo "$want" > "$venv/.requirements"
fi
# shellcheck disable=SC1091
. "$venv/bin/activate"
export ANSIBLE_CONFIG="$REPO_ROOT/ansible.cfg"
info "$(ansible --version | head -1)"

stage "compat: unit tests on ansible-core 2.16"
(cd "$REPO_ROOT" && python -m pytest -q -p no:cacheprovider tests/unit \
   --deselect tests/unit/test_module_docs_sync.py --deselect tests/unit/test_role_docs_sync.py)

stage "compat: ansible-test sanity on ansible-core 2.16"
"$HARNESS_DIR/ansible-test-bootstrap.sh" "$venv"
"$HARNESS_DIR/sanity.sh"
