# The commands of the Quick start: `make crawl`, `make serve` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
SOURCES ?= data/sources.toml
DB ?= data/newsmill.db
PYTEST_ARGS ?=

.PHONY: setup crawl test smoke serve daemon clean

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
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The built wheel, installed with the pinned versions into a new, empty virtual environment
# (not editable), runs every command once from a temporary directory (CI runs it too).
smoke:
	$(PYTHON) tests/smoke/wheel_smoke.py --constraints constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache tests/artifacts build dist *.egg-info
