# One entry point for people and CI. Needs only python3 (3.11+) and make.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: install run demo test lint bench screenshots clean

$(BIN)/mailfate: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	@touch $@

install: $(BIN)/mailfate

## make run: install, load the demo (dated now) into the database, then serve it on http://127.0.0.1:$(PORT)
## (make run PORT=8090 for another port; the database is $MAILFATE_DB, else sqlite:///mailfate.db; the
## demo is loaded into it once). Ctrl-C stops it quietly: `set -m` makes the server the terminal's
## foreground job, so the interrupt reaches the server alone (not make), which stops gracefully with status 0.
PORT ?= 8025
run: install
	$(BIN)/mailfate demo --db "$${MAILFATE_DB:-sqlite:///mailfate.db}" --port "$(PORT)"
	@set -m 2>/dev/null; $(BIN)/mailfate serve --port "$(PORT)" --db "$${MAILFATE_DB:-sqlite:///mailfate.db}"

demo: install
	$(BIN)/mailfate demo

## make test: lint, type-check and run every test
test: install lint
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check src tests bench .ci
	$(BIN)/ruff format --check src tests bench .ci
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: install
	$(BIN)/python bench/ingest_files.py
	$(BIN)/python bench/status_lookup.py
	$(BIN)/python bench/http_ingest.py
	$(BIN)/python bench/stats.py
	$(BIN)/python bench/guards.py
	$(BIN)/python bench/sqs_ingest.py
	$(BIN)/python bench/notification_cost.py
	$(BIN)/python bench/check.py
	$(BIN)/python bench/activity.py

## make screenshots: the dashboard pictures in docs/img, taken by the browser tests
screenshots: install
	MAILFATE_TEST_SCREENSHOTS=docs/img $(BIN)/pytest tests/dashboard/test_screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
