# IAFactory portal. `make run` for a local portal, `make test` for the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Links printed and e-mailed by `make run` follow the port: `make run PORT=8101`.
SITE_URL ?= http://127.0.0.1:$(PORT)

.PHONY: install install-gateway run web gateway test lint bench clean catalogs messages

install: $(VENV)/.installed catalogs

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# The translations (locale/*/LC_MESSAGES/django.po, committed) compiled to .mo (not committed):
# GNU gettext's msgfmt when installed, polib otherwise. Up-to-date catalogs are skipped.
catalogs: $(VENV)/.installed
	DEBUG=1 $(PY) manage.py compilemessages --verbosity 0

# After wrapping new strings: refresh the catalogs, then fill the empty msgstr (ar, en).
messages: install
	DEBUG=1 $(PY) manage.py makemessages -l ar -l en --no-obsolete --ignore '.venv/*' --ignore 'var/*'

# Online payment in `make run`/`make web`: Chargily in test mode against the portal's own local
# stand-in (/chargily-test/, DEBUG only): « Payer en ligne », then « Payer (mode test) ».
CHARGILY_LOCAL := CHARGILY_MODE=test CHARGILY_API_KEY=$${CHARGILY_API_KEY:-test_pk_local} \
	CHARGILY_SECRET=$${CHARGILY_SECRET:-test_sk_local} \
	CHARGILY_API_URL=$${CHARGILY_API_URL:-http://$(HOST):$(PORT)/chargily-test/api/v2/}

# Installs, migrates, loads demo data, then serves the portal and runs the scheduled jobs.
run: install
	DEBUG=$${DEBUG:-1} $(PY) manage.py migrate --noinput
	SITE_URL=$(SITE_URL) DEBUG=$${DEBUG:-1} $(PY) manage.py demo_setup
	HOST=$(HOST) PORT=$(PORT) SITE_URL=$(SITE_URL) DEBUG=$${DEBUG:-1} $(CHARGILY_LOCAL) $(VENV)/bin/honcho -f Procfile.dev start

# The web server alone (no worker, no scheduler).
web: install
	DEBUG=$${DEBUG:-1} $(PY) manage.py migrate --noinput
	SITE_URL=$(SITE_URL) DEBUG=$${DEBUG:-1} $(CHARGILY_LOCAL) $(PY) manage.py runserver $(HOST):$(PORT)

install-gateway: install
	$(PY) -m pip install --quiet -e '.[test,gateway]'

# The LiteLLM gateway with mock models, beside `make run` (another terminal): http://127.0.0.1:4000
GATEWAY_PORT ?= 4000
gateway: install-gateway
	mkdir -p var/gateway
	test -s var/gateway/token || $(PY) manage.py create_gateway_token gateway-dev | tail -1 > var/gateway/token
	test -s var/gateway/master_key || $(PY) -c "import secrets; print('sk-' + secrets.token_hex(32))" > var/gateway/master_key
	IAF_PORTAL_URL=http://$(HOST):$(PORT) $(PY) -m gateway.config --mock --out var/gateway/litellm.yaml
	env -u DATABASE_URL -u REDIS_URL PYTHONPATH=$(CURDIR) LITELLM_LOCAL_MODEL_COST_MAP=True \
	  IAF_PORTAL_URL=http://$(HOST):$(PORT) IAF_GATEWAY_TOKEN=$$(cat var/gateway/token) \
	  IAF_SPOOL_DIR=var/gateway/spool LITELLM_MASTER_KEY=$$(cat var/gateway/master_key) \
	  $(VENV)/bin/litellm --config var/gateway/litellm.yaml --host $(HOST) --port $(GATEWAY_PORT)

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: install
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache
