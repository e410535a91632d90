# Two commands matter: `make run` (the platform on http://127.0.0.1:3000) and `make test`.
# Both set up what they need themselves: .venv (Python 3.12) with the pinned tools.

PYTHON ?= python3.12
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export SAM_CLI_TELEMETRY := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup run test checks complexity complexity-gate format test-unit test-integration test-e2e fuzz hooks bench openapi lock clean

setup: $(STAMP)

# SAM CLI and checkov get a venv of their own each (inside .venv): each pins a boto3 that the project's
# pins (MiniStack's botocore) refuse.
$(STAMP): requirements-dev.txt requirements-sam.txt requirements-checkov.txt constraints.txt constraints-sam.txt constraints-checkov.txt layers/shared/requirements.txt functions/market_jobs/requirements.txt pyproject.toml
	@echo "==> setting up $(VENV) (first run, or a requirements file changed): a few minutes, once"
	@$(PYTHON) local/etp_local/steps.py --step 1/6 "creating $(VENV) with $(PYTHON)" -- \
		$(PYTHON) -m venv $(VENV)
	@$(PYTHON) local/etp_local/steps.py --step 2/6 "installing the project's packages into $(VENV)" -- \
		$(BIN)/python -m pip install --progress-bar off -r requirements-dev.txt -c constraints.txt -e .
	@$(PYTHON) local/etp_local/steps.py --step 3/6 "creating $(VENV)/sam-cli (the SAM CLI's own venv)" -- \
		$(PYTHON) -m venv $(VENV)/sam-cli
	@$(PYTHON) local/etp_local/steps.py --step 4/6 "installing the SAM CLI into $(VENV)/sam-cli" -- \
		$(VENV)/sam-cli/bin/python -m pip install --progress-bar off -r requirements-sam.txt -c constraints-sam.txt
	@ln -sf ../sam-cli/bin/sam $(BIN)/sam
	@$(PYTHON) local/etp_local/steps.py --step 5/6 "creating $(VENV)/checkov (the IaC scanner's own venv)" -- \
		$(PYTHON) -m venv $(VENV)/checkov
	@$(PYTHON) local/etp_local/steps.py --step 6/6 "installing checkov into $(VENV)/checkov" -- \
		$(VENV)/checkov/bin/python -m pip install --progress-bar off -r requirements-checkov.txt -c constraints-checkov.txt
	@ln -sf ../checkov/bin/checkov $(BIN)/checkov
	@touch $@
	@echo "==> $(VENV) is ready"

run: setup
	$(BIN)/etp-local

# Every gate, cheapest first: what CI runs (.ci/run), and what a pull request must pass.
test: setup checks test-unit test-integration test-e2e

# The complexity gate's sources: every product and tool module (tests may read as long as they must).
COMPLEXITY_PATHS := layers functions admin local devnode bench
XENON := $(BIN)/xenon --max-absolute B --max-modules B --max-average A $(COMPLEXITY_PATHS)

# Static gates: formatting, lint, types, complexity (xenon over radon's cyclomatic complexity, which
# counts boolean operators, unlike ruff's C901: at most 10 per function, rank B; every module's
# average B at most, the whole tree's A), the template (SAM's lint, and checkov's security checks:
# 0 failed; each check that does not apply is skipped in the template, on its resource, with the
# reason).
checks: setup
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(XENON)
	$(BIN)/sam validate --lint
	$(BIN)/checkov --file template.yaml --framework cloudformation --quiet --compact --skip-download

# The complexity gate alone (the pre-commit hook's).
complexity-gate: setup
	$(XENON)

# radon's list of every block above rank A (complexity > 5), worst first in each file: where the gate is near.
complexity: setup
	$(BIN)/radon cc --show-complexity --min B --order SCORE --total-average $(COMPLEXITY_PATHS)

# Rewrites the tree as the format gate wants it (and fixes what ruff can).
format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Pure logic, no AWS: seconds.
test-unit: setup
	$(BIN)/pytest -n auto tests/unit

# Handlers and stores in-process against moto (tables from template.yaml): about a minute.
test-integration: setup
	$(BIN)/pytest -n auto tests/integration

# The template deployed to a MiniStack of its own, called over HTTP: a few minutes.
test-e2e: setup
	$(BIN)/pytest tests/e2e

# The contract fuzzer with a longer budget than `make test`'s (FUZZ_EXAMPLES requests per operation
# and role, the same ones on every run): the e2e stack, then only the fuzzer.
fuzz: setup
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-100} $(BIN)/pytest tests/e2e/test_openapi_fuzz_e2e.py

# The same static gates before every commit (.pre-commit-config.yaml).
hooks: setup
	$(BIN)/pre-commit install

bench: setup
	$(BIN)/python bench/coldstart.py
	$(BIN)/python bench/tracker.py
	$(BIN)/python bench/tracker_scale.py
	$(BIN)/python bench/clearing.py
	$(BIN)/python bench/address_job.py
	$(BIN)/python bench/request_cost.py
	$(BIN)/python bench/request_cost_stack.py
	$(BIN)/python bench/cost_model.py
	$(BIN)/python bench/load.py

openapi: setup
	$(BIN)/python -m etp_admin.openapi > docs/openapi.json

lock: setup
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^pip==' > constraints.txt
	$(VENV)/sam-cli/bin/python -m pip freeze | grep -v '^pip==' > constraints-sam.txt
	$(VENV)/checkov/bin/python -m pip freeze | grep -v '^pip==' > constraints-checkov.txt

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .ruff_cache .mypy_cache
