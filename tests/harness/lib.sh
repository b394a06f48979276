#!/usr/bin/env bash
# Shared helpers for the test harness (sourced, not executed).
set -euo pipefail

HARNESS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HARNESS_DIR/../.." && pwd)"
# Everything expensive lives outside the repository and survives clean clones.
CACHE_DIR="${HOMELAB_CLAWDBOT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/homelab-clawdbot}"
VENV_DIR="${HOMELAB_CLAWDBOT_VENV:-$CACHE_DIR/venv}"
STATE_DIR="$CACHE_DIR/state"
mkdir -p "$CACHE_DIR" "$STATE_DIR"

stage() { printf '\n\033[1m==> [%s] %s\033[0m\n' "$(date +%H:%M:%S)" "$*"; }
info() { printf '    %s\n' "$*"; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# Versions of the software the harness prepares for the tests (npm registry packages).
NODE_DIST_VERSION="${NODE_DIST_VERSION:-22.23.3}"
NPM_DIST_VERSION="${NPM_DIST_VERSION:-10.9.9}"

activate_venv() {
  # shellcheck disable=SC1091
  . "$VENV_DIR/bin/activate"
  export ANSIBLE_CONFIG="$REPO_ROOT/ansible.cfg"
}

# The Node version of the demo inventory's flavour (inventories/demo reads HOMELAB_CLAWDBOT_FLAVOUR).
demo_node_version() {
  if [ "${HOMELAB_CLAWDBOT_FLAVOUR:-openclaw}" = clawdbot ]; then echo 22.23.3; else echo 24.22.3; fi
}

# Names of the demo's flavour (plugins/module_utils/flavours.py is the definition; these are what the demo host has).
demo_flavour() { echo "${HOMELAB_CLAWDBOT_FLAVOUR:-openclaw}"; }
demo_unit_prefix() { echo "$(demo_flavour)-gateway"; }
demo_cli() { echo "/home/user/.$(demo_flavour)/bin/$(demo_flavour)"; }
demo_config() { echo "/home/user/.$(demo_flavour)-$1/$(demo_flavour).json"; }
