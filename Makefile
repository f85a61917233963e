# Two commands from a fresh clone: `make demo` and `make test`. Both need only python3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test reliability security lint check venv clean

$(STAMP): pyproject.toml .ci/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		-c .ci/constraints.txt -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: venv  ## crawl the bundled offline newswire and show what is flagged
	$(BIN)/wirewatch demo

# The tests run in one worker process per core (pytest-xdist); PYTEST_WORKERS=0 runs them
# in this process, e.g. to use a debugger.
PYTEST_WORKERS ?= auto

# Compiled first: hundreds of tests start wirewatch and its crawl children as new processes,
# and where PYTHONDONTWRITEBYTECODE is set (CI sandboxes) each would compile every module
# again, about 0.2 s of CPU a process.
# The reliability suite then runs alone: its tests time hostile servers, kills and clocks,
# and a second worker's load beside them made a 3 s source timeout fire before a size cap.
test: lint  ## lint, type-check, then run the tests
	$(BIN)/python -m compileall -q monitor crawler
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -m "not reliability"
	$(BIN)/python -m pytest -m reliability

reliability: venv  ## run only the reliability suite (faults, hostile servers, disk, clocks)
	$(BIN)/python -m pytest -m reliability

security: venv  ## run only the security suite (hostile feeds, pages, configs, web sites)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -m security

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) wirewatch-demo
