# Each target creates or updates .venv itself; a rerun with nothing changed skips the install.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.videomock-installed
ARGS ?=
PYTEST_ARGS ?=
# The suite runs on every core (pytest-xdist); PYTEST_WORKERS=0 runs it in one process (for -s, or pdb).
PYTEST_WORKERS ?= auto

.PHONY: serve test lint fuzz bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "videomock needs Python >= 3.11 (found " + sys.version.split()[0] + "); run: make PYTHON=python3.11 ...")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

serve: $(STAMP)
	$(BIN)/videomock serve $(ARGS)

# The static checks first (ruff, the layer contracts, mypy), then the suite.
test: lint
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/python .ci/lint.py

# The same suite with the long Hypothesis profile: thousands of examples per property, and Schemathesis too.
fuzz: $(STAMP)
	VIDEOMOCK_HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# Needs wrk (apt-get install wrk); compare_peers installs aimock, WireMock and Prism into bench/.peers/ (npm; Node, Java).
bench: $(STAMP)
	$(BIN)/python bench/bench_render.py
	$(BIN)/python bench/bench_download.py
	$(BIN)/python bench/bench_fixtures.py
	$(BIN)/python bench/store_ops.py
	$(BIN)/python bench/poll_path.py
	$(BIN)/python bench/submit_path.py
	$(BIN)/python bench/throughput.py
	$(BIN)/python bench/hostile.py
	$(BIN)/python bench/image_memory.py
	$(BIN)/python bench/compare_peers.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis .schemathesis
