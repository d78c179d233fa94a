"""A real PostgreSQL cluster for tests: ``initdb`` in a temporary directory, on a loopback port.

Debian's ``postgresql`` package provides the binaries (``make test`` and ``.ci/run``
install it when missing). PostgreSQL refuses to run as root, so under root (CI) the
server runs as the package's ``postgres`` user. Nothing is skipped: a missing
PostgreSQL fails the test, naming the package to install.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest


def _binary(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if found is None:
        pytest.fail(f"PostgreSQL's {name} is not installed: `apt-get install postgresql` (make test does)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Postgres:
    """A running cluster: connect as ``user``/``password`` to ``127.0.0.1:port``."""

    root: Path
    port: int
    user: str
    password: str
    password_file: Path

    def dsn(self, database: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user={self.user} password={self.password} dbname={database}"

    def create_database(self, name: str) -> None:
        import psycopg2

        connection = psycopg2.connect(self.dsn())
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


def start_postgres() -> Postgres:
    """initdb + pg_ctl start on a free loopback port (stop it with :func:`stop_postgres`)."""
    root = Path(tempfile.mkdtemp(prefix="arlequin-pg-"))
    password = "pw-" + os.urandom(8).hex()
    password_file = root / "password"
    password_file.write_text(password + "\n")
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
        shutil.chown(password_file, "postgres")
    port = free_port()
    # UTF-8 and the C locale: the same on every machine, whatever locales it has.
    initdb = [_binary("initdb"), "-D", str(data), "-U", "arlequin", f"--pwfile={password_file}", "--auth=scram-sha-256"]
    subprocess.run(_as_server_user([*initdb, "-E", "UTF8", "--locale=C.UTF-8"]), check=True, capture_output=True)
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
    start = [
        _binary("pg_ctl"),
        "-D",
        str(data),
        "-o",
        options,
        "-l",
        str(root / "server.log"),
        "-w",
        "-t",
        "60",
        "start",
    ]
    result = subprocess.run(
        _as_server_user(start),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        log = (root / "server.log").read_text() if (root / "server.log").exists() else ""
        pytest.fail(f"pg_ctl start failed: {result.stderr}\n{log[-3000:]}")
    return Postgres(root=root, port=port, user="arlequin", password=password, password_file=password_file)


def stop_postgres(server: Postgres) -> None:
    """Stop the cluster (fast shutdown) and remove its directory."""
    subprocess.run(
        _as_server_user([_binary("pg_ctl"), "-D", str(server.root / "data"), "-m", "fast", "-w", "stop"]),
        capture_output=True,
    )
    shutil.rmtree(server.root, ignore_errors=True)
