# Every target builds its own virtualenv from pyproject.toml, so a fresh clone needs only python3 (>= 3.11).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
ENV    ?= dev

.PHONY: render test lint bench clean

$(BIN)/tkestack: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

render: $(BIN)/tkestack ## Offline render of one environment (default: dev), no credentials needed.
	$(BIN)/tkestack render $(ENV)

test: $(BIN)/tkestack ## Lint and the whole test suite.
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(BIN)/tkestack
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
