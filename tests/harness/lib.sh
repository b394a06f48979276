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
# Go module versions of the real Tailscale software (tests/harness/tailscale-build.sh): the newest 1.102.x and 0.29.x
# that the Go module proxy serves and Go 1.26.8 builds.
TAILSCALE_VERSION="${TAILSCALE_VERSION:-1.102.5}"
HEADSCALE_VERSION="${HEADSCALE_VERSION:-0.29.3}"

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
# What bench.sh and bench-downtime.sh start with: the demo host's SSH (PORT, KEY), their figures (OUT, TSV), the
# demo's tailnet (real tailscaled, logged in to the demo's headscale), the virtualenv, the checkout as working directory.
bench_prelude() {  # bench_prelude OUT_DIR TSV_FILE_NAME
  PORT="${DEMO_SSH_PORT:-2222}"
  KEY="$CACHE_DIR/demo/id_ed25519"
  OUT=$1
  mkdir -p "$OUT"
  TSV="$OUT/$2"
  : > "$TSV"
  export DEMO_SSH_PORT="$PORT" DEMO_SSH_KEY="$KEY" ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0
  demo_tailnet_env
  "$HARNESS_DIR/ensure-venv.sh"
  activate_venv
  cd "$REPO_ROOT"
}

# The Node.js tarball of the demo's flavour (demo.sh, bench.sh, bench-downtime.sh); its path on stdout.
prep_node() { NODE_DIST_VERSION="$(demo_node_version)" "$HARNESS_DIR/prepare-node.sh"; }
# A playbook of this checkout against the demo host, over SSH (bench.sh, bench-downtime.sh).
demo_playbook() { ansible-playbook -i inventories/demo "$@"; }

# The demo host as VM105 reaches VM102: SSH as admin to the caller's PORT with its KEY (demo.sh, bench.sh,
# bench-downtime.sh).
ssh_demo() {
  ssh -q -p "$PORT" -i "$KEY" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes \
    admin@127.0.0.1 "$@"
}
# The demo's tailnet (demo.sh): headscale in DEMO_HEADSCALE; inventories/demo reads the login server and the pre-auth key
# file from the environment. DEMO_TAILSCALE=double (make ssh-check) has none: the CLI test double is logged in already.
DEMO_HEADSCALE=demo-headscale
demo_tailnet_env() {
  [ "${DEMO_TAILSCALE:-real}" = double ] && return 0
  export DEMO_TAILNET_URL="https://$DEMO_HEADSCALE" DEMO_TAILNET_KEY_FILE="$CACHE_DIR/demo/tailnet-auth-key"
}

# tool_venv DIR PIP_ARGS...: a virtualenv at DIR with what `pip install PIP_ARGS...` gives (pinned versions or
# `-r <file>`); made again when the arguments (or a named requirements file) change. importer, compat and ee use it.
tool_venv() {
  local dir=$1 want arg
  shift
  want=$( { printf '%s\n' "$@"; for arg in "$@"; do [ ! -f "$arg" ] || cat "$arg"; done; } | sha256sum | cut -c1-16)
  if [ ! -x "$dir/bin/python" ] || [ "$(cat "$dir/.requirements" 2>/dev/null)" != "$want" ]; then
    info "creating $dir (pip install $*)"
    rm -rf "$dir" && python3 -m venv "$dir"
    "$dir/bin/python" -m pip install --disable-pip-version-check -q "$@" > "$dir.log" 2>&1 ||
      { tail -20 "$dir.log" >&2; die "pip install $* into $dir failed (log: $dir.log)"; }
    echo "$want" > "$dir/.requirements"
  fi
}

# Preparation steps for side_by_side (run.sh, demo.sh): the virtualenv and the two test images.
prep_venv() { "$HARNESS_DIR/ensure-venv.sh"; }
prep_image() { "$HARNESS_DIR/build-image.sh"; }
prep_image_minimal() { "$HARNESS_DIR/build-image.sh" minimal; }

# side_by_side "LABEL:COMMAND"...: the commands at the same time (each a word list; its output in a log), then each
# one's output in the given order. Made for preparation steps that mostly wait on a download or a disk (debootstrap,
# pip, npm): one after the other they took 12 minutes on a cold machine. Fails, after all have ended, with the end
# of the first failed step's log.
side_by_side() {
  local dir step i rc=0 failed=""
  local -a pids=() labels=()
  dir=$(mktemp -d "${TMPDIR:-/tmp}/side-by-side.XXXXXX")
  for step in "$@"; do
    labels+=("${step%%:*}")
    # shellcheck disable=SC2086  # a step's command is words
    ( ${step#*:} ) > "$dir/${#pids[@]}.log" 2>&1 &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || { rc=1; [ -n "$failed" ] || failed=$i; }
    sed "s/^ *//; s/^/    [${labels[$i]}] /" "$dir/$i.log"
  done
  if [ "$rc" != 0 ]; then
    tail -n 30 "$dir/$failed.log" >&2
    rm -rf "$dir"
    die "${labels[$failed]} failed"
  fi
  rm -rf "$dir"
}

# checkout_copy DEST: the files git tracks, and new ones it does not ignore, copied into DEST (what CI's clean clone
# has): the sanity tree, and the source of the tarballs importer.sh and ee.sh build.
checkout_copy() {
  mkdir -p "$1"
  (cd "$REPO_ROOT" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$1")
}

# timeit NAME LOG CMD...: run CMD with its output in LOG and append "NAME<TAB>seconds" to $TSV; a failing CMD stops
# the run with LOG's end (bench.sh and ee.sh).
timeit() {
  local name="$1" log="$2" t0 t1
  shift 2
  t0=$(date +%s.%N)
  "$@" >"$log" 2>&1 || { tail -40 "$log" >&2; die "$name failed (log: $log)"; }
  t1=$(date +%s.%N)
  printf '%s\t%s\n' "$name" "$(python3 -c "print(round($t1 - $t0, 3))")" >> "$TSV"
}
