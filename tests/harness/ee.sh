#!/usr/bin/env bash
# `make ee-test` (not part of `make test`; docs/execution-environment.md): the execution environment for real.
#   1. the base image: Debian 12 with Python 3.11, pip and the SSH client, built here with debootstrap (no container
#      registry is reachable), with apt behind a dnf-shaped front (tests/harness/ee/apt-dnf) for ansible-builder;
#   2. `ansible-builder build` of execution-environment.yml as shipped, except that the collections come from local
#      tarballs instead of Galaxy (unreachable here): this collection from `ansible-galaxy collection build`, and
#      ansible.posix and community.general as installed by the pinned `ansible` package; and `skip_pip_install`
#      (pip comes from Debian's python3-pip, and Debian disables the ensurepip that step runs). The base image and the
#      package manager are passed as build arguments (EE_BASE_IMAGE, PKGMGR);
#   3. `ansible-navigator run playbooks/site.yml --eei <image> --pull-policy never -m stdout` against a fresh demo
#      container (SSH, like VM105 -> VM102): the first converge, then EE_RUNS (default 3) no-op runs that must report
#      changed=0, each next to a plain ansible-playbook no-op run on the same container.
# Prints the times (medians) at the end.
# shellcheck source=tests/harness/lib.sh
. "$(dirname "$0")/lib.sh"

BUILDER_VERSION=3.2.0
NAVIGATOR_VERSION=26.10.0
EE_VENV="$CACHE_DIR/ee-venv-$BUILDER_VERSION-$NAVIGATOR_VERSION"
EE_IMAGE="${EE_IMAGE:-homelab-clawdbot-ee:test}"
BASE_IMAGE=homelab-clawdbot/ee-base:test
RUNS="${EE_RUNS:-3}"
PORT="${DEMO_SSH_PORT:-2222}"
KEY="$CACHE_DIR/demo/id_ed25519"

"$HARNESS_DIR/ensure-venv.sh"
tool_venv "$EE_VENV" "ansible-builder==$BUILDER_VERSION" "ansible-navigator==$NAVIGATOR_VERSION"
# dockerd stays up afterwards (the demo container keeps running for a look; make demo-destroy removes it)
"$HARNESS_DIR/ensure-host.sh"
stage "ee: base image $BASE_IMAGE"
"$HARNESS_DIR/build-image.sh" ee

activate_venv
work=$(mktemp -d)
trap 'rc=$?; if [ "$rc" = 0 ]; then rm -rf "$work"; else echo "the work directory is kept for a look: $work" >&2; fi' EXIT
mkdir -p "$work/build"
checkout_copy "$work/src"
ansible-galaxy collection build --force --output-path "$work/build" "$work/src" >/dev/null
site=$(python -c 'import ansible_collections, os; print(os.path.dirname(ansible_collections.__path__[0]))')
# The two collections as the pinned `ansible` package installed them, packed as Galaxy artifacts. That package drops
# some files its FILES.json lists (CI configs), so the manifest is rewritten to what is there, with fresh checksums.
python - "$site" "$work/build" ansible.posix community.general <<'PY'
import hashlib, io, json, os, sys, tarfile
site, out = sys.argv[1], sys.argv[2]
for fq in sys.argv[3:]:
    root = os.path.join(site, "ansible_collections", *fq.split("."))
    manifest = json.load(open(os.path.join(root, "MANIFEST.json")))
    files = json.load(open(os.path.join(root, "FILES.json")))
    kept = []
    for entry in files["files"]:
        path = os.path.join(root, entry["name"])
        if entry["ftype"] == "dir" and (entry["name"] == "." or os.path.isdir(path)):
            kept.append(entry)
        elif entry["ftype"] == "file" and os.path.isfile(path):
            entry["chksum_sha256"] = hashlib.sha256(open(path, "rb").read()).hexdigest()
            kept.append(entry)
    files["files"] = kept
    files_json = json.dumps(files, indent=4).encode()
    manifest["file_manifest_file"]["chksum_sha256"] = hashlib.sha256(files_json).hexdigest()
    info = manifest["collection_info"]
    target = os.path.join(out, "%s-%s-%s.tar.gz" % (info["namespace"], info["name"], info["version"]))
    with tarfile.open(target, "w:gz") as tar:
        for name, data in (("MANIFEST.json", json.dumps(manifest, indent=4).encode()), ("FILES.json", files_json)):
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode = len(data), 0o644
            tar.addfile(ti, io.BytesIO(data))
        for entry in kept:
            if entry["name"] != ".":
                tar.add(os.path.join(root, entry["name"]), arcname=entry["name"], recursive=False)
    print("    %s (%d files)" % (os.path.basename(target), len(kept)))
PY
# The shipped definition with the Galaxy collections replaced by the tarballs above.
python - "$REPO_ROOT/execution-environment.yml" "$work" <<'PY'
import glob, os, sys, yaml
src, work = sys.argv[1], sys.argv[2]
with open(src) as fh:
    ee = yaml.safe_load(fh)
files = sorted(os.path.basename(p) for p in glob.glob(os.path.join(work, "build", "*.tar.gz")))
ee["dependencies"]["galaxy"]["collections"] = [{"name": "/build/collections/" + f, "type": "file"} for f in files]
ee["additional_build_files"] = [{"src": "build/" + f, "dest": "collections"} for f in files]
# Debian's python3-pip is in the base; Debian disables ensurepip for the system Python, which builder's pip step runs.
ee.setdefault("options", {})["skip_pip_install"] = True
with open(os.path.join(work, "execution-environment.yml"), "w") as fh:
    yaml.safe_dump(ee, fh, sort_keys=False)
PY

stage "ee: ansible-builder build -> $EE_IMAGE (log: $work/builder.log is printed on failure)"
t0=$(date +%s.%N)
(cd "$work" && "$EE_VENV/bin/ansible-builder" build -f execution-environment.yml -t "$EE_IMAGE" --context context \
   --container-runtime docker -v 2 --build-arg "EE_BASE_IMAGE=$BASE_IMAGE" --build-arg PKGMGR=/usr/local/bin/apt-dnf \
   --build-arg ANSIBLE_GALAXY_CLI_COLLECTION_OPTS=--offline) > "$work/builder.log" 2>&1 ||
  { tail -40 "$work/builder.log" >&2; die "ansible-builder build failed"; }
build_s=$(python -c "import time; print(round(time.time() - $t0, 1))")
info "built $EE_IMAGE in ${build_s}s"
info "collections in the image: $(docker run --rm -e HOME=/tmp --entrypoint ansible-galaxy "$EE_IMAGE" collection list \
  -p /usr/share/ansible/collections 2>/dev/null | awk 'NF == 2 && $1 ~ /[.]/ { printf "%s %s  ", $1, $2 }')"

stage "ee: a fresh demo container (SSH on 127.0.0.1:$PORT)"
# the tailscale CLI double, as before the demo had a real tailnet: the EE would also need the tailnet's key file and
# CA mounted (not done; the real tailnet is proven by the scenarios and make demo)
export DEMO_TAILSCALE=double
"$HARNESS_DIR/demo.sh" destroy >/dev/null
"$HARNESS_DIR/demo.sh" container > "$work/container.log" 2>&1 || { tail -20 "$work/container.log"; die "demo container failed"; }
export DEMO_SSH_PORT="$PORT" DEMO_SSH_KEY="$KEY" ANSIBLE_NOCOLOR=1
HOMELAB_CLAWDBOT_NODE_TARBALL="$(NODE_DIST_VERSION="$(demo_node_version)" "$HARNESS_DIR/prepare-node.sh")"
export HOMELAB_CLAWDBOT_NODE_TARBALL

# The EE reaches the demo's published SSH port on the host's loopback (--network=host), reads the key and the Node
# tarball through read-only mounts, and uses the collection installed in the image, not this checkout. The records
# of the runs (clawdbot_converge_cache_dir, docs/operations.md "Re-runs") go to a directory mounted from the host,
# owned by the image's user: the container's own ~/.cache is discarded after each run, and without a record every
# run is a full run (the last no-op runs below show that case).
RECORDS="$work/converged"
mkdir -m 0700 "$RECORDS"
chown "$(docker inspect --format '{{.Config.User}}' "$EE_IMAGE" | cut -d: -f1 | grep -E '^[0-9]+$' || echo 0)" "$RECORDS"
navigator() {  # navigator [extra ansible-playbook arguments]
  (cd "$REPO_ROOT" && "$EE_VENV/bin/ansible-navigator" run playbooks/site.yml -i inventories/demo \
     --eei "$EE_IMAGE" --pull-policy never --mode stdout --ce docker --pae false --lf "$work/navigator.log" \
     --co=--network=host --eev "$CACHE_DIR/demo:$CACHE_DIR/demo:ro" --eev "$CACHE_DIR/node:$CACHE_DIR/node:ro" \
     --eev "$RECORDS:/runner/converged" \
     --penv DEMO_SSH_PORT --penv DEMO_SSH_KEY --penv HOMELAB_CLAWDBOT_NODE_TARBALL --penv ANSIBLE_NOCOLOR \
     --senv ANSIBLE_COLLECTIONS_PATH=/usr/share/ansible/collections "$@")
}
with_records() { navigator -e clawdbot_converge_cache_dir=/runner/converged; }
plain() { (cd "$REPO_ROOT" && ansible-playbook -i inventories/demo playbooks/site.yml); }
TSV="$work/times.tsv"
recap() { grep -E '^vm102-demo +: ok=' "$1" | tail -1; }

stage "ee: site.yml through ansible-navigator (first converge)"
timeit "navigator: first converge" "$work/nav-converge.log" with_records
info "$(recap "$work/nav-converge.log")"
grep -q "homelab.clawdbot" "$work/nav-converge.log" || die "the navigator run did not run the collection's roles"
# One full run of each that changes nothing: the first verified record for each (its own records directory).
with_records > "$work/nav-settle.log" 2>&1 || { tail -30 "$work/nav-settle.log"; die "the navigator re-run failed"; }
plain > "$work/plain-settle.log" 2>&1 || { tail -30 "$work/plain-settle.log"; die "the plain re-run failed"; }
noop() {  # noop <label> <log> <command>: a timed run that must change nothing
  timeit "$1" "$2" "$3"
  recap "$2" | grep -qE 'changed=0 +unreachable=0 +failed=0' || die "$1 changed something: $(recap "$2") ($2)"
}
stage "ee: no-op runs, navigator (records mounted) and plain ansible-playbook interleaved x$RUNS"
for i in $(seq 1 "$RUNS"); do
  noop "navigator: no-op re-run" "$work/nav-noop-$i.log" with_records
  noop "ansible-playbook: no-op re-run" "$work/plain-noop-$i.log" plain
done
# site.yml's include of the roles is skipped when converge_stamp matched the record, included otherwise
roles_skipped() { grep -A1 'TASK \[Node.js, the CLI, lingering, the profiles and their gateways\]' "$1" | grep -q 'skipping: \['; }  # (navigator's lines start with its event markers)
roles_skipped "$work/nav-noop-$RUNS.log" ||
  die "the navigator no-op did not use its record ($work/nav-noop-$RUNS.log)"
stage "ee: no-op runs through navigator without a records directory (the container's ~/.cache is discarded) x$RUNS"
for i in $(seq 1 "$RUNS"); do
  noop "navigator: no-op, no records" "$work/nav-full-$i.log" navigator
done
! roles_skipped "$work/nav-full-$RUNS.log" ||
  die "the navigator run without records found a record ($work/nav-full-$RUNS.log)"
info "navigator no-op: $(recap "$work/nav-noop-$RUNS.log")"
info "plain no-op:     $(recap "$work/plain-noop-$RUNS.log")"
info "navigator, no records: $(recap "$work/nav-full-$RUNS.log")"

stage "ee: results (seconds; ansible-builder build ${build_s}s)"
python - "$TSV" <<'PY'
import collections, statistics, sys
rows = collections.OrderedDict()
for line in open(sys.argv[1]):
    name, secs = line.rstrip("\n").split("\t")
    rows.setdefault(name, []).append(float(secs))
for name, v in rows.items():
    print("    %-34s runs %d  median %7.2f  min %7.2f  max %7.2f" % (name, len(v), statistics.median(v), min(v), max(v)))
PY
info "the demo container vm102-demo is left running (make demo-destroy)"
