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

# The quickstart: installs ONNX Runtime and runs `ebmpipe demo` (a few
# minutes on 2 cores) into out/demo, removed first.
demo: build
	scripts/setup.sh ort
	scripts/demo.sh $(BIN)

# Short fuzzing of the decoders and readers (seconds each).
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime 10s ./onnx
	$(GO) test -run '^$$' -fuzz '^FuzzReadCSV$$' -fuzztime 10s ./pipeline/table
	$(GO) test -run '^$$' -fuzz '^FuzzReadJSONL$$' -fuzztime 10s ./pipeline/table
	$(GO) test -run '^$$' -fuzz '^FuzzReadNPY$$' -fuzztime 10s ./pipeline/table
	$(GO) test -run '^$$' -fuzz '^FuzzParseRunFile$$' -fuzztime 10s ./pipeline

clean:
	rm -rf bin out
