#!/usr/bin/env bash
# ansible-test sanity in a temporary ansible_collections/homelab/clawdbot tree, with the ansible-core of the active
# virtualenv (run.sh: the pinned one; compat.sh: 2.16). tests/sanity/ignore-<core minor>.txt applies.
# shellcheck source=tests/harness/lib.sh
. "$(dirname "$0")/lib.sh"
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
py=$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
checkout_copy "$tree/ansible_collections/homelab/clawdbot"
(cd "$tree/ansible_collections/homelab/clawdbot" && git init -q && git add -A &&
 ansible-test sanity --python "$py" --color no --requirements --skip-test shellcheck) || die "ansible-test sanity failed"
