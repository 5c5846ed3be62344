# Every target builds its own virtualenv from pyproject.toml, so a fresh clone needs only python3 (>= 3.11).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
ENV    ?= dev
# checkov (a peer scanner of our rendered Kubernetes objects) lives in its own virtualenv:
# its pins are its own business, not our product's.
CHECKOV_VENV ?= .venv-checkov
CHECKOV      := $(CHECKOV_VENV)/bin/checkov
export TKESTACK_CHECKOV := $(abspath $(CHECKOV))

.PHONY: render test check ci lint typecheck bench safety clean lowest wheel examples

# constraints.txt pins every version CI installs (reproducible runs); pyproject.toml keeps the
# ranges users get. uv resolves the lowest allowed versions (`make lowest`) and builds the
# wheel (`make wheel`).
$(BIN)/tkestack: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]" uv
	touch $@

render: $(BIN)/tkestack ## Offline render of one environment (default: dev), no credentials needed.
	$(BIN)/tkestack render $(ENV)

$(CHECKOV):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet "checkov>=3.2,<4"
	touch $@

test: $(BIN)/tkestack $(CHECKOV) ## Lint and the whole suite (one worker per core; slow-marked tests first, none skipped).
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n auto

# The type checker is not part of `make test`: pyright spends ~25 CPU-s on one thread parsing
# the typed SDKs; beside the suite on 2 cores it made every test run ~20 s longer (issue 21,
# target 5: 77 s against 56 s, medians of 3 paired runs, docs/benchmarks.md). CI still runs it on every change, beside the lowest-versions job (mostly package
# downloads and installs), each job's output printed whole when it ends.
check: test typecheck ## The suite, then the type checker: what CI checks about the code.

ci: ## What CI runs (.ci/run): the suite, the type checker beside the lowest-versions job, the wheel job.
	$(MAKE) --no-print-directory test
	$(MAKE) --no-print-directory -j2 --output-sync=target typecheck lowest
	$(MAKE) --no-print-directory wheel

lowest: $(BIN)/tkestack ## The declared dependency floors, resolved and tried (.ci/lowest-versions).
	.ci/lowest-versions $(BIN)/uv

wheel: $(BIN)/tkestack ## Build the wheel, install it in a clean venv, render/review/graph away from the checkout.
	.ci/wheel $(BIN)/uv

examples: $(BIN)/tkestack ## Render and review every example (also part of the test suite).
	$(BIN)/python -m pytest -q tests/test_examples.py

safety: $(BIN)/tkestack $(CHECKOV) ## Change-safety numbers: fuzz cases, objects validated, checkov findings, URNs, protection.
	$(BIN)/python bench/safety_report.py --fuzz-examples 5000

bench: $(BIN)/tkestack $(CHECKOV) ## Fleet render and review against their floors: every ratio, its target, whether it holds.
	$(BIN)/python bench/run.py --checkov $(CHECKOV) --fuzz-examples 5000

lint: $(BIN)/tkestack
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/tkestack ## pyright: strict on components/ and stacks/, basic elsewhere (.ci/typecheck).
	$(BIN)/python .ci/typecheck $(BIN)/pyright

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .venv-lowest .pytest_cache .ruff_cache .hypothesis dist build
