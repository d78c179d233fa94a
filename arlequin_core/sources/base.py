"""The source interface: watch a location and report complete batches.

A source notices batches that are *complete* (see :mod:`arlequin_core.sources.rules`)
and hands each one to ``emit`` as a :class:`Landed`. It never reads the data: the
consumers of ``data-arrived`` do. Reporting the same batch twice is harmless, because
the daemon's ledger keys batches by :func:`batch_id` and ignores ones it already has;
so a source may (and should) err on the side of reporting again, e.g. after a rescan.
"""

from __future__ import annotations

import hashlib
import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

BatchKind = Literal["file", "directory"]


def batch_id(uri: str, size: int, mtime: float | None) -> str:
    """The id of the batch at ``uri`` with this ``size`` and modification time.

    The same bytes seen again (by a rescan, after a restart, by another event) get the
    same id; a file re-written in place gets a new mtime and so a new id, i.e. it is a
    new batch. The mtime is truncated to milliseconds, the precision HDFS reports, so
    a local source and a poll source agree.

    :param uri: the batch's URI as the source reports it (a path, or ``scheme://...``).
    :param size: bytes (for a directory, the sum of its data files).
    :param mtime: seconds since the epoch (a directory's ``_SUCCESS`` marker); None
        when the filesystem reports none (then only the size tells rewrites apart).
    :returns: 16 hex characters (64 bits of SHA-256).
    """
    # The epsilon keeps 1700000000.123 (stored as ...122.99998 ms) on the right millisecond.
    mtime_ms = "-" if mtime is None else str(math.floor(mtime * 1000 + 1e-3))
    # surrogateescape: a file name that is not valid UTF-8 (bytes decoded by os.fsdecode)
    # still has an id, the same one every time; valid names hash exactly as before.
    digest = hashlib.sha256(f"{uri}\0{size}\0{mtime_ms}".encode("utf-8", "surrogateescape")).hexdigest()
    return digest[:16]


def printable_uri(uri: str) -> str:
    """``uri`` with the bytes of a name that is not valid UTF-8 shown as ``\\xNN``.

    Python hands such names around as lone surrogates (``os.fsdecode``), which SQLite,
    JSON and terminals refuse; this form is safe everywhere and shows the bytes. A
    valid name is returned unchanged.
    """
    return uri.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def name_problem(uri: str) -> str | None:
    """Why a batch at ``uri`` cannot be processed because of its name alone, or None.

    Today: a name that is not valid UTF-8 (it can be neither recorded nor read back
    by that name through every layer). The message shows the name with
    :func:`printable_uri` and says what to do.
    """
    shown = printable_uri(uri)
    if shown == uri:
        return None
    return (
        f"{shown}: the file name is not valid UTF-8 (the bad bytes are shown as \\xNN); "
        "rename the file with a UTF-8 name, it is then checked as a new batch"
    )


@dataclass(frozen=True)
class Landed:
    """A complete batch a source noticed.

    :param uri: what consumers pass to :func:`arlequin_core.io.read_table`: an
        absolute local path, or a URI with its scheme (``memory://...``, ``hdfs://...``).
    :param size: bytes; for a directory, the sum of its data files.
    :param mtime: seconds since the epoch (None when the filesystem has no mtime).
    :param kind: ``file`` or ``directory`` (a Spark/Hadoop output with ``_SUCCESS``).
    :param source: the name of the source instance that noticed it.
    :param refused: why the source refuses to let this batch be read (a symbolic
        link leaving the watched tree): the daemon records it as ``rejected`` with
        this reason, and nobody opens it. None for a batch to process.
    """

    uri: str
    size: int
    mtime: float | None
    kind: BatchKind = "file"
    source: str = ""
    refused: str | None = None

    @property
    def batch_id(self) -> str:
        """See :func:`batch_id`."""
        return batch_id(self.uri, self.size, self.mtime)


Emit = Callable[[Landed], None]


class Source(ABC):
    """Base class of sources. Subclasses set a unique ``name``.

    The daemon builds one instance per ``[sources.<instance>]`` table (or per target
    given on the command line, see :meth:`table_for_target`) with that table and the
    running app; the subclass validates the table itself with
    :func:`arlequin_core.config.validate_section`.

    :param config: the source's table (a dict) or an already validated model.
    :param app: the running :class:`arlequin_core.app.App` (may be None in tests).
    :param instance: the instance name (the table's key), used as ``Landed.source``.
    """

    name: ClassVar[str]

    def __init__(self, config: Any = None, app: Any = None, instance: str | None = None) -> None:
        self.config = config
        self.app = app
        self.instance = instance or getattr(self, "name", type(self).__name__)

    @classmethod
    def table_for_target(cls, target: str, *, interval: float | None = None) -> dict[str, Any] | None:
        """The table an instance of this source needs to watch ``target``, or None when it does not handle it.

        ``arlequin watch TARGET`` asks every registered source; exactly one must answer
        (none or several is a :class:`~arlequin_core.errors.ConfigError`). The table is
        then validated by the constructor like a ``[sources.<instance>]`` table.
        The default handles no target: such a source is configured by tables only.

        :param target: a path or URI as the user typed it.
        :param interval: ``--interval`` seconds, for sources that poll (others ignore it).
        """
        return None

    @abstractmethod
    def start(self, emit: Any) -> None:
        """Start watching; call ``emit(Landed)`` for each complete batch.

        Must also report the complete batches already present (the backlog that
        landed while nobody watched). Returns promptly: watching happens in the
        source's own threads. ``emit`` is thread-safe and does not block for long.
        """

    def check(self) -> None:
        """Fail now, before the daemon starts anything, when this source cannot start.

        Called by the daemon for every source before it locks the home, opens the
        ledger or starts a sink, so that ``arlequin watch does/not/exist`` fails at once
        and leaves nothing behind. The default checks nothing; a source whose target
        may appear later (a polled URI on a NameNode still starting) keeps it that way.

        :raises arlequin_core.errors.ConfigError: naming the key and what to do.
        """
        return None

    @abstractmethod
    def stop(self) -> None:
        """Stop watching and release resources; no ``emit`` call happens after it returns."""

    def describe(self) -> str:
        """One line for logs and ``arlequin status``: the type and what it watches."""
        return f"{self.name} ({self.instance})"
