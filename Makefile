# Two commands from a fresh clone: `make demo` and `make test`. Both need only python3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test reliability security lint check venv wheelhouse clean

$(STAMP): pyproject.toml .ci/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		-c .ci/constraints.txt -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# Wheels of wirewatch's runtime dependencies and of its build backend, at the pinned
# versions and without the dev extra: tests/test_install.py builds a wheel of wirewatch and
# installs it from these into a clean virtualenv, offline. Filled once, and again when
# pyproject.toml or the pins change (pip's cache did not make a second fill any quicker
# here: about 55 s each time).
WHEELHOUSE := $(VENV)/wheelhouse
WHEELS := $(WHEELHOUSE)/.filled

$(WHEELS): $(STAMP)
	rm -rf $(WHEELHOUSE) $(WHEELHOUSE).partial
	mkdir -p $(WHEELHOUSE).partial
	$(BIN)/python -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb")); \
		print(*p["project"]["dependencies"], *p["build-system"]["requires"], sep="\n")' \
		> $(WHEELHOUSE).partial/requirements.txt
	$(BIN)/python -m pip wheel --quiet --disable-pip-version-check -c .ci/constraints.txt \
		--wheel-dir $(WHEELHOUSE).partial -r $(WHEELHOUSE).partial/requirements.txt
	touch $(WHEELHOUSE).partial/.filled
	mv $(WHEELHOUSE).partial $(WHEELHOUSE)

wheelhouse: $(WHEELS)

demo: venv  ## crawl the bundled offline newswire and show what is flagged
	$(BIN)/wirewatch demo

# The tests run in pytest-xdist workers, one more than the cores: about a third of the
# parallel pass is spent waiting (daemons' intervals, servers' delays, processes starting),
# and on 2 cores a third worker cut it from 250-265 s to 202-227 s for the same CPU time
# (benchmarks/README.md). PYTEST_WORKERS=0 runs them in this process, e.g. for a debugger.
PYTEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print(len(os.sched_getaffinity(0)) + 1)')

# Compiled first: hundreds of tests start wirewatch and its crawl children as new processes,
# and where PYTHONDONTWRITEBYTECODE is set (CI sandboxes) each would compile every module
# again, about 0.2 s of CPU a process.
# The tests marked alone then run with nothing beside them: the hostile servers time a 3 s
# source timeout, which a second worker's load made fire before a size cap, and the reader
# test keeps both cores busy (with it and the SIGKILL test beside them, a daemon test's timed
# rounds once came short). The rest of the reliability suite runs in parallel: the clocks
# and full-disk tests time nothing, and the SIGKILL test, which waits more than it computes
# (about 0.4 of a core), only gains kills inside a crawl from a slower machine.
test: lint wheelhouse  ## lint, type-check, then run the tests
	$(BIN)/python -m compileall -q monitor crawler
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -m "not alone"
	$(BIN)/python -m pytest -m alone

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
