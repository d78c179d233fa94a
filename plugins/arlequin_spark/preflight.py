"""Fail in seconds, naming the address, when the Spark master or the HDFS NameNode is not there.

Without these checks an unreachable standalone master costs a minute (Spark retries the
registration 3 times, 20 s apart, while the first job waits for executors) and an
unreachable NameNode many more (the JVM's Hadoop client retries each connection).
Both checks run on the driver before Spark is asked for anything.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from arlequin_core.errors import InputError
from arlequin_core.training.errors import TrainingError

#: Seconds to wait for a TCP connection to a master.
CONNECT_TIMEOUT = 5.0


def master_addresses(master: str) -> list[tuple[str, int]]:
    """The ``(host, port)`` pairs of a ``spark://`` master URL (several for standby masters);
    ``[]`` for anything else (``local[*]``, ``yarn``, ``k8s://``...), which is not checked here."""
    if not master.startswith("spark://"):
        return []
    pairs = []
    for part in master[len("spark://") :].split(","):
        host, _, port = part.strip().rstrip("/").rpartition(":")
        pairs.append((host or part, int(port) if port.isdigit() else 7077))
    return pairs


def check_master(master: str, setting: str = "[spark] master") -> None:
    """Raise :class:`TrainingError` naming ``master`` when none of its masters accepts a connection.

    :param setting: where the URL comes from, for the message.
    """
    problems = []
    for host, port in master_addresses(master):
        try:
            with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT):
                return
        except OSError as exc:
            problems.append(f"{host}:{port}: {exc.strerror or exc}")
    if problems:
        raise TrainingError(
            f"cannot reach the Spark master at {master} ({'; '.join(problems)}); "
            f"check {setting} and that the master is running"
        )


def check_hdfs(uri: str) -> None:
    """Raise :class:`InputError` for an ``hdfs://`` URI whose NameNode does not answer, or that does not exist.

    Uses Arlequin's fail-fast ``hdfs://`` client (:mod:`arlequin_core.hdfs`), so this takes
    about a second, not the JVM client's minutes. Other schemes are left to Spark.
    """
    if urlsplit(uri).scheme != "hdfs":
        return
    from arlequin_core.io import describe_os_error, filesystem

    try:
        fs, path = filesystem(uri)
        exists = fs.exists(path)
    except OSError as exc:
        raise InputError(uri, describe_os_error(exc)) from None
    if not exists:
        raise InputError(uri, "no such file or directory")
