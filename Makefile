# rolegate — the two commands of the quick start are `make run` and `make test`.
GO ?= go
TEST_FLAGS ?= -race -count=1 -timeout 15m

.PHONY: run test generate check-generated fmt-check tidy-check vet build docker

## run: start rolegate locally (private PostgreSQL, migrations, server on http://127.0.0.1:8080)
# It builds bin/rolegate and runs that rather than `go run`: after Ctrl-C,
# `go run` exits 1 even when rolegate stopped cleanly, and make then
# reports an error.
run: build
	bin/rolegate dev

## test: run every test against a real PostgreSQL (see README: TEST_DATABASE_URL, Docker or local binaries)
test:
	$(GO) test $(TEST_FLAGS) ./...

## generate: regenerate templ components
generate:
	$(GO) tool templ generate

## check-generated: fail when committed generated code is stale
check-generated: generate
	@git diff --exit-code -- '*_templ.go' || { echo "generated templ code is stale: run 'make generate' and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- '*_templ.go')" || { echo "untracked generated templ code: run 'make generate' and commit"; exit 1; }

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); test -z "$$out" || { echo "gofmt would change:"; echo "$$out"; exit 1; }

## tidy-check: fail when go.mod or go.sum differ from what `go mod tidy` writes
tidy-check:
	@$(GO) mod tidy -diff || { echo "go.mod or go.sum is not tidy: run 'go mod tidy' and commit"; exit 1; }

vet:
	$(GO) vet ./...

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/rolegate ./cmd/rolegate

docker:
	docker build -t rolegate:dev .

## fuzz: run each fuzz target for a short fixed budget (the seed corpora under testdata/fuzz run with every `make test`).
# Budgets are execution counts, each about 10s here: a duration (-fuzztime 10s) can fail with a spurious
# "context deadline exceeded" on a loaded machine (Go's fuzz coordinator, golang/go#75804, fixed in Go 1.27).
FUZZ_TARGETS ?= ./provision:FuzzValidate:50000x ./provision:FuzzPolicyRendering:4000x ./provision:FuzzTerraform:2000x ./provision/iamlocal:FuzzRequestParsing:20000x
FUZZ_TARGETS += ./web/api:FuzzAPIDecode:20000x ./web:FuzzRequestForm:25000x
.PHONY: fuzz
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; rest=$${t#*:}; name=$${rest%%:*}; budget=$${rest#*:}; \
		echo "== $$name ($$pkg, $$budget)"; \
		$(GO) test -list "^$$name\$$" $$pkg | grep -qx "$$name" || { echo "fuzz: no $$name in $$pkg (moved? fix FUZZ_TARGETS)"; exit 1; }; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $$budget -parallel 2 $$pkg; \
	done
