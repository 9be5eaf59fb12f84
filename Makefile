# ebmpipe — the two set-up commands are `make demo` and `make test`.
GO  ?= go
BIN := bin/ebmpipe

# Matrix products go to OpenBLAS where its header is installed (setup
# installs Debian's libopenblas-dev), else to Gonum's pure-Go kernels.
# Evaluated when used, after setup has run.
TAGS = $(if $(wildcard /usr/include/cblas.h /usr/include/*/cblas.h),openblas)

.PHONY: build test demo setup vet fuzz clean

build:
	$(GO) build -tags '$(TAGS)' -o $(BIN) ./cmd/ebmpipe

# Installs the Debian packages the tests use and the ONNX Runtime library.
setup:
	scripts/setup.sh all

# Everything with the build's BLAS, and the importers once more on Gonum's.
test: setup
	$(GO) vet -tags '$(TAGS)' ./...
	$(GO) test -tags '$(TAGS)' ./...
	$(GO) test ./importers/...
	$(MAKE) fuzz FUZZTIME=30000x

# The quickstart: installs OpenBLAS and ONNX Runtime and runs `ebmpipe
# demo` (a few minutes on 2 cores) into out/demo, removed first.
demo:
	scripts/setup.sh demo
	$(MAKE) build
	scripts/demo.sh $(BIN)

# Short fuzzing of the ONNX decoder, the importer (decode, import and run
# under an element budget), the row readers and the run-file
# parser (FUZZTIME each). make test gives each 30000 inputs: a count, not a
# duration, since Go 1.26's fuzzing coordinator can fail a duration-limited
# run with a spurious "context deadline exceeded" (go.dev/issue/75804,
# fixed in Go 1.27).
FUZZTIME ?= 10s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./onnx
	$(GO) test -tags '$(TAGS)' -run '^$$' -fuzz '^FuzzImport$$' -fuzztime $(FUZZTIME) ./importers
	$(GO) test -run '^$$' -fuzz '^FuzzReadCSV$$' -fuzztime $(FUZZTIME) ./internal/rows
	$(GO) test -run '^$$' -fuzz '^FuzzReadJSONL$$' -fuzztime $(FUZZTIME) ./internal/rows
	$(GO) test -run '^$$' -fuzz '^FuzzReadNPY$$' -fuzztime $(FUZZTIME) ./internal/rows
	$(GO) test -run '^$$' -fuzz '^FuzzParseRunFile$$' -fuzztime $(FUZZTIME) ./pipeline
	$(GO) test -run '^$$' -fuzz '^FuzzApplyRunFile$$' -fuzztime $(FUZZTIME) ./internal/cli

clean:
	rm -rf bin out
