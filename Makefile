# Kizuna: `make run` sets up and starts everything on embedded defaults; `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
VENDOR := static/vendor

.PHONY: run install install-dev static messages migrate seed test lint format bench-seed clean

run: install static messages migrate ## set up and start web, worker and beat on http://127.0.0.1:8000
	$(PY) manage.py seed_demo --if-empty
	$(VENV)/bin/honcho -f Procfile.dev start

$(VENV)/.created:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	touch $@

# `make run` needs only the runtime dependencies; the test tools (browser driver, pandas, …) come with `make test`.
$(STAMP): pyproject.toml $(VENV)/.created
	$(PY) -m pip install --quiet --disable-pip-version-check -e .
	touch $(STAMP)

$(DEV_STAMP): pyproject.toml $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(DEV_STAMP)

install: $(STAMP)

install-dev: $(DEV_STAMP)

$(VENDOR)/.built: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)/bootstrap $(VENDOR)/chartjs $(VENDOR)/sortablejs
	cp node_modules/bootstrap/dist/css/bootstrap.min.css $(VENDOR)/bootstrap/
	cp node_modules/bootstrap/dist/js/bootstrap.bundle.min.js $(VENDOR)/bootstrap/
	cp node_modules/chart.js/dist/chart.umd.min.js $(VENDOR)/chartjs/
	cp node_modules/sortablejs/Sortable.min.js $(VENDOR)/sortablejs/
	touch $(VENDOR)/.built

static: $(VENDOR)/.built

messages: install
	$(PY) manage.py compilemessages --ignore=.venv --ignore=node_modules -v 0

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

test: install-dev static messages ## the whole suite (SQLite unless DATABASE_URL is set)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

format: install-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf var $(VENDOR) node_modules

bench-seed: install ## seed_demo --customers 100000 into a fresh PostgreSQL database, timed
	benchmarks/seed_demo.sh
