# Two commands on a fresh machine: `make run` and `make test`. Everything else is here for them.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
export MIFKAD_HOME ?= $(CURDIR)/var

.PHONY: run test bench bench-quick demo install install-test browser system-run clean

# Install (or re-install after requirements change) the app's packages into .venv.
$(VENV)/.installed: requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check uv
	$(VENV)/bin/uv pip install -q --python $(PY) -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements-test.txt $(VENV)/.installed
	$(VENV)/bin/uv pip install -q --python $(PY) -r requirements-test.txt
	touch $@

install: $(VENV)/.installed system-run
install-test: $(VENV)/.installed-test browser

# Debian packages: a font with Hebrew glyphs (Form B PDFs) for running; for tests also Debian's
# chromium (never a downloaded browser build) and poppler (Form B rendered to an image).
RUN_DEBS := fonts-dejavu-core
TEST_DEBS := $(RUN_DEBS) chromium poppler-utils
define apt_ensure
	@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

system-run:
	$(call apt_ensure,$(RUN_DEBS))

browser:
	$(call apt_ensure,$(TEST_DEBS))

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
