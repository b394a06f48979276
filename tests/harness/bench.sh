#!/usr/bin/env bash
# `make bench`: wall-clock figures of the collection on the demo container (vm102-demo, reached over SSH
# like VM105 -> VM102, two profiles), printed as medians and as ratios to the floor playbook on the same
# container. Nothing here asserts a time limit: the figures are for reading (and for the issue notes).
#
#   first converge          playbooks/site.yml on a fresh container (BENCH_CONVERGE_RUNS, default 3)
#   no-op re-run            playbooks/site.yml again: must report changed=0 and restart no gateway
#   floor                   playbooks/ping.yml (gather_facts + ping), interleaved with the no-op runs
#   approve-pairing         playbooks/approve-pairing.yml for one pending Control UI request
#   manual CLI (2 calls)    what it replaces: `devices list --json` + `devices approve <id>` over SSH
#
# BENCH_RUNS (default 5) sets the runs of the others. The demo container is left running (make demo-destroy).
# shellcheck source=tests/harness/lib.sh
. "$(dirname "$0")/lib.sh"

RUNS="${BENCH_RUNS:-5}"
CONVERGE_RUNS="${BENCH_CONVERGE_RUNS:-3}"
PORT="${DEMO_SSH_PORT:-2222}"
KEY="$CACHE_DIR/demo/id_ed25519"
OUT="$CACHE_DIR/bench/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT"
TSV="$OUT/times.tsv"
: > "$TSV"
export DEMO_SSH_PORT="$PORT" DEMO_SSH_KEY="$KEY" ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0
TOKEN=bench-pairing-token-0123456789ab

"$HARNESS_DIR/ensure-venv.sh"
activate_venv
cd "$REPO_ROOT"

ssh_demo() {
  ssh -q -p "$PORT" -i "$KEY" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes \
    admin@127.0.0.1 "$@"
}

# timeit NAME LOG CMD...: run CMD, append "NAME<TAB>seconds" to the table; a failing CMD stops the bench.
timeit() {
  local name="$1" log="$2" t0 t1
  shift 2
  t0=$(date +%s.%N)
  "$@" >"$log" 2>&1 || { tail -40 "$log" >&2; die "$name failed (log: $log)"; }
  t1=$(date +%s.%N)
  printf '%s\t%s\n' "$name" "$(python3 -c "print(round($t1 - $t0, 3))")" >> "$TSV"
}

playbook() { ansible-playbook -i inventories/demo "$@"; }

recap_of() { grep -E '^vm102-demo +: ok=' "$1" | tail -1; }

pids() {
  ssh_demo "sudo systemctl --user -M user@.host show -p MainPID --value clawdbot-gateway-personal.service clawdbot-gateway-ops.service" \
    | tr '\n' ' '
}

export HOMELAB_CLAWDBOT_NODE_TARBALL
HOMELAB_CLAWDBOT_NODE_TARBALL="$(NODE_DIST_VERSION="$(demo_node_version)" "$HARNESS_DIR/prepare-node.sh")"

stage "bench: first converge x$CONVERGE_RUNS (fresh container each time)"
for i in $(seq 1 "$CONVERGE_RUNS"); do
  "$HARNESS_DIR/demo.sh" destroy >/dev/null
  "$HARNESS_DIR/demo.sh" container > "$OUT/container-$i.log" 2>&1 || { tail -20 "$OUT/container-$i.log"; die "demo container failed"; }
  timeit "first converge" "$OUT/converge-$i.log" playbook playbooks/site.yml
  info "run $i: $(recap_of "$OUT/converge-$i.log")"
done

stage "bench: no-op re-run and floor, interleaved x$RUNS"
playbook playbooks/site.yml > "$OUT/settle.log" 2>&1 || { tail -30 "$OUT/settle.log"; die "site.yml failed before the no-op runs"; }
# Freshly started gateways keep the CPU busy for a while (plugins, caches); measure an idle host.
sleep "${BENCH_SETTLE_SECONDS:-60}"
before="$(pids)"
for i in $(seq 1 "$RUNS"); do
  timeit "no-op re-run (site.yml)" "$OUT/noop-$i.log" playbook playbooks/site.yml
  grep -qE 'changed=0 +unreachable=0 +failed=0' <(recap_of "$OUT/noop-$i.log") \
    || die "no-op run $i changed something: $(recap_of "$OUT/noop-$i.log") (log: $OUT/noop-$i.log)"
  timeit "floor (gather_facts + ping)" "$OUT/floor-$i.log" playbook playbooks/ping.yml
done
[ "$(pids)" = "$before" ] || die "a gateway was restarted during the no-op runs: $before -> $(pids)"
info "changed=0 in every no-op run; gateway MainPIDs unchanged ($before)"

stage "bench: pairing (contract 4.4 recipe: bind=lan with explicit tokens, the real CLI as a new device)"
lan_vars=$(printf '{"clawdbot_tailscale_serve": false, "clawdbot_profiles": [{"name": "personal", "port": 18789, "bind": "lan", "token": "%s"}, {"name": "ops", "port": 18790, "bind": "lan", "token": "%s-ops"}]}' "$TOKEN" "$TOKEN")
playbook playbooks/site.yml -e "$lan_vars" > "$OUT/lan.log" 2>&1 || { tail -30 "$OUT/lan.log"; die "lan re-converge failed"; }
ip=$(ssh_demo "hostname -I" | awk '{print $1}')
# A new device asks for pairing: the real CLI with a fresh HOME against the non-loopback address.
pending() {
  local err
  err=$(ssh_demo "cd /tmp && sudo env HOME=/tmp/bench-$1 NO_COLOR=1 PATH=/usr/local/bin:/usr/bin:/bin \
    /home/user/.clawdbot/bin/clawdbot devices list --json --url ws://$ip:18789 --token $TOKEN" 2>&1 >/dev/null) || true
  case "$err" in *"pairing required"*) ;; *) die "the bench client was not asked to pair: $err" ;; esac
}
manual() {
  local id
  id=$(ssh_demo "sudo -u user -H NO_COLOR=1 /home/user/.clawdbot/bin/clawdbot --profile personal devices list --json" \
    | python3 -c 'import json,sys; t=sys.stdin.read(); print(json.loads(t[t.index("{"):])["pending"][0]["requestId"])')
  ssh_demo "sudo -u user -H NO_COLOR=1 /home/user/.clawdbot/bin/clawdbot --profile personal devices approve $id" >/dev/null
}
for i in $(seq 1 "$RUNS"); do
  pending "a-$i-$$"
  timeit "approve-pairing.yml (1 request)" "$OUT/approve-$i.log" \
    playbook playbooks/approve-pairing.yml -e profile=personal -e client_id=cli
  grep -qE 'changed=1 +unreachable=0 +failed=0' <(recap_of "$OUT/approve-$i.log") || die "approve-pairing approved nothing ($OUT/approve-$i.log)"
  pending "b-$i-$$"
  timeit "manual CLI (list + approve)" "$OUT/manual-$i.log" manual
done
playbook playbooks/site.yml > "$OUT/restore.log" 2>&1 || { tail -30 "$OUT/restore.log"; die "loopback re-converge failed"; }

stage "bench: results (seconds; medians of the runs; ratio = median / floor median)"
python3 - "$TSV" <<'PY' | tee "$OUT/table.md"
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, sec = line.rstrip("\n").split("\t")
    rows.setdefault(name, []).append(float(sec))
floor = statistics.median(rows["floor (gather_facts + ping)"])
print("| step | runs | median | min | max | x floor |")
print("|---|---:|---:|---:|---:|---:|")
for name, vals in rows.items():
    med = statistics.median(vals)
    print("| %s | %d | %.2f | %.2f | %.2f | %.1f |" % (name, len(vals), med, min(vals), max(vals), med / floor))
PY
info "raw times and logs: $OUT"
