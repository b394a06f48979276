#!/usr/bin/env bash
# `make demo`: a local VM102 stand-in. Starts (or reuses) the systemd container vm102-demo with SSH
# published on a loopback port, runs playbooks/site.yml against inventories/demo over SSH (as VM105
# does against VM102), then shows what runs and how to reach it.
# Usage: demo.sh up|container|summary|destroy   (container: only the container, SSH and the admin account; summary:
# what runs on it and how to reach it, as `up` ends)
# DEMO_NAME and DEMO_SSH_PORT name another container and port (make bench's three-host runs: vm102-demo2 on 2223, ...).
# Tailscale is real: the containers share the network homelab-clawdbot-demo with a headscale container (demo-headscale,
# molecule/shared/tailnet.yml), and site.yml logs each demo host in. DEMO_TAILSCALE=double (make ssh-check) installs the
# collection's tailscale CLI test double instead, already "logged in".
# shellcheck source=tests/harness/lib.sh
. "$(dirname "$0")/lib.sh"

NAME="${DEMO_NAME:-vm102-demo}"
NETWORK=homelab-clawdbot-demo
HEADSCALE="$DEMO_HEADSCALE"
demo_tailnet_env
PORT="${DEMO_SSH_PORT:-2222}"
KEY="$CACHE_DIR/demo/id_ed25519"
IMAGE="homelab-clawdbot/debian12-systemd:test"

destroy() {
  docker rm -f "$NAME" >/dev/null 2>&1 && info "removed $NAME" || info "$NAME does not exist"
  # the tailnet goes with the last demo host
  if [ -z "$(docker ps -aq --filter network=$NETWORK --filter name=vm102-demo)" ]; then
    docker rm -f "$HEADSCALE" >/dev/null 2>&1 && info "removed $HEADSCALE" || true
    docker network rm "$NETWORK" >/dev/null 2>&1 || true
  fi
}

systemd_container() {  # systemd_container NAME [docker run options...]: start it unless it runs
  local name=$1
  shift
  if [ "$(docker inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" != "true" ]; then
    docker rm -f "$name" >/dev/null 2>&1 || true
    docker run -d --name "$name" --hostname "$name" --network "$NETWORK" \
      --cap-add SYS_ADMIN --cgroupns host -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
      --tmpfs /run --tmpfs /run/lock "$@" "$IMAGE" /lib/systemd/systemd >/dev/null
    info "started $name"
  else
    info "reusing the running $name"
  fi
}

# headscale in its own container and tailscaled (logged out) on the demo host: the playbook the scenarios use.
tailnet() {
  stage "demo: the tailnet (headscale in $HEADSCALE, tailscaled on $NAME)"
  # (waits for the build container() started, if it is still under way; tailscale-build.sh holds a lock)
  HOMELAB_CLAWDBOT_TAILSCALE_DIR="$("$HARNESS_DIR/tailscale-build.sh")" ||
    { [ -z "$tailscale_log" ] || tail -30 "$tailscale_log" >&2; die "the tailscale/headscale build failed"; }
  export HOMELAB_CLAWDBOT_TAILSCALE_DIR
  systemd_container "$HEADSCALE"
  local inv
  inv=$(mktemp "${TMPDIR:-/tmp}/demo-tailnet.XXXXXX.yml")
  cat > "$inv" <<YML
all:
  vars:
    ansible_connection: community.docker.docker
    tailnet_server_url: https://$HEADSCALE
    tailnet_base_domain: tailnet.homelab.test
    tailnet_user: demo
    tailnet_auth_key_file: $DEMO_TAILNET_KEY_FILE
  children:
    tailnet_control: {hosts: {$HEADSCALE: {}}}
    tailnet_nodes: {hosts: {$NAME: {}}}
YML
  (cd "$REPO_ROOT" && ansible-playbook -i "$inv" molecule/shared/tailnet.yml) > "$inv.log" 2>&1 ||
    { tail -30 "$inv.log" >&2; rm -f "$inv"; die "the demo's tailnet failed (log: $inv.log)"; }
  rm -f "$inv" "$inv.log"
}

# The container with SSH and the admin account, nothing of the collection applied yet (`demo.sh container`).
# openclaw (default) runs on Node 24, the legacy clawdbot (HOMELAB_CLAWDBOT_FLAVOUR=clawdbot) on Node 22.
tailscale_log="" tailscale_pid="" defer_tailnet="" tailnet_deferred=""
container() {
  stage "demo: docker; then the toolchain, the image and the Node tarball side by side (the Tailscale software in the background)"
  "$HARNESS_DIR/ensure-host.sh"
  # The Go build of tailscale, tailscaled and headscale (minutes when it is not cached) goes on while the rest is made.
  if [ "${DEMO_TAILSCALE:-real}" != double ]; then
    tailscale_log=$(mktemp "${TMPDIR:-/tmp}/demo-tailscale-build.XXXXXX.log")
    "$HARNESS_DIR/tailscale-build.sh" > "$tailscale_log" 2>&1 &
    tailscale_pid=$!
  fi
  side_by_side venv:prep_venv image:prep_image node:prep_node
  activate_venv
  HOMELAB_CLAWDBOT_NODE_TARBALL="$(prep_node)"
  export HOMELAB_CLAWDBOT_NODE_TARBALL

  stage "demo: container $NAME (SSH on 127.0.0.1:$PORT)"
  mkdir -p "$(dirname "$KEY")"
  [ -f "$KEY" ] || ssh-keygen -q -t ed25519 -N '' -C vm105-demo -f "$KEY"
  docker network inspect "$NETWORK" >/dev/null 2>&1 || docker network create "$NETWORK" >/dev/null
  systemd_container "$NAME" -p "127.0.0.1:$PORT:22"
  # The admin account VM105 uses (sudo), with our key.
  docker exec -i "$NAME" bash -s "$(cat "$KEY.pub")" <<'SH'
set -e
for _ in $(seq 1 30); do systemctl is-system-running --quiet 2>/dev/null && break; s=$(systemctl is-system-running 2>/dev/null || true); [ "$s" = degraded ] && break; sleep 1; done
id admin >/dev/null 2>&1 || useradd -m -s /bin/bash admin
echo 'admin ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/admin && chmod 0440 /etc/sudoers.d/admin
install -d -m 0700 -o admin -g admin /home/admin/.ssh
echo "$1" > /home/admin/.ssh/authorized_keys && chown admin:admin /home/admin/.ssh/authorized_keys && chmod 0600 /home/admin/.ssh/authorized_keys
systemctl enable --now ssh >/dev/null 2>&1 || systemctl start ssh
SH
  if [ "${DEMO_TAILSCALE:-real}" = double ]; then
    docker cp "$REPO_ROOT/tests/doubles/tailscale/tailscale" "$NAME:/usr/local/bin/tailscale"
    docker exec "$NAME" sh -c "test -f /var/lib/tailscale-double/state.json || tailscale __double init --hostname=$NAME --tailnet=tail1234ab.ts.net"
  elif [ -n "$defer_tailnet" ] && kill -0 "$tailscale_pid" 2>/dev/null; then
    # (up: the gateways first, while the build goes on; the tailnet and Serve when it is done)
    info "tailscale and headscale are still being built (log: $tailscale_log): the tailnet comes after a first site.yml"
    tailnet_deferred=1
  else
    tailnet
  fi
  for _ in $(seq 1 30); do ssh_demo true 2>/dev/null && break; sleep 1; done
  ssh_demo true || die "cannot ssh to admin@127.0.0.1:$PORT"
}

site() {  # site [ansible-playbook options...]: site.yml against the demo host, over SSH
  (cd "$REPO_ROOT" && DEMO_SSH_PORT="$PORT" DEMO_SSH_KEY="$KEY" ansible-playbook -i inventories/demo playbooks/site.yml "$@")
}

up() {
  defer_tailnet=1
  container
  if [ -n "$tailnet_deferred" ]; then
    # When the Go build is not cached yet (minutes), the gateways are made while it runs, as an admin who adds
    # Tailscale to a running host would: site.yml without Serve, then the tailnet, then site.yml with Serve (a re-run:
    # the roles see nothing to change, Serve logs the host in and serves the profiles).
    stage "demo: ansible-playbook playbooks/site.yml -i inventories/demo -e clawdbot_tailscale_serve=false (over SSH; Tailscale is still being built)"
    site -e clawdbot_tailscale_serve=false
    tailnet
    stage "demo: ansible-playbook playbooks/site.yml -i inventories/demo (over SSH), now with Tailscale Serve"
  else
    stage "demo: ansible-playbook playbooks/site.yml -i inventories/demo (over SSH)"
  fi
  site
  summary
}

# What runs on the demo host and how to reach it (`demo.sh summary`, the end of `demo.sh up`). The commands in the
# quotes run in the demo host's shell, where none of lib.sh's functions exist: what they need is expanded here.
summary() {
  stage "demo: what is running on $NAME"
  ssh_demo "sudo -u user XDG_RUNTIME_DIR=/run/user/\$(id -u user) systemctl --user list-units '$(demo_unit_prefix)-*' --no-legend --no-pager; echo; echo 'listeners:'; sudo ss -Hltn | grep -v ':22 ' || true"
  echo "tailnet (what tailscaled on $NAME reports):"
  ssh_demo "tailscale serve status; tailscale status --self --peers=false" || true
  cat <<MSG

  $NAME is up. From this machine (VM105's role):
    ssh -p $PORT -i $KEY admin@127.0.0.1
  Control UI through an SSH tunnel (runbook "Fallback: Remote Admin via SSH tunnel"):
    ssh -p $PORT -i $KEY -N -L 18789:127.0.0.1:18789 admin@127.0.0.1    # then http://127.0.0.1:18789/
  The gateway token of a profile (kept 0600 on the host):
    ssh -p $PORT -i $KEY admin@127.0.0.1 sudo python3 -c "'import json;print(json.load(open(\"$(demo_config personal)\"))[\"gateway\"][\"auth\"][\"token\"])'"
  Tailscale is real: tailscaled (userspace networking) on $NAME, logged in by the role to the headscale in
  $HEADSCALE. The tailnet URLs above are what the daemon reports; headscale issues no HTTPS certificates,
  so a browser cannot complete a TLS handshake through Serve here (on a Tailscale tailnet it can).
  Remove it with: make demo-destroy
MSG
}

case "${1:-up}" in
  up) up ;;
  container) container ;;
  summary) summary ;;
  destroy) destroy ;;
  *) die "usage: demo.sh up|container|summary|destroy" ;;
esac
