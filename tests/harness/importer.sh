#!/usr/bin/env bash
# `make importer` (a stage of `make test`): what Galaxy runs when the collection is published, on the tarball
# `ansible-galaxy collection build` makes:
#   - galaxy-importer (pinned, in its own virtualenv: it brings its own ansible-core and ansible-lint), which refuses
#     e.g. a role without README.md or a plugin whose documentation does not load;
#   - antsibull-docs lint-collection-docs (from the pinned toolchain) on the collection's plugin and role docs.
# Both fail the stage on any error.
# shellcheck source=tests/harness/lib.sh
. "$(dirname "$0")/lib.sh"

IMPORTER_VERSION=0.4.44
IMPORTER_VENV="$CACHE_DIR/importer-venv-$IMPORTER_VERSION"

"$HARNESS_DIR/ensure-venv.sh"
tool_venv "$IMPORTER_VENV" "galaxy-importer==$IMPORTER_VERSION"
activate_venv

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The tarball from exactly what git tracks (and new files not ignored), as `make build` would make it in CI.
mkdir -p "$work/dist"
checkout_copy "$work/src"
ansible-galaxy collection build --force --output-path "$work/dist" "$work/src" >/dev/null
tarball=$(ls "$work"/dist/homelab-clawdbot-*.tar.gz)
cat > "$work/galaxy-importer.cfg" <<CFG
[galaxy-importer]
RUN_ANSIBLE_TEST = False
RUN_ANSIBLE_LINT = True
LOG_LEVEL_MAIN = INFO
CFG

stage "importer: galaxy-importer $IMPORTER_VERSION on $(basename "$tarball")"
(cd "$work" && GALAXY_IMPORTER_CONFIG="$work/galaxy-importer.cfg" PATH="$IMPORTER_VENV/bin:$PATH" \
   "$IMPORTER_VENV/bin/python" -m galaxy_importer.main "$tarball") > "$work/importer.log" 2>&1 ||
  { grep -E "ERROR|WARNING|Error" "$work/importer.log" | tail -30 >&2; die "galaxy-importer refused the collection"; }
grep -q "Importer processing completed successfully" "$work/importer.log" || { tail -30 "$work/importer.log" >&2; die "galaxy-importer did not finish"; }
info "galaxy-importer: $(tail -1 "$work/importer.log")"

stage "importer: antsibull-docs lint-collection-docs (plugin and role docs)"
mkdir -p "$work/tree/ansible_collections/homelab"
tar -xzf "$tarball" --one-top-level="$work/tree/ansible_collections/homelab/clawdbot"
(cd "$work/tree/ansible_collections/homelab/clawdbot" && ANSIBLE_COLLECTIONS_PATH="$work/tree" \
   antsibull-docs lint-collection-docs --plugin-docs --skip-rstcheck .) || die "antsibull-docs lint-collection-docs found errors"
info "antsibull-docs lint-collection-docs: no errors"
