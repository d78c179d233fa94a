"""The batch ledger: every batch a source reported, and how far it got, in SQLite.

States and transitions (``retry`` is :meth:`Ledger.reset`)::

    seen ──claim──> processing ──batch-checked──> done
      ^                 │ └─────batch-rejected──> rejected
      │                 │                            │
      └──recover (restart after a crash)             │
      └─────────────────── retry ────────────────────┘ (and from done)

``seen`` is the *pending* state: reported, not yet handed to a consumer. A batch is
keyed by its id (:func:`arlequin_core.sources.base.batch_id`: URI, size, mtime), so a
source reporting it again changes nothing and a done batch is never processed again
unless someone asks (``arlequin retry``). The transitions out of ``processing`` are
driven by events: the daemon registers a :class:`LedgerPlugin` whose
``arlequin_on_batch_checked`` / ``arlequin_on_batch_rejected`` hooks call
:meth:`Ledger.finish`.

At-least-once: a batch is ``processing`` from the moment it is handed to a consumer
until its verdict event is delivered. If the daemon dies in between, the batch is
still ``processing`` on disk and :meth:`Ledger.recover` puts it back to ``seen`` at
the next start, so it is processed again (sinks dedupe by batch id).

The database runs in WAL mode, so ``arlequin status`` and ``arlequin retry`` can read
and write it while a daemon runs. ``synchronous=NORMAL``: a power cut may undo the
last transitions; that re-processes a batch, it never skips one.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from arlequin_core import hookimpl
from arlequin_core.errors import ArlequinError
from arlequin_core.events import BatchChecked, BatchRejected, PluginFailed, utc_now
from arlequin_core.logs import get_logger
from arlequin_core.sources.base import Landed, printable_uri

log = get_logger(__name__)

LEDGER_NAME = "ledger.db"
State = Literal["seen", "processing", "done", "rejected"]
STATES: tuple[State, ...] = ("seen", "processing", "done", "rejected")
_SCHEMA_VERSION = 1
#: The reason of a ``done`` batch that failed the data-quality checks (the retrain sink skips those).
QUALITY_PREFIX = "data quality: "
#: Seconds a verdict is retried while the ledger cannot write (a full disk) before giving up.
VERDICT_RETRY_SECONDS = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_id    TEXT NOT NULL UNIQUE,
    uri         TEXT NOT NULL,
    kind        TEXT NOT NULL,
    source      TEXT NOT NULL,
    size        INTEGER NOT NULL,
    mtime       REAL,
    state       TEXT NOT NULL CHECK (state IN ('seen', 'processing', 'done', 'rejected')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    drifted     INTEGER,
    reason      TEXT,
    event_id    TEXT,
    verdict_event_id TEXT,
    first_seen  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS batches_state ON batches (state, seq);
CREATE INDEX IF NOT EXISTS batches_uri ON batches (uri);
"""


@dataclass(frozen=True)
class Batch:
    """One row of the ledger.

    :param attempts: how many times it was handed to consumers (claims).
    :param drifted: the verdict of the last check (None until done).
    :param reason: why it was rejected (None otherwise).
    :param event_id: the ``data-arrived`` event of the last attempt.
    :param verdict_event_id: the ``batch-checked``/``batch-rejected`` event that ended it.
    """

    batch_id: str
    uri: str
    kind: str
    source: str
    size: int
    mtime: float | None
    state: State
    attempts: int
    drifted: bool | None
    reason: str | None
    event_id: str | None
    verdict_event_id: str | None
    first_seen: str
    updated_at: str
    seq: int

    @classmethod
    def _from_row(cls, row: sqlite3.Row) -> Batch:
        data = dict(row)
        data["drifted"] = None if data["drifted"] is None else bool(data["drifted"])
        return cls(**data)


class LedgerError(RuntimeError):
    """A ledger operation that makes no sense for the batch's state."""


class LedgerOpenError(ArlequinError):
    """The ledger file cannot be created, opened or read (read-only home, not a database...)."""


class Ledger:
    """The SQLite ledger at ``path`` (created with its directory).

    Thread-safe: one connection guarded by a lock; other processes may open the same
    file at the same time.

    :param path: the database file, usually ``<home>/ledger.db`` (see :func:`open_ledger`).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self._open()
        except (OSError, sqlite3.Error) as exc:
            problem = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            if self.path.is_dir():
                problem += " (the path is a directory)"
            raise LedgerOpenError(
                f"{self.path}: cannot open the ledger: {problem}; check that the home directory "
                "is writable and that this file is Arlequin's SQLite ledger"
            ) from None

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA)
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                self._conn.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
            elif version != _SCHEMA_VERSION:
                raise LedgerError(
                    f"{self.path}: ledger schema version {version}, this Arlequin reads {_SCHEMA_VERSION}"
                )

    # ------------------------------------------------------------------ writes
    def observe(self, landed: Landed, refused: str | None = None) -> bool:
        """Record a reported batch as ``seen``; False when the ledger already has it.

        :param refused: record it as ``rejected`` with this reason instead (a name that
            is not valid UTF-8, a link out of the watched tree): it is never handed out.
            The URI is stored with :func:`printable_uri`, so any name can be recorded.
        """
        now = utc_now()
        state = "seen" if refused is None else "rejected"
        uri = printable_uri(landed.uri)
        with self._lock:
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO batches"
                " (batch_id, uri, kind, source, size, mtime, state, reason, first_seen, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (landed.batch_id, uri, landed.kind, landed.source, landed.size, landed.mtime, state, refused, now, now),
            )
            return cur.rowcount == 1

    def claim(self, batch_id: str | None = None) -> Batch | None:
        """Move a ``seen`` batch to ``processing`` and return it; None when there is none.

        :param batch_id: that batch (None: the oldest pending one, in arrival order).
        """
        where = "batch_id = ?" if batch_id is not None else "seq = (SELECT MIN(seq) FROM batches WHERE state = 'seen')"
        params: tuple[Any, ...] = (batch_id,) if batch_id is not None else ()
        with self._lock:
            row = self._conn.execute(
                "UPDATE batches SET state = 'processing', attempts = attempts + 1, updated_at = ?"
                f" WHERE {where} AND state = 'seen' RETURNING *",
                (utc_now(), *params),
            ).fetchone()
        return None if row is None else Batch._from_row(row)

    def note_event(self, batch_id: str, event_id: str) -> None:
        """Remember the ``data-arrived`` event id of the current attempt."""
        with self._lock:
            self._conn.execute("UPDATE batches SET event_id = ? WHERE batch_id = ?", (event_id, batch_id))

    def finish(
        self,
        batch_id: str,
        state: Literal["done", "rejected"],
        *,
        drifted: bool | None = None,
        reason: str | None = None,
        verdict_event_id: str | None = None,
    ) -> bool:
        """End a ``processing`` batch as ``done`` or ``rejected``.

        :returns: False when the batch is unknown or not ``processing`` (a verdict
            for a batch this ledger did not hand out, or a late duplicate).
        """
        if state not in ("done", "rejected"):
            raise ValueError(f"finish() takes 'done' or 'rejected', got {state!r}")
        with self._lock:
            cur = self._conn.execute(
                "UPDATE batches SET state = ?, drifted = ?, reason = ?, verdict_event_id = ?, updated_at = ?"
                " WHERE batch_id = ? AND state = 'processing'",
                (state, None if drifted is None else int(drifted), reason, verdict_event_id, utc_now(), batch_id),
            )
            return cur.rowcount == 1

    def recover(self) -> list[str]:
        """Put every ``processing`` batch back to ``seen`` (at start-up, after a crash).

        Only call this while no daemon runs on the ledger (the daemon holds its lock).

        :returns: the ids of the batches that will be processed again.
        """
        with self._lock:
            rows = self._conn.execute(
                "UPDATE batches SET state = 'seen', updated_at = ? WHERE state = 'processing' RETURNING batch_id",
                (utc_now(),),
            ).fetchall()
        return [row[0] for row in rows]

    def reset(self, batch_id: str) -> Batch:
        """Put a ``done`` or ``rejected`` batch back to ``seen`` (``arlequin retry``).

        A ``seen`` batch stays as it is (it is pending already).

        :raises KeyError: no such batch.
        :raises LedgerError: the batch is ``processing`` right now.
        """
        with self._lock:
            row = self._conn.execute(
                "UPDATE batches SET state = 'seen', updated_at = ? WHERE batch_id = ? AND state IN ('done', 'rejected')"
                " RETURNING *",
                (utc_now(), batch_id),
            ).fetchone()
        if row is not None:
            return Batch._from_row(row)
        batch = self.get(batch_id)
        if batch is None:
            raise KeyError(batch_id)
        if batch.state == "processing":
            raise LedgerError(
                f"batch {batch_id} ({batch.uri}) is being processed; wait for its verdict "
                "(if no watcher is running, the next `arlequin watch` processes it again)"
            )
        return batch

    # ------------------------------------------------------------------ reads
    def get(self, batch_id: str) -> Batch | None:
        """The batch with this exact id, or None."""
        with self._lock:
            row = self._conn.execute("SELECT * FROM batches WHERE batch_id = ?", (batch_id,)).fetchone()
        return None if row is None else Batch._from_row(row)

    def find(self, ref: str) -> list[Batch]:
        """Batches matching ``ref``: an exact id, an id prefix, or a URI (newest first).

        A URI or local path matches every batch recorded for it (a re-written file
        has one batch per version).
        """
        with self._lock:
            rows = self._conn.execute(
                "SELECT * FROM batches WHERE batch_id = ? OR batch_id LIKE ? ESCAPE '\\' OR uri = ? ORDER BY seq DESC",
                (ref, _like_prefix(ref), ref),
            ).fetchall()
        return [Batch._from_row(row) for row in rows]

    def counts(self) -> dict[str, int]:
        """Batches per state (every state present, 0 when none), plus ``drifted`` among done."""
        result = dict.fromkeys(STATES, 0)
        with self._lock:
            for state, n in self._conn.execute("SELECT state, COUNT(*) FROM batches GROUP BY state"):
                result[state] = n
            result["drifted"] = self._conn.execute(
                "SELECT COUNT(*) FROM batches WHERE state = 'done' AND drifted = 1"
            ).fetchone()[0]
        return result

    def batches(
        self, states: Iterable[str] | None = None, limit: int | None = None, newest: bool = True
    ) -> list[Batch]:
        """Batches (in the given states), newest or oldest first, at most ``limit``."""
        sql = "SELECT * FROM batches"
        params: list[Any] = []
        if states is not None:
            wanted = list(states)
            sql += f" WHERE state IN ({', '.join('?' for _ in wanted)})"
            params += wanted
        sql += " ORDER BY seq " + ("DESC" if newest else "ASC")
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        return [Batch._from_row(row) for row in rows]

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _like_prefix(ref: str) -> str:
    escaped = ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def open_ledger(home: str | Path) -> Ledger:
    """The ledger of the state directory ``home`` (``<home>/ledger.db``)."""
    return Ledger(Path(home) / LEDGER_NAME)


class LedgerPlugin:
    """Drives ledger transitions from events; the daemon registers it as plugin ``ledger``.

    :param ledger: the ledger to update.
    :param consumers: plugin names of the ``data-arrived`` consumers: when one of
        them fails on a batch (``plugin-failed``), the batch is rejected with the
        error as reason instead of staying ``processing`` forever.
    :param on_finished: called with ``(batch_id, state)`` after each transition (the
        daemon frees the batch's in-flight slot there).
    """

    def __init__(
        self,
        ledger: Ledger,
        consumers: Iterable[str] = (),
        on_finished: Callable[[str, str], None] | None = None,
    ) -> None:
        self.ledger = ledger
        self.consumers = set(consumers)
        self.on_finished = on_finished

    def _finish(self, batch_id: str | None, state: Literal["done", "rejected"], **kwargs: Any) -> None:
        if batch_id is None:
            return
        try:
            finished = self._write_verdict(batch_id, state, **kwargs)
        except sqlite3.OperationalError as exc:
            # Still full: the batch stays processing on disk and is processed again at the
            # next start; free its slot so the daemon goes on with the others.
            log.error(
                "ledger_verdict_lost",
                batch_id=batch_id,
                state=state,
                ledger=str(self.ledger.path),
                error=str(exc),
                hint="the batch stays 'processing' and is checked again at the next start",
            )
            if self.on_finished is not None:
                self.on_finished(batch_id, "processing")
            return
        if finished:
            log.debug("ledger_transition", batch_id=batch_id, state=state)
            if self.on_finished is not None:
                self.on_finished(batch_id, state)
        else:
            log.debug("ledger_verdict_ignored", batch_id=batch_id, state=state)

    def _write_verdict(self, batch_id: str, state: Literal["done", "rejected"], **kwargs: Any) -> bool:
        """:meth:`Ledger.finish`, retried while the database cannot write (a full disk), for a while."""
        deadline = time.monotonic() + VERDICT_RETRY_SECONDS
        while True:
            try:
                return self.ledger.finish(batch_id, state, **kwargs)
            except sqlite3.OperationalError as exc:
                if time.monotonic() >= deadline:
                    raise
                log.warning("ledger_write_failed", batch_id=batch_id, error=str(exc), what="verdict", retry_in=1.0)
                time.sleep(1.0)

    @hookimpl
    def arlequin_on_batch_checked(self, event: BatchChecked) -> None:
        """A verdict: the batch is ``done`` (with its data-quality findings as reason: never trained on)."""
        reason = QUALITY_PREFIX + "; ".join(event.quality) if event.quality else None
        self._finish(event.batch_id, "done", drifted=event.drifted, reason=reason, verdict_event_id=event.event_id)

    @hookimpl
    def arlequin_on_batch_rejected(self, event: BatchRejected) -> None:
        """Bad input: the batch is ``rejected`` with the reason (the file stays where it is)."""
        reason = f"{event.error_type}: {event.reason}" if event.error_type else event.reason
        self._finish(event.batch_id, "rejected", reason=reason, verdict_event_id=event.event_id)

    @hookimpl
    def arlequin_on_plugin_failed(self, event: PluginFailed) -> None:
        """A consumer raised on a batch: reject it so it neither blocks nor vanishes."""
        if event.hook == "arlequin_on_data_arrived" and event.plugin in self.consumers:
            reason = f"consumer {event.plugin!r} failed: {event.error}"
            self._finish(event.batch_id, "rejected", reason=reason, verdict_event_id=event.event_id)
