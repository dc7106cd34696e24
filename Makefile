# The two set-up commands of the README: `make demo` and `make test`.
# Each creates the virtual environment it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test venv lint bench clean

$(BIN)/sfexit: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

venv: $(BIN)/sfexit

demo: venv
	$(BIN)/python scripts/demo.py

test: venv
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest -q

bench: venv
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info
