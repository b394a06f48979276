# homelab.clawdbot — entry points. Everything installs what it needs (venv, docker.io, debootstrap,
# dockerd, the debootstrap test image, the Node tarball) and caches it outside the repository in
# $(HOMELAB_CLAWDBOT_CACHE) (default ~/.cache/homelab-clawdbot).
SHELL := /bin/bash
H := tests/harness

.PHONY: test lint sanity unit importer compat ssh-check molecule canary demo demo-status demo-destroy build image bench bench-downtime docs ee-test

test:            ## everything, in order: lint, sanity, unit, importer, compat, ssh-check, molecule (the CI command)
	$(H)/run.sh all

lint:            ## yamllint + ansible-lint
	$(H)/run.sh lint

sanity:          ## ansible-test sanity in a temporary ansible_collections tree
	$(H)/run.sh sanity

unit:            ## pytest unit tests of modules, module_utils and test doubles
	$(H)/run.sh unit

importer:        ## what Galaxy runs on the built tarball: galaxy-importer and antsibull-docs lint-collection-docs
	$(H)/run.sh importer

compat:          ## ansible-test sanity and the unit tests on the lowest supported ansible-core (2.16)
	$(H)/run.sh compat

ssh-check:       ## site.yml, backup.yml and health.yml over SSH as a non-root admin with become (demo container)
	$(H)/run.sh ssh

molecule:        ## molecule test (SCENARIO=name to run one scenario)
	$(H)/run.sh molecule $(SCENARIO)

canary:          ## not CI: the default scenario with openclaw@latest (CANARY_TAG=...) and its core checks
	$(H)/run.sh canary

docs:            ## regenerate docs/roles (argument_specs) and docs/modules (antsibull-docs)
	$(H)/docs.sh

image:           ## build (or reuse) the debootstrap test images (Debian 12 full, Debian 13 minimal)
	$(H)/ensure-host.sh && $(H)/build-image.sh && $(H)/build-image.sh minimal

demo:            ## start the vm102-demo container and run playbooks/site.yml against it
	$(H)/demo.sh up

demo-status:     ## what runs on the vm102-demo container and how to reach it (as `make demo` ends)
	$(H)/demo.sh summary

demo-destroy:    ## remove the vm102-demo container
	$(H)/demo.sh destroy

ee-test:         ## not CI: build execution-environment.yml with ansible-builder, run site.yml through ansible-navigator
	$(H)/ee.sh

bench:           ## timings on the demo container: first converge, no-op re-run, floor, approve-pairing vs manual CLI, downtime
	$(H)/bench.sh

bench-downtime:  ## how long the demo's gateways do not answer /healthz on a restart, upgrade, restore and migration
	$(H)/bench-downtime.sh

build:           ## build the collection tarball
	$(H)/ensure-venv.sh && . $${HOMELAB_CLAWDBOT_VENV:-$${XDG_CACHE_HOME:-$$HOME/.cache}/homelab-clawdbot/venv}/bin/activate && ansible-galaxy collection build --force --output-path build/
