# gjj: the two commands a new user needs are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint install dynamodb-local bench clean package

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

dynamodb-local:
	scripts/install-dynamodb-local.sh

## run: DynamoDB Local on 127.0.0.1:8001 (data in .local/), tables, demo data, API on 127.0.0.1:$(PORT)
run: install dynamodb-local
	PORT=$(PORT) scripts/run-local.sh

## test: every tier (unit, functional on moto, integration on DynamoDB Local), then lint
test: install dynamodb-local
	$(BIN)/python -m pytest -n 2 -q
	$(BIN)/ruff check .

test-fast: install
	$(BIN)/python -m pytest -q -m "not ddblocal and not slow"

lint: install
	$(BIN)/ruff check .

bench: install dynamodb-local
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis

## package: `chalice package` for prod with the merged template (tables, bucket, DLQs, IAM) into out/
package: install
	rm -rf out && $(BIN)/python -m deploy.template --stage prod --out out/extra
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-cn-north-1} $(BIN)/chalice package --stage prod --merge-template out/extra/resources.json out/prod
	@echo "template: out/prod/sam.json  code: out/prod/deployment.zip"
