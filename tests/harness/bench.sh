#!/usr/bin/env bash
# `make bench`: wall-clock figures of the collection on the demo container (vm102-demo, reached over SSH
# like VM105 -> VM102, two profiles), printed as medians and as ratios to the floor playbook on the same
# container. Nothing here asserts a time limit: the figures are for reading (and for the issue notes).
#
# HOMELAB_CLAWDBOT_FLAVOUR=openclaw (default) or clawdbot selects the product (inventories/demo reads it).
#
#   first converge          playbooks/site.yml on a fresh container (BENCH_CONVERGE_RUNS, default 3)
#   manual install + start  what it is compared with, on the same container: `npm install <pkg>@<pin>` with an
#                           empty npm cache, a minimal config and the first `gateway run` until /healthz answers
#   no-op re-run            playbooks/site.yml again: must report changed=0 and restart no gateway
#   floor                   playbooks/ping.yml (gather_facts + ping), interleaved with the no-op runs
#   approve-pairing         playbooks/approve-pairing.yml for one pending Control UI request
#   manual CLI (2 calls)    what it replaces: `devices list --json` + `devices approve <id>` over SSH
#   3 hosts                 site.yml's first converge and no-op re-run over three demo containers at once, next to
#                           the one-host no-op in the same loop (BENCH_FLEET=0 skips it)
#   downtime                how long each gateway does not answer /healthz on a restart, an upgrade, a restore and a
#                           migration, next to its cold start (bench-downtime.sh, also `make bench-downtime`;
#                           BENCH_DOWNTIME=0 skips it)
#
# BENCH_RUNS (default 5) sets the runs of the others. The demo container is left running (make demo-destroy).
# shellcheck source=tests/harness/lib.sh
. "$(dirname "$0")/lib.sh"

RUNS="${BENCH_RUNS:-5}"
CONVERGE_RUNS="${BENCH_CONVERGE_RUNS:-3}"
bench_prelude "$CACHE_DIR/bench/$(date -u +%Y%m%dT%H%M%SZ)" times.tsv
TOKEN=bench-pairing-token-0123456789ab

recap_of() { grep -E '^vm102-demo +: ok=' "$1" | tail -1; }

UNIT="$(demo_unit_prefix)"
CLI="$(demo_cli)"
FLAVOUR="$(demo_flavour)"
# When each gateway's process started (a restart changes it; openclaw's hot reload keeps it).
pids() {
  ssh_demo "sudo systemctl --user -M user@.host show -p MainPID -p ExecMainStartTimestampMonotonic $UNIT-personal.service $UNIT-ops.service" \
    | tr '\n' ' '
}

export HOMELAB_CLAWDBOT_NODE_TARBALL
HOMELAB_CLAWDBOT_NODE_TARBALL="$(prep_node)"

stage "bench: first converge x$CONVERGE_RUNS (fresh container each time)"
for i in $(seq 1 "$CONVERGE_RUNS"); do
  "$HARNESS_DIR/demo.sh" destroy >/dev/null
  "$HARNESS_DIR/demo.sh" container > "$OUT/container-$i.log" 2>&1 || { tail -20 "$OUT/container-$i.log"; die "demo container failed"; }
  timeit "first converge" "$OUT/converge-$i.log" demo_playbook playbooks/site.yml
  info "run $i: $(recap_of "$OUT/converge-$i.log")"
done
# The manual way on the same container: install the pinned package with an empty npm cache and start one gateway
# from a minimal config until it answers /healthz (what a user would do by hand before anything is hardened).
manual_install() {
  local pin
  pin=$(ssh_demo "sudo readlink $CLI" | sed -E 's|.*/versions/([^/]+)/.*|\1|')
  ssh_demo "sudo -u user -H bash -s" "$FLAVOUR" "$pin" <<'SH'
set -e
flavour=$1 pin=$2; d=$(mktemp -d /tmp/manual.XXXX); export PATH=/usr/local/bin:/usr/bin:/bin NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
cd "$d" && echo '{"name":"manual","private":true}' > package.json
if [ "$flavour" = clawdbot ]; then echo '{"name":"manual","private":true,"overrides":{"libsignal":"npm:libsignal@6.0.0"}}' > package.json; fi
npm install --cache "$d/cache" --no-audit --no-fund "$flavour@$pin" >/dev/null 2>&1
mkdir -p "$d/state"; upper=$(echo "$flavour" | tr a-z A-Z)
printf '{"gateway":{"mode":"local","port":19999,"bind":"loopback","auth":{"mode":"token","token":"manual-token-0123456789abcdef"}}}' > "$d/state/$flavour.json"
env "${upper}_STATE_DIR=$d/state" "${upper}_CONFIG_PATH=$d/state/$flavour.json" "${upper}_SKIP_CHANNELS=1" \
  "$d/node_modules/.bin/$flavour" gateway --port 19999 > "$d/gw.log" 2>&1 &
gw=$!
ok=1
for _ in $(seq 1 180); do curl -fsS -o /dev/null http://127.0.0.1:19999/healthz 2>/dev/null && { ok=0; break; }; sleep 1; done
kill "$gw"; wait "$gw" 2>/dev/null || true
[ "$ok" = 0 ] || { tail -20 "$d/gw.log" >&2; echo "the manual gateway never answered /healthz" >&2; }
rm -rf "$d"
exit "$ok"
SH
}
timeit "manual npm install + first gateway start" "$OUT/manual-install.log" manual_install

stage "bench: no-op re-run and floor, interleaved x$RUNS"
demo_playbook playbooks/site.yml > "$OUT/settle.log" 2>&1 || { tail -30 "$OUT/settle.log"; die "site.yml failed before the no-op runs"; }
# Freshly started gateways keep the CPU busy for a while (plugins, caches); measure an idle host.
sleep "${BENCH_SETTLE_SECONDS:-60}"
before="$(pids)"
for i in $(seq 1 "$RUNS"); do
  timeit "no-op re-run (site.yml)" "$OUT/noop-$i.log" demo_playbook playbooks/site.yml
  grep -qE 'changed=0 +unreachable=0 +failed=0' <(recap_of "$OUT/noop-$i.log") \
    || die "no-op run $i changed something: $(recap_of "$OUT/noop-$i.log") (log: $OUT/noop-$i.log)"
  timeit "floor (gather_facts + ping)" "$OUT/floor-$i.log" demo_playbook playbooks/ping.yml
done
[ "$(pids)" = "$before" ] || die "a gateway was restarted during the no-op runs: $before -> $(pids)"
info "changed=0 in every no-op run; gateway start times unchanged ($before)"

if [ "$FLAVOUR" = openclaw ]; then
  stage "bench: pairing (contract 4.4 recipe: autoApproveLocal false, the real TUI as a new device on loopback)"
  demo_playbook playbooks/site.yml -e '{"profiles_auto_approve_local": false}' > "$OUT/strict.log" 2>&1 \
    || { tail -30 "$OUT/strict.log"; die "re-converge with profiles_auto_approve_local=false failed"; }
  CLIENT_ID=openclaw-tui
  pending() {
    ssh_demo "sudo bash -s" "$1" "$CLI" "$(demo_config personal)" <<'SH'
set -e
name=$1 cli=$2 cfg=$3; token=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['gateway']['auth']['token'])" "$cfg")
mkdir -p "/tmp/$name"; cd /tmp
(OPENCLAW_STATE_DIR="/tmp/$name" HOME="/tmp/$name" NO_COLOR=1 PATH=/usr/local/bin:/usr/bin:/bin timeout 300 \
  script -qfc "$cli tui --url ws://127.0.0.1:18789 --token $token" "/tmp/$name/typescript" >/dev/null 2>&1 &)
for _ in $(seq 1 60); do
  sudo -u user -H NO_COLOR=1 PATH=/usr/local/bin:/usr/bin:/bin "$cli" --profile personal devices list --json 2>/dev/null \
    | python3 -c 'import json,sys; t=sys.stdin.read(); sys.exit(0 if json.loads(t[t.index("{"):])["pending"] else 1)' && exit 0
  sleep 1
done
echo "the TUI did not ask to pair" >&2; exit 1
SH
  }
else
  stage "bench: pairing (contract 4.4 recipe: bind=lan with explicit tokens, the real CLI as a new device)"
  lan_vars=$(printf '{"clawdbot_tailscale_serve": false, "clawdbot_profiles": [{"name": "personal", "port": 18789, "bind": "lan", "token": "%s"}, {"name": "ops", "port": 18790, "bind": "lan", "token": "%s-ops"}]}' "$TOKEN" "$TOKEN")
  demo_playbook playbooks/site.yml -e "$lan_vars" > "$OUT/lan.log" 2>&1 || { tail -30 "$OUT/lan.log"; die "lan re-converge failed"; }
  ip=$(ssh_demo "hostname -I" | awk '{print $1}')
  CLIENT_ID=cli
  # A new device asks for pairing: the real CLI with a fresh HOME against the non-loopback address.
  pending() {
    local err
    err=$(ssh_demo "cd /tmp && sudo env HOME=/tmp/bench-$1 NO_COLOR=1 PATH=/usr/local/bin:/usr/bin:/bin \
      $CLI devices list --json --url ws://$ip:18789 --token $TOKEN" 2>&1 >/dev/null) || true
    case "$err" in *"pairing required"*) ;; *) die "the bench client was not asked to pair: $err" ;; esac
  }
fi
manual() {
  local id
  id=$(ssh_demo "sudo -u user -H NO_COLOR=1 PATH=/usr/local/bin:/usr/bin:/bin $CLI --profile personal devices list --json" \
    | python3 -c 'import json,sys; t=sys.stdin.read(); print(json.loads(t[t.index("{"):])["pending"][0]["requestId"])')
  ssh_demo "sudo -u user -H NO_COLOR=1 PATH=/usr/local/bin:/usr/bin:/bin $CLI --profile personal devices approve $id" >/dev/null
}
for i in $(seq 1 "$RUNS"); do
  pending "a-$i-$$"
  timeit "approve-pairing.yml (1 request)" "$OUT/approve-$i.log" \
    demo_playbook playbooks/approve-pairing.yml -e profile=personal -e client_id=$CLIENT_ID
  grep -qE 'changed=1 +unreachable=0 +failed=0' <(recap_of "$OUT/approve-$i.log") || die "approve-pairing approved nothing ($OUT/approve-$i.log)"
  pending "b-$i-$$"
  timeit "manual CLI (list + approve)" "$OUT/manual-$i.log" manual
done
ssh_demo "sudo pkill -f '[ ]tui --url' || true"  # '[ ]': pkill must not match its own shell
demo_playbook playbooks/site.yml > "$OUT/restore.log" 2>&1 || { tail -30 "$OUT/restore.log"; die "loopback re-converge failed"; }

# Three hosts at once (issue F): site.yml's first converge and no-op re-run over vm102-demo, vm102-demo2 and
# vm102-demo3 (two profiles each, SSH on PORT, PORT+1, PORT+2), next to the one-host no-op measured in the same loop
# while all three run. BENCH_FLEET=0 skips it.
if [ "${BENCH_FLEET:-1}" = 1 ]; then
  stage "bench: three hosts at once (first converge, no-op re-run) against one"
  fleet_name() { if [ "$1" = 1 ]; then echo vm102-demo; else echo "vm102-demo$1"; fi; }  # host i of 3, SSH on PORT+i-1
  fleet_inv="$OUT/fleet-inventory"
  mkdir -p "$fleet_inv"
  ln -sfn "$REPO_ROOT/inventories/demo/group_vars" "$fleet_inv/group_vars"
  {
    echo "clawdbot_gateways:"
    echo "  hosts:"
    for i in 1 2 3; do
      name=$(fleet_name "$i")
      echo "    $name: {ansible_host: 127.0.0.1, ansible_port: $((PORT + i - 1)), ansible_user: admin, ansible_ssh_private_key_file: $KEY,"
      echo "      ansible_ssh_common_args: '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'}"
    done
  } > "$fleet_inv/hosts.yml"
  fleet_demo() {  # fleet_demo destroy|container
    local i name
    for i in 1 2 3; do
      name=$(fleet_name "$i")
      DEMO_NAME=$name DEMO_SSH_PORT=$((PORT + i - 1)) "$HARNESS_DIR/demo.sh" "$1" >> "$OUT/fleet-containers.log" 2>&1 \
        || { tail -20 "$OUT/fleet-containers.log"; die "demo container $name: $1 failed"; }
    done
  }
  fleet_demo destroy
  fleet_demo container
  timeit "first converge, 3 hosts at once" "$OUT/fleet-converge.log" ansible-playbook -i "$fleet_inv" playbooks/site.yml
  [ "$(grep -cE '^vm102-demo[23]? +: ok=.* failed=0' "$OUT/fleet-converge.log")" = 3 ] \
    || { tail -30 "$OUT/fleet-converge.log"; die "the three-host converge failed"; }
  ansible-playbook -i "$fleet_inv" playbooks/site.yml > "$OUT/fleet-settle.log" 2>&1 || die "the three-host re-run failed"
  sleep "${BENCH_SETTLE_SECONDS:-60}"
  for i in $(seq 1 "$RUNS"); do
    timeit "no-op re-run, 3 hosts" "$OUT/fleet-noop-$i.log" ansible-playbook -i "$fleet_inv" playbooks/site.yml
    [ "$(grep -cE '^vm102-demo[23]? +: ok=[0-9]+ +changed=0 +unreachable=0 +failed=0' "$OUT/fleet-noop-$i.log")" = 3 ] \
      || die "three-host no-op run $i changed something ($OUT/fleet-noop-$i.log)"
    timeit "no-op re-run, 1 host (the 3 running)" "$OUT/fleet-noop1-$i.log" demo_playbook playbooks/site.yml
    grep -qE 'changed=0 +unreachable=0 +failed=0' <(recap_of "$OUT/fleet-noop1-$i.log") || die "one-host no-op run $i changed something"
  done
  for i in 2 3; do DEMO_NAME=$(fleet_name "$i") "$HARNESS_DIR/demo.sh" destroy >/dev/null; done
fi

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
three, one = rows.get("no-op re-run, 3 hosts"), rows.get("no-op re-run, 1 host (the 3 running)")
if three and one:
    print("\nno-op re-run, 3 hosts / 1 host: %.2f" % (statistics.median(three) / statistics.median(one)))
PY
info "raw times and logs: $OUT"

# How long the gateways do not answer while the collection changes them (bench-downtime.sh; BENCH_DOWNTIME=0 skips it)
if [ "$FLAVOUR" = openclaw ] && [ "${BENCH_DOWNTIME:-1}" = 1 ]; then
  BENCH_OUT="$OUT" "$HARNESS_DIR/bench-downtime.sh"
fi
