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

.PHONY: render test ci lint typecheck bench safety clean lowest wheel examples

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

# pyright checks on one thread for ~25 s: it runs beside the suite (its report printed after the
# suite's) instead of before it with a core idle; either failing fails the target.
test: $(BIN)/tkestack $(CHECKOV) ## Lint, the type checker and the whole suite (one worker per core; slow-marked tests first, none skipped).
	$(BIN)/ruff check .
	@report=$$(mktemp); \
	echo "$(BIN)/python .ci/typecheck $(BIN)/pyright  (beside the suite)"; \
	$(BIN)/python .ci/typecheck $(BIN)/pyright > $$report 2>&1 & typecheck=$$!; \
	echo "$(BIN)/python -m pytest -n auto"; \
	$(BIN)/python -m pytest -n auto; tests=$$?; \
	wait $$typecheck; typed=$$?; cat $$report; rm -f $$report; \
	test $$tests -eq 0 -a $$typed -eq 0

ci: test ## What CI runs (.ci/run): the tests, then the lowest-versions and wheel jobs.
	$(MAKE) --no-print-directory lowest wheel

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
