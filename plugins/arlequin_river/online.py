"""The base of Arlequin's streaming detectors: a river detector behind the batch interface.

Contract (what the monitor, the policy and the report rely on):

* ``fit(reference)`` *warms up* a fresh river detector on the reference stream, in
  order. Detections during warm-up are discarded (the reference is, by definition,
  the data the champion was trained on; a change inside it is no drift of the
  batches) and counted in the profile as ``warmup_detections``. Value detectors
  (ADWIN, KSWIN, Page-Hinkley) first standardise every value with the reference
  mean and standard deviation, so their thresholds mean the same thing whatever the
  column's unit (a constant or one-value reference keeps scale 1).
* ``score(current, timestamps=None)`` feeds the batch in row order and *keeps* the
  state: the next batch continues the same stream. Null, NaN and infinite values are
  skipped and counted (``n_missing``). The statistic is the number of detections in
  the batch; with score kind ``distance`` and default threshold 1 the policy calls
  the column drifted when the detector fired at least once.
* ``Score.details``: ``detections`` (0-based row indices in the batch, at most
  :data:`MAX_LISTED`), ``n_detections``, ``first_detection``, ``change_starts``
  (value detectors: for each listed detection, the row where the detector estimates
  the change began; negative when that is before the batch, by that many values:
  the least-squares split of the values since the previous change,
  :func:`arlequin_river.locate.change_start`), ``timestamps`` (the
  ``timestamps`` value at each listed detection, ISO 8601, when given), ``warnings``
  and ``n_warnings`` (error-rate detectors: rows where the warning zone began),
  ``rows``, ``n_used``, ``n_missing`` and ``stream_offset`` (values fed since ``fit``
  before this batch).
* ``to_profile()`` is the whole state as JSON (see :mod:`arlequin_river.codec`);
  ``from_profile(to_profile())`` continues exactly where the original would.

Change starts (value detectors): the detector keeps the standardised values fed since
its last change, at most :attr:`OnlineDetector.buffer_cap` (the newest), in
``self._buffer``. At each detection the buffer plus the batch's values up to the
detection go to :func:`~arlequin_river.locate.change_start`; the values before its
split are dropped, the rest start the next buffer. The work is numpy, per batch and
per detection, never per value. The buffer is part of the profile (``"buffer"``); a
profile written before it existed loads with an empty one.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import river

from arlequin_core.drift.base import Detector, Score
from arlequin_core.drift.error_stream import as_float_array
from arlequin_river.codec import StateError, decode_state, encode_state
from arlequin_river.locate import change_start

__all__ = ["MAX_LISTED", "PROFILE_FORMAT", "PROFILE_VERSION", "OnlineDetector", "as_float_array"]

PROFILE_FORMAT = "arlequin-river-detector"
PROFILE_VERSION = 1
#: At most this many detection (and warning) rows are listed in ``Score.details``.
MAX_LISTED = 100


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def _timestamp_array(timestamps: Any, n: int) -> pa.Array | pa.ChunkedArray:
    """``timestamps`` as Arrow, checked to have one value per row of an ``n``-row batch."""
    array = timestamps
    if not isinstance(array, (pa.Array, pa.ChunkedArray)):
        array = pa.array(timestamps, from_pandas=True)
    if len(array) != n:
        raise ValueError(f"timestamps: {len(array)} values for a batch of {n} rows")
    return array


def _timestamps_at(array: pa.Array | pa.ChunkedArray, rows: list[int]) -> list[str | None]:
    """The timestamps at ``rows`` as ISO 8601 strings (other values as ``str``)."""
    if not rows:
        return []
    return [_iso(v) for v in array.take(pa.array(rows, type=pa.int64())).to_pylist()]


class OnlineDetector(Detector):
    """A river drift detector fed one column in row order, batch after batch.

    Subclasses set ``info`` and ``river_class`` and validate their parameters in
    ``__init__`` (raising :class:`ValueError`) before calling
    ``super().__init__(params)`` with the river constructor's keyword arguments.
    """

    river_class: ClassVar[type]
    #: Consumes a 0/1 error stream (DDM family) instead of a column's values.
    binary: ClassVar[bool] = False
    #: Value detectors: the most values since the last change kept to locate the next one.
    #: A change is located only if it began within this many values of its detection
    #: (the defaults detect a 0.5 sd shift about 200-500 values after it); the buffer is
    #: saved with the state, about 20 bytes of JSON per value.
    buffer_cap: ClassVar[int] = 2000
    #: Parameters added since the first states were saved, with the value that behaves as
    #: those states did: a saved state without one of them is rebuilt with this value, not
    #: with a newer default.
    legacy_params: ClassVar[dict[str, Any]] = {}

    def __init__(self, params: dict[str, Any]) -> None:
        self._params = dict(params)
        self._river: Any = None
        self._location = 0.0
        self._scale = 1.0
        self._reference_n = 0
        self._reference_missing = 0
        self._warmup_detections = 0
        self._n_seen = 0
        self._n_detections = 0
        self._buffer = np.empty(0)
        self._starts: list[int] = []

    # ------------------------------------------------------------------ public API
    @property
    def params(self) -> dict[str, Any]:
        """The detector's parameters (JSON-able), as passed to river."""
        return dict(self._params)

    @property
    def river(self) -> Any:
        """The underlying river detector (None before :meth:`fit`); read it, do not feed it."""
        return self._river

    @property
    def fitted(self) -> bool:
        """Whether :meth:`fit` (or :meth:`from_profile`) has run."""
        return self._river is not None

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._params.items())
        return f"{type(self).__name__}({args})"

    def fit(self, reference: Any) -> OnlineDetector:
        """Warm a fresh detector up on the reference stream; detections there are discarded.

        :param reference: the reference column in row order (see :func:`as_float_array`).
        :return: ``self``.
        :raises ValueError: no finite value to warm up on, values that are not numbers,
            or not 0/1 for an error-rate detector.
        """
        values = as_float_array(reference, f"{self.info.name}: reference")
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            raise ValueError(
                f"{self.info.name}: the reference has no value to warm up on ({values.size} rows, all missing)"
            )
        self._check_binary(finite, np.flatnonzero(np.isfinite(values)), "reference")
        self._reference_n = int(finite.size)
        self._reference_missing = int(values.size - finite.size)
        self._location, self._scale = 0.0, 1.0
        if not self.binary:
            self._location = float(finite.mean())
            scale = float(finite.std(ddof=1)) if finite.size > 1 else 0.0
            self._scale = scale if scale > 0 and math.isfinite(scale) else 1.0
            self._scale *= self._scale_factor(finite)
        standardised = self._transform(finite)
        self._river = self._new_river(standardised)
        self._n_seen = 0
        self._n_detections = 0
        self._buffer = np.empty(0)
        hits, _ = self._feed(standardised)
        self._warmup_detections = len(hits)
        return self

    def score(self, current: Any, timestamps: Any = None) -> Score:
        """Feed one batch in row order; the state carries on to the next batch.

        :param current: the batch's column in row order (see :func:`as_float_array`).
        :param timestamps: optional, one value per row (the batch's timestamp column:
            pyarrow, pandas, numpy datetime64 or a list); the timestamps of the
            detection rows are reported in ``details["timestamps"]``.
        :return: statistic = number of detections in the batch; details as in the
            module docstring.
        :raises RuntimeError: neither :meth:`fit` nor :meth:`from_profile` ran.
        :raises ValueError: non-numeric values, a non-0/1 error, or timestamps of
            another length.
        """
        if self._river is None:
            raise RuntimeError(f"{self.info.name}: call fit() (or from_profile()) before score()")
        values = as_float_array(current, f"{self.info.name}: batch")
        # Checked before feeding: a refused batch must leave the state as it was.
        stamps = None if timestamps is None else _timestamp_array(timestamps, int(values.size))
        finite_mask = np.isfinite(values)
        rows = None if finite_mask.all() else np.flatnonzero(finite_mask)
        used = values if rows is None else values[rows]
        self._check_binary(used, rows, "batch")
        offset = self._n_seen
        hits, warnings = self._feed(self._transform(used))
        self._n_detections += len(hits)
        detection_rows = hits if rows is None else rows[hits].tolist()
        warning_rows = warnings if rows is None else rows[warnings].tolist()
        details: dict[str, Any] = {
            "detections": detection_rows[:MAX_LISTED],
            "n_detections": len(detection_rows),
            "first_detection": detection_rows[0] if detection_rows else None,
            "rows": int(values.size),
            "n_used": int(used.size),
            "n_missing": int(values.size - used.size),
            "stream_offset": offset,
        }
        if not self.binary:
            details["change_starts"] = [self._start_row(v, rows) for v in self._starts[:MAX_LISTED]]
        if self.binary:
            details["warnings"] = warning_rows[:MAX_LISTED]
            details["n_warnings"] = len(warning_rows)
        if stamps is not None:
            details["timestamps"] = _timestamps_at(stamps, details["detections"])
        details.update(self._extra_details())
        return Score(statistic=float(len(detection_rows)), details=details)

    def to_profile(self) -> dict[str, Any]:
        """The whole state as a JSON-able dict (format in docs/online.md).

        :raises RuntimeError: not fitted.
        :raises StateError: river changed its internals so they cannot be written.
        """
        if self._river is None:
            raise RuntimeError(f"{self.info.name}: call fit() before to_profile()")
        state = {
            key: encode_state(value, f"{self.info.name}.{key}")
            for key, value in vars(self._river).items()
            if not callable(value)
        }
        return {
            "format": PROFILE_FORMAT,
            "version": PROFILE_VERSION,
            "detector": self.info.name,
            "river_version": river.__version__,
            "params": self.params,
            "location": self._location,
            "scale": self._scale,
            "reference_n": self._reference_n,
            "reference_missing": self._reference_missing,
            "warmup_detections": self._warmup_detections,
            "n_seen": self._n_seen,
            "n_detections": self._n_detections,
            **({} if self.binary else {"buffer": self._buffer.tolist()}),
            "state": state,
        }

    @classmethod
    def from_profile(cls, profile: dict[str, Any]) -> OnlineDetector:
        """Rebuild a detector from :meth:`to_profile` output; it continues the same stream.

        :raises StateError: not a profile of this detector, another format version,
            or a state this river cannot take back.
        :raises ValueError: the saved parameters are invalid.
        """
        if not isinstance(profile, dict) or profile.get("format") != PROFILE_FORMAT:
            raise StateError(f"{cls.info.name}: not an {PROFILE_FORMAT} profile")
        if profile.get("version") != PROFILE_VERSION:
            raise StateError(
                f"{cls.info.name}: profile format version {profile.get('version')!r}; "
                f"this Arlequin reads version {PROFILE_VERSION}"
            )
        if profile.get("detector") != cls.info.name:
            raise StateError(f"profile is for detector {profile.get('detector')!r}, not {cls.info.name!r}")
        try:
            detector = cls(**{**cls.legacy_params, **profile["params"]})
            detector._river = cls.river_class(**detector._params)
            known = set(vars(detector._river))
            for key, value in profile["state"].items():
                if key not in known:
                    raise StateError(
                        f"{cls.info.name}: state attribute {key!r} unknown to river {river.__version__} "
                        f"(written by river {profile.get('river_version')})"
                    )
                setattr(detector._river, key, decode_state(value, f"{cls.info.name}.{key}"))
            detector._location = float(profile["location"])
            detector._scale = float(profile["scale"])
            for key in ("reference_n", "reference_missing", "warmup_detections", "n_seen", "n_detections"):
                setattr(detector, f"_{key}", int(profile[key]))
            # Profiles written before the localiser have no buffer: the next change is
            # located among the values fed from now on.
            try:
                buffer = np.asarray(profile.get("buffer") or [], dtype=np.float64)
            except (TypeError, ValueError):
                buffer = None
            if buffer is None or buffer.ndim != 1 or not np.isfinite(buffer).all():
                raise StateError(f"{cls.info.name}: profile 'buffer' must be a list of finite numbers")
            detector._buffer = buffer[-cls.buffer_cap :] if buffer.size else np.empty(0)
        except KeyError as exc:
            raise StateError(f"{cls.info.name}: profile has no {exc.args[0]!r}") from None
        return detector

    # ------------------------------------------------------------------ internals
    def _new_river(self, reference: np.ndarray) -> Any:
        """A fresh river detector for :meth:`fit`, given the reference as it will be fed.

        Subclasses may estimate something on the (standardised) reference here; what they
        set on the river detector is saved with its state.
        """
        return self.river_class(**self._params)

    def _scale_factor(self, reference: np.ndarray) -> float:
        """Value detectors: a factor on the reference standard deviation the values are divided by (1: none).

        Called by :meth:`fit` with the reference's finite values, before :meth:`_new_river`.
        """
        return 1.0

    def _extra_details(self) -> dict[str, Any]:
        """Detector-specific entries added to every :meth:`score`'s details."""
        return {}

    @staticmethod
    def _start_row(start: int, rows: np.ndarray | None) -> int:
        """Value position ``start`` of this batch as a batch row (negative: that many values before it)."""
        if start < 0 or rows is None:
            return start
        return int(rows[start])

    def _transform(self, values: np.ndarray) -> np.ndarray:
        if self._location != 0.0 or self._scale != 1.0:
            values = (values - self._location) / self._scale
        return values

    def _check_binary(self, values: np.ndarray, rows: np.ndarray | None, what: str) -> None:
        if not self.binary:
            return
        bad = np.flatnonzero((values != 0.0) & (values != 1.0))
        if bad.size:
            row = int(bad[0] if rows is None else rows[bad[0]])
            raise ValueError(
                f"{self.info.name}: {what} row {row}: error stream values must be 0 (right) or 1 (wrong), "
                f"got {float(values[bad[0]])!r}; see arlequin_core.drift.error_stream"
            )

    def _feed(self, values: np.ndarray) -> tuple[list[int], list[int]]:
        """Update the river detector with each value; the positions where it fired / warned.

        Value detectors also record, in ``self._starts``, where each detected change began
        (:meth:`_locate`).
        """
        detector = self._river
        self._starts = []
        hits: list[int] = []
        warnings: list[int] = []
        if self.binary:
            # The flags are read as river's properties return them (``_drift_detected``,
            # ``_warning_detected``): a property call per value is a measurable share of
            # the per-value cost.
            update = detector.update
            warned = detector._warning_detected
            for i, x in enumerate(values.tolist()):
                update(x)
                if detector._drift_detected:
                    hits.append(i)
                    warned = False
                elif detector._warning_detected:
                    if not warned:
                        warnings.append(i)
                        warned = True
                else:
                    warned = False
        else:
            hits = self._feed_values(values.tolist())
            self._locate(values, hits)
        self._n_seen += int(values.size)
        return hits, warnings

    def _feed_values(self, values: list[float]) -> list[int]:
        """The value detectors' loop: positions of the values the detector fired on."""
        detector = self._river
        update = detector.update
        hits: list[int] = []
        for i, x in enumerate(values):
            update(x)
            if detector._drift_detected:
                hits.append(i)
        return hits

    def _locate(self, values: np.ndarray, hits: list[int]) -> None:
        """Change start of each hit into ``self._starts``; the buffer cut there and extended.

        Positions are in this feed (``values``), negative for values fed before it.
        """
        cap = self.buffer_cap
        buffer, taken = self._buffer, 0  # buffer = the values since the last change before ``taken``
        for i in hits:
            since = np.concatenate([buffer, values[max(taken, i + 1 - cap) : i + 1]])[-cap:]
            k = change_start(since)
            self._starts.append(i + 1 - since.size + k)
            buffer, taken = since[k:], i + 1
        rest = values[taken:]
        if rest.size >= cap:
            self._buffer = rest[-cap:].copy()
        elif rest.size:
            self._buffer = np.concatenate([buffer, rest])[-cap:]
        else:
            self._buffer = buffer.copy()
