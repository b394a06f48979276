#!/usr/bin/env bash
# Make this machine able to run the tests: docker.io + debootstrap installed, dockerd running.
# When this script starts dockerd it records that, so stop-docker.sh stops only what we started.
# shellcheck source=tests/harness/lib.sh
. "$(dirname "$0")/lib.sh"

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v docker >/dev/null 2>&1 || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
  info "installing ${need[*]} with apt-get"
  [ "$(id -u)" = 0 ] || die "need root to apt-get install ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if docker info >/dev/null 2>&1; then
  info "dockerd is running"
else
  info "starting dockerd (log: $STATE_DIR/dockerd.log)"
  # The Debian package pulls in containerd; dockerd starts its own when none runs.
  nohup dockerd >"$STATE_DIR/dockerd.log" 2>&1 &
  echo $! > "$STATE_DIR/dockerd.started-by-harness"
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { tail -n 20 "$STATE_DIR/dockerd.log" >&2; die "dockerd did not come up"; }
fi
