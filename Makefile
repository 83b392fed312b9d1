# condcache: the two commands a new machine needs are `make run` and `make test`.
GO          ?= go
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
BIN         := bin/condcache

.PHONY: run test lint bench fuzz deps build clean ui-shots

## run: start the local stack (PostgreSQL primary + replica, writer, reader, demo data); Ctrl-C stops it
run: deps build
	./$(BIN) run

## test: the whole test suite (unit + integration against real PostgreSQL processes), then the fault
## suite, whose figures (load held, errors, data checked) go to reports/faults.log and the terminal
test:
	@bash .ci/install-deps --test
	$(GO) test -count=1 -timeout 30m $$($(GO) list ./... | grep -v /internal/faults$$)
	@mkdir -p reports
	@$(GO) test -count=1 -timeout 15m -v ./internal/faults/ > reports/faults.log 2>&1; status=$$?; \
	  grep -E '^(--- |ok|FAIL)|^ +[a-z_]+_test.go:[0-9]+: ' reports/faults.log; exit $$status

## lint: gofmt, go vet, staticcheck and go mod tidy must be clean; the architecture's layers hold;
## every citation of docs/ names a section that exists, and nothing cites a file outside the repository
lint:
	@unformatted=$$(gofmt -l $$(git ls-files --cached --others --exclude-standard '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags faultinject ./sql/
	$(STATICCHECK) ./...
	$(GO) mod tidy -diff
	@bash .ci/check-layers
	@$(GO) run ./internal/tools/citecheck

## bench: the Go benchmarks (5 runs each: compare medians), then a short load test on a stack of its own; reports under reports/
bench: deps build
	@mkdir -p reports
	$(GO) test -run '^$$' -bench . -benchmem -count 5 -timeout 30m ./... | tee reports/gobench-$$(date +%Y%m%d-%H%M%S).txt
	./$(BIN) loadtest bench -readme README.md

## fuzz: each fuzz target for FUZZTIME (CI runs this), longer by hand: make fuzz FUZZTIME=5m.
## The default is a count, not a duration: Go 1.26's fuzzer can fail a time-limited run with
## "context deadline exceeded" at the deadline on a busy machine (golang/go#75804, fixed in 1.27)
FUZZTIME ?= 50000x
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseInt$$' -fuzztime $(FUZZTIME) ./internal/drf/
	$(GO) test -run '^$$' -fuzz '^FuzzParseJSONInt$$' -fuzztime $(FUZZTIME) ./internal/drf/
	$(GO) test -run '^$$' -fuzz '^FuzzParseObject$$' -fuzztime $(FUZZTIME) ./internal/drf/
	$(GO) test -run '^$$' -fuzz '^FuzzParseLookup$$' -fuzztime $(FUZZTIME) ./reader/
	$(GO) test -run '^$$' -fuzz '^FuzzReaderRequest$$' -fuzztime $(FUZZTIME) ./reader/
	$(GO) test -run '^$$' -fuzz '^FuzzWriterRequest$$' -fuzztime $(FUZZTIME) ./writer/
	$(GO) test -run '^$$' -fuzz '^FuzzAuthenticate$$' -fuzztime $(FUZZTIME) ./internal/auth/

## ui-shots: screenshots of every page of the web UI, at 1280 px and at a phone's width (390 px), under
## reports/ui/ (a browser test against the real stack; needs chromium: .ci/install-deps --test)
ui-shots:
	@bash .ci/install-deps --test
	@mkdir -p reports/ui
	UI_SHOTS=$(CURDIR)/reports/ui $(GO) test -count=1 -timeout 10m -run '^TestScreenshots$$' ./ui/browser/

## deps: install the PostgreSQL server binaries and redis-server where missing (apt-get as root), or say what to install
deps:
	@bash .ci/install-deps

build:
	$(GO) build -o $(BIN) ./cmd/condcache

clean:
	rm -rf bin .condcache
