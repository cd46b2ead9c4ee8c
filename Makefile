# Two commands for a newcomer:  `make demo`  and  `make test`.
# Both create .venv on first use and install the package (with its prebuilt
# JupyterLab extension) into it.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(BIN):$(CURDIR)/$(VENV)/node/node_modules/.bin:$(PATH)

.PHONY: demo test lint typecheck pytest bench protos clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml labextension/package.json | $(BIN)/python
	$(BIN)/python -m pip install --quiet "jupyterlab>=4.1,<5" "hatch-jupyter-builder>=0.9" "hatchling>=1.21"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/jupyter labextension develop --overwrite . >/dev/null
	cd $(VENV) && mkdir -p node && cd node && npm install --silent --no-audit --no-fund configurable-http-proxy@^4 >/dev/null
	touch $(STAMP)

## make demo: JupyterLab + the local Salesforce emulator, with the demo notebook open.
demo: $(STAMP)
	$(BIN)/python -m ak_salesforce_nb.demo

## make test: lint, type checks, and the whole test suite (browser tests included).
test: $(STAMP) lint typecheck pytest

## make lint: ruff, and the import-linter contracts in pyproject.toml (the layering).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_query.py

## make protos: regenerate the committed Pub/Sub API modules after editing
## ak_salesforce_nb/_pubsub_proto/pubsub_api.proto (grpcio-tools, from the dev extra).
protos: $(STAMP)
	$(BIN)/python ak_salesforce_nb/_pubsub_proto/_generate.py

clean:
	rm -rf $(VENV) ak_salesforce_nb/labextension labextension/lib labextension/node_modules
