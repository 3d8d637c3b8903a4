# Every development verb is one target. The environment lives in .venv/, built from the
# hashed lock in deploy/ on first use, so `make run` and `make test` work on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint format bench chaos lock docs clean install k8s-validate k8s-generate

install: $(STAMP)

$(STAMP): deploy/requirements-dev.lock pyproject.toml package-lock.json
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r deploy/requirements-dev.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@# front-end packages (axe-core for the portal's accessibility test) from the URL-free npm lock
	@if command -v npm >/dev/null; then npm ci --ignore-scripts --no-audit --no-fund --silent; \
	else echo "npm not found: the portal's accessibility test will skip"; fi
	@touch $(STAMP)

run: $(STAMP)  ## the whole platform on 127.0.0.1, demo city included; Ctrl-C stops it
	$(BIN)/safegrid dev

test: $(STAMP)  ## the whole suite on up to four workers (PostgreSQL tests skip visibly when it is not running); the failure suite is `make chaos`
	$(BIN)/pytest -q -rs -n auto --maxprocesses=4 --durations=15 -m "not chaos"

test-fast: $(STAMP)  ## unit tests only
	$(BIN)/pytest -q tests/unit

chaos: $(STAMP)  ## the failure suite: kills, a broker restart, a database outage, poison (SAFEGRID_CHAOS_SECONDS, default 180); CI runs 25 s of it
	SAFEGRID_CHAOS_SECONDS=$${SAFEGRID_CHAOS_SECONDS:-180} $(BIN)/pytest -q -s -rs -p no:xdist tests/chaos

k8s-validate: $(STAMP)  ## render k8s/overlays/* and validate every object offline (schemas, then the project's checks)
	$(BIN)/python k8s/tools/generate.py --check
	$(BIN)/python k8s/tools/validate.py

k8s-generate: $(STAMP)  ## rewrite k8s/base's generated files from the code's catalogue
	$(BIN)/python k8s/tools/generate.py

lint: $(STAMP)
	$(BIN)/ruff check services shared tests

format: $(STAMP)
	$(BIN)/ruff check --fix services shared tests
	$(BIN)/ruff format services shared tests

bench: $(STAMP)  ## every benchmark, each figure as a ratio against a baseline measured in the same run; writes var/bench/report.md
	$(BIN)/python tests/bench/report.py

docs: $(STAMP)  ## the AsyncAPI document of every event
	$(BIN)/safegrid events docs --out deploy/asyncapi.json

lock:  ## re-pin dependencies (needs uv); commits only the URL-free hashed exports
	uv pip compile pyproject.toml --python-version 3.11 --generate-hashes -o deploy/requirements.lock -q
	uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -o deploy/requirements-dev.lock -q

clean:
	rm -rf var .pytest_cache .ruff_cache
