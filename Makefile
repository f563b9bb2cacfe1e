# The two set-up commands: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test install lint format bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml assets/package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	$(BIN)/python scripts/build_assets.py
	touch $@

## make run: install, migrate, seed the demo (with the Letzshop sandbox) and serve on :8000
run: install
	$(BIN)/ordergate db upgrade
	$(BIN)/ordergate demo
	$(BIN)/ordergate serve --host 127.0.0.1 --port 8000 --with-sandbox

## make test: lint, the whole suite on SQLite and on a throwaway PostgreSQL cluster, then every
## benchmark at smoke size (they check their own row counts)
test: install lint
	$(BIN)/python scripts/ensure_chromium.py
	$(BIN)/pytest -q -p no:cacheprovider
	$(BIN)/python scripts/with_postgres.py -- $(BIN)/pytest -q -p no:cacheprovider
	$(BIN)/python scripts/with_postgres.py -- $(BIN)/python bench/run_all.py --smoke

## make bench: the benchmarks on SQLite and on a throwaway PostgreSQL cluster (see bench/README.md)
bench: install
	$(BIN)/python scripts/with_postgres.py -- $(BIN)/python bench/run_all.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy src bench

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) ordergate.db ordergate.db-* .ordergate-secret
