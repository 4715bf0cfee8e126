# Two commands for a newcomer: `make demo` and `make test`. Both build .venv first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench bench-camera faults faults-cluster cluster lint format clean

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
	$(BIN)/pytest -q --numprocesses auto --maxprocesses 4

# One table of every benchmark beside the limits measured in the same run; written to
# bench/results/ (see bench/PERFORMANCE.md). `python -m bench --quick` for smaller counts.
bench: $(STAMP)
	$(BIN)/python -m bench

# Door-camera analysis on 200 labelled synthetic scenes (several minutes; not part of `test`).
bench-camera: $(STAMP)
	$(BIN)/python -m bench.camera

# Faults under load, every message counted (~10 min; root for the disk-full scenario's tmpfs;
# not part of `test`). Exits non-zero on any loss, duplicate or crash.
faults: $(STAMP)
	$(BIN)/python -m bench.faults

# Two gateways, three NATS nodes and a PostgreSQL of its own (never the shared one) under load:
# SIGKILL the active gateway, its NATS node, both; restart PostgreSQL; cut the active gateway
# off from PostgreSQL. Needs nats-server and PostgreSQL's server programs; not part of `test`.
# Exits non-zero on any loss or a takeover over 10 s. `python -m bench.cluster_faults --quick`.
faults-cluster: $(STAMP)
	$(BIN)/python -m bench.cluster_faults

# Three NATS nodes (deploy/nats), the PostgreSQL on 127.0.0.1:5432 and two gateways, one active;
# prints where everything is; Ctrl-C stops all.
cluster: $(STAMP)
	$(BIN)/python -m isogate.cluster_up

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) data .pytest_cache
