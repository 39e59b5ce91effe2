# Xinyidai 信易贷 — developer and CI entry points.
#
#   make run        demo on http://127.0.0.1:$(PORT)/ (SQLite, tasks run in-process)
#   make test       SQLite pass, then PostgreSQL + Redis pass (starts both via `make services`)
#   make lint       ruff + mypy
#
# Works as root (CI) and as a normal user; only scripts/services.sh ever needs root, and it uses
# sudo for that when it is not already root.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

PORT ?= 8000
PG_PORT ?= 5432
REDIS_PORT ?= 6379

TEST_DATABASE_URL = postgres://xinyidai:xinyidai@127.0.0.1:$(PG_PORT)/xinyidai
TEST_REDIS_URL = redis://127.0.0.1:$(REDIS_PORT)/15

.PHONY: install run services test lint fmt messages clean

# Idempotent: the virtualenv is (re)installed only when pyproject.toml changed since the last
# successful install (its sha256 is kept in $(STAMP)).
install:
	@want=$$(sha256sum pyproject.toml | cut -d' ' -f1); \
	if [ -x $(PY) ] && [ -f $(STAMP) ] && [ "$$(cat $(STAMP))" = "$$want" ]; then \
		echo "install: $(VENV) is up to date with pyproject.toml"; exit 0; \
	fi; \
	if [ ! -x $(PY) ]; then \
		if command -v python3.11 >/dev/null 2>&1; then py=python3.11; \
		elif command -v python3 >/dev/null 2>&1 && \
			python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then py=python3; \
		else echo "install: need python3.11 (or a python3 that is 3.11+)" >&2; exit 1; fi; \
		echo "install: creating $(VENV) with $$($$py --version)"; \
		$$py -m venv $(VENV); \
	fi; \
	echo "install: pip install -e '.[dev]'"; \
	$(PY) -m pip install --quiet --upgrade pip; \
	$(PY) -m pip install --quiet -e '.[dev]'; \
	echo "$$want" > $(STAMP)

run: install
	bash scripts/services.sh --pdf-only
	mkdir -p var/staticfiles
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --enterprises 2000
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

services:
	PG_PORT=$(PG_PORT) REDIS_PORT=$(REDIS_PORT) bash scripts/services.sh

# Both passes always run; the target fails if either had a failing test.
test: install services
	@status=0; \
	echo "test: pass 1/2 — SQLite, in-process Celery (integration tests deselected)"; \
	echo 'env -u DATABASE_URL -u REDIS_URL $(VENV)/bin/pytest -m "not integration" -q'; \
	env -u DATABASE_URL -u REDIS_URL $(VENV)/bin/pytest -m "not integration" -q || status=1; \
	echo "test: pass 2/2 — PostgreSQL :$(PG_PORT) + Redis :$(REDIS_PORT), all tests"; \
	echo 'DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(VENV)/bin/pytest -q'; \
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(VENV)/bin/pytest -q || status=1; \
	if [ $$status -ne 0 ]; then echo "test: FAILED (see above)" >&2; fi; \
	exit $$status

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

fmt: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

messages: install
	$(PY) manage.py makemessages -l en --ignore=.venv --ignore=tests --ignore=static --no-location
	$(PY) manage.py compilemessages --ignore=.venv

clean:
	rm -rf db.sqlite3 db.sqlite3-journal db.sqlite3-wal db.sqlite3-shm var/ \
		.pytest_cache .mypy_cache .ruff_cache .hypothesis htmlcov .coverage
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
