# Everything a fresh clone needs: `make demo` and `make test` create .venv and install.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

export MLFLOW_DISABLE_TELEMETRY := true
export SPARK_LOCAL_IP := 127.0.0.1
export PYSPARK_PYTHON := $(abspath $(BIN)/python)

.PHONY: install demo test lint format bench bench-evidently-venv clean postgresql chromium hadoop-jars cluster-demo

install: $(STAMP)

$(STAMP): pyproject.toml $(wildcard examples/*/pyproject.toml)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10+ is required; set PYTHON=python3.x")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' -e examples/arlequin-welch -e examples/arlequin-scorecard
	@touch $@

demo: $(STAMP)
	$(BIN)/python examples/demo.py

test: $(STAMP) lint postgresql chromium hadoop-jars
	$(BIN)/python -m pytest

# Debian's PostgreSQL, for the MLflow-on-PostgreSQL integration test (it runs its own
# cluster on a loopback port; the package's own service is not used).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
postgresql:
	@if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then :; else \
	  echo "installing Debian's postgresql package (tests/integration/test_mlflow_postgres.py needs it)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql >/dev/null; \
	fi

# Debian's chromium, for tests/htmlreport/test_browser.py: the HTML reports are rendered in a
# real headless browser (driven by Playwright's client through executable_path; Playwright's
# own browser download is never used). Those tests fail, never skip, without it.
chromium:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || [ -n "$$ARLEQUIN_CHROMIUM" ]; then :; else \
	  echo "installing Debian's chromium package (tests/htmlreport/test_browser.py needs it)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; \
	fi

# Hadoop's MiniDFSCluster (a real HDFS for the tests and cluster-demo): the
# hadoop-client-minicluster jars matching pyspark's bundled Hadoop client, fetched with
# mvn into ~/.cache/arlequin (or $$ARLEQUIN_CLUSTER_CACHE; outside the tree), and cluster/MiniHdfs.java compiled.
hadoop-jars: $(STAMP)
	@command -v mvn >/dev/null || { echo "error: mvn (Maven) is not on PATH; it fetches Hadoop's MiniDFSCluster" >&2; exit 1; }
	@command -v javac >/dev/null || { echo "error: javac (Java 17 JDK) is not on PATH" >&2; exit 1; }
	$(BIN)/python cluster/localcluster.py fetch

# HDFS + Spark standalone + mlflow server on loopback: train on Spark from HDFS, watch an hdfs:// landing dir.
cluster-demo: $(STAMP) hadoop-jars
	$(BIN)/python examples/cluster_demo.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache --no-logo

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP) hadoop-jars
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# Evidently in its own venv (~/.cache/arlequin/evidently-venv), only for benchmarks/bench_cli.py: never a dependency.
bench-evidently-venv: $(STAMP)
	$(BIN)/python benchmarks/bench_cli.py --setup-evidently

clean:
	rm -rf $(VENV) .arlequin .pytest_cache .ruff_cache build *.egg-info
