# tasrih: `make demo` classifies the seed article with the shipped model; `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test validate default-model bench-quality clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# The CPU build of torch first: a bare `torch` requirement would pull a CUDA build of several GB.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	@mkdir -p outputs
	$(BIN)/tasrih classify seeds/000_17ba21f3bbc6b9cb.txt --format table
	$(BIN)/tasrih classify seeds/000_17ba21f3bbc6b9cb.txt -o outputs/seed_predictions.jsonl
	@echo "JSON Lines written to outputs/seed_predictions.jsonl"

test: $(STAMP)
	$(BIN)/python -m pytest -q

validate: $(STAMP)
	$(BIN)/tasrih data validate data/train.jsonl data/dev.jsonl data/test.jsonl data/seed.jsonl

# Retrain the model that ships in infer/default_model (the winner of bench/quality.py; minutes on a CPU).
default-model: $(STAMP)
	rm -rf outputs/default_model
	$(BIN)/tasrih train experiment=default_model output_dir=outputs/default_model
	rm -rf infer/default_model
	$(BIN)/python -c "import shutil; shutil.copytree('outputs/default_model', 'infer/default_model', ignore=shutil.ignore_patterns('.hydra', '*.log', 'predictions.jsonl', 'checkpoints'))"

bench-quality: $(STAMP)
	$(BIN)/python bench/quality.py

clean:
	rm -rf outputs multirun eval local .pytest_cache
