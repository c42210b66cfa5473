# The two commands: `make demo` (the tutorial, end to end, on the sandbox) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv demo test lint lab app browser-deps azurite-deps bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -e '.[test]'
	# ipykernel 6 beside the venv's 7, for the widget tests that run on both (PYTHONPATH picks it)
	$(PY) -m pip install -q --no-deps --upgrade --target $(VENV)/ipykernel6 'ipykernel>=6.29,<7'
	# the real Milvus server (Embedded Milvus 2.3.5: its package imports only the standard library; run in a
	# private network namespace by zimport_widgets.sandbox.milvus_server) for the conformance tests and the demo
	$(PY) -m pip install -q --no-deps --upgrade --target $(VENV)/milvus-server 'milvus==2.3.5'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(PY) -m devtools.demo

test: $(STAMP) browser-deps azurite-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Azurite (Microsoft's Azure Storage emulator, from npm; pinned) for the Azure backend's tests, with Debian's
# Node.js when there is none. Its telemetry is switched off where the sandbox starts it.
AZURITE := $(VENV)/azurite/.installed
azurite-deps: $(AZURITE)
$(AZURITE):
	@command -v npm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q nodejs npm; }
	mkdir -p $(VENV)/azurite
	npm install --no-audit --no-fund --silent --prefix $(VENV)/azurite azurite@3.37.0
	touch $(AZURITE)

# Debian chromium for the browser test (Playwright drives it; no browser download).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; }

lab: $(STAMP)
	$(PY) -m devtools.lab

app: $(STAMP)
	$(VENV)/bin/zimport app

bench: $(STAMP)
	$(PY) benchmarks/convert.py
	$(PY) benchmarks/formats.py
	$(PY) benchmarks/upload.py
	$(PY) benchmarks/sandbox_start.py
	$(PY) benchmarks/real_milvus.py
	$(PY) benchmarks/soak.py
	$(PY) benchmarks/scale.py

clean:
	rm -rf build .pytest_cache
