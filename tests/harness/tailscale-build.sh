#!/usr/bin/env bash
# Build (once per machine and version, cached outside the repo) the real Tailscale software the tests and the demo
# run: the tailscale CLI and tailscaled from the official Go module tailscale.com, and the headscale control server
# from github.com/juanfont/headscale (no cgo: pure-Go SQLite). Nothing built here is committed.
# Two of upstream's own build tags leave out what would talk to Tailscale's servers from a test host (the test
# network has no internet, and test hosts send no traffic but to the scenario's own hosts): captive-portal detection
# (HTTP to controlplane.tailscale.com and the built-in DERP IPs) and the client updater. Serve, login, prefs and
# netstack are built as upstream ships them.
# Also copies upstream's systemd unit and its /etc/default file from the module (what upstream's Debian package
# installs), so the test hosts run tailscaled as that package runs it.
# Prints the directory holding bin/{tailscale,tailscaled,headscale}, share/tailscaled.{service,defaults} and tls/.
# A second caller waits for a build under way (a lock) and then uses it.
# shellcheck source=tests/harness/lib.sh
. "$(dirname "$0")/lib.sh"

PREFIX="$CACHE_DIR/tailscale/ts$TAILSCALE_VERSION-hs$HEADSCALE_VERSION"
mkdir -p "$PREFIX"
exec 9>"$PREFIX/.lock"
flock 9

# Names this recipe (build tags, version stamp, headscale's build): a cached build of an older recipe is made again.
RECIPE=ts-omit-captiveportal-clientupdate-stamped-v1
if [ ! -x "$PREFIX/bin/headscale" ] || [ ! -f "$PREFIX/share/tailscaled.service" ] ||
   [ "$(cat "$PREFIX/recipe" 2>/dev/null)" != "$RECIPE" ]; then
  command -v go >/dev/null || die "Go is needed to build tailscale and headscale (README: Requirements)"
  info "building tailscale/tailscaled v$TAILSCALE_VERSION and headscale v$HEADSCALE_VERSION (logs: $PREFIX/build*.log)"
  rm -rf "$PREFIX/bin.tmp" "$PREFIX/share"
  mkdir -p "$PREFIX/bin.tmp"
  # The two builds side by side: one's downloads and single-threaded links overlap the other's compiling (about a
  # minute less on 2 cores). GOCACHE and GOMODCACHE are safe for concurrent use.
  (
    # `go install headscale@v` also asks the proxy for the module's version list (a deprecation check), which the proxy
    # refuses for this module: the pinned version is downloaded (checksum-verified) and built in its own module.
    hs_dir=$(go mod download -json "github.com/juanfont/headscale@v$HEADSCALE_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])') &&
    # (built in its own module, it reports its version as "dev": it reads the version from the build info only)
    CGO_ENABLED=0 go -C "$hs_dir" build -trimpath -o "$PREFIX/bin.tmp/headscale" ./cmd/headscale
  ) > "$PREFIX/build-headscale.log" 2>&1 &
  hs_pid=$!
  # the version stamp as upstream's build_dist.sh sets it (without it: "1.102.5-ERR-BuildInfo")
  GOBIN="$PREFIX/bin.tmp" CGO_ENABLED=0 go install -trimpath -tags ts_omit_captiveportal,ts_omit_clientupdate \
    -ldflags "-X tailscale.com/version.longStamp=$TAILSCALE_VERSION -X tailscale.com/version.shortStamp=$TAILSCALE_VERSION" \
    "tailscale.com/cmd/tailscale@v$TAILSCALE_VERSION" "tailscale.com/cmd/tailscaled@v$TAILSCALE_VERSION" \
    > "$PREFIX/build.log" 2>&1 || { wait "$hs_pid" || true; tail -n 30 "$PREFIX/build.log" >&2; die "the tailscale build failed"; }
  wait "$hs_pid" || { tail -n 30 "$PREFIX/build-headscale.log" >&2; die "the headscale build failed"; }
  src="$(go env GOMODCACHE)/tailscale.com@v$TAILSCALE_VERSION/cmd/tailscaled"
  mkdir -p "$PREFIX/share"
  cp "$src/tailscaled.service" "$src/tailscaled.defaults" "$PREFIX/share/"
  rm -rf "$PREFIX/bin" && mv "$PREFIX/bin.tmp" "$PREFIX/bin"
  echo "$RECIPE" > "$PREFIX/recipe"
fi
# A test CA and a certificate for the headscale hosts of the scenarios and the demo: tailscaled reaches its control
# server over HTTPS on 443. (Over plain HTTP on another port, a login within two minutes of the node's last control
# connection, such as a login right after `tailscale logout`, never completes: tailscaled then dials only port 443 with
# TLS, upstream control/controlhttp/client.go forceNoise443, measured here.)
TLS_RECIPE=headscale-v1
if [ ! -f "$PREFIX/tls/headscale.pem" ] || [ "$(cat "$PREFIX/tls/recipe" 2>/dev/null)" != "$TLS_RECIPE" ]; then
  rm -rf "$PREFIX/tls" && mkdir -p "$PREFIX/tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=homelab-clawdbot tailnet test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" -keyout "$PREFIX/tls/ca.key" -out "$PREFIX/tls/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=headscale" -keyout "$PREFIX/tls/headscale.key" \
    -out "$PREFIX/tls/headscale.csr" 2>/dev/null
  printf '%s\n' 'subjectAltName=DNS:headscale,DNS:fleet-headscale,DNS:demo-headscale' 'basicConstraints=critical,CA:FALSE' \
    'keyUsage=critical,digitalSignature,keyEncipherment' 'extendedKeyUsage=serverAuth' \
    'subjectKeyIdentifier=hash' 'authorityKeyIdentifier=keyid,issuer' > "$PREFIX/tls/ext.cnf"
  openssl x509 -req -in "$PREFIX/tls/headscale.csr" -CA "$PREFIX/tls/ca.pem" -CAkey "$PREFIX/tls/ca.key" \
    -CAcreateserial -days 3650 -extfile "$PREFIX/tls/ext.cnf" -out "$PREFIX/tls/headscale.pem" 2>/dev/null
  chmod 0600 "$PREFIX/tls/"*.key
  echo "$TLS_RECIPE" > "$PREFIX/tls/recipe"
fi
"$PREFIX/bin/tailscale" version | head -n 1 | grep -qx "$TAILSCALE_VERSION" ||
  die "$PREFIX/bin/tailscale is not version $TAILSCALE_VERSION"
echo "$PREFIX"
