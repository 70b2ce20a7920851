# skillvl.offline_first: the two commands that matter are `make demo` and `make test`.
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c

PYTHON    ?= python3
VENV      := $(CURDIR)/.venv
BIN       := $(VENV)/bin
COLL_ROOT := $(CURDIR)/.build/collections
COLL_LINK := $(COLL_ROOT)/ansible_collections/skillvl/offline_first
STAMP     := $(CURDIR)/.build/stamps

export CONTAINERS_CONF  := $(CURDIR)/lab/containers.conf
export ANSIBLE_CONFIG   := $(CURDIR)/ansible.cfg
export PATH             := $(BIN):$(PATH)
export PYTHONPATH       := $(COLL_ROOT)
export ANSIBLE_FORCE_COLOR ?= 0

PLAYBOOK := $(BIN)/ansible-playbook -i inventories/lab

.PHONY: help setup host-packages venv collection lab lab-destroy site demo test units sanity lint \
        molecule integration bench changelog release clean ee test-ee

help:
	@echo "make demo   - set up this machine, build the local lab, run site.yml, live-migrate a VM"
	@echo "make test   - unit tests, ansible-test sanity, ansible-lint, molecule, lab integration"
	@echo "make lab / make lab-destroy / make bench"
	@echo "make ee / make test-ee - the execution environment for AWX, and a migration job run in it over SSH"

# --- setup -------------------------------------------------------------------------------
setup: host-packages venv collection

$(STAMP)/host-packages: bindep.txt
	mkdir -p $(STAMP)
	if [ "$$(id -u)" != 0 ]; then echo "make setup installs Debian packages: run it as root" >&2; exit 1; fi
	need=$$(sed -n 's/^\([a-z0-9.+-]*\) .*\[[^]]*controller[^]]*\].*/\1/p' bindep.txt)
	missing=$$(for p in $$need; do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done)
	if [ -n "$$missing" ]; then
	  apt-get update -q
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing
	fi
	touch $@
host-packages: $(STAMP)/host-packages

$(STAMP)/venv: requirements-dev.txt $(STAMP)/host-packages
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@
venv: $(STAMP)/venv

collection:
	mkdir -p $(dir $(COLL_LINK))
	ln -sfn $(CURDIR) $(COLL_LINK)

# --- the local lab -----------------------------------------------------------------------
lab: setup
	$(PLAYBOOK) playbooks/lab.yml

lab-destroy: setup
	$(PLAYBOOK) playbooks/lab_destroy.yml

site: lab
	$(PLAYBOOK) playbooks/site.yml

demo: site
	$(PLAYBOOK) playbooks/demo.yml

# --- tests -------------------------------------------------------------------------------
test: setup
	tests/run-all.sh

units: setup
	$(BIN)/pytest -q tests/unit

sanity: setup
	tests/sanity/run.sh

lint: setup
	$(BIN)/ansible-lint --profile production

molecule: setup
	tests/molecule/run.sh

integration: setup
	$(BIN)/pytest -v tests/integration

bench: setup
	bench/run.sh

# --- execution environment (AWX) ------------------------------------------------------------
# localhost/skillvl-ee:<version> from execution-environment.yml, built locally (ee/README.md)
ee: setup
	ee/build.sh

test-ee: setup
	tests/ee/run.sh

changelog: setup
	$(BIN)/antsibull-changelog lint

# make release VERSION=X.Y.Z: the version in galaxy.yml, the changelog from the fragments, the
# artifact in dist/, checked as users install it (tests/artifact/check_artifact.py). Commit and tag after.
release: setup
	if [ -z "$(VERSION)" ]; then echo "usage: make release VERSION=X.Y.Z" >&2; exit 1; fi
	sed -i "s/^version: .*/version: $(VERSION)/" galaxy.yml
	$(BIN)/antsibull-changelog release --version "$(VERSION)"
	rm -rf dist .build/artifact
	$(BIN)/ansible-galaxy collection build --output-path dist
	$(BIN)/python tests/artifact/check_artifact.py dist/skillvl-offline_first-$(VERSION).tar.gz .build/artifact

clean:
	rm -rf .build tests/output dist
