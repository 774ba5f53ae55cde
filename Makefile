# NETcare: `make run` starts the embedded system; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PIP := $(PY) -m pip --disable-pip-version-check --quiet
PIP_INSTALL := $(PIP) install --root-user-action=ignore
# `make run PORT=8001` serves NETcare on another port.
PORT ?= 8000
# The suite runs in this many processes (pytest-xdist; each with its own test database, Redis
# database and var directory, see tests/worker_env.py); `make test TEST_WORKERS=1` runs it in one.
TEST_WORKERS ?= 2

# The suite runs against this machine's PostgreSQL and Redis.
TEST_ENV := DATABASE_URL=postgres://postgres@127.0.0.1:5432/netcare \
	REDIS_URL=redis://127.0.0.1:6379/15 \
	SECRET_KEY=netcare-test-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz \
	SECURE_SSL_REDIRECT=0 SECURE_COOKIES=0 NETCARE_REQUIRE_SERVICES=1 \
	DJANGO_ALLOW_ASYNC_UNSAFE=true DATABASE_CONN_MAX_AGE=0 NETCARE_VAR_DIR=$(CURDIR)/var/test

.PHONY: install run test test-fast lint migrations services bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) --upgrade pip
	$(PIP_INSTALL) -e '.[test]'
	touch $(STAMP)

# axe-core (package-lock.json) is what the browser tests' accessibility checks inject; only the
# suite needs it (and Node.js, which `make services` installs when absent), never `make run`.
NODE_STAMP := node_modules/.installed-stamp
$(NODE_STAMP): package-lock.json
	npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

install: $(STAMP)

run: $(STAMP)
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py seed_demo
	DEBUG=1 $(PY) manage.py run_embedded --addr 127.0.0.1:$(PORT)

services:
	bash scripts/ensure-services.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache
	$(TEST_ENV) $(PY) manage.py makemigrations --check --dry-run

test: $(STAMP) services $(NODE_STAMP) lint
	$(TEST_ENV) $(PY) -m pytest -n $(TEST_WORKERS) --dist loadscope $(PYTEST_ARGS)

# The same without the browser and integration tests: a few minutes instead of the whole run.
test-fast: $(STAMP) services $(NODE_STAMP) lint
	$(TEST_ENV) $(PY) -m pytest -n $(TEST_WORKERS) --dist loadscope \
		-m "not browser and not integration" $(PYTEST_ARGS)

# Every benchmark (bench/: api_load, dashboard, reminders), each on a database of its own; each
# ends with one JSON line per figure ({"bench": ..., "ratio": ..., "target": ..., "met": ...}).
bench: $(STAMP) services
	$(TEST_ENV) $(PY) -m bench

clean:
	rm -rf $(VENV) var node_modules
