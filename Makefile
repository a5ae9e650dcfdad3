# okx-hft-ops — two commands: `make up` (needs Docker) and `make test`.
SHELL := /bin/bash
GO    ?= go
BIN   := bin/opsctl

.PHONY: up down doctor check tools airflow-venv ansible-venv test test-unit test-stack fuzz dashboards opsctl

opsctl: $(BIN)
$(BIN): $(shell find cmd internal -name '*.go' -not -name '*_test.go') go.mod go.sum
	$(GO) build -o $(BIN) ./cmd/opsctl

## up: create .env when missing, pull the pinned images, check the configs with their own validators, start the stack, wait until healthy, run doctor
up: $(BIN)
	@test -f .env || ./$(BIN) init
	@docker compose pull --quiet --ignore-buildable || echo "make up: docker compose pull failed; opsctl check runs this machine's validators instead (it says which)"
	./$(BIN) check
	./$(BIN) up

## down: stop the stack; volumes (all data) are kept
down: $(BIN)
	./$(BIN) down

## doctor: end-to-end checks of the running stack
doctor: $(BIN)
	./$(BIN) doctor

## check: validate every config with the pinned programs' own validators
check: $(BIN)
	./$(BIN) check

## tools: build promtool and restic of the pinned versions once (cached), for check and the tests without Docker
tools: $(BIN)
	./$(BIN) tools

## airflow-venv: the Airflow of airflow/Dockerfile from PyPI, pinned by airflow/constraints.txt, for the DAG tests (cached per lock)
CACHE        ?= $(or $(OKX_HFT_OPS_CACHE),/var/cache/okx-hft-ops)
AIRFLOW_LOCK := $(shell cat airflow/constraints.txt airflow/requirements.txt | sha256sum | cut -c1-12)
AIRFLOW_VENV := $(CACHE)/venv/airflow-3.3.2-$(AIRFLOW_LOCK)
airflow-venv: $(AIRFLOW_VENV)/.complete
$(AIRFLOW_VENV)/.complete:
	rm -rf $(AIRFLOW_VENV) && python3 -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/pip install --quiet --disable-pip-version-check -c airflow/constraints.txt \
	  apache-airflow==3.3.2 -r airflow/requirements.txt pytest
	touch $@

## ansible-venv: ansible-core and ansible-lint from PyPI, pinned by ansible/constraints.txt, for the lint and the converge test (cached per lock)
# ansible-core 2.19 is the newest that runs on Python 3.11 (2.20+ needs 3.12).
ANSIBLE_LOCK := $(shell cat ansible/constraints.txt ansible/requirements.txt | sha256sum | cut -c1-12)
ANSIBLE_VENV := $(CACHE)/venv/ansible-2.19.14-$(ANSIBLE_LOCK)
ansible-venv: $(ANSIBLE_VENV)/.complete
$(ANSIBLE_VENV)/.complete:
	rm -rf $(ANSIBLE_VENV) && python3 -m venv $(ANSIBLE_VENV)
	$(ANSIBLE_VENV)/bin/pip install --quiet --disable-pip-version-check -c ansible/constraints.txt -r ansible/requirements.txt
	touch $@

## gotestsum: the stack and converge tests' runner, pinned, built once (cached): it streams
# go test -v and ends with every failed test's output, where a log's tail shows it
GOTESTSUM_VERSION := v1.13.0
GOTESTSUM := $(CACHE)/bin/gotestsum-$(GOTESTSUM_VERSION)/gotestsum
$(GOTESTSUM):
	GOBIN=$(dir $(GOTESTSUM)) $(GO) install gotest.tools/gotestsum@$(GOTESTSUM_VERSION)

## dashboards: regenerate grafana/dashboards from Go
dashboards:
	$(GO) run ./cmd/dashgen

## test: every test: the offline tests, then the stack test when a Docker engine answers
test: test-unit test-stack

# The tests find promtool and restic built by `make tools`; none builds them
# inside its own timeout. Timeouts are explicit: a hung test fails instead of waiting.
test-unit: $(BIN) tools airflow-venv ansible-venv
	@unformatted=$$(gofmt -l cmd internal test pkg); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run ./cmd/dashgen -check
	./$(BIN) check --env .env.example --no-docker
	$(GO) test -count=1 -timeout 15m ./...
	cd pkg/hftmetrics && $(GO) vet ./... && $(GO) test -count=1 -timeout 5m ./...
	cd pkg/hftdata && $(GO) vet ./... && $(GO) test -count=1 -timeout 5m ./...
	h=$$(mktemp -d) && AIRFLOW_HOME=$$h $(AIRFLOW_VENV)/bin/python -m pytest -q -p no:cacheprovider airflow/tests; rc=$$?; rm -rf $$h; exit $$rc
	cd ansible && PATH=$(ANSIBLE_VENV)/bin:$$PATH ansible-lint --offline --strict
	cd ansible && PATH=$(ANSIBLE_VENV)/bin:$$PATH ansible-playbook -i inventory/example.yml site.yml --syntax-check

## test-stack: build the local images (cached) and run the real stack under Docker
test-stack: $(BIN) ansible-venv $(GOTESTSUM)
	@if ! docker info >/dev/null 2>&1; then \
	  if [ -n "$$CI" ]; then echo "test-stack: no Docker engine answers (CI must start one)"; exit 1; fi; \
	  echo "test-stack: SKIPPED: no Docker engine answers; start Docker to run the stack test (README: What is verified how)"; exit 0; \
	fi
	bash test/stack/build-images.sh
	OPS_STACK_TEST=1 $(GOTESTSUM) --format standard-verbose -- -count=1 -timeout 75m ./test/stack/e2e/
	OPS_STACK_TEST=1 OPS_ANSIBLE_VENV=$(ANSIBLE_VENV) $(GOTESTSUM) --format standard-verbose -- -count=1 -timeout 20m ./test/converge/

## fuzz: run every fuzz target for FUZZTIME each
FUZZTIME ?= 60s
fuzz:
	$(GO) test ./internal/envfile   -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME)
	$(GO) test ./internal/nginxconf -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME)
	$(GO) test ./internal/alloy     -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME)
	$(GO) test ./internal/check     -run '^$$' -fuzz FuzzNginxCheck -fuzztime $(FUZZTIME)
	$(GO) test ./internal/tghtml    -run '^$$' -fuzz FuzzValidate -fuzztime $(FUZZTIME)
