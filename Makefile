# IAFactory portal. `make run` for a local portal, `make test` for the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run web test lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# Online payment in `make run`/`make web`: Chargily in test mode against the portal's own local
# stand-in (/chargily-test/, DEBUG only): « Payer en ligne », then « Payer (mode test) ».
CHARGILY_LOCAL := CHARGILY_MODE=test CHARGILY_API_KEY=$${CHARGILY_API_KEY:-test_pk_local} \
	CHARGILY_SECRET=$${CHARGILY_SECRET:-test_sk_local} \
	CHARGILY_API_URL=$${CHARGILY_API_URL:-http://$(HOST):$(PORT)/chargily-test/api/v2/}

# Installs, migrates, loads demo data, then serves the portal and runs the scheduled jobs.
run: install
	DEBUG=$${DEBUG:-1} $(PY) manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(PY) manage.py demo_setup
	HOST=$(HOST) PORT=$(PORT) DEBUG=$${DEBUG:-1} $(CHARGILY_LOCAL) $(VENV)/bin/honcho -f Procfile.dev start

# The web server alone (no worker, no scheduler).
web: install
	DEBUG=$${DEBUG:-1} $(PY) manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(CHARGILY_LOCAL) $(PY) manage.py runserver $(HOST):$(PORT)

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: install
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache
