#!/usr/bin/env bash
# `make docs`: regenerate docs/roles (from roles/*/meta/argument_specs.yml) and docs/modules (antsibull-docs,
# from the plugins' DOCUMENTATION) in the pinned virtualenv.  `docs.sh --check` only compares and fails
# when a committed page is out of date (the unit tests do the same).
# shellcheck source=tests/harness/lib.sh
. "$(dirname "$0")/lib.sh"
"$HARNESS_DIR/ensure-venv.sh"
activate_venv
cd "$REPO_ROOT"
stage "docs: roles (tools/gen_role_docs.py)"
python tools/gen_role_docs.py "$@"
stage "docs: modules and filters (tools/gen_module_docs.py, antsibull-docs $(antsibull-docs --version))"
python tools/gen_module_docs.py "$@"
