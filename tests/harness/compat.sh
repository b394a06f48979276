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
tool_venv "$venv" -r "$req"
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
