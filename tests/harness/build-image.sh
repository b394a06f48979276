#!/usr/bin/env bash
# Build the systemd test base image once with debootstrap (no container registry is reachable)
# and `docker import` it. The image is rebuilt only when this recipe or the host CA bundle changes.
# shellcheck source=tests/harness/lib.sh
. "$(dirname "$0")/lib.sh"

# The variant (first argument):
#   full     Debian 12 (bookworm) with the tools the tests and the legacy hosts have (the default; the clawdbot
#            scenario, the Spark stand-in and `make demo` use it);
#   minimal  Debian 13 (trixie) with only what a fresh cloud VM has: systemd, dbus, python3, SSH, curl. No git,
#            dbus-user-session, libpam-systemd, acl, xz-utils or sudo: the roles install what they need (the
#            default scenario's gateway host).
VARIANT="${1:-full}"
HOST_CA_BUNDLE="${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
case "$VARIANT" in
  full)
    SUITE=bookworm
    DEFAULT_REPO=homelab-clawdbot/debian12-systemd
    PACKAGES=(
      systemd systemd-sysv libpam-systemd dbus dbus-user-session
      python3 python3-apt python3-debian sudo git ca-certificates openssh-server
      iproute2 procps curl xz-utils gzip libgomp1 libssl3 less
    ) ;;
  minimal)
    SUITE=trixie
    DEFAULT_REPO=homelab-clawdbot/debian13-minimal
    PACKAGES=(systemd systemd-sysv dbus python3 ca-certificates openssh-server iproute2 procps curl gzip less) ;;
  ee)
    # The base of the execution environment `make ee-test` builds with ansible-builder (no registry is reachable):
    # Python 3.11 with pip (and ensurepip, which ansible-builder's pip_install runs), the SSH client, and apt behind a dnf-shaped front (tests/harness/ee/apt-dnf).
    SUITE=bookworm
    DEFAULT_REPO=homelab-clawdbot/ee-base
    PACKAGES=(python3.11 python3.11-venv python3-pip openssh-client ca-certificates) ;;
  *) die "unknown image variant '$VARIANT' (full|minimal|ee)" ;;
esac
IMAGE_REPO="${HOMELAB_CLAWDBOT_IMAGE_REPO:-$DEFAULT_REPO}"
IMAGE_TAG="${HOMELAB_CLAWDBOT_IMAGE_TAG:-test}"

debian_mirror() {
  # Use the mirror the host's apt already uses (the Debian archive is reachable, nothing else is).
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
  local uri
  uri=$( { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}';
           grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}'; } |
         grep -E '/debian/?$' | head -n1 )
  [ -n "$uri" ] || die "cannot find a Debian mirror in the host's apt sources; set DEBIAN_MIRROR"
  echo "${uri%/}"
}

recipe_hash() {
  { cat "$0"; echo "$VARIANT $SUITE"; [ "$VARIANT" != ee ] || cat "$HARNESS_DIR/ee/apt-dnf"; printf '%s\n' "${PACKAGES[@]}"; cat "$HOST_CA_BUNDLE"; } | sha256sum | cut -c1-16
}

main() {
  local want have mirror
  want=$(recipe_hash)
  have=$(docker image inspect --format '{{ index .Config.Labels "homelab.recipe" }}' "$IMAGE_REPO:$IMAGE_TAG" 2>/dev/null || true)
  if [ "$have" = "$want" ]; then
    info "image $IMAGE_REPO:$IMAGE_TAG is up to date (recipe $want), reusing it"
    return 0
  fi
  command -v debootstrap >/dev/null || die "debootstrap missing (ensure-host.sh installs it)"
  mirror=$(debian_mirror)
  rootfs="$CACHE_DIR/rootfs.$$"
  info "building $IMAGE_REPO:$IMAGE_TAG (recipe $want) from $SUITE via debootstrap"
  trap 'umount -R "$rootfs/proc" 2>/dev/null || true; rm -rf "${rootfs:?}"' EXIT
  local inc
  inc=$(IFS=,; echo "${PACKAGES[*]}")
  debootstrap --variant=minbase --include="$inc" "$SUITE" "$rootfs" "$mirror" > "$CACHE_DIR/debootstrap-$VARIANT.log" 2>&1 ||
    { tail -n 30 "$CACHE_DIR/debootstrap-$VARIANT.log" >&2; die "debootstrap failed (log: $CACHE_DIR/debootstrap-$VARIANT.log)"; }

  # Trust the host's CA bundle (outbound TLS here is re-signed by a local CA); keep it across
  # update-ca-certificates runs by also installing it as a local certificate.
  install -m 0644 "$HOST_CA_BUNDLE" "$rootfs/usr/local/share/ca-certificates/homelab-test-host-bundle.crt"
  install -m 0644 "$HOST_CA_BUNDLE" "$rootfs/etc/ssl/certs/ca-certificates.crt"
  cat > "$rootfs/etc/apt/sources.list" <<SRC
deb $mirror $SUITE main
deb $mirror $SUITE-updates main
SRC
  # A container has no consoles or hardware; keep the boot quiet and fast.
  for unit in getty@tty1.service console-getty.service systemd-udevd.service systemd-udev-trigger.service \
              systemd-modules-load.service sys-kernel-config.mount sys-kernel-debug.mount \
              systemd-remount-fs.service systemd-firstboot.service apt-daily.timer apt-daily-upgrade.timer; do
    ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
  done
  : > "$rootfs/etc/machine-id"
  echo "homelab-test" > "$rootfs/etc/hostname"
  if [ "$VARIANT" = ee ]; then
    install -m 0755 "$HARNESS_DIR/ee/apt-dnf" "$rootfs/usr/local/bin/apt-dnf"
    # pip trusts the host bundle (outbound TLS is re-signed here), as apt does
    printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > "$rootfs/etc/pip.conf"
  fi
  rm -f "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*_Packages 2>/dev/null || true

  tar -C "$rootfs" -c . | docker import \
    --change 'ENV container=docker' \
    --change 'CMD ["/lib/systemd/systemd"]' \
    --change "LABEL homelab.recipe=$want" \
    - "$IMAGE_REPO:$IMAGE_TAG" > /dev/null
  info "built $IMAGE_REPO:$IMAGE_TAG"
}
main "$@"
