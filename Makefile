# One entry point for developers and CI. Every target installs what it needs on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
APT_PACKAGES := prometheus nginx wrk gcc postgresql chromium valgrind

.PHONY: run demo up test test-plain fuzz lint fmt bench install system-deps compile clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Debian packages the tests and benchmarks run for real (Prometheus, PostgreSQL, nginx, wrk, gcc).
system-deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# The gateway's per-request modules and the shadow sidecar's per-exchange ones compiled with mypyc
# (gateway/build_hotpath.py); without a C compiler or Python headers this says so and they run as plain Python.
compile: install
	$(PY) -m gateway.build_hotpath

# The main job: the whole stack on embedded defaults with a visible ramp.
run: install compile
	$(VENV)/bin/cutover demo

up: install compile
	$(VENV)/bin/cutover up

test: install system-deps lint compile
	$(PY) -m pytest -q -p no:cacheprovider

# The suites that drive the compiled modules once more as plain Python (no compiler on a host, or mypyc
# semantics differing from CPython's): the gateway's own tests and the upstream/slow-client fault tests.
# It removes the extensions; the next `make test`/`run` compiles them again. .ci/run runs it after `make test`.
PLAIN_SUITES = tests/gateway tests/faults/test_upstream_faults.py tests/faults/test_slow_clients.py \
	tests/faults/test_hung_candidate.py
test-plain: install system-deps
	$(PY) -m gateway.build_hotpath --clean
	$(PY) -m pytest -q -p no:cacheprovider $(PLAIN_SUITES)

# The seeded, bounded schemathesis run alone (it is part of `make test` too); see README "Fuzzing".
fuzz: install
	$(PY) -m pytest -q -p no:cacheprovider tests/fuzz

lint: install
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

fmt: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install system-deps compile
	$(PY) -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache gateway/*.so gateway/shadow/*.so gateway/hotpath.manifest.json
