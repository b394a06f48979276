#!/usr/bin/env bash
# The test entry point behind `make test|lint|sanity|unit|molecule`.
# Usage: run.sh [all|lint|sanity|unit|molecule [scenario...]|canary]
# shellcheck source=tests/harness/lib.sh
. "$(dirname "$0")/lib.sh"

what="${1:-all}"; shift || true
t0=$(date +%s)
declare -a timings=()
timed() {  # timed <label> <cmd...>
  local label=$1 started
  shift
  started=$(date +%s)
  "$@"
  timings+=("$(printf '%-28s %5ss' "$label" "$(( $(date +%s) - started ))")")
}

prepare_python() {
  stage "toolchain: virtualenv with the pinned requirements"
  prep_venv
  activate_venv
}

host_ready=""
prepare_host() {
  stage "host: docker.io + debootstrap, dockerd"
  "$HARNESS_DIR/ensure-host.sh"
  trap '"$HARNESS_DIR/stop-docker.sh"' EXIT
  host_ready=1
}

# `make test` builds the Spark stand-in and the real tailscale, tailscaled and headscale (minutes on a cold machine,
# cached afterwards) in the background from the start, while the venv, the images, the Node tarballs and the static
# stages are made and run. spark-standin.sh and tailscale-build.sh hold a lock while they build, so a scenario that
# needs them (molecule_env) waits there for the build to end.
declare -A build_log=() build_pid=()
start_build() {  # start_build NAME SCRIPT WHAT: SCRIPT in the background, its output in build_log[NAME]
  build_log[$1]="$(mktemp "${TMPDIR:-/tmp}/$1.XXXXXX.log")"
  info "building $3 in the background (log: ${build_log[$1]})"
  "$HARNESS_DIR/$2" > "${build_log[$1]}" 2>&1 &
  build_pid[$1]=$!
}
start_builds() {
  start_build spark spark-standin.sh "the Spark stand-in"
  # The first scenario waits for the build, so the build goes first: everything this shell starts from now on (the
  # Tailscale build, the venv, the images, the lanes) runs at a lower CPU priority than the compiler.
  renice -n 5 -p $$ >/dev/null 2>&1 || true
  start_build tailscale tailscale-build.sh "tailscale and headscale"
}

# The virtualenv, the images (lib.sh's prep_*) and the Node tarballs (not the Spark stand-in and the Tailscale
# software: see start_builds), side by side: each mostly waits on a download or on dpkg.
prep_node22() { NODE_DIST_VERSION=22.23.3 "$HARNESS_DIR/prepare-node.sh"; }
# Node 24 as nodejs.org ships it (.tar.xz; the default scenario's minimal host has no xz-utils until the role installs it)
prep_node24() { NODE_DIST_FORMAT=xz NODE_DIST_VERSION=24.22.3 "$HARNESS_DIR/prepare-node.sh"; }
prepare_all() {
  [ -n "$host_ready" ] || prepare_host
  stage "toolchain and images, side by side: the virtualenv (pinned requirements), debootstrap Debian 12 + systemd and Debian 13 minimal (what a fresh cloud VM has; built once, reused while the recipe is unchanged), the Node.js tarballs from the npm registry"
  side_by_side venv:prep_venv debian12:prep_image debian13-minimal:prep_image_minimal node22:prep_node22 node24:prep_node24
  activate_venv
}

run_lint() {
  # (a lane runs a stage as `stage || ...`, where set -e does not stop it: each step returns its failure itself)
  stage "lint: yamllint"
  (cd "$REPO_ROOT" && yamllint -s .) || return 1
  stage "lint: ansible-lint (profile production)"
  # ansible-lint may leave a copy of this collection in ~/.ansible/collections; a copy made from another
  # checkout (an older commit) would shadow this one's plugins and roles, so it goes first.
  rm -rf "${HOME}/.ansible/collections/ansible_collections/homelab/clawdbot"
  (cd "$REPO_ROOT" && ansible-lint --offline -q)
}

run_sanity() {
  stage "sanity: ansible-test sanity in a temporary ansible_collections/homelab/clawdbot tree"
  "$HARNESS_DIR/ansible-test-bootstrap.sh" || return 1
  "$HARNESS_DIR/sanity.sh"
}

run_unit() {
  stage "unit: pytest tests/unit"
  (cd "$REPO_ROOT" && python -m pytest -q tests/unit)
}

# What the scenarios read from the environment: the two Node tarballs and the Spark stand-in (waiting for its build
# when `make test` started one in the background; a build that failed there is tried once more here, with its error).
molecule_env() {
  # only this checkout (its .ansible/collections link), not a copy an earlier ansible-lint or molecule left behind
  rm -rf "${HOME}/.ansible/collections/ansible_collections/homelab/clawdbot"
  HOMELAB_CLAWDBOT_NODE_TARBALL="$(prep_node22)"
  HOMELAB_CLAWDBOT_NODE24_TARBALL="$(prep_node24)"
  export HOMELAB_CLAWDBOT_NODE_TARBALL HOMELAB_CLAWDBOT_NODE24_TARBALL
  local waited=$SECONDS
  HOMELAB_CLAWDBOT_SPARK_DIR="$("$HARNESS_DIR/spark-standin.sh")" ||
    { [ -z "${build_log[spark]:-}" ] || tail -30 "${build_log[spark]}" >&2; die "the Spark stand-in build failed"; }
  export HOMELAB_CLAWDBOT_SPARK_DIR
  [ $((SECONDS - waited)) -lt 5 ] || info "waited $((SECONDS - waited))s for the Spark stand-in"
  waited=$SECONDS
  HOMELAB_CLAWDBOT_TAILSCALE_DIR="$("$HARNESS_DIR/tailscale-build.sh")" ||
    { [ -z "${build_log[tailscale]:-}" ] || tail -30 "${build_log[tailscale]}" >&2; die "the tailscale/headscale build failed"; }
  export HOMELAB_CLAWDBOT_TAILSCALE_DIR
  [ $((SECONDS - waited)) -lt 5 ] || info "waited $((SECONDS - waited))s for tailscale and headscale"
}

run_molecule() {
  local scenarios=("$@")
  # default = the openclaw flavour (the product's default), clawdbot = the legacy flavour, fleet = three hosts.
  [ ${#scenarios[@]} -gt 0 ] || scenarios=(${MOLECULE_SCENARIOS:-default clawdbot fleet})
  molecule_env
  local scenario log rc
  for scenario in "${scenarios[@]}"; do
    stage "molecule: scenario $scenario (molecule test)"
    log=$(mktemp "${TMPDIR:-/tmp}/molecule-$scenario.XXXXXX.log")
    rc=0
    (cd "$REPO_ROOT" && molecule test -s "$scenario") 2>&1 | tee "$log" || rc=$?
    # (in a lane, run_lanes repeats the failures at the very end instead)
    [ "$rc" = 0 ] || { [ -n "$lanes_dir" ] || failure_summary "molecule: scenario $scenario" "$log"; rm -f "$log"; return "$rc"; }
    rm -f "$log"
  done
}

# `make test` runs its long stages in two lanes at once, on one dockerd (the scenarios have their own container names
# and networks): each stage is mostly one process waiting on another (ansible on a gateway starting, a gateway on
# its health check), so on 2 cores two lanes take about as long as the longest of them. Lane A is the default
# scenario (the longest stage); lane B the static stages (lint, sanity, unit, importer, compat), the ssh stage, then
# the clawdbot and the fleet scenarios. Each lane's lines carry its name; a failed stage does not stop the stages
# after it or the other lane, and its failures are repeated at the very end.
LANES=${HOMELAB_CLAWDBOT_LANES:-2}
lanes_dir=""
lane() {  # lane <name> <label:command>...: the stages one after the other (a failed one does not stop the next)
  local name=$1 step label started rc=0
  shift
  for step in "$@"; do
    label=${step%%:*}
    started=$(date +%s)
    ${step#*:} || { echo "$label" >> "$lanes_dir/$name.failed"; rc=1; label="$label (FAILED)"; }
    printf '%-28s %5ss\n' "$label" "$(( $(date +%s) - started ))" >> "$lanes_dir/$name.times"
  done
  return "$rc"
}
run_lanes() {  # run_lanes "<lane A>" "<lane B>", each a space-separated list of label:function
  lanes_dir=$(mktemp -d "${TMPDIR:-/tmp}/lanes.XXXXXX")
  local -a specs=("$@") pids=() names=(A B)
  local i t rc=0
  for i in 0 1; do
    # Lane A (the longest) gets the CPU first: lane B's controller-side work (lint, sanity, ansible, pytest) runs at a
    # lower priority. The gateways in the containers are not children of this shell and keep theirs.
    # shellcheck disable=SC2086  # a lane's steps are words
    ( set -o pipefail; [ "$i" = 0 ] || renice -n 10 -p "$BASHPID" >/dev/null 2>&1 || true
      lane "${names[$i]}" ${specs[$i]} 2>&1 | tee "$lanes_dir/${names[$i]}.log" | sed -u "s/^/[${names[$i]}] /" ) &
    pids+=($!)
  done
  for i in 0 1; do wait "${pids[$i]}" || rc=1; done
  for i in 0 1; do
    [ -f "$lanes_dir/${names[$i]}.times" ] || continue
    while IFS= read -r t; do timings+=("$t (lane ${names[$i]})"); done < "$lanes_dir/${names[$i]}.times"
  done
  for i in 0 1; do
    [ -f "$lanes_dir/${names[$i]}.failed" ] || continue
    failure_summary "$(paste -sd, "$lanes_dir/${names[$i]}.failed") (lane ${names[$i]})" "$lanes_dir/${names[$i]}.log"
  done
  rm -rf "$lanes_dir"
  return "$rc"
}
molecule_default() { run_molecule default; }
molecule_clawdbot() { run_molecule clawdbot; }
molecule_fleet() { run_molecule fleet; }
ssh_check() { "$HARNESS_DIR/ssh-check.sh"; }
importer_stage() { "$HARNESS_DIR/importer.sh"; }
compat_stage() { "$HARNESS_DIR/compat.sh"; }

# A failed scenario ends with molecule's own recap, which names no test: repeat pytest's failures and the failed
# tasks at the very end, where a CI log's tail shows them.
failure_summary() {
  local scenario=$1 log=$2
  stage "$scenario FAILED; the failures, from its log"
  # A failed task's result (msg, stderr) follows its fatal:/failed: line: keep up to 8 lines of it.
  sed -E 's/\x1b\[[0-9;]*m//g; s/^[[:space:]]*│[[:space:]]?//' "$log" |
    awk '/^(fatal|failed): / { print; more = 8; next }
         more > 0 && /^(TASK|PLAY|RUNNING HANDLER) \[|^(ok|changed|skipping): / { more = 0 }
         more > 0 { print "    " $0; more--; next }
         /^(FAILED|ERROR) tests\/|^E  +|^Traceback |^[A-Za-z.]*(Error|Exception): |^ERROR: |[0-9]+ (passed|failed)/' |
    tail -n 80 || true
}

case "$what" in
  all)
    # On a cold machine the llama.cpp build of the Spark stand-in is the longest preparation, and only the
    # scenarios need it: it starts first (after the host's packages), and the lanes start without waiting for it.
    prepare_host
    start_builds
    prepare_all
    if [ $# -gt 0 ] || [ "$LANES" = 1 ]; then
      timed lint run_lint
      timed sanity run_sanity
      timed unit run_unit
      timed importer "$HARNESS_DIR/importer.sh"
      timed compat "$HARNESS_DIR/compat.sh"
      timed ssh "$HARNESS_DIR/ssh-check.sh"
      timed molecule run_molecule "$@"
    else
      stage "lanes: A = molecule default; B = lint, sanity, unit, importer, compat, ssh, molecule clawdbot, molecule fleet (at the same time)"
      timed "lanes A+B" run_lanes "molecule-default:molecule_default" \
        "lint:run_lint sanity:run_sanity unit:run_unit importer:importer_stage compat:compat_stage ssh:ssh_check molecule-clawdbot:molecule_clawdbot molecule-fleet:molecule_fleet"
    fi
    for pid in "${build_pid[@]}"; do wait "$pid" 2>/dev/null || true; done
    ;;
  lint) prepare_python; timed lint run_lint ;;
  sanity) prepare_python; timed sanity run_sanity ;;
  unit) prepare_python; timed unit run_unit ;;
  importer) prepare_python; timed importer "$HARNESS_DIR/importer.sh" ;;
  compat) prepare_python; timed compat "$HARNESS_DIR/compat.sh" ;;
  ssh) prepare_all; timed ssh "$HARNESS_DIR/ssh-check.sh" ;;
  molecule) prepare_all; timed molecule run_molecule "$@" ;;
  # not in `all`: openclaw@latest moves (tests/harness/canary.sh)
  canary) prepare_all; molecule_env; timed canary "$HARNESS_DIR/canary.sh" ;;
  *) die "unknown stage $what (all|lint|sanity|unit|importer|compat|ssh|molecule|canary)" ;;
esac
stage "done in $(( $(date +%s) - t0 ))s"
for t in "${timings[@]}"; do info "$t"; done
