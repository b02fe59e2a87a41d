# Two commands on a fresh machine: `make run` and `make test`. Everything else is here for them.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
export MIFKAD_HOME ?= $(CURDIR)/var

.PHONY: run test bench bench-quick demo install install-test browser clean

# Install (or re-install after requirements change) the app's packages into .venv.
$(VENV)/.installed: requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check uv
	$(VENV)/bin/uv pip install -q --python $(PY) -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements-test.txt $(VENV)/.installed
	$(VENV)/bin/uv pip install -q --python $(PY) -r requirements-test.txt
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test browser

# Debian's chromium (never a downloaded browser build) and fonts with Hebrew glyphs.
browser:
	@if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi dejavu; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; \
	fi

demo: install
	$(PY) -m devtools.demo

# Builds the demo data if absent, then starts the login provider, SMTP, SMS fake and the app.
run: install
	$(PY) -m devtools.stack

test: install-test
	$(PY) -m pytest

bench: install-test
	$(PY) -m bench

bench-quick: install-test
	$(PY) -m bench --quick

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
