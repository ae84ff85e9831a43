# gjj: the two commands a new user needs are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run dev test test-fast test-e2e lint install dynamodb-local bench fuzz load clean package

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

dynamodb-local:
	scripts/install-dynamodb-local.sh

## run: DynamoDB Local on 127.0.0.1:8001 (data in .local/), tables, demo data, API on 127.0.0.1:$(PORT);
## no autoreload: writes to data, .local/clock and .local/sms.jsonl never restart it (DDB_PORT, GJJ_LOCAL_DIR override)
run: install dynamodb-local
	PORT=$(PORT) scripts/run-local.sh

## dev: as run, but the API restarts when app.py, chalicelib/ or .chalice/config.json change (and on nothing else)
dev: install dynamodb-local
	PORT=$(PORT) RELOAD=1 scripts/run-local.sh

## test: every tier (unit, functional on moto, integration on DynamoDB Local, e2e on scripts/run-local.sh), then lint
## (--dist loadgroup: the tests of one shipped server, marked xdist_group, share a worker)
test: install dynamodb-local
	@# the web hall's browser tests: Debian's chromium + chromium-driver (and a CJK font for the screenshots)
	@test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || { S=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$S apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$S apt-get install -y -qq chromium chromium-driver fonts-wqy-microhei; }
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q
	$(BIN)/ruff check .

test-fast: install
	$(BIN)/python -m pytest -q -m "not ddblocal and not slow"

## test-e2e: the end-to-end tier alone (scripts/run-local.sh on free ports, citizens over HTTP)
test-e2e: install dynamodb-local
	$(BIN)/python -m pytest -q tests/e2e

lint: install
	$(BIN)/ruff check .

## bench: every route (p50/p99 vs a one-GetItem baseline, statuses, DynamoDB calls), import time, `gjj import` and
## every scheduled job at 10,000 and 100,000 items, the fan-out jobs with 1/2/4/8 workers on DynamoDB Local and
## behind a 10 ms latency store; tables to out/bench/ and README.md (BENCH_ARGS=--quick: short)
bench: install dynamodb-local
	$(BIN)/python -m bench --readme $(BENCH_ARGS)

## fuzz: schemathesis on every operation of /v1/openapi.json over HTTP, 100 examples each plus the coverage phase
fuzz: install dynamodb-local
	GJJ_FUZZ_EXAMPLES=$${GJJ_FUZZ_EXAMPLES:-100} GJJ_FUZZ_COVERAGE=1 $(BIN)/python -m pytest -n 2 -q -p no:cacheprovider \
		tests/reliability/test_fuzz.py

## load: 50 users on mixed operations for LOAD_SECONDS against scripts/run-local.sh itself (what `make run` runs,
## with a fresh data dir, the API on LOAD_PORT) while its clock and SMS files are written; exit 1 on any error,
## any connection error, or a restarted API process
LOAD_PORT ?= 8040
LOAD_SECONDS ?= 30
load: install dynamodb-local
	$(BIN)/python -m bench.load --port $(LOAD_PORT) --seconds $(LOAD_SECONDS) --json out/load/latest.json

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis

## package: `chalice package` for prod with the merged template (tables, bucket, DLQs, IAM) into out/
package: install
	rm -rf out && $(BIN)/python -m deploy.template --stage prod --out out/extra
	@# bytecode in the package: Lambda's disk is read-only, so without it each cold start compiles every gjj module
	env -u PYTHONPYCACHEPREFIX $(BIN)/python -m compileall -q -f --invalidation-mode checked-hash chalicelib
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-cn-north-1} $(BIN)/chalice package --stage prod --merge-template out/extra/resources.json out/prod
	@echo "template: out/prod/sam.json  code: out/prod/deployment.zip"
