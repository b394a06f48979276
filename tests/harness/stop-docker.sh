#!/usr/bin/env bash
# Stop dockerd only if ensure-host.sh started it.
# shellcheck source=tests/harness/lib.sh
. "$(dirname "$0")/lib.sh"
marker="$STATE_DIR/dockerd.started-by-harness"
[ -f "$marker" ] || exit 0
pid=$(cat "$marker")
rm -f "$marker"
if kill -0 "$pid" 2>/dev/null; then
  info "stopping the dockerd this harness started (pid $pid)"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
fi
