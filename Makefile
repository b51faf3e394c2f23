# The few commands a newcomer needs. Every target bootstraps .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve demo test lint typecheck check clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP) ## the service on SQLite: API, dashboard and worker at http://127.0.0.1:8000
	$(BIN)/callout serve --host 127.0.0.1 --port 8000

demo: $(STAMP) ## run examples/ against a local receiver: a signed POST, a retry, continue-on-error
	$(BIN)/python examples/demo.py

test: $(STAMP) ## the whole test suite: browser tests beside the rest (2 cores), loop-lag tests alone after
	@log=$$(mktemp); \
	$(BIN)/pytest tests/browser -p no:cacheprovider > "$$log" 2>&1 & browser=$$!; \
	$(BIN)/pytest --ignore=tests/browser -m "not looplag"; rest=$$?; \
	wait $$browser; browser_status=$$?; \
	echo "--- browser tests (run beside the rest) ---"; cat "$$log"; rm -f "$$log"; \
	echo "--- loop-lag tests (wall-clock latency, run alone) ---"; \
	$(BIN)/pytest --ignore=tests/browser -m looplag -p no:cacheprovider; lag=$$?; \
	test $$rest -eq 0 && test $$browser_status -eq 0 && test $$lag -eq 0

lint: $(STAMP) ## ruff
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples

typecheck: $(STAMP) ## mypy --strict
	$(BIN)/mypy

check: test lint typecheck

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
