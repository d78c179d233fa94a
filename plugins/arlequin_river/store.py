"""Where online detectors keep their state between batches and across daemon restarts.

One JSON file per column and detector, under a directory the caller gives
(:func:`state_dir` is ``<home>/online``, beside the ledger)::

    <dir>/<column, percent-encoded>.<detector>.json

    {
      "format": "arlequin-online-state", "version": 1,
      "column": "amount", "detector": "adwin",
      "champion": {"model_name": "fraud", "model_version": "7"},   # or null
      "batches": ["b-0041", "b-0042"],        # last batch ids fed, newest last
      "updated_at": "2025-01-01T00:00:00+00:00",
      "profile": { ... OnlineDetector.to_profile() ... }
    }

Files are written atomically (temporary file, fsync, rename), so a crash leaves the
previous state or the new one, never half of one. A state saved for another
champion than the one asked for is ignored: drift is always measured against the
serving model's reference. When a new champion is promoted the plugin's
``arlequin_on_model_registered`` hook calls :meth:`OnlineStateStore.reset` on every
store opened in the process; a store opened later by another process still
ignores the old files because their champion differs.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import weakref
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from arlequin_core.logs import get_logger
from arlequin_river.codec import StateError

__all__ = ["STATE_FORMAT", "STATE_VERSION", "OnlineStateStore", "open_stores", "state_dir"]

STATE_FORMAT = "arlequin-online-state"
STATE_VERSION = 1
#: How many recent batch ids a state remembers (to recognise a batch fed twice).
KEEP_BATCH_IDS = 100

log = get_logger(__name__)

_STORES: weakref.WeakSet[OnlineStateStore] = weakref.WeakSet()
_STORES_LOCK = threading.Lock()


def state_dir(home: str | os.PathLike[str]) -> Path:
    """The default state directory for an Arlequin home: ``<home>/online``."""
    return Path(home) / "online"


def open_stores() -> list[OnlineStateStore]:
    """The stores opened in this process (the promotion hook resets them)."""
    with _STORES_LOCK:
        return list(_STORES)


def _champion(model_name: str | None, model_version: str | None) -> dict[str, str] | None:
    if model_name is None and model_version is None:
        return None
    return {"model_name": str(model_name), "model_version": str(model_version)}


class OnlineStateStore:
    """Saved states of online detectors, one file per (column, detector).

    :param directory: where the files live; created on first save.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self._lock = threading.Lock()
        with _STORES_LOCK:
            _STORES.add(self)

    def __repr__(self) -> str:
        return f"OnlineStateStore({str(self.directory)!r})"

    def path(self, column: str, detector: str) -> Path:
        """The file of one column's detector (column names are percent-encoded)."""
        return self.directory / f"{quote(column, safe='')}.{detector}.json"

    def load(
        self,
        column: str,
        detector: str,
        model_name: str | None = None,
        model_version: str | None = None,
    ) -> dict[str, Any] | None:
        """The saved record of a column's detector, or None (none saved, or another champion's).

        :param model_name: with ``model_version``, the serving champion; a state saved
            for another champion is ignored (and left for :meth:`reset` to remove).
        :return: the whole record (see the module docstring); pass ``record["profile"]``
            to the detector class's ``from_profile``.
        :raises StateError: the file exists but is not a readable state (its path is named).
        """
        file = self.path(column, detector)
        with self._lock:
            try:
                text = file.read_text(encoding="utf-8")
            except FileNotFoundError:
                return None
            except OSError as exc:
                raise StateError(f"{file}: cannot read online state: {exc.strerror or exc}") from None
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            raise StateError(f"{file}: not valid JSON: {exc}") from None
        if not isinstance(record, dict) or record.get("format") != STATE_FORMAT:
            raise StateError(f"{file}: not an {STATE_FORMAT} file")
        if record.get("version") != STATE_VERSION:
            raise StateError(f"{file}: state format version {record.get('version')!r}; expected {STATE_VERSION}")
        wanted = _champion(model_name, model_version)
        if wanted is not None and record.get("champion") != wanted:
            log.info("online_state_stale", file=str(file), saved_for=record.get("champion"), champion=wanted)
            return None
        return record

    def save(
        self,
        column: str,
        detector: str,
        profile: dict[str, Any],
        batch_id: str | None = None,
        model_name: str | None = None,
        model_version: str | None = None,
    ) -> Path:
        """Write a column's detector state atomically; returns the file.

        :param profile: ``detector.to_profile()`` after the batch was scored.
        :param batch_id: the batch just fed, remembered (the last
            :data:`KEEP_BATCH_IDS`) so a batch processed again can be recognised
            with :meth:`has_fed`.
        :param model_name: with ``model_version``, the champion this state belongs to.
        """
        file = self.path(column, detector)
        with self._lock:
            batches: list[str] = []
            previous = self._read_quietly(file)
            if previous is not None and previous.get("champion") == _champion(model_name, model_version):
                batches = list(previous.get("batches", []))
            if batch_id is not None:
                batches = [*batches, batch_id][-KEEP_BATCH_IDS:]
            record = {
                "format": STATE_FORMAT,
                "version": STATE_VERSION,
                "column": column,
                "detector": detector,
                "champion": _champion(model_name, model_version),
                "batches": batches,
                "updated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "profile": profile,
            }
            text = json.dumps(record, allow_nan=False, separators=(",", ":"))
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{file.name}.", suffix=".tmp", dir=self.directory)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, file)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return file

    def has_fed(self, column: str, detector: str, batch_id: str) -> bool:
        """Whether ``batch_id`` is among the last batches fed to this column's detector."""
        record = self._read_quietly(self.path(column, detector))
        return record is not None and batch_id in record.get("batches", [])

    def entries(self) -> Iterator[tuple[str, str, Path]]:
        """``(column, detector, file)`` of every saved state."""
        if not self.directory.is_dir():
            return
        for file in sorted(self.directory.glob("*.json")):
            stem, _, detector = file.name[: -len(".json")].rpartition(".")
            if stem:
                yield unquote(stem), detector, file

    def reset(self) -> int:
        """Forget every saved state (a new champion was promoted); returns how many."""
        with self._lock:
            removed = 0
            for _, _, file in list(self.entries()):
                file.unlink(missing_ok=True)
                removed += 1
        log.info("online_state_reset", directory=str(self.directory), removed=removed)
        return removed

    @staticmethod
    def _read_quietly(file: Path) -> dict[str, Any] | None:
        try:
            record = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) else None
