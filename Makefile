# rolegate — the two commands of the quick start are `make run` and `make test`.
GO ?= go
TEST_FLAGS ?= -race -count=1 -timeout 15m

.PHONY: run test generate check-generated fmt-check vet build docker

## run: start rolegate locally (private PostgreSQL, migrations, server on http://127.0.0.1:8080)
run:
	$(GO) run ./cmd/rolegate dev

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

vet:
	$(GO) vet ./...

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/rolegate ./cmd/rolegate

docker:
	docker build -t rolegate:dev .
