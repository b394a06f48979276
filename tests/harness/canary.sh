#!/usr/bin/env bash
# make canary: the default scenario's host, converged with openclaw@latest (the npm dist-tag) instead of the pin,
# and its core checks (molecule/default/tests/test_10_host.py and playbooks/health.yml). Not part of CI: latest
# moves. It is the step before bumping the pin (docs/testing.md). Prints which version was tried and what broke;
# exits non-zero when something did. The instances are destroyed at the end either way.
# Needs the venv, dockerd, the image and the artefacts (run.sh canary prepares them).
# shellcheck source=tests/harness/lib.sh
. "$(dirname "$0")/lib.sh"

tag="${CANARY_TAG:-latest}"
version=$(python3 - "$tag" <<'EOF'
import json, os, ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=os.environ.get("NODE_EXTRA_CA_CERTS") or None)
with urllib.request.urlopen("https://registry.npmjs.org/openclaw/" + sys.argv[1], context=ctx, timeout=60) as r:
    print(json.load(r)["version"])
EOF
) || die "could not read openclaw@$tag from the npm registry"
"$HARNESS_DIR/link-collection.sh" >/dev/null
pin=$(PYTHONPATH="$REPO_ROOT/.ansible/collections" python3 -c \
      'from ansible_collections.homelab.clawdbot.plugins.module_utils.flavours import get_flavour as f; print(f("openclaw")["version"])')
stage "canary: openclaw@$tag is $version (the collection pins $pin)"
export HOMELAB_CLAWDBOT_CANARY_VERSION="$version"

declare -a broke=()
log=$(mktemp "${TMPDIR:-/tmp}/canary.XXXXXX.log")
# the first failed task of a log, with its message
first_failure() {
  sed -E 's/\x1b\[[0-9;]*m//g; s/^[[:space:]]*│[[:space:]]?//' "$1" | grep -E -A6 '^(fatal|failed): ' | head -n 7 |
    tr -s ' \n' ' ' | cut -c1-700
}
cd "$REPO_ROOT"
molecule destroy -s default >/dev/null 2>&1 || true
stage "canary: molecule create, prepare and converge (log: $log)"
if ! { molecule create -s default && molecule prepare -s default; } >>"$log" 2>&1; then
  broke+=("the test containers did not come up, before openclaw was installed: $(first_failure "$log")")
elif ! molecule converge -s default >>"$log" 2>&1; then
  broke+=("converge (site.yml): $(first_failure "$log")")
else
  eph=$(ls -td "$HOME"/.ansible/tmp/molecule.*.default | head -1)
  export MOLECULE_EPHEMERAL_DIRECTORY="$eph" MOLECULE_INVENTORY_FILE="$eph/inventory/ansible_inventory.yml"
  export MOLECULE_PROJECT_DIRECTORY="$REPO_ROOT" MOLECULE_SCENARIO_DIRECTORY="$REPO_ROOT/molecule/default"
  stage "canary: core checks (molecule/default/tests/test_10_host.py)"
  out=$(python -m pytest -q -p no:cacheprovider --ansible-inventory="$MOLECULE_INVENTORY_FILE" --connection=ansible \
          molecule/default/tests/test_10_host.py 2>&1) && rc=0 || rc=$?
  printf '%s\n' "$out" >>"$log"
  printf '%s\n' "$out" | grep -E '^(FAILED|ERROR) |^E  +|[0-9]+ (passed|failed)' | head -n 40 || true
  [ "$rc" = 0 ] || broke+=("test_10_host: $(printf '%s\n' "$out" | grep -E '^(FAILED|ERROR) ' |
                               sed -E 's/^(FAILED|ERROR) [^:]*::([^ ]*).*/\2/' | tr '\n' ' ')")
  stage "canary: playbooks/health.yml"
  out=$(ANSIBLE_CONFIG="$eph/ansible.cfg" ansible-playbook -i "$MOLECULE_INVENTORY_FILE" playbooks/health.yml 2>&1) &&
    rc=0 || rc=$?
  printf '%s\n' "$out" >>"$log"
  # the report's lines (the Report task's msg list) and the recap
  printf '%s\n' "$out" | sed -E 's/\x1b\[[0-9;]*m//g' |
    sed -n '/TASK \[Report\]/,/TASK \[/p' | grep -vE '^TASK|^ok:|^ *msg:|^ *$' | head -n 40 || true
  printf '%s\n' "$out" | sed -E 's/\x1b\[[0-9;]*m//g' | grep -E '^vm102 +:' || true
  [ "$rc" = 0 ] || broke+=("health.yml (rc $rc): $(first_failure <(printf '%s\n' "$out"))")
fi
molecule destroy -s default >/dev/null 2>&1 || true
if [ ${#broke[@]} -eq 0 ]; then
  stage "canary: openclaw $version passed converge, test_10_host and health.yml (pin: $pin)"
  rm -f "$log"
else
  stage "canary: openclaw $version BROKE (pin: $pin; log: $log)"
  for b in "${broke[@]}"; do info "- $b"; done
  exit 1
fi
