#!/usr/bin/env bash
# `make bench-downtime` (and the last part of `make bench`): how long each gateway of the demo host does not answer
# /healthz while the collection changes it (issue V, item 5), as medians of BENCH_DOWNTIME_RUNS (default 3), next to
# the gateway's own cold start. An always-on host is judged by these figures. openclaw only (clawdbot has no health
# endpoint: its Control UI answers any path, contract section 8), except as the source of the migration.
#
#   cold start                  `systemctl --user start` of a stopped gateway until /healthz answers
#   config change (restart)     site.yml with a unit environment change on both profiles (rolling: one at a time)
#   upgrade 2026.9.5 -> pin     upgrade.yml (backups first, then each profile stopped, its state/ copied, started)
#   restore                     restore.yml of personal from an archive backup.yml made
#   migration clawdbot -> openclaw  migrate-openclaw.yml on a demo host set up with clawdbot 2026.1.24-3 (a fresh
#                               container per run; its /healthz is the listener only until openclaw answers)
#
# A poller on the demo host asks http://127.0.0.1:<port>/healthz of both profiles every 0.1 s (0.5 s timeout) while
# the playbook runs and sums, per port, the time from the first failed answer to the next good one. Nothing here
# asserts a limit. The demo container is left running on openclaw (make demo-destroy).
# shellcheck source=tests/harness/lib.sh
. "$(dirname "$0")/lib.sh"

RUNS="${BENCH_DOWNTIME_RUNS:-3}"
MIGRATION_RUNS="${BENCH_DOWNTIME_MIGRATION_RUNS:-$RUNS}"  # each needs a fresh clawdbot host (about 6 minutes)
STEPS=" ${BENCH_DOWNTIME_STEPS:-cold change restore upgrade migration} "  # which of them to measure
step() { [[ "$STEPS" == *" $1 "* ]]; }
OLD="${BENCH_DOWNTIME_OLD:-2026.9.5}"
export HOMELAB_CLAWDBOT_FLAVOUR=openclaw
bench_prelude "${BENCH_OUT:-$CACHE_DIR/bench/$(date -u +%Y%m%dT%H%M%SZ)}/downtime" downtime.tsv


# The poller (healthz-poller.py) runs on the demo host while a playbook runs.
POLLER=$(base64 -w0 < "$HARNESS_DIR/healthz-poller.py")
poll_start() {
  ssh_demo "sudo rm -f /tmp/downtime.stop /tmp/downtime.out; echo $POLLER | base64 -d > /tmp/downtime-poller.py; \
    (nohup python3 /tmp/downtime-poller.py 18789,18790 /tmp/downtime.stop > /tmp/downtime.out 2>/dev/null &)"
  sleep 1
}
poll_stop() {  # poll_stop NAME: the outages of each profile into the table
  ssh_demo "touch /tmp/downtime.stop; for _ in \$(seq 1 50); do [ -s /tmp/downtime.out ] && break; sleep 0.2; done; cat /tmp/downtime.out" \
    | python3 -c '
import json, sys
name = sys.argv[1]
profiles = {18789: "personal", 18790: "ops"}
for line in sys.stdin:
    doc = json.loads(line)
    flag = " (still down at the end)" if doc["down_at_end"] else ""
    print("%s\t%s\t%.2f\t%d%s" % (name, profiles[doc["port"]], sum(doc["outages"]), len(doc["outages"]), flag))
' "$1" | tee -a "$TSV"
}
measured() {  # measured NAME LOG playbook args...: the playbook under the poller
  local name=$1 log=$2
  shift 2
  poll_start
  "$@" > "$log" 2>&1 || { poll_stop "$name (FAILED)" >/dev/null; tail -30 "$log"; die "$name failed (log: $log)"; }
  poll_stop "$name"
}

openclaw_demo() {  # a demo host on openclaw with the pin, healthy (the one make demo makes)
  export HOMELAB_CLAWDBOT_NODE_TARBALL HOMELAB_CLAWDBOT_FLAVOUR=openclaw
  HOMELAB_CLAWDBOT_NODE_TARBALL="$(prep_node)"
  ssh_demo true 2>/dev/null || "$HARNESS_DIR/demo.sh" container > "$OUT/container.log" 2>&1 \
    || { tail -20 "$OUT/container.log"; die "demo container failed"; }
  demo_playbook playbooks/site.yml > "$OUT/site.log" 2>&1 || { tail -30 "$OUT/site.log"; die "site.yml failed"; }
}

if [ "$STEPS" != " migration " ]; then
  stage "downtime: the demo host on openclaw"
  openclaw_demo
  # the collection's pin (flavours.py), as site.yml installed it: the target of the CLI link
  PIN=$(ssh_demo "sudo readlink $(demo_cli)" | sed -E 's|.*/versions/([^/]+)/.*|\1|')
fi

step cold && {
stage "downtime: cold start of ops x$RUNS (stopped, then started until /healthz answers)"
for i in $(seq 1 "$RUNS"); do
  ssh_demo "sudo systemctl --user -M user@.host stop openclaw-gateway-ops.service"
  ssh_demo 't0=$(date +%s.%N); sudo systemctl --user -M user@.host start openclaw-gateway-ops.service;
    until curl -fs -o /dev/null -m 0.5 http://127.0.0.1:18790/healthz; do sleep 0.1; done;
    python3 -c "import sys; print(\"%.2f\" % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$(date +%s.%N)"' \
    | awk -v OFS='\t' '{print "cold start", "ops", $1, 1}' | tee -a "$TSV"
done

}
step change && {
stage "downtime: a config change that needs a restart (the unit environment of both profiles) x$RUNS"
for i in $(seq 1 "$RUNS"); do
  measured "config change (restart)" "$OUT/change-$i.log" \
    demo_playbook playbooks/site.yml -e "{\"profiles_environment\": {\"HOMELAB_BENCH_RUN\": \"$i-$$\"}}"
done
demo_playbook playbooks/site.yml > "$OUT/change-back.log" 2>&1 || die "site.yml back failed"

}
step restore && {
stage "downtime: restore.yml of personal x$RUNS (from one backup.yml archive)"
backups="$OUT/backups"
demo_playbook playbooks/backup.yml -e profile=personal -e "clawdbot_backup_dir=$backups" > "$OUT/backup.log" 2>&1 \
  || { tail -30 "$OUT/backup.log"; die "backup.yml failed"; }
archive=$(ls "$backups"/*-personal-*.tar.gz | head -1)
for i in $(seq 1 "$RUNS"); do
  measured "restore" "$OUT/restore-$i.log" demo_playbook playbooks/restore.yml -l vm102-demo -e profile=personal -e "archive=$archive"
done

}
step upgrade && {
stage "downtime: upgrade.yml $OLD -> $PIN x$RUNS (each run: the host put back on $OLD first, as test_90 does)"
for i in $(seq 1 "$RUNS"); do
  # $OLD cannot open the stores the pin migrated: stopped, everything but config, bot token and workspace removed
  ssh_demo 'sudo systemctl --user -M user@.host stop openclaw-gateway-personal.service openclaw-gateway-ops.service;
    for p in personal ops; do sudo find /home/user/.openclaw-$p -mindepth 1 -maxdepth 1 ! -name openclaw.json \
      ! -name telegram-bot-token ! -name workspace -exec rm -rf {} +; done'
  demo_playbook playbooks/site.yml -e "clawdbot_install_version=$OLD" > "$OUT/downgrade-$i.log" 2>&1 \
    || { tail -30 "$OUT/downgrade-$i.log"; die "site.yml with $OLD failed"; }
  measured "upgrade $OLD -> $PIN" "$OUT/upgrade-$i.log" demo_playbook playbooks/upgrade.yml \
    -e "clawdbot_install_version=$PIN" -e "clawdbot_backup_dir=$OUT/upgrade-backups-$i"
done

}
step migration && {
stage "downtime: migrate-openclaw.yml from clawdbot 2026.1.24-3 x$MIGRATION_RUNS (a fresh demo host each run)"
for i in $(seq 1 "$MIGRATION_RUNS"); do
  "$HARNESS_DIR/demo.sh" destroy > /dev/null
  export HOMELAB_CLAWDBOT_FLAVOUR=clawdbot HOMELAB_CLAWDBOT_NODE_TARBALL
  HOMELAB_CLAWDBOT_NODE_TARBALL="$(prep_node)"
  "$HARNESS_DIR/demo.sh" container > "$OUT/legacy-container-$i.log" 2>&1 || { tail -20 "$OUT/legacy-container-$i.log"; die "demo container failed"; }
  demo_playbook playbooks/site.yml > "$OUT/legacy-$i.log" 2>&1 || { tail -30 "$OUT/legacy-$i.log"; die "site.yml on clawdbot failed"; }
  export HOMELAB_CLAWDBOT_FLAVOUR=openclaw
  HOMELAB_CLAWDBOT_NODE_TARBALL="$(prep_node)"
  measured "migration clawdbot -> openclaw" "$OUT/migrate-$i.log" demo_playbook playbooks/migrate-openclaw.yml \
    -e "clawdbot_backup_dir=$OUT/migrate-backups-$i"
done
"$HARNESS_DIR/demo.sh" destroy > /dev/null
openclaw_demo
}

stage "downtime: results (seconds a profile did not answer /healthz; medians of the runs)"
python3 - "$TSV" <<'PY' | tee "$OUT/table.md"
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, profile, seconds, outages = line.rstrip("\n").split("\t")[:4]
    rows.setdefault((name, profile), []).append((float(seconds), outages))
print("| what | profile | runs | median s | min | max | outages per run |")
print("|---|---|---:|---:|---:|---:|---|")
for (name, profile), vals in rows.items():
    secs = [v for v, _ in vals]
    print("| %s | %s | %d | %.1f | %.1f | %.1f | %s |" % (name, profile, len(vals), statistics.median(secs), min(secs),
                                                          max(secs), ", ".join(o for _, o in vals)))
PY
info "raw figures and logs: $OUT"
