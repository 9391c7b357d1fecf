# prodimg: `make demo` runs the demo shop with a worker, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: demo serve test test-fast run-web run-worker clean

# One target builds the environment for both demo and test (a stamp file makes a half-done install rerun).
.venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	touch $@

demo: .venv
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py prodimg_models --install-bundled
	@echo ""
	@echo "  Storefront:  http://127.0.0.1:$(PORT)/"
	@echo "  Admin:       http://127.0.0.1:$(PORT)/admin/   (login: admin / admin)"
	@echo "  API schema:  http://127.0.0.1:$(PORT)/api/prodimg/schema/"
	@echo "  A separate 'manage.py qcluster' worker runs the jobs. Ctrl-C (or SIGTERM to make) stops both."
	@echo ""
	@exec $(PY) shop_demo/run_demo.py --port $(PORT)

# The web server and the worker only, on an already prepared database (shop_demo/run_demo.py starts, watches and
# stops both; `exec` makes it make's own child, so a SIGTERM that make passes on reaches it).
serve:
	@exec $(PY) shop_demo/run_demo.py --port $(PORT)

test: .venv
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest

clean:
	rm -rf $(VENV) db.sqlite3 media media-prodimg-private
