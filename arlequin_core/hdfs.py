"""``hdfs://`` with no Hadoop install: the native client ``hdfs-native``, made to fail fast and clearly.

Which client serves which scheme (see docs/operations.md):

* ``hdfs://namenode:8020/...`` -> :class:`HdfsFileSystem`, a subclass of ``hdfs-native``'s
  fsspec filesystem. ``hdfs-native`` speaks the NameNode's RPC and the DataNodes'
  transfer protocol itself (Rust, a wheel from PyPI): no JVM, no libhdfs, no
  ``HADOOP_HOME``. It reads ``core-site.xml``/``hdfs-site.xml`` from ``HADOOP_CONF_DIR``
  when there is one (HA name services, ``viewfs://``), and takes the user from
  ``HADOOP_USER_NAME`` (else the OS user) with simple authentication, or Kerberos.
* ``webhdfs://namenode:9870/...`` -> fsspec's own ``WebHDFS`` (HTTP, ``requests``), unchanged.

What this subclass adds to ``hdfs-native``:

* **fast failure**: ``hdfs-native`` retries an unreachable NameNode for about three
  minutes by default (15 failover attempts, backing off to 15 s). Arlequin's callers retry
  on their own schedule (the poll source at its next interval, ``arlequin retry``), so
  the defaults here give up after about a second: ``dfs.client.failover.max.attempts``
  and ``dfs.client.failover.sleep.{base,max}.millis`` below. Any value set in fsspec's
  configuration for ``hdfs`` (``~/.config/fsspec/*.json``, ``FSSPEC_HDFS='{...}'``) wins.
* **Python exceptions**: errors the NameNode returns arrive from ``hdfs-native`` as
  ``RuntimeError('RPCError("org.apache.hadoop...Exception", "<message and Java stack>")')``.
  They become ``PermissionError`` (``AccessControlException``), ``FileNotFoundError``,
  ``FileExistsError`` or ``OSError``, with the first line of the NameNode's message and
  no Java stack, so every ``except OSError`` in Arlequin handles them; an unreachable
  NameNode is an ``OSError`` naming its address.
* **files still open for writing**: ``info``/``ls`` entries carry ``open_for_write``
  (see :func:`looks_open_for_write`), which the poll source uses to leave them alone.
"""

from __future__ import annotations

import errno
import re
import threading
from collections.abc import Callable
from typing import Any

from fsspec import AbstractFileSystem
from hdfs_native import Client
from hdfs_native.fsspec import HdfsFileSystem as _NativeHdfsFileSystem

#: Client settings applied unless fsspec's configuration sets them (about 1 s to give up).
FAIL_FAST: dict[str, str] = {
    "dfs.client.failover.max.attempts": "2",
    "dfs.client.failover.sleep.base.millis": "200",
    "dfs.client.failover.sleep.max.millis": "800",
}

_RPC_ERROR = re.compile(r'RPCError\("([\w.$]+)", "(.*)', re.S)
_BY_CLASS: dict[str, type[OSError]] = {
    "AccessControlException": PermissionError,
    "FileNotFoundException": FileNotFoundError,
    "FileAlreadyExistsException": FileExistsError,
    "ParentNotDirectoryException": NotADirectoryError,
}
_ERRNO = {PermissionError: errno.EACCES, FileNotFoundError: errno.ENOENT, FileExistsError: errno.EEXIST}


def _first_line(text: str) -> str:
    """The NameNode's message without the Java stack that follows it (real or escaped newlines)."""
    return re.split(r"\n|\\n", text, maxsplit=1)[0].strip()


def translate(exc: BaseException, path: str | None, namenode: str) -> BaseException:
    """The Python exception for an error ``hdfs-native`` raised on ``path`` (one line, no Java stack)."""
    if isinstance(exc, OSError):
        text = _first_line(str(exc.strerror or exc) if exc.errno else str(exc))
        if type(exc) is OSError and ("os error" in text or "onnect" in text):
            return ConnectionError(f"cannot reach the HDFS NameNode at {namenode}: {text}")
        if exc.errno:
            return type(exc)(exc.errno, text, path)
        kind = type(exc)
        return kind(_ERRNO[kind], text, path) if kind in _ERRNO else kind(text)
    if not isinstance(exc, RuntimeError):
        return exc
    match = _RPC_ERROR.search(str(exc))
    if match is None:
        return OSError(f"{namenode}{path or ''}: {_first_line(str(exc))[:500]}")
    java_class = match.group(1).rsplit(".", 1)[-1]
    # The message is Rust-debug-escaped: stop at the first escaped newline (the Java stack).
    message = _first_line(match.group(2)).replace('\\"', '"').rstrip('")')
    kind = _BY_CLASS.get(java_class, OSError)
    text = message if kind is not OSError else f"{java_class}: {message}"
    if kind in _ERRNO:
        return kind(_ERRNO[kind], text, path)
    return kind(text)


def looks_open_for_write(info: dict[str, Any]) -> bool:
    """True for a file the NameNode still has open for writing, as far as a listing can tell.

    A listing carries no "under construction" flag, but the NameNode sets a file's
    access time and modification time to the same instant at ``create`` and moves the
    modification time on at ``close`` (``completeFile``); a rename keeps both. So a
    non-empty file whose two times are equal has not been closed yet. (A file whose
    times were set equal afterwards, by ``setTimes`` / ``hdfs dfs -put -p``, looks open
    too: it is then left to the stability rule's second look, never read half-written.)
    """
    if info.get("type") != "file":
        return False
    mtime, atime = info.get("modification_time"), info.get("access_time")
    return bool(mtime) and mtime == atime


class _Guarded:
    """Proxy of a raw ``hdfs-native`` reader or writer whose errors are translated."""

    def __init__(self, inner: Any, path: str, namenode: str) -> None:
        self._inner, self._path, self._namenode = inner, path, namenode

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return value(*args, **kwargs)
            except (RuntimeError, OSError) as exc:
                raise translate(exc, self._path, self._namenode) from None

        return call


def _guard(method: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(self: HdfsFileSystem, path: Any = None, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, path, *args, **kwargs)
        except (RuntimeError, OSError) as exc:
            raise translate(exc, self._strip_protocol(str(path)) if path else None, self.namenode) from None

    guarded.__name__ = method.__name__
    guarded.__doc__ = method.__doc__
    return guarded


_CLIENTS: dict[tuple[str, tuple[tuple[str, str], ...]], Client] = {}
_CLIENTS_LOCK = threading.Lock()


def _client(url: str, options: dict[str, Any]) -> Client:
    """One ``hdfs-native`` client per NameNode and settings, for the whole process, never freed.

    Freeing a client shuts its tokio runtime down, which waits for the runtime's threads.
    In a child forked by a process with a client (pyspark starts its JVM with a
    ``preexec_fn``, so the fork runs Python code and may free objects) those threads do
    not exist and the child hangs there forever, before its ``exec``: a daemon that had
    polled ``hdfs://`` could then never start Spark. fsspec makes one filesystem instance
    per thread; they all share this client, which is thread-safe.
    """
    key = (url, tuple(sorted((str(k), str(v)) for k, v in options.items())))
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(key)
        if client is None:
            client = _CLIENTS[key] = Client(url, {k: str(v) for k, v in options.items()})
        return client


class HdfsFileSystem(_NativeHdfsFileSystem):
    """``hdfs://`` through ``hdfs-native``, failing fast with Python exceptions (see the module docstring)."""

    protocol = "hdfs"

    def __init__(self, host: str | None = None, port: int | None = None, *args: Any, **storage_options: Any) -> None:
        options = {**FAIL_FAST, **storage_options}
        self.namenode = f"hdfs://{host or ''}{f':{port}' if port else ''}"
        # Not hdfs-native's __init__: the client comes from a process-wide cache (see _client).
        AbstractFileSystem.__init__(self, host, port, *args, **options)
        self.host, self.port = host, port
        try:
            self.client = _client(self.namenode, options)
        except (RuntimeError, OSError) as exc:
            raise translate(exc, None, self.namenode) from None

    def _convert_file_status(self, file_status: Any) -> dict[str, Any]:
        info = super()._convert_file_status(file_status)
        info["open_for_write"] = looks_open_for_write(info)
        return info

    info = _guard(_NativeHdfsFileSystem.info)
    ls = _guard(_NativeHdfsFileSystem.ls)
    mkdir = _guard(_NativeHdfsFileSystem.mkdir)
    makedirs = _guard(_NativeHdfsFileSystem.makedirs)
    rmdir = _guard(_NativeHdfsFileSystem.rmdir)
    rm = _guard(_NativeHdfsFileSystem.rm)
    modified = _guard(_NativeHdfsFileSystem.modified)
    touch = _guard(_NativeHdfsFileSystem.touch)
    du = _guard(_NativeHdfsFileSystem.du)

    def mv(self, path1: str, path2: str, **kwargs: Any) -> None:  # type: ignore[override]
        """Rename; an existing destination file is replaced (HDFS ``rename2`` with ``OVERWRITE``),
        as POSIX ``rename`` and fsspec's local ``mv`` do, so write-then-rename replaces atomically."""
        kwargs.setdefault("overwrite", True)
        try:
            super().mv(path1, path2, **kwargs)
        except (RuntimeError, OSError) as exc:
            where = f"{self._strip_protocol(path1)} -> {self._strip_protocol(path2)}"
            raise translate(exc, where, self.namenode) from None

    def _open(self, path: str, mode: str = "rb", *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        stripped = self._strip_protocol(path)
        try:
            handle = super()._open(path, mode, *args, **kwargs)
        except (RuntimeError, OSError) as exc:
            raise translate(exc, stripped, self.namenode) from None
        raw = getattr(handle, "raw", handle)
        raw.inner = _Guarded(raw.inner, stripped, self.namenode)
        return handle


def register() -> None:
    """Make ``hdfs://`` (every fsspec caller in this process) use :class:`HdfsFileSystem`."""
    import fsspec

    fsspec.register_implementation("hdfs", HdfsFileSystem, clobber=True)
