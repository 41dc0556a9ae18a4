# callsync build targets. `make test` is what CI runs (see .ci/run).
GO       ?= go
SQLC_VER := v1.31.1
GOBIN    := $(shell $(GO) env GOPATH)/bin
SQLC     := $(GOBIN)/sqlc

.PHONY: build test generate check-generated run bench vet fuzz

# Version, commit and build date of `callsync --version` (without them, Go's
# embedded VCS information is used).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/callsync ./cmd/callsync

## test: vet and run every test (the README's test command): with the sandbox
## tag, so the sandbox and its doubles are tested too; then, without it, the
## sandbox command of the production binary (the rest of cmd/callsync's tests
## do not depend on the tag).
test: vet
	$(GO) test -count=1 -tags sandbox ./...
	$(GO) test -count=1 -run Sandbox ./cmd/callsync

vet:
	$(GO) vet ./...
	$(GO) vet -tags sandbox ./...

## fuzz: each fuzz target for FUZZTIME executions (default 20000x; CI: 50000x each). A crash is
## written to the package's testdata/fuzz/ and fails the run: commit it as a regression seed.
## A count, not a duration: with a duration, go1.26's fuzz coordinator can report a bare
## "context deadline exceeded" failure at the deadline on a loaded machine
## (https://go.dev/issue/75804, fixed in Go 1.27); a count has no deadline to race.
FUZZTIME ?= 20000x
FUZZ_TARGETS := ./enreach:FuzzDecodeRecords ./enreach:FuzzParseDelivery ./enreach:FuzzParseTime \
	./phone:FuzzNormalize ./phone:FuzzParseInternational ./config:FuzzParse ./crm/dynamics:FuzzDecodeBatch ./crm/dynamics:FuzzChangeset \
	./crm/dynamics:FuzzDecodePage ./crm/dynamics/dynamicstest:FuzzBatchPartsAsMultipart ./crm/salesforce:FuzzDecodeAnswers ./crm/zoho:FuzzDecodeAnswers \
	./internal/double:FuzzDecodeJSONAsDecoder ./internal/jsonw:FuzzAppendString ./internal/jsonw:FuzzAppendRaw
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; fn=$${t##*:}; echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
	  $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

$(SQLC):
	CGO_ENABLED=1 $(GO) install github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VER)

## generate: regenerate store/dbsqlc (SQLite) and store/dbpg (PostgreSQL) from
## queries/<engine>/ and store/migrations/<engine>/, and store/pg_querier.go
generate: $(SQLC)
	$(SQLC) generate
	$(GO) run ./store/internal/genpg

## check-generated: fail when the committed sqlc output is stale
check-generated: generate
	@git diff --exit-code -- store/dbsqlc store/dbpg store/pg_querier.go || { echo "store/dbsqlc, store/dbpg or store/pg_querier.go is stale: run 'make generate' and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- store/dbsqlc store/dbpg)" || { echo "store/dbsqlc or store/dbpg has untracked generated files: run 'make generate' and commit"; git status --porcelain -- store/dbsqlc store/dbpg; exit 1; }

## run: the sandbox — callsync against built-in Enreach and Dynamics doubles, no credentials.
## The doubles are test code: only a binary built with -tags sandbox has them (bin/callsync-sandbox);
## `make build`'s bin/callsync, the production binary, does not.
run:
	$(GO) build -tags sandbox -ldflags "$(LDFLAGS)" -o bin/callsync-sandbox ./cmd/callsync
	./bin/callsync-sandbox sandbox

## bench: the benchmark suite against the doubles (prints a table, writes bench/out/results.json and results.txt: commit them with the figures they back)
bench:
	@mkdir -p bench/out
	bash -o pipefail -c '$(GO) run ./bench $(BENCHFLAGS) | tee bench/out/results.txt'
