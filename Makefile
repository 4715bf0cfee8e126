# Two commands for a newcomer: `make demo` and `make test`. Both build .venv first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench bench-camera lint format clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,postgres]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/isogate demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python -m bench.latency
	$(BIN)/python -m bench.throughput
	$(BIN)/python -m bench.store
	$(BIN)/python -m bench.rss
	$(BIN)/python -m bench.idle

# Door-camera analysis on 200 labelled synthetic scenes (several minutes; not part of `test`).
bench-camera: $(STAMP)
	$(BIN)/python -m bench.camera

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) data .pytest_cache
