"""Start ``mlflow server`` on PostgreSQL from the environment and a password file.

The MLflow image's entrypoint (docker/mlflow/Dockerfile). The database password is
read from ``MLFLOW_DB_PASSWORD_FILE`` (a Compose secret), never from the environment
or the command line a ``ps`` shows: it goes into the backend-store URI, which MLflow
reads from ``MLFLOW_BACKEND_STORE_URI``. tests/integration/test_mlflow_postgres.py runs
this same file against a real PostgreSQL.

Environment: ``MLFLOW_DB_HOST``, ``MLFLOW_DB_PORT`` (5432), ``MLFLOW_DB_USER``,
``MLFLOW_DB_NAME``, ``MLFLOW_DB_PASSWORD_FILE``, ``MLFLOW_ARTIFACTS_DESTINATION``,
``MLFLOW_HOST`` (0.0.0.0), ``MLFLOW_PORT`` (5000), ``MLFLOW_ALLOWED_HOSTS`` (optional),
``MLFLOW_WORKERS`` (2). Extra arguments are passed on to ``mlflow server``.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from urllib.parse import quote


def fail(message: str) -> None:
    print(f"serve.py: {message}", file=sys.stderr)
    raise SystemExit(2)


def required(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        fail(f"environment variable {name} is not set (see docker/compose.yml)")
    return value


def backend_store_uri() -> str:
    """``postgresql+psycopg2://user:password@host:port/db`` with the password from its file, URL-quoted."""
    password_file = Path(required("MLFLOW_DB_PASSWORD_FILE"))
    try:
        password = password_file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        fail(f"cannot read MLFLOW_DB_PASSWORD_FILE {password_file}: {exc.strerror or exc}")
    user = quote(required("MLFLOW_DB_USER"), safe="")
    host, port = required("MLFLOW_DB_HOST"), os.environ.get("MLFLOW_DB_PORT", "5432")
    database = quote(required("MLFLOW_DB_NAME"), safe="")
    # The driver named: SQLAlchemy 2.1 defaults to psycopg 3, the image ships psycopg2.
    return f"postgresql+psycopg2://{user}:{quote(password, safe='')}@{host}:{port}/{database}"


def command(extra: list[str]) -> list[str]:
    """The ``mlflow server`` command line (the store URI is not on it: see the module docstring)."""
    argv = [
        "mlflow",
        "server",
        "--artifacts-destination",
        required("MLFLOW_ARTIFACTS_DESTINATION"),
        "--serve-artifacts",
        "--host",
        os.environ.get("MLFLOW_HOST", "0.0.0.0"),
        "--port",
        os.environ.get("MLFLOW_PORT", "5000"),
        "--workers",
        os.environ.get("MLFLOW_WORKERS", "2"),
    ]
    if os.environ.get("MLFLOW_ALLOWED_HOSTS"):
        argv += ["--allowed-hosts", os.environ["MLFLOW_ALLOWED_HOSTS"]]
    return argv + extra


def main() -> None:
    os.environ["MLFLOW_BACKEND_STORE_URI"] = backend_store_uri()
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    argv = command(sys.argv[1:])
    executable = shutil.which(argv[0]) or fail("mlflow is not on PATH")
    os.execv(executable, argv)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
