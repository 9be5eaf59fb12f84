# ebmpipe — the two set-up commands are `make demo` and `make test`.
GO  ?= go
BIN := bin/ebmpipe

.PHONY: build test demo setup vet fuzz clean

build:
	$(GO) build -o $(BIN) ./cmd/ebmpipe

# Installs the Debian packages the tests use and the ONNX Runtime library.
setup:
	scripts/setup.sh all

test: setup
	$(GO) vet ./...
	$(GO) test ./...
	$(MAKE) fuzz FUZZTIME=5s

# The quickstart: installs ONNX Runtime and runs `ebmpipe demo` (a few
# minutes on 2 cores) into out/demo, removed first.
demo: build
	scripts/setup.sh ort
	scripts/demo.sh $(BIN)

# Short fuzzing of the ONNX decoder, the row readers and the run-file
# parser (FUZZTIME each; make test runs it for 5s each).
FUZZTIME ?= 10s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./onnx
	$(GO) test -run '^$$' -fuzz '^FuzzReadCSV$$' -fuzztime $(FUZZTIME) ./pipeline/table
	$(GO) test -run '^$$' -fuzz '^FuzzReadJSONL$$' -fuzztime $(FUZZTIME) ./pipeline/table
	$(GO) test -run '^$$' -fuzz '^FuzzReadNPY$$' -fuzztime $(FUZZTIME) ./pipeline/table
	$(GO) test -run '^$$' -fuzz '^FuzzParseRunFile$$' -fuzztime $(FUZZTIME) ./pipeline

clean:
	rm -rf bin out
