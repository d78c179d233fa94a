"""Where online detectors keep their state between batches and across daemon restarts.

An online detector (``DetectorInfo.online``) goes on from batch to batch: its
``to_profile()`` after a batch is the state the next batch continues from. This
module keeps that state on disk through the generic :class:`Detector` API only, so
any plugin's online detectors get it. The drift monitor
(:mod:`arlequin_core.monitor`) calls, around ``check_batch``::

    store = OnlineStateStore(state_dir(config.home))
    restore_online_state(profile, registry, store, model_name, model_version)
    report = check_batch(profile, batch, config, registry, uri=uri)
    save_online_state(profile, registry, store, batch_id, model_name, model_version)

One JSON file per column and detector, under a directory the caller gives
(:func:`state_dir` is ``<home>/online``, beside the ledger)::

    <dir>/<column, percent-encoded>.<detector>.json

    {
      "format": "arlequin-online-state", "version": 1,
      "column": "amount", "detector": "adwin",
      "champion": {"model_name": "fraud", "model_version": "7"},   # or null
      "batches": ["b-0041", "b-0042"],        # last batch ids fed, newest last
      "updated_at": "2025-01-01T00:00:00+00:00",
      "profile": { ... Detector.to_profile() ... }
    }

Files are written atomically (temporary file, fsync, rename), so a crash leaves the
previous state or the new one, never half of one. A state saved for another
champion than the one asked for is ignored: drift is always measured against the
serving model's reference. When a new champion is promoted, the drift monitor that
owns a store calls :meth:`OnlineStateStore.reset` on it
(:meth:`arlequin_core.monitor.Monitor.arlequin_on_model_registered`); a store opened
by another process still ignores the old files because their champion differs.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Collection, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from arlequin_core.drift.encoding import to_json_tree
from arlequin_core.drift.profile import Profile
from arlequin_core.errors import ArlequinError
from arlequin_core.logs import get_logger
from arlequin_core.registry import ComponentRegistry

__all__ = [
    "STATE_FORMAT",
    "STATE_VERSION",
    "OnlineStateStore",
    "StateError",
    "online_columns",
    "restore_online_state",
    "save_online_state",
    "state_dir",
]

STATE_FORMAT = "arlequin-online-state"
STATE_VERSION = 1
#: How many recent batch ids a state remembers (to recognise a batch fed twice).
KEEP_BATCH_IDS = 100

log = get_logger(__name__)


class StateError(ArlequinError, ValueError):
    """A detector state or profile cannot be encoded, decoded, read or written."""


def state_dir(home: str | os.PathLike[str]) -> Path:
    """The default state directory for an Arlequin home: ``<home>/online``."""
    return Path(home) / "online"


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
                "profile": to_json_tree(profile),  # numpy arrays (profile_array) in their JSON form
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

    def has_fed(
        self,
        column: str,
        detector: str,
        batch_id: str,
        model_name: str | None = None,
        model_version: str | None = None,
    ) -> bool:
        """Whether ``batch_id`` is among the last batches fed to this column's detector.

        :param model_name: with ``model_version``, the serving champion: a batch fed
            to another champion's stream does not count (that state is not continued).
        """
        record = self._read_quietly(self.path(column, detector))
        if record is None or batch_id not in record.get("batches", []):
            return False
        wanted = _champion(model_name, model_version)
        return wanted is None or record.get("champion") == wanted

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


def online_columns(profile: Profile, registry: ComponentRegistry) -> list[str]:
    """The profile's columns whose detector is an online one (``info.online``), in profile order."""
    return [name for name, cp in profile.columns.items() if registry.get("detector", cp.detector).info.online]


def restore_online_state(
    profile: Profile,
    registry: ComponentRegistry,
    store: OnlineStateStore,
    model_name: str | None = None,
    model_version: str | None = None,
) -> list[str]:
    """Before a batch is checked: continue each online column from its saved state.

    A column whose state was saved for this champion has its entry in ``profile``
    (in memory only; the saved profile is not changed) replaced by the saved state,
    so the detector ``check_batch`` builds continues the stream. A column without a
    saved state starts from the champion's warm-up. Call it before the profile's
    detectors are first used (or on :meth:`Profile.fork`); later calls change
    nothing for columns already built.

    :return: the columns restored.
    :raises StateError: a state file is unreadable (its path is named).
    """
    restored = []
    for column in online_columns(profile, registry):
        cp = profile.columns[column]
        record = store.load(column, cp.detector, model_name, model_version)
        if record is None:
            continue
        cp.state = record["profile"]
        restored.append(column)
    if restored:
        log.info("online_state_restored", columns=restored, directory=str(store.directory))
    return restored


def save_online_state(
    profile: Profile,
    registry: ComponentRegistry,
    store: OnlineStateStore,
    batch_id: str | None = None,
    model_name: str | None = None,
    model_version: str | None = None,
    columns: Collection[str] | None = None,
) -> list[Path]:
    """After a batch was checked: save the state of every online column's detector.

    :param columns: only these online columns (default: all of them); a column left
        out, e.g. one that was not fed this batch, keeps its previous file.
    :return: the files written (one per online column saved).
    """
    return [
        store.save(
            column,
            profile.columns[column].detector,
            profile.detector(column, registry).to_profile(),
            batch_id=batch_id,
            model_name=model_name,
            model_version=model_version,
        )
        for column in online_columns(profile, registry)
        if columns is None or column in columns
    ]
