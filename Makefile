# Everything a fresh clone needs: `make demo` and `make test` create .venv and install.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

export MLFLOW_DISABLE_TELEMETRY := true
export SPARK_LOCAL_IP := 127.0.0.1
export PYSPARK_PYTHON := $(abspath $(BIN)/python)

.PHONY: install demo test lint format bench clean postgresql

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10+ is required; set PYTHON=python3.x")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' -e examples/arlequin-welch
	@touch $@

demo: $(STAMP)
	$(BIN)/python examples/demo.py

test: $(STAMP) lint postgresql
	$(BIN)/python -m pytest

# Debian's PostgreSQL, for the MLflow-on-PostgreSQL integration test (it runs its own
# cluster on a loopback port; the package's own service is not used).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
postgresql:
	@if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then :; else \
	  echo "installing Debian's postgresql package (tests/integration/test_mlflow_postgres.py needs it)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql >/dev/null; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .arlequin .pytest_cache .ruff_cache build *.egg-info
