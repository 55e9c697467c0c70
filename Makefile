VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
NODE_DIR := tests/live/node
PORT ?= 5000
ISSUER ?= http://127.0.0.1:$(PORT)

.PHONY: help run demo test lint bench clean system

help: ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

$(NODE_DIR)/node_modules/.installed: $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	cd $(NODE_DIR) && npm ci --no-audit --no-fund --silent
	touch $@

run: $(VENV)/.installed ## Initialise instance/ (database, keys, demo data) and serve on 127.0.0.1:$(PORT) (PORT=N), with the worker and the demo application (http://127.0.0.1:5002)
	IDP_ISSUER=$(ISSUER) $(VENV)/bin/idp init --demo
	@IDP_ISSUER=$(ISSUER) $(PY) -m idp.demo_banner
	IDP_ISSUER=$(ISSUER) $(PY) examples/run_demo.py

demo: $(VENV)/.installed ## As run, plus the RNCPS example app (http://127.0.0.1:5001), which asks for the multi-factor level
	IDP_ISSUER=$(ISSUER) $(VENV)/bin/idp init --demo
	@IDP_ISSUER=$(ISSUER) $(PY) -m idp.demo_banner
	IDP_ISSUER=$(ISSUER) $(PY) examples/run_demo.py --rncps

system: ## Install the system packages the tests need (chromium, node, psql) and start PostgreSQL and Redis
	./.ci/install

test: system $(VENV)/.installed $(NODE_DIR)/node_modules/.installed ## System packages, policy scenarios, then the whole suite (SQLite and PostgreSQL)
	$(VENV)/bin/idp policy test policies/scenarios --policy policies/default.yaml
	$(PY) -m pytest

BENCH_PEER := bench/peer

$(BENCH_PEER)/node_modules/.installed: $(BENCH_PEER)/package.json $(BENCH_PEER)/package-lock.json
	cd $(BENCH_PEER) && npm ci --no-audit --no-fund --silent
	touch $@

bench: system $(VENV)/.installed $(BENCH_PEER)/node_modules/.installed ## Ours beside node oidc-provider (wrk, PostgreSQL): one table of req/s, CPU, latency, logins/s, memory
	./bench/install-wrk
	$(PY) bench/run.py $(BENCH_ARGS)

clean: ## Remove the virtualenv, the instance folder and caches
	rm -rf $(VENV) instance .pytest_cache $(NODE_DIR)/node_modules

lint: $(VENV)/.installed ## Check style and common mistakes with ruff, then types with mypy (strict on idp/policy, idp/oidc)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
