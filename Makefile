# Two commands for a newcomer:  `make demo`  and  `make test`.
#
# Both use .venv, created on first use. `make demo` installs only what the demo needs (the
# package, its `demo` extra: JupyterLab, ipykernel, matplotlib); `make test` adds the `dev`
# extra (test, lint and type-check tools, JupyterHub) and configurable-http-proxy. Each step
# says what it does and leaves a stamp in .venv, so a later run skips it.
#
# Options for the demo pass through ARGS:  make demo ARGS="--port 9000 --no-browser"
# (all of them: .venv/bin/python -m ak_salesforce_nb.demo --help).

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
ARGS ?=

BUILD_TOOLS := $(VENV)/.installed-build-tools
DEMO_STAMP := $(VENV)/.installed-demo
STAMP := $(VENV)/.installed
LABEXT := ak_salesforce_nb/labextension/package.json
LABEXT_SOURCES := labextension/package.json labextension/tsconfig.json \
	$(shell find labextension/src labextension/style -type f 2>/dev/null)

export PATH := $(CURDIR)/$(BIN):$(CURDIR)/$(VENV)/node/node_modules/.bin:$(PATH)
# Links the built extension into .venv (jupyter-builder where JupyterLab brings it: `jupyter
# labextension develop` now only says it is deprecated, and takes ten times longer).
LINK_EXTENSION := if command -v jupyter-builder >/dev/null; then jupyter-builder develop \
	--overwrite .; else jupyter labextension develop --overwrite .; fi >/dev/null
# The extension is built by its own step, where its progress shows; pip's build hook (whose
# output pip hides) is told to leave it alone.
EDITABLE := HATCH_JUPYTER_BUILDER_SKIP_NPM=1 $(PIP) install --progress-bar on --no-build-isolation -e

step = @printf '\n==> %s\n' "$(1)"
# Put before a command that can be silent for a minute (yarn's link step, the TypeScript
# compiler): while it runs, a line every 20 s says it is still at work.
busy = ( s=0; while sleep 1; do s=$$((s+1)); if [ $$((s % 20)) -eq 0 ]; then \
	echo "    ... still working ($${s} s)"; fi; done ) & trap 'kill $$! 2>/dev/null' EXIT;

.PHONY: demo test lint typecheck pytest bench protos clean

$(BIN)/python:
	$(call step,Creating $(VENV) (a virtual environment for this checkout; first run only))
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# JupyterLab comes first: it brings jlpm (and the `jupyter labextension` builder) that the
# extension's build needs; hatchling, editables and hatch-jupyter-builder build the
# editable package.
$(BUILD_TOOLS): pyproject.toml | $(BIN)/python
	$(call step,Installing JupyterLab and the build tools into $(VENV))
	$(PIP) install --progress-bar on "jupyterlab>=4.1,<5" "hatch-jupyter-builder>=0.9" \
		"hatchling>=1.21" "editables>=0.5"
	touch $@

# The JupyterLab extension, from TypeScript (needs Node.js); rebuilt when its sources change.
# yarn's "not in the cache, will be fetched" line per package is left out; all else shows.
$(LABEXT): $(LABEXT_SOURCES) | $(BUILD_TOOLS)
	@command -v node >/dev/null || { echo "Node.js (18 or newer) builds the JupyterLab" \
		"extension from labextension/; install it, then run make again." >&2; exit 1; }
	$(call step,JupyterLab extension: fetching and linking its npm packages (a minute the first time))
	@echo "cd labextension && jlpm install"; $(busy) cd labextension && jlpm install | sed -u '/YN0013/d'
	$(call step,JupyterLab extension: compiling the TypeScript and bundling (about a minute))
	@echo "cd labextension && jlpm build"; $(busy) cd labextension && jlpm build
	touch $@

# The install links the extension, so it must exist; whether it is up to date is the
# business of the targets that run it (demo, pytest), not of `make lint`.
$(DEMO_STAMP): pyproject.toml $(BUILD_TOOLS)
	@test -e $(LABEXT) || $(MAKE) --no-print-directory $(LABEXT)
	$(call step,Installing the package with its demo extra (editable) and linking its extension)
	$(EDITABLE) ".[demo]"
	$(LINK_EXTENSION)
	touch $@

$(STAMP): pyproject.toml labextension/package.json $(BUILD_TOOLS)
	@test -e $(LABEXT) || $(MAKE) --no-print-directory $(LABEXT)
	$(call step,Installing the package with its dev extra (tests; linters; type checker))
	$(EDITABLE) ".[dev]"
	$(LINK_EXTENSION)
	$(call step,Installing configurable-http-proxy for the JupyterHub tests)
	mkdir -p $(VENV)/node && cd $(VENV)/node && npm install --no-audit --no-fund configurable-http-proxy@^4
	touch $@

## make demo: JupyterLab + the local Salesforce emulator, with the demo notebook open.
demo: $(DEMO_STAMP) $(LABEXT)
	$(call step,Starting the demo (Ctrl-C stops it))
	$(BIN)/python -m ak_salesforce_nb.demo $(ARGS)

## make test: lint, type checks, and the whole test suite (browser tests included).
test: $(STAMP) lint typecheck pytest

## make lint: ruff, and the import-linter contracts in pyproject.toml (the layering).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) $(LABEXT)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_query.py

## make protos: regenerate the committed Pub/Sub API modules after editing
## ak_salesforce_nb/_pubsub_proto/pubsub_api.proto (grpcio-tools, from the dev extra).
protos: $(STAMP)
	$(BIN)/python ak_salesforce_nb/_pubsub_proto/_generate.py

clean:
	rm -rf $(VENV) ak_salesforce_nb/labextension labextension/lib labextension/node_modules
