#!/usr/bin/env bash
# `make ssh-check` (a stage of `make test`): the collection over SSH as a non-root admin with become, as VM105 runs
# it against VM102. The molecule scenarios connect with `docker exec` as root; this stage uses the demo container
# (Debian 12 with sshd, an `admin` account with sudo, no acl; tests/harness/demo.sh) and inventories/demo:
#   1. site.yml on the fresh container (openclaw, two profiles), then again: changed=0;
#   2. backup.yml -e profile=personal: the archive reaches the controller. Its manifest is written as the gateway
#      user through become, which needs acl when the connection user is not root (clawdbot_install installs it;
#      without it the copy fails with "Failed to set permissions on the temporary files");
#   3. health.yml: every gateway OK.
# The container is removed at the end (it is make demo's container: a running demo is replaced).
# shellcheck source=tests/harness/lib.sh
. "$(dirname "$0")/lib.sh"

PORT="${DEMO_SSH_PORT:-2222}"
KEY="$CACHE_DIR/demo/id_ed25519"
"$HARNESS_DIR/ensure-venv.sh"
activate_venv
work=$(mktemp -d)
trap 'rm -rf "$work"; "$HARNESS_DIR/demo.sh" destroy >/dev/null' EXIT
# the tailscale CLI test double: this stage proves SSH and become; the scenarios run the real tailscaled
export DEMO_SSH_PORT="$PORT" DEMO_SSH_KEY="$KEY" ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 DEMO_TAILSCALE=double
# .tar.xz: the same tarball the molecule stage uses (one pack of Node 24 per cold run)
HOMELAB_CLAWDBOT_NODE_TARBALL="$(NODE_DIST_FORMAT=xz NODE_DIST_VERSION="$(demo_node_version)" "$HARNESS_DIR/prepare-node.sh")"
export HOMELAB_CLAWDBOT_NODE_TARBALL

stage "ssh: a fresh demo container (admin over SSH on 127.0.0.1:$PORT, sudo, no acl)"
"$HARNESS_DIR/demo.sh" destroy >/dev/null
"$HARNESS_DIR/demo.sh" container > "$work/container.log" 2>&1 || { tail -20 "$work/container.log"; die "demo container failed"; }
docker exec vm102-demo dpkg -s acl >/dev/null 2>&1 && die "the demo image has acl: this stage would not prove its install"

playbook() {  # playbook LOG ARGS...: run it over SSH as admin; a failure stops the stage with the log's end
  local log="$work/$1"
  shift
  (cd "$REPO_ROOT" && ansible-playbook -i inventories/demo "$@") > "$log" 2>&1 || { tail -40 "$log" >&2; die "ansible-playbook $* failed over SSH"; }
  grep -E '^vm102-demo +: ok=' "$log" | tail -1
}

stage "ssh: site.yml over SSH as admin with become"
info "$(playbook converge.log playbooks/site.yml)"
docker exec vm102-demo dpkg -s acl >/dev/null 2>&1 || die "site.yml did not install acl"
stage "ssh: site.yml again (no change)"
recap=$(playbook noop.log playbooks/site.yml)
info "$recap"
grep -qE 'changed=0 +unreachable=0 +failed=0' <<<"$recap" || die "the re-run over SSH changed something: $recap"

stage "ssh: backup.yml over SSH (the manifest is written as the gateway user: needs acl)"
info "$(playbook backup.log playbooks/backup.yml -e profile=personal -e "clawdbot_backup_dir=$work/backups")"
archive=$(find "$work/backups" -name 'vm102-demo-personal-*.tar.gz' | head -1)
[ -n "$archive" ] || die "backup.yml reported success but no archive reached $work/backups"
# (grep reads the whole list: with -q it would stop at the first line and tar, still writing, fail on SIGPIPE)
tar -tzf "$archive" | grep -x 'MANIFEST.json' >/dev/null || die "$archive has no MANIFEST.json"
info "archive on the controller: $(basename "$archive") ($(stat -c %s "$archive") bytes, with MANIFEST.json)"

stage "ssh: health.yml over SSH"
info "$(playbook health.log playbooks/health.yml)"
grep -q "personal: OK" "$work/health.log" && grep -q "ops: OK" "$work/health.log" ||
  { tail -30 "$work/health.log" >&2; die "health.yml did not report both gateways OK"; }
info "health.yml: personal OK, ops OK"
