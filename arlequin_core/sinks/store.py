"""The delivery ledger of sinks: dedupe, pending work, deliveries and dead letters.

One SQLite file under ``<home>`` (``sinks.db``) holds one row per (sink, key),
where the key is the batch id of the event (its event id when it has none), scoped
by the event name. The primary key is what makes "one trigger per batch" hold
across restarts and across processes: :meth:`DeliveryStore.record` is an
``INSERT OR IGNORE``, so the second drift event of a batch is refused by the
database, not by memory.

A row moves through these states::

    pending --claim--> delivering --accepted by the target--> accepted --> delivered
       ^                    |                                      (followed: queue item, build)
       |                    +--> dead --requeue (arlequin sinks replay)--> pending
       +--release (sink closed mid-retry)

``accepted`` is written as soon as the target took the delivery (Jenkins' ``201`` and
its queue item URL, in ``target``), before the sink follows it; a restart resumes
following an accepted delivery instead of sending it again. A row left
``delivering`` by a crash is put back to ``pending`` when no request of it can have
reached the target (``in_doubt = 0``: between retries of an outage, the connection
was refused or the target answered an error); otherwise it is ambiguous (the
request may have reached the target) and :meth:`DeliveryStore.recover` moves it to
``dead`` with a message saying so, rather than delivering twice behind the
operator's back.

Every write is one short transaction on a fresh connection, so a daemon and an
``arlequin sinks replay`` in another process can share the file (WAL journal,
``BEGIN IMMEDIATE`` for claims, so a row is claimed by exactly one of them).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arlequin_core.events import Event, event_from_dict, utc_now
from arlequin_core.secrets import redact

STORE_NAME = "sinks.db"

STATES = ("pending", "delivering", "accepted", "delivered", "dead")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS letters (
    sink        TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    event_id    TEXT    NOT NULL,
    batch_id    TEXT,
    event       TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    delivery_id TEXT,
    owner       TEXT,
    target      TEXT,
    detail      TEXT,
    error       TEXT,
    retryable   INTEGER,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    PRIMARY KEY (sink, key)
);
-- in_doubt: whether a request of this delivery may have reached the target (NULL: unknown)
CREATE INDEX IF NOT EXISTS letters_state ON letters (sink, state, seq);
CREATE TABLE IF NOT EXISTS sink_state (
    sink       TEXT PRIMARY KEY,
    settled_at REAL
);
"""


@dataclass(frozen=True)
class Letter:
    """One event a sink must deliver, as recorded in the ledger.

    :param sink: the sink's name.
    :param key: the dedupe key (``<event name>:<batch id or event id>``).
    :param event: the event itself (secrets redacted when it was recorded).
    :param state: one of :data:`STATES`.
    :param attempts: delivery attempts so far (all tries, across replays).
    """

    sink: str
    key: str
    event: Event
    state: str
    attempts: int = 0
    delivery_id: str | None = None
    target: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    retryable: bool | None = None
    created_at: str = ""
    updated_at: str = ""

    @property
    def batch_id(self) -> str | None:
        """The batch this letter is about (None for events without one)."""
        return self.event.batch_id


#: Events that describe a batch: a sink delivers each of these once per batch.
BATCH_EVENTS = frozenset({"data-arrived", "batch-checked", "drift-detected", "batch-rejected"})


def dedupe_key(event: Event) -> str:
    """The ledger key of ``event``: ``<event name>:<batch id>`` for batch events, else ``...:<event id>``.

    So a second ``drift-detected`` for a batch is a duplicate, while two
    ``plugin-failed`` events about the same batch are two events.
    """
    subject = event.batch_id if event.name in BATCH_EVENTS and event.batch_id else event.event_id
    return f"{event.name}:{subject}"


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_is_dead(owner: str | None) -> bool:
    """Whether the process that claimed a letter is gone (only decidable on this host)."""
    host, _, pid = (owner or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class DeliveryStore:
    """The SQLite ledger at ``path`` (created with its directory).

    :param path: the database file, normally ``<home>/sinks.db``.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            # WAL lets a reader (arlequin sinks dead) work while the daemon writes.
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            columns = {row[1] for row in db.execute("PRAGMA table_info(letters)")}
            if "in_doubt" not in columns:  # a sinks.db from before accepted/in_doubt
                db.execute("ALTER TABLE letters ADD COLUMN in_doubt INTEGER")
        finally:
            db.close()

    @contextmanager
    def _connect(self, immediate: bool = False) -> Iterator[sqlite3.Connection]:
        # A connection per operation: sinks write from worker threads, and the
        # replay command from another process; sqlite3 objects must not cross threads.
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            db.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()

    # ------------------------------------------------------------------ writes
    def record(self, sink: str, event: Event) -> bool:
        """Add ``event`` as pending for ``sink``; False when its key is known already.

        The event is stored with secrets redacted, so the ledger never holds a token.
        """
        now = utc_now()
        data = json.dumps(redact(event.to_dict()), separators=(",", ":"), default=str)
        with self._lock, self._connect(immediate=True) as db:
            seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM letters WHERE sink = ?", (sink,)).fetchone()[0]
            cur = db.execute(
                "INSERT OR IGNORE INTO letters (sink, key, seq, event_id, batch_id, event, state, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
                (sink, dedupe_key(event), seq, event.event_id, event.batch_id, data, now, now),
            )
            return cur.rowcount == 1

    def claim(self, sink: str, limit: int | None = None, keys: Iterable[str] | None = None) -> list[Letter]:
        """Mark up to ``limit`` pending letters of ``sink`` (only ``keys``, if given) as delivering.

        :returns: the claimed letters, oldest first; this process owns them now.
        """
        wanted = None if keys is None else set(keys)
        with self._lock, self._connect(immediate=True) as db:
            cursor = db.execute("SELECT * FROM letters WHERE sink = ? AND state = 'pending' ORDER BY seq", (sink,))
            rows = [row for row in cursor if wanted is None or row["key"] in wanted][:limit]
            self._set(db, sink, [row["key"] for row in rows], state="delivering", owner=_owner(), in_doubt=None)
            return [_letter(row, state="delivering") for row in rows]

    def set_in_doubt(self, sink: str, keys: Sequence[str], in_doubt: bool) -> None:
        """Record whether the last request for ``keys`` may have reached the target (True before sending)."""
        with self._lock, self._connect() as db:
            self._set(db, sink, keys, in_doubt=int(in_doubt))

    def mark_accepted(
        self, sink: str, keys: Sequence[str], delivery_id: str, target: str, detail: dict[str, Any]
    ) -> None:
        """Record, durably, that the target took ``keys`` as delivery ``delivery_id`` (before following it)."""
        with self._lock, self._connect() as db:
            self._set(
                db,
                sink,
                keys,
                state="accepted",
                delivery_id=delivery_id,
                target=target,
                detail=json.dumps(redact(detail), default=str),
                error=None,
                retryable=None,
            )

    def resume_accepted(self, sink: str) -> list[list[Letter]]:
        """Take over the accepted deliveries a crashed process was following; one list per delivery.

        Their owner becomes this process; the caller follows them and marks them delivered.
        """
        with self._lock, self._connect(immediate=True) as db:
            rows = db.execute(
                "SELECT * FROM letters WHERE sink = ? AND state = 'accepted' ORDER BY seq", (sink,)
            ).fetchall()
            rows = [row for row in rows if _owner_is_dead(row["owner"])]
            self._set(db, sink, [row["key"] for row in rows], owner=_owner())
        deliveries: dict[str, list[Letter]] = {}
        for row in rows:
            deliveries.setdefault(row["delivery_id"] or row["key"], []).append(_letter(row))
        return list(deliveries.values())

    def bump_attempts(self, sink: str, keys: Sequence[str]) -> None:
        """Count one more delivery attempt for ``keys``."""
        with self._lock, self._connect() as db:
            db.executemany(
                "UPDATE letters SET attempts = attempts + 1, updated_at = ? WHERE sink = ? AND key = ?",
                [(utc_now(), sink, key) for key in keys],
            )

    def mark_delivered(
        self, sink: str, keys: Sequence[str], delivery_id: str, target: str, detail: dict[str, Any]
    ) -> None:
        """Record that ``keys`` went out together as delivery ``delivery_id`` to ``target``."""
        with self._lock, self._connect() as db:
            self._set(
                db,
                sink,
                keys,
                state="delivered",
                delivery_id=delivery_id,
                target=target,
                detail=json.dumps(redact(detail), default=str),
                error=None,
                retryable=None,
            )

    def mark_dead(self, sink: str, keys: Sequence[str], error: str, retryable: bool) -> None:
        """Move ``keys`` to the dead letters with the last ``error``."""
        with self._lock, self._connect() as db:
            self._set(db, sink, keys, state="dead", error=redact(error), retryable=int(retryable))

    def release(self, sink: str, keys: Sequence[str]) -> None:
        """Put claimed ``keys`` back to pending (the sink stopped before finishing)."""
        with self._lock, self._connect() as db:
            self._set(db, sink, keys, state="pending")

    def recover(self, sink: str) -> list[Letter]:
        """Dead-letter what a crashed process left in flight; return those letters.

        Such a letter may or may not have reached the target, so it is not sent
        again automatically: ``arlequin sinks replay`` does that after a look.
        Letters claimed by a live process (a running daemon, a replay) are left alone.
        """
        error = (
            "interrupted while being delivered (the process stopped); it may or may not have reached the target: "
            "check it, then `arlequin sinks replay` to send it again"
        )
        with self._lock, self._connect(immediate=True) as db:
            rows = db.execute("SELECT * FROM letters WHERE sink = ? AND state = 'delivering'", (sink,)).fetchall()
            rows = [row for row in rows if _owner_is_dead(row["owner"])]
            # Nothing of these reached the target (an outage being waited out): send them again.
            unsent = [row["key"] for row in rows if row["in_doubt"] == 0]
            self._set(db, sink, unsent, state="pending", owner=None)
            rows = [row for row in rows if row["in_doubt"] != 0]
            self._set(db, sink, [row["key"] for row in rows], state="dead", error=error, retryable=1)
            return [_letter(row, state="dead", error=error) for row in rows]

    def requeue_dead(self, sink: str, keys: Iterable[str] | None = None) -> int:
        """Move dead letters of ``sink`` (all, or those with ``keys``) back to pending; return how many."""
        with self._lock, self._connect(immediate=True) as db:
            rows = db.execute("SELECT key FROM letters WHERE sink = ? AND state = 'dead'", (sink,)).fetchall()
            wanted = {row["key"] for row in rows}
            if keys is not None:
                wanted &= set(keys)
            self._set(db, sink, sorted(wanted), state="pending", error=None, retryable=None)
            return len(wanted)

    def set_settled(self, sink: str, when: float | None = None) -> None:
        """Remember when ``sink``'s last delivery settled (its build finished); cooldown counts from here."""
        with self._lock, self._connect() as db:
            db.execute(
                "INSERT INTO sink_state (sink, settled_at) VALUES (?, ?)"
                " ON CONFLICT(sink) DO UPDATE SET settled_at = excluded.settled_at",
                (sink, time.time() if when is None else when),
            )

    @staticmethod
    def _set(db: sqlite3.Connection, sink: str, keys: Sequence[str], **values: Any) -> None:
        if not keys:
            return
        values["updated_at"] = utc_now()
        assignments = ", ".join(f"{column} = ?" for column in values)
        db.executemany(
            f"UPDATE letters SET {assignments} WHERE sink = ? AND key = ?",
            [(*values.values(), sink, key) for key in keys],
        )

    # ------------------------------------------------------------------ reads
    def settled_at(self, sink: str) -> float | None:
        """When ``sink``'s last delivery settled (seconds since the epoch), or None."""
        with self._connect() as db:
            row = db.execute("SELECT settled_at FROM sink_state WHERE sink = ?", (sink,)).fetchone()
            return None if row is None else row["settled_at"]

    def has_pending(self, sink: str, keys: Iterable[str] | None = None) -> bool:
        """Whether ``sink`` has pending letters (among ``keys``, if given)."""
        with self._connect() as db:
            rows = db.execute("SELECT key FROM letters WHERE sink = ? AND state = 'pending'", (sink,)).fetchall()
        wanted = None if keys is None else set(keys)
        return any(wanted is None or row["key"] in wanted for row in rows)

    def letters(self, sink: str | None = None, state: str | None = None) -> list[Letter]:
        """Letters (of one sink, in one state), oldest first."""
        if state is not None and state not in STATES:
            raise ValueError(f"state must be one of {', '.join(STATES)}, got {state!r}")
        clauses, args = [], []
        if sink is not None:
            clauses.append("sink = ?")
            args.append(sink)
        if state is not None:
            clauses.append("state = ?")
            args.append(state)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._connect() as db:
            rows = db.execute(f"SELECT * FROM letters{where} ORDER BY sink, seq", args).fetchall()
        return [_letter(row) for row in rows]

    def counts(self, sink: str) -> dict[str, int]:
        """How many letters ``sink`` has in each state."""
        with self._connect() as db:
            rows = db.execute("SELECT state, COUNT(*) AS n FROM letters WHERE sink = ? GROUP BY state", (sink,))
            found = {row["state"]: row["n"] for row in rows}
        return {state: found.get(state, 0) for state in STATES}


def _letter(row: sqlite3.Row, **override: Any) -> Letter:
    values = dict(row)
    values.update(override)
    return Letter(
        sink=values["sink"],
        key=values["key"],
        event=event_from_dict(json.loads(values["event"])),
        state=values["state"],
        attempts=values["attempts"],
        delivery_id=values["delivery_id"],
        target=values["target"],
        detail=json.loads(values["detail"]) if values["detail"] else {},
        error=values["error"],
        retryable=None if values["retryable"] is None else bool(values["retryable"]),
        created_at=values["created_at"],
        updated_at=values["updated_at"],
    )
