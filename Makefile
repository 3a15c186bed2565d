# Hjemmedialog. `make run` serves the demo; `make test` runs every test.
# Each target creates what it needs: the virtual environment, the compiled
# translations, and (for the end-to-end tests) Chromium from Debian's packages.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
WORKERS ?= 2
THREADS ?= 4
CHROMIUM ?= /usr/bin/chromium
STAMP := $(VENV)/.installed
# The OpenID provider the end-to-end tests run as ID-porten (npm, pinned in its lock file).
IDPORTEN := e2e/idporten
IDPORTEN_STAMP := $(IDPORTEN)/node_modules/.package-lock.json
# Lighthouse for the page-quality bench (npm, pinned in its lock file).
LIGHTHOUSE := bench/lighthouse
LIGHTHOUSE_STAMP := $(LIGHTHOUSE)/node_modules/.package-lock.json

export FLASK_APP := app:create_app

.PHONY: run test test-unit test-e2e bench lighthouse lighthouse-install lint venv translations messages chromium idporten demo-reset clean

run: venv translations
	@mkdir -p instance
	APP_ENV=$${APP_ENV:-development} $(BIN)/flask db upgrade
	APP_ENV=$${APP_ENV:-development} $(BIN)/flask demo --if-empty
	@echo "Hjemmedialog: http://127.0.0.1:$(PORT)  (notices: $${SMTP_HOST:-development sink at /dev/outbox})"
	export APP_ENV=$${APP_ENV:-development} PORT=$(PORT); \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/flask notices work & worker=$$!; \
	$(BIN)/gunicorn --bind 127.0.0.1:$(PORT) --workers $(WORKERS) --threads $(THREADS) \
		--access-logfile - 'app:create_app()'

test: venv translations chromium idporten
	$(BIN)/python -m pytest

test-unit: venv translations
	$(BIN)/python -m pytest tests

test-e2e: venv translations chromium idporten
	$(BIN)/python -m pytest e2e

# Speed (docs/quality.md): medians over rounds, on SQLite, or on PostgreSQL when DATABASE_URL says so.
# The page benchmark loads the scale data twice (1 % and BENCH_SCALE); at 1.0 that takes minutes.
BENCH_SCALE ?= 1.0
bench: venv translations
	@status=0; \
	$(BIN)/python -m bench.notices || status=1; \
	$(BIN)/python -m bench.throughput || status=1; \
	$(BIN)/python -m bench.pages --full $(BENCH_SCALE) || status=1; \
	exit $$status

# Lighthouse (mobile) on the key pages, logged in, with the demo data (docs/quality.md P5); writes
# bench/results/lighthouse.md and fails when a page misses a target.
lighthouse: venv translations chromium lighthouse-install
	CHROMIUM=$(CHROMIUM) $(BIN)/python -m bench.lighthouse

lint: venv
	$(BIN)/ruff check app tests e2e migrations bench

venv: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

translations: venv
	$(BIN)/pybabel compile --statistics -d translations 2>&1 | grep -v '^compiling' || true

# After changing user-facing text: extract the strings and update the catalogs;
# then translate the new entries in translations/{nb,nn,en}/LC_MESSAGES/messages.po.
# wtforms_text and wtforms_plural mark WTForms' own messages (app/web/forms.py).
messages: venv
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k wtforms_text \
		-k wtforms_plural:1,2 --project=Hjemmedialog --no-wrap -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching \
		--no-wrap --ignore-obsolete

# npm ci installs exactly the locked versions, again whenever the lock file changes.
idporten: $(IDPORTEN_STAMP)

$(IDPORTEN_STAMP): $(IDPORTEN)/package.json $(IDPORTEN)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: the end-to-end tests need Node.js 18.12 or later"; exit 1; }
	cd $(IDPORTEN) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

lighthouse-install: $(LIGHTHOUSE_STAMP)

$(LIGHTHOUSE_STAMP): $(LIGHTHOUSE)/package.json $(LIGHTHOUSE)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: Lighthouse 12.8.2 needs Node.js 18.16 or later"; exit 1; }
	cd $(LIGHTHOUSE) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

chromium:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "Installing Chromium from Debian's packages"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "Chromium is missing: install Debian's 'chromium' package (as root) or set CHROMIUM=/path"; \
		exit 1; \
	fi

clean:
	rm -rf $(VENV) instance .pytest_cache $(IDPORTEN)/node_modules $(LIGHTHOUSE)/node_modules
	find . -name '*.mo' -delete
