# okx-hft-ops — two commands: `make up` (needs Docker) and `make test`.
SHELL := /bin/bash
GO    ?= go
BIN   := bin/opsctl

.PHONY: up down doctor check test test-unit test-stack fuzz dashboards opsctl

opsctl: $(BIN)
$(BIN): $(shell find cmd internal -name '*.go' -not -name '*_test.go') go.mod go.sum
	$(GO) build -o $(BIN) ./cmd/opsctl

## up: create .env when missing, check the configs, start the stack, wait until healthy, run doctor
up: $(BIN)
	@test -f .env || ./$(BIN) init
	./$(BIN) check
	./$(BIN) up

## down: stop the stack; volumes (all data) are kept
down: $(BIN)
	./$(BIN) down

## doctor: end-to-end checks of the running stack
doctor: $(BIN)
	./$(BIN) doctor

## check: validate every config offline
check: $(BIN)
	./$(BIN) check

## dashboards: regenerate grafana/dashboards from Go
dashboards:
	$(GO) run ./cmd/dashgen

## test: every test: the offline tests, then the stack test when a Docker engine answers
test: test-unit test-stack

test-unit: $(BIN)
	@unformatted=$$(gofmt -l cmd internal test); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run ./cmd/dashgen -check
	./$(BIN) check --env .env.example
	$(GO) test -count=1 ./...

## test-stack: build the local images (cached) and run the real stack under Docker
test-stack: $(BIN)
	@if ! docker info >/dev/null 2>&1; then \
	  if [ -n "$$CI" ]; then echo "test-stack: no Docker engine answers (CI must start one)"; exit 1; fi; \
	  echo "test-stack: SKIPPED: no Docker engine answers; start Docker to run the stack test (README: What is verified how)"; exit 0; \
	fi
	bash test/stack/build-images.sh
	OPS_STACK_TEST=1 $(GO) test -count=1 -v -timeout 75m ./test/stack/e2e/

## fuzz: run every fuzz target for FUZZTIME each
FUZZTIME ?= 60s
fuzz:
	$(GO) test ./internal/envfile   -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME)
	$(GO) test ./internal/nginxconf -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME)
	$(GO) test ./internal/alloy     -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME)
