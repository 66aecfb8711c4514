# The commands of the Quick start: `make crawl`, `make serve` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
SOURCES ?= data/sources.toml
DB ?= data/newsmill.db
PYTEST_ARGS ?=
# The suite runs in parallel (pytest-xdist): most tests wait on sockets and child processes,
# so more workers than cores pay (measured in docs/development.md). `PYTEST_ARGS='-n 0 ...'`
# runs serially; tests sharing a module's crawled store are one xdist_group.
PYTEST_PARALLEL ?= -n 4 --dist loadgroup

.PHONY: setup crawl test lint docs cog cog-check smoke serve daemon clean

# Set-up: a virtual environment with every dependency at its pinned version (first run only,
# and again whenever pyproject.toml or constraints.txt change).
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	@# setuptools' notice that every editable install of a flat layout gets, not a fault to fix
	PYTHONWARNINGS="ignore:Editable installation" \
	  $(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	@rm -f $(VENV)/.installed-*
	@touch $@

setup: $(STAMP)

crawl: $(STAMP)
	$(BIN)/newsmill crawl --sources $(SOURCES) --db $(DB)

serve: $(STAMP)
	$(BIN)/newsmill serve --db $(DB)

# The scheduler, in the foreground until Ctrl-C (see contrib/newsmill.service for a service).
daemon: $(STAMP)
	$(BIN)/newsmill daemon --sources $(SOURCES) --db $(DB)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS)

# The documentation site (docs/, Sphinx with furo and MyST), warnings as errors; the docs
# extra is installed beside the test set-up on first use.
DOCS_STAMP := $(VENV)/.docs-installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
$(DOCS_STAMP): $(STAMP)
	PYTHONWARNINGS="ignore:Editable installation" \
	  $(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,docs]'
	@rm -f $(VENV)/.docs-installed-*
	@touch $@

docs: $(DOCS_STAMP)
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html

# The CLI reference in docs/cli.md, written from each command's --help (cog-check: unchanged?).
cog: $(DOCS_STAMP)
	$(BIN)/cog -r docs/cli.md

cog-check: $(DOCS_STAMP)
	$(BIN)/cog --check docs/cli.md

# ruff, configured in pyproject.toml (CI runs it).
lint: $(STAMP)
	$(BIN)/ruff check .

# The built wheel, installed with the pinned versions into a new, empty virtual environment
# (not editable), runs every command once from a temporary directory (CI runs it too).
smoke:
	$(PYTHON) tests/smoke/wheel_smoke.py --constraints constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache tests/artifacts build dist *.egg-info docs/_build
