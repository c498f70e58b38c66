# Keyfence: `make run` serves the app with a demo account; `make test` runs the whole suite;
# `make serve` runs the production server with the environment it is given; `make worker` its task queue.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
# make run DEMO=1 creates the demo account even when DATABASE_URL names another database.
DEMO ?=
# make serve reads only its environment, plus the file ENV_FILE names, if any.
ENV_FILE ?=

.PHONY: install run serve worker test test-fast check bench screenshots clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# Local settings for manage.py in any shell of this checkout; servers started by `make serve`
# (or gunicorn) never read this file.
.env:
	printf '%s\n' '# Written by make run for local development; manage.py reads it, make serve does not.' \
		'DEBUG=1' > .env

run: install .env
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py keyfence_demo --url http://$(HOST):$(PORT) $(if $(DEMO),--force)
	@# The task-queue worker runs beside the web server; when the server stops (Ctrl-C), so does it.
	$(BIN)/python manage.py keyfence_worker & worker=$$!; \
		trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
		$(BIN)/python manage.py runserver --noreload $(HOST):$(PORT)

# Production: static files, migrations, then gunicorn on BIND (default 127.0.0.1:8000) with
# WEB_CONCURRENCY workers. DEBUG stays off unless the environment turns it on.
serve: install
	ENV_FILE="$(ENV_FILE)" $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	ENV_FILE="$(ENV_FILE)" $(BIN)/python manage.py migrate --noinput
	ENV_FILE="$(ENV_FILE)" exec $(BIN)/gunicorn -c config/gunicorn.conf.py config.wsgi

# Production: the task-queue worker and its scheduler (webhooks, e-mail, scheduled jobs), with the
# same environment as `make serve`.
worker: install
	ENV_FILE="$(ENV_FILE)" exec $(BIN)/python manage.py keyfence_worker

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Everything but the slow tests (schemathesis, benchmark smoke runs, separate app servers).
test-fast: install
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

# The guardrails CI runs before the tests; .pre-commit-config.yaml runs the same tools.
check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	ENV_FILE= DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run
	ENV_FILE= DEBUG=0 SECRET_KEY=check-deploy-$$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n') \
		ALLOWED_HOSTS=keys.example.com $(BIN)/python manage.py check --deploy --fail-level WARNING

screenshots: install
	KEYFENCE_SCREENSHOT_DIR=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest tests/browser -q

bench: install
	$(BIN)/python -m pip install --quiet "djangorestframework-api-key>=3,<4"
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .bench-db.sqlite3*
