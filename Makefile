# CFA v2 governed execution on Temporal and Postgres. `make help` lists targets.
SHELL := /bin/bash
GO    ?= go
BIN   := $(CURDIR)/bin
TEMPORAL_CLI_VERSION := v1.5.1
export TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
export TEMPORAL_CLI := $(BIN)/temporal

.PHONY: help demo test test-unit test-crash build dev stop generate verify lint bench bench-exec bench-audit bench-e2e bench-throughput histories clean

help: ## list targets
	@grep -hE '^[a-z0-9/-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

demo: build $(BIN)/temporal ## run the governed scenarios end to end on the demo's own database (cfa_demo, recreated each run)
	@scripts/demo.sh run

test: $(BIN)/temporal ## every test: unit, workflow, Postgres integration, end to end
	@scripts/ensure-postgres.sh $(if $(CI),--install,)
	$(GO) test -count=1 -timeout 20m ./...

test-unit: ## unit tests only: no Postgres or Temporal needed (skips what needs them)
	$(GO) test -short -count=1 ./...

build: ## build bin/cfa (CLI), bin/cfa-worker and bin/cfa-demo
	$(GO) build -o $(BIN)/cfa ./starter
	$(GO) build -o $(BIN)/cfa-worker ./cmd/cfa-worker
	$(GO) build -o $(BIN)/cfa-demo ./cmd/cfa-demo

$(BIN)/temporal:
	GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

bin/temporal: $(BIN)/temporal ## install the pinned Temporal CLI into bin/

dev: $(BIN)/temporal ## run the Temporal dev server in the foreground (UI :8233)
	$(BIN)/temporal server start-dev --ip 127.0.0.1 --ui-port 8233 --db-filename .data/temporal.db \
	  --sqlite-pragma journal_mode=WAL --sqlite-pragma synchronous=OFF \
	  --search-attribute CfaApprovers=KeywordList --search-attribute CfaConfirmationMode=Keyword --search-attribute CfaDecisionState=Keyword --search-attribute CfaStage=Keyword --search-attribute CfaSubmittedBy=Keyword --search-attribute CfaTargetDataset=Keyword

stop: ## stop the Temporal dev server started by make demo
	@if [ -f .data/temporal.pid ]; then kill $$(cat .data/temporal.pid) 2>/dev/null || true; rm -f .data/temporal.pid; echo stopped; fi

generate: ## regenerate sqlc and protobuf code
	$(GO) generate ./db/... ./internal/cfs/... ./proto/...

verify: generate ## fail when committed generated code is stale
	@git diff --exit-code -- db internal/cfs proto || { echo "generated code is stale: run make generate and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- db internal/cfs proto)" || { git status --porcelain -- db internal/cfs proto; echo "untracked generated files: run make generate and commit"; exit 1; }

lint: ## go vet, staticcheck and workflowcheck
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	$(GO) tool workflowcheck ./workflows/...

bench: ## domain benchmarks (ns/op, allocs/op)
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...

bench-exec: ## governed execution vs the same SQL bare (lock → projection) at 2k, 30k, 300k rows per partition, on a database of its own
	@scripts/ensure-postgres.sh
	$(GO) test -count=1 -run '^$$' -bench BenchmarkGovernedExecution -timeout 60m ./tests/bench/

bench-audit: ## audit seal and verify: Seal vs marshal+SHA-256, verify a JSONL file (100k, 1M receipts) and Postgres (100k)
	$(GO) test -run '^$$' -bench 'Seal|MarshalAndHash|CanonicalDetails|VerifyFile|VerifyPostgres' -benchmem -timeout 30m ./internal/audit/ ./db/

test-crash: $(BIN)/temporal ## the crash harness at full size: 32 kills (30 SIGKILL, SIGTERM, a Temporal restart) at six stage boundaries; prints the table
	CFA_CRASH_KILLS=32 CFA_CRASH_TABLE=$(CURDIR)/.data/crash-table.txt $(GO) test -count=1 -timeout 60m -v -run TestCrashHarness ./tests/e2e/ | grep -v DEBUG | sed -n '/crash harness:/,/^---/p'

histories: $(BIN)/temporal ## re-record the replay histories (workflows/testdata) from the dev server, after a change of the workflows
	UPDATE_HISTORY=1 $(GO) test -count=1 -run TestRecordHistories ./tests/e2e/

bench-e2e: build $(BIN)/temporal ## end-to-end latency and history size (auto intent vs empty and one-activity workflows), on the demo's database
	@scripts/demo.sh bench --n 50

bench-throughput: build $(BIN)/temporal ## intents/s with 1 and 2 workers from 16 submitters, beside empty and one-activity workflows; workers' CPU profiles in .data/
	@scripts/demo.sh throughput --cpuprofile .data/throughput-cpu

clean: ## remove binaries and local state
	rm -rf bin .data
