"""Streaming detectors over a model's errors: DDM, EDDM, HDDM_A and HDDM_W.

They watch the champion's error rate once labels arrive. The contract is one
column of per-row errors, in row order:

* ``1`` where the champion's prediction was wrong, ``0`` where it was right,
  missing (null/NaN) where the row has no label yet; missing rows are skipped and
  counted, any other value is an error naming the row;
* :func:`~arlequin_core.drift.error_stream.error_stream` (in the core, re-exported
  here) makes that column from labels and predictions; the monitor scores it under
  the pseudo-column :data:`~arlequin_core.drift.error_stream.ERROR_COLUMN`, so config selects these
  detectors with ``[drift.columns.__error__] detector = "ddm"``;
* ``fit`` warms up on the champion's errors on held-out data (its validation
  split), not on its training rows, whose error rate is optimistic. Like every
  detector, ``fit`` needs at least one value (``ValueError`` otherwise).

Each detector also reports the rows where it entered its *warning* zone.
"""

from __future__ import annotations

from typing import Any

from river.drift import binary as river_binary

from arlequin_core.drift.base import DetectorInfo
from arlequin_core.drift.error_stream import ERROR_COLUMN, error_stream
from arlequin_river.online import OnlineDetector
from arlequin_river.params import check_bool, check_float, check_int

__all__ = ["ERROR_COLUMN", "DdmDetector", "EddmDetector", "HddmADetector", "HddmWDetector", "error_stream"]

_KINDS = frozenset({"numeric"})


class DdmDetector(OnlineDetector):
    """DDM: drift detection method on the error rate (river's ``drift.binary.DDM``).

    Tracks the error rate ``p`` and its standard deviation ``s``; fires when
    ``p + s`` exceeds its minimum by ``drift_threshold`` standard deviations, warns
    at ``warning_threshold``. Input: the 0/1 error stream described in this module.

    Parameters
    ----------
    warm_start : int, default 30
        Values before any warning or detection (>= 1).
    warning_threshold : float, default 2.0
        Warning level, in standard deviations (> 0).
    drift_threshold : float, default 3.0
        Detection level, in standard deviations (>= ``warning_threshold``).

    Examples
    --------
    The error rate rises from 10% to 40% at row 500:

    >>> import numpy as np
    >>> rng = np.random.default_rng(7)
    >>> detector = DdmDetector().fit(rng.binomial(1, 0.1, 1000))
    >>> batch = np.concatenate([rng.binomial(1, 0.1, 500), rng.binomial(1, 0.4, 500)])
    >>> score = detector.score(batch)
    >>> score.statistic, score.details["first_detection"]
    (1.0, 699)
    """

    info = DetectorInfo(
        name="ddm",
        display_name="DDM (error rate)",
        kinds=_KINDS,
        score="distance",
        default_threshold=1.0,
        online=True,
        description="Online, on the champion's 0/1 error stream: rows where the error rate rose (river DDM).",
    )
    river_class = river_binary.DDM
    binary = True

    def __init__(self, *, warm_start: int = 30, warning_threshold: float = 2.0, drift_threshold: float = 3.0) -> None:
        name = self.info.name
        warning = check_float(name, "warning_threshold", warning_threshold, 0.0, low_open=True)
        detect = check_float(name, "drift_threshold", drift_threshold, 0.0, low_open=True)
        if detect < warning:
            raise ValueError(
                f"{name}: parameter drift_threshold must be >= warning_threshold ({warning}), got {detect}"
            )
        super().__init__(
            {
                "warm_start": check_int(name, "warm_start", warm_start, 1),
                "warning_threshold": warning,
                "drift_threshold": detect,
            }
        )


class EddmDetector(OnlineDetector):
    """EDDM: early drift detection on the distance between errors (river's ``drift.binary.EDDM``).

    Tracks the mean ``p'`` and standard deviation ``s'`` of the number of rows
    between two errors; fires when ``(p' + 2 s') / max(p' + 2 s')`` falls below
    ``beta``, warns below ``alpha``. Meant to catch gradual change earlier than DDM.

    Arlequin's defaults (``warm_start=100``, ``alpha=0.9``, ``beta=0.8``) replace
    river's (30, 0.95, 0.9), which raise about 13 false alarms per 10,000 values on an
    error stream with no change; see docs/online.md for the figures.

    Parameters
    ----------
    warm_start : int, default 100
        Errors (and values) seen before any warning or detection (>= 1).
    alpha : float, default 0.9
        Warning level, in (0, 1), >= ``beta``.
    beta : float, default 0.8
        Detection level, in (0, 1).

    Examples
    --------
    The error rate rises from 10% to 40% at row 500:

    >>> import numpy as np
    >>> rng = np.random.default_rng(7)
    >>> detector = EddmDetector().fit(rng.binomial(1, 0.1, 1000))
    >>> batch = np.concatenate([rng.binomial(1, 0.1, 500), rng.binomial(1, 0.4, 500)])
    >>> score = detector.score(batch)
    >>> score.statistic, score.details["first_detection"]
    (2.0, 572)
    """

    info = DetectorInfo(
        name="eddm",
        display_name="EDDM (distance between errors)",
        kinds=_KINDS,
        score="distance",
        default_threshold=1.0,
        online=True,
        description="Online, on the champion's 0/1 error stream: rows where errors came closer together (river EDDM).",
    )
    river_class = river_binary.EDDM
    binary = True

    def __init__(self, *, warm_start: int = 100, alpha: float = 0.9, beta: float = 0.8) -> None:
        name = self.info.name
        warn = check_float(name, "alpha", alpha, 0.0, 1.0, low_open=True, high_open=True)
        detect = check_float(name, "beta", beta, 0.0, 1.0, low_open=True, high_open=True)
        if warn < detect:
            raise ValueError(f"{name}: parameter alpha must be >= beta ({detect}), got {warn}")
        super().__init__({"warm_start": check_int(name, "warm_start", warm_start, 1), "alpha": warn, "beta": detect})


def _confidences(name: str, drift_confidence: Any, warning_confidence: Any) -> tuple[float, float]:
    detect = check_float(name, "drift_confidence", drift_confidence, 0.0, 1.0, low_open=True, high_open=True)
    warn = check_float(name, "warning_confidence", warning_confidence, 0.0, 1.0, low_open=True, high_open=True)
    if warn < detect:
        raise ValueError(f"{name}: parameter warning_confidence must be >= drift_confidence ({detect}), got {warn}")
    return detect, warn


class HddmADetector(OnlineDetector):
    """HDDM_A: Hoeffding-bound test of the error rate's mean (river's ``drift.binary.HDDMA``).

    Compares the error rate since a cut point with the rate before it using
    Hoeffding's inequality; fires at confidence ``drift_confidence``.

    Parameters
    ----------
    drift_confidence : float, default 0.001
        Confidence of a detection, in (0, 1); smaller is stricter.
    warning_confidence : float, default 0.005
        Confidence of a warning, in (0, 1), >= ``drift_confidence``.
    two_sided_test : bool, default False
        Also fire when the error rate falls.

    Examples
    --------
    The error rate rises from 10% to 40% at row 500:

    >>> import numpy as np
    >>> rng = np.random.default_rng(7)
    >>> detector = HddmADetector().fit(rng.binomial(1, 0.1, 1000))
    >>> batch = np.concatenate([rng.binomial(1, 0.1, 500), rng.binomial(1, 0.4, 500)])
    >>> score = detector.score(batch)
    >>> score.statistic, score.details["first_detection"]
    (1.0, 565)
    """

    info = DetectorInfo(
        name="hddm_a",
        display_name="HDDM_A (Hoeffding, average)",
        kinds=_KINDS,
        score="distance",
        default_threshold=1.0,
        online=True,
        description="Online, on the champion's 0/1 error stream: rows where the error rate rose (river HDDM_A).",
    )
    river_class = river_binary.HDDMA
    binary = True

    def __init__(
        self, *, drift_confidence: float = 0.001, warning_confidence: float = 0.005, two_sided_test: bool = False
    ) -> None:
        name = self.info.name
        detect, warn = _confidences(name, drift_confidence, warning_confidence)
        super().__init__(
            {
                "drift_confidence": detect,
                "warning_confidence": warn,
                "two_sided_test": check_bool(name, "two_sided_test", two_sided_test),
            }
        )


class HddmWDetector(OnlineDetector):
    """HDDM_W: McDiarmid-bound test of the error rate's weighted mean (river's ``drift.binary.HDDMW``).

    Like HDDM_A on an exponentially weighted moving average of the errors, so recent
    rows count more; reacts faster to abrupt change.

    Arlequin's default ``lambda_val=0.02`` replaces river's 0.05, which raises about 4
    false alarms per 10,000 values on an error stream with no change at a 30% error
    rate and misses most rises from 10% to 20%; see docs/online.md for the figures.

    Parameters
    ----------
    drift_confidence : float, default 0.001
        Confidence of a detection, in (0, 1); smaller is stricter.
    warning_confidence : float, default 0.005
        Confidence of a warning, in (0, 1), >= ``drift_confidence``.
    lambda_val : float, default 0.02
        Weight of the newest value in the moving average, in (0, 1].
    two_sided_test : bool, default False
        Also fire when the error rate falls.

    Examples
    --------
    The error rate rises from 10% to 40% at row 500:

    >>> import numpy as np
    >>> rng = np.random.default_rng(7)
    >>> detector = HddmWDetector().fit(rng.binomial(1, 0.1, 1000))
    >>> batch = np.concatenate([rng.binomial(1, 0.1, 500), rng.binomial(1, 0.4, 500)])
    >>> score = detector.score(batch)
    >>> score.statistic, score.details["first_detection"]
    (1.0, 564)
    """

    info = DetectorInfo(
        name="hddm_w",
        display_name="HDDM_W (Hoeffding, weighted average)",
        kinds=_KINDS,
        score="distance",
        default_threshold=1.0,
        online=True,
        description="Online, on the champion's 0/1 error stream: rows where the recent error rate rose (river HDDM_W).",
    )
    river_class = river_binary.HDDMW
    binary = True

    def __init__(
        self,
        *,
        drift_confidence: float = 0.001,
        warning_confidence: float = 0.005,
        lambda_val: float = 0.02,
        two_sided_test: bool = False,
    ) -> None:
        name = self.info.name
        detect, warn = _confidences(name, drift_confidence, warning_confidence)
        super().__init__(
            {
                "drift_confidence": detect,
                "warning_confidence": warn,
                "lambda_val": check_float(name, "lambda_val", lambda_val, 0.0, 1.0, low_open=True),
                "two_sided_test": check_bool(name, "two_sided_test", two_sided_test),
            }
        )
