#!/usr/bin/env bash
# Expose this checkout as ./.ansible/collections/ansible_collections/homelab/clawdbot (ansible.cfg's
# collections_path), so `ansible-playbook playbooks/site.yml` resolves homelab.clawdbot.* from the repo.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="$root/.ansible/collections/ansible_collections/homelab"
mkdir -p "$dir"
ln -sfn ../../../.. "$dir/clawdbot"
