# bertbench: build, set up, test. Every dependency a test needs is installed
# by a target here (into the git-ignored .deps/), so a clean clone works.
GO        ?= go
DEPS      := $(CURDIR)/.deps
ORT_LIB   := $(DEPS)/ort/libonnxruntime.so.1
BIN       := bin/bertbench
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)

export BERTBENCH_ORT_LIB ?= $(ORT_LIB)
export BERTBENCH_DEPS    := $(DEPS)

.PHONY: setup deps ort cuda-ep gpu-stage test-deps hf-tokenizers ollama chromium slurm staticcheck build demo test test-short bench bench-mbert fuzz lint clean

## setup: install the ONNX Runtime library and build bin/bertbench
setup: ort build

ort:
	scripts/install-ort.sh $(DEPS)/ort

## test-deps: everything the tests talk to (ONNX Runtime and its CUDA
## provider, HF tokenizers oracle, Ollama server, headless Chromium, Slurm)
test-deps: ort cuda-ep hf-tokenizers ollama chromium slurm

## cuda-ep: ONNX Runtime's CUDA execution provider (a plugin of the core; the
## CUDA 13 libraries it needs come from the GPU machine), for --device cuda
cuda-ep:
	scripts/install-cuda-ep.sh $(DEPS)/cuda-ep

hf-tokenizers:
	scripts/install-hf-tokenizers.sh $(DEPS)/node

ollama:
	scripts/install-ollama.sh $(DEPS)/ollama

## chromium: Debian's Chromium at /usr/bin/chromium (root or sudo), which
## the HTML report's browser test drives headless
chromium:
	scripts/install-chromium.sh

## slurm: Debian's slurm-wlm (slurmctld, slurmd, sbatch, ...) and munge (root
## or sudo); the launcher tests start a single-node cluster of their own
## (internal/slurmtest), no daemon runs otherwise
slurm:
	scripts/install-slurm.sh

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/bertbench

## demo: set up, then run the demo experiment (examples/demo.yaml): three
## replayed systems translate 20 en->zh sentences, an encoder built in Go from
## the bundled tiny checkpoint (cut at layer 3) scores them (idf, rescaled), and
## everything lands in the SQLite store examples/runs/demo/results.db
demo: setup
	$(BIN) run examples/demo.yaml
	@echo
	@echo "Note: the demo model (testdata/bertscore/tiny-mbert) has random weights: its scores only show that"
	@echo "the pipeline works, they say nothing about the translations. For real scores, download a real"
	@echo "encoder once (needs internet; offline afterwards) and score with it:"
	@echo "  $(BIN) models pull bert-base-multilingual-cased"
	@echo "  $(BIN) score --model bert-base-multilingual-cased --idf -c testdata/demo/cands.txt -r testdata/demo/refs.txt"
	@echo "The store: $(BIN) runs show --store examples/runs/demo"

## test: install test dependencies, then run every test with the race detector
test: test-deps
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 45m ./...

## test-short: the tests that need no Ollama server (ONNX Runtime, the HF
## tokenizers oracle, Chromium and Slurm are installed: the tokenizer tests
## compare with the oracle, the HTML report's test runs in Chromium, the
## launcher tests on a Slurm cluster of their own)
test-short: ort hf-tokenizers chromium slurm
	$(GO) test -short -count=1 ./...

bench: setup ollama
	$(GO) test -run '^$$' -bench . -benchmem ./...

## bench-mbert: score with a random-weight model of mBERT's size (hidden 768,
## 9 of 12 layers, vocab 119,547), built once into .deps/bench by `models synth`
MBERT_SYNTH := $(DEPS)/bench/mbert-synth
bench-mbert: setup
	test -f $(MBERT_SYNTH)/model.onnx || $(BIN) models synth --arch bert --hidden 768 --layers 12 --heads 12 \
		--intermediate 3072 --vocab 119547 --keep 9 --seed 1 -o $(MBERT_SYNTH)
	BERTBENCH_BENCH_MODEL=$(MBERT_SYNTH) $(GO) test -run '^$$' -bench 'BenchmarkScore/env' -benchtime 2x -benchmem ./scorer/

## fuzz: run every fuzz target for FUZZTIME each (default 60s)
FUZZTIME ?= 60s
fuzz: ort
	scripts/fuzz-all.sh $(FUZZTIME)

## lint: gofmt, go vet and staticcheck (pinned; installed into .deps by
## `make staticcheck` from the Go module proxy)
STATICCHECK_VERSION := v0.8.2
STATICCHECK         := $(DEPS)/staticcheck-$(STATICCHECK_VERSION)/staticcheck

staticcheck: $(STATICCHECK)

$(STATICCHECK):
	GOBIN=$(dir $@) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

lint: $(STATICCHECK)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

clean:
	rm -rf bin
