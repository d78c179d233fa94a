"""The journal: every event, one JSON line each, in order.

Durability policy: each event is written as one complete line with a single
``write`` to a file opened in append mode, flushed, and (by default) ``fsync``-ed
before :meth:`Journal.append` returns. So an event that a producer saw published
survives a crash of the process or the machine. A crash in the middle of a write can
leave at most one truncated last line; :meth:`Journal.read` skips it with a warning
and the next append starts on a fresh line. Secrets are redacted before writing.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from arlequin_core.events import Event, event_from_dict
from arlequin_core.logs import get_logger
from arlequin_core.secrets import redact

log = get_logger(__name__)


class Journal:
    """An append-only JSON-lines file of events.

    :param path: the file; its directory is created.
    :param fsync: fsync after every event (see the module's durability policy).
    """

    def __init__(self, path: str | os.PathLike[str], fsync: bool = True) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync
        self._lock = threading.Lock()
        self._file = open(self.path, "ab")  # noqa: SIM115 - kept open for the journal's life
        self._ensure_newline()

    def _ensure_newline(self) -> None:
        # After a crash mid-write the last line may lack its newline: start a fresh one.
        size = self.path.stat().st_size
        if size:
            with open(self.path, "rb") as f:
                f.seek(size - 1)
                if f.read(1) != b"\n":
                    self._file.write(b"\n")
                    self._file.flush()

    def append(self, event: Event) -> None:
        """Write ``event`` as one line, durably."""
        line = json.dumps(redact(event.to_dict()), separators=(",", ":"), default=str) + "\n"
        data = line.encode("utf-8")
        with self._lock:
            self._file.write(data)
            self._file.flush()
            if self.fsync:
                os.fsync(self._file.fileno())

    def close(self) -> None:
        """Close the file; further appends fail."""
        with self._lock:
            self._file.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(self) -> Iterator[Event]:
        """Yield the events in the journal, in order. See :func:`read_journal`."""
        return read_journal(self.path)


def read_journal(path: str | os.PathLike[str]) -> Iterator[Event]:
    """Yield the events of the journal at ``path`` in order.

    A line that is not valid JSON (a write cut short by a crash) or not a known event
    is skipped with a warning naming the file and line number; a missing file yields
    nothing.
    """
    path = Path(path)
    if not path.exists():
        return
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                yield event_from_dict(json.loads(line))
            except (ValueError, TypeError) as exc:
                log.warning("journal_line_skipped", file=str(path), line=number, error=str(exc))
