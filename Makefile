# The two set-up commands of the README: `make demo` and `make test`.
# Each creates the virtual environment it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test venv lint bench clean node-deps

# Both distributions of this repository (pypa/hatch's model): sfexit and the org emulator
# (emulator/, distribution sfexit-emulator), which the `test` extra pulls at the same version.
# --disable-pip-version-check: no upgrade banner at the start of `make demo`.
PIP := $(BIN)/pip --disable-pip-version-check -q

$(BIN)/sfexit: pyproject.toml emulator/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -e ./emulator -e '.[test]'
	touch $@

venv: $(BIN)/sfexit

demo: venv
	$(BIN)/sfexit demo --dir demo-out

# The real JavaScript clients of emulator/tests (jsforce, the Salesforce CLI) and Azurite, the
# Azure Blob server of the az:// tests (tests/integration/azurite), each an npm project with a
# committed package-lock.json. `npm ci` runs again only when a lock file changes (npm writes
# node_modules/.package-lock.json). Without npm those tests skip and say why (in CI, CI=true,
# the az:// tests fail instead: tests/integration/az_support.py).
NPM := $(shell command -v npm 2>/dev/null)
NODE_PROJECTS := emulator/tests/js emulator/tests/sfcli tests/integration/azurite
NODE_STAMPS := $(addsuffix /node_modules/.package-lock.json,$(NODE_PROJECTS))

$(NODE_STAMPS): %/node_modules/.package-lock.json: %/package-lock.json %/package.json
	cd $* && npm ci --no-audit --no-fund
	touch $@

node-deps: $(NODE_STAMPS)

# Both test suites (tests/ and emulator/tests/, the testpaths of pyproject.toml), after the
# layering contracts (lint-imports: [tool.importlinter] in pyproject.toml, docs/layout.md),
# ruff ([tool.ruff]) and mypy.
test: venv $(if $(NPM),node-deps)
	$(BIN)/lint-imports
	$(BIN)/ruff check sfexit emulator/src tests emulator/tests bench scripts
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest -q

bench: venv
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info
