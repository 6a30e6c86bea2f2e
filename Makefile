# The README's two commands are `make run` and `make test`; both start from nothing but Python 3.11.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench clean chromium

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH (or PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

## Set up and run the main job: the theatre and the baseline scenario, end to end, with plots.
run: $(STAMP)
	$(BIN)/idlib-sim theatre --out out/theatre
	$(BIN)/idlib-sim run scenarios/baseline.yaml --out out/baseline --animation

## Set up and run the lint, type checks and the test suite (statistical tests included).
## The map test renders map.html in headless Chromium: installed here (Debian, as root) if missing.
test: $(STAMP) chromium
	$(BIN)/ruff check sim tests
	$(BIN)/mypy
	$(BIN)/pytest

## Headless Chromium for tests/test_htmlmap.py (idempotent: nothing to do when it is there).
chromium:
	@test -x /usr/bin/chromium || { \
	  command -v apt-get >/dev/null 2>&1 || { echo "need /usr/bin/chromium (Debian: apt-get install chromium)"; exit 1; }; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

## Benchmarks (on demand, not part of `make test`).
bench: $(STAMP)
	$(BIN)/idlib-sim bench --json

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
