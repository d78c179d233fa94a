"""Does the drift hurt the model? The champion's estimated performance as part of the verdict.

(The step that loads the champion and calls these is :func:`arlequin_core.serving.weigh_performance`.)

At training, :func:`fit_performance` calibrates the new model on its held-out rows
(:mod:`.cbpe`) and the result is stored in the model's drift profile
(``profile.performance``), so it travels with the profile the monitor already loads.

On each batch, :func:`estimate_batch` has the champion score the rows (a seeded
uniform sample of at most ``[drift] sample_rows`` of them, :mod:`arlequin_core.drift.sample`:
the band is computed for the rows actually scored) and estimates its ROC AUC, precision, recall and F1; the
realised metrics are added when the batch carries labels. :func:`apply_performance`
then folds the estimate into the report:

* ``[drift] performance_drop`` (``metric``, ``max_drop``): the performance *dropped*
  when the estimated metric is below the champion's held-out value by more than
  ``max(max_drop, BAND_Z * std)`` — a drop is never called inside the batch's own
  sampling noise;
* ``[drift] retrain_on`` decides what makes the batch drift (and so retrain):
  ``columns`` (the column tests alone, the estimate is reported only),
  ``performance`` (the estimate alone; drifted columns are reported but do not
  retrain), or ``either`` (the default: both can).

Why ``either`` by default: CBPE assumes the relation between features and label is
unchanged and that the calibration holds; it cannot see concept drift, which the
column tests (and the error stream, once labels arrive) can. ``either`` never misses
what either signal sees; teams whose retrains are too frequent for harmless shifts
set ``performance``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from arlequin_core.errors import InputError
from arlequin_core.logs import get_logger
from arlequin_core.performance.cbpe import BAND_Z, PerformanceModel, fit_performance_model

if TYPE_CHECKING:
    from arlequin_core.config import DriftSection
    from arlequin_core.drift.report import DriftReport

log = get_logger(__name__)

#: The probability threshold of the models' predictions (as training's metrics count them).
THRESHOLD = 0.5


def fit_performance(
    trainer: Any, model: Any, heldout_uri: str, seed: int = 0, task: str = "classification"
) -> dict[str, Any]:
    """The profile's ``performance`` entry: the model calibrated on its held-out rows.

    :returns: :meth:`PerformanceModel.to_dict`, or ``{"skipped": reason}`` when it cannot
        be fitted (a regression model, too few rows of a class, a trainer that cannot score).
    """
    if task != "classification":
        return {"skipped": "performance estimation (CBPE) estimates classification metrics only"}
    try:
        y, proba = trainer.score(model, [heldout_uri], where="held-out rows")
        return fit_performance_model(y, proba, THRESHOLD, seed=seed).to_dict()
    except (ValueError, InputError, NotImplementedError) as exc:
        return {"skipped": f"the model could not be calibrated on its held-out rows: {exc}"}


def performance_model(profile_entry: dict[str, Any] | None) -> PerformanceModel | None:
    """The fitted model of a profile's ``performance`` entry (None when absent or skipped)."""
    if not profile_entry or "calibrator" not in profile_entry:
        return None
    return PerformanceModel.from_dict(profile_entry)


def estimate_batch(
    model_perf: PerformanceModel,
    trainer: Any,
    model: Any,
    sample: pa.Table,
    where: str,
) -> dict[str, Any]:
    """The champion's estimated (and, with labels, realised) metrics on the batch's ``sample`` of rows.

    :param sample: the rows scored (:mod:`arlequin_core.drift.sample`: all rows of a small
        batch, a seeded uniform sample of a large one); the band is for this many rows.
    :raises InputError: the model cannot read the batch.
    :raises NotImplementedError: the trainer cannot score unlabelled rows.
    """
    scores = np.asarray(trainer.predict_proba(model, sample, where), dtype=np.float64)
    y_true = labelled = None
    label = trainer.label
    if all(c in sample.column_names for c in label.source_columns):
        y, missing = label.labels(sample, where)
        labelled = ~np.asarray(missing, dtype=bool)
        y_true = np.asarray(y)[labelled] if labelled.any() else None
    estimate = model_perf.estimate(scores, y_true=y_true, labelled=labelled)
    estimate["batch_rows"] = sample.num_rows
    return estimate


def performance_dropped(estimate: dict[str, Any], drift: DriftSection) -> tuple[bool | None, str]:
    """Whether ``[drift] performance_drop`` says the champion's performance dropped, and why.

    :returns: ``(None, reason)`` when no drop is configured or the metric is undefined.
    """
    rule = drift.performance_drop
    if rule is None:
        return None, "no [drift] performance_drop is set"
    entry = estimate["metrics"].get(rule.metric)
    if entry is None or not math.isfinite(entry["estimated"]) or not math.isfinite(entry["reference"]):
        return None, f"estimated {rule.metric} is undefined on this batch"
    noise = BAND_Z * entry["std"] if math.isfinite(entry["std"]) else 0.0
    allowed = max(rule.max_drop, noise)
    floor = entry["reference"] - allowed
    shown = (
        f"estimated {rule.metric} {entry['estimated']:.4f} vs the champion's held-out {entry['reference']:.4f} "
        f"(allowed drop {allowed:.4f}: max({rule.max_drop:g}, {BAND_Z:g} x sampling std))"
    )
    if entry["estimated"] < floor:
        return True, f"the champion's performance dropped: {shown}"
    return False, f"the champion's performance holds: {shown}"


def apply_performance(report: DriftReport, estimate: dict[str, Any] | None, drift: DriftSection) -> DriftReport:
    """Fold the estimate into ``report``'s verdict as ``[drift] retrain_on`` says (see the module docstring)."""
    columns_drifted = report.drifted
    report.columns_drifted = columns_drifted
    if estimate is None:
        return report
    dropped, why = performance_dropped(estimate, drift)
    estimate["dropped"] = dropped
    estimate["reason"] = why
    report.performance = estimate
    mode = drift.retrain_on
    if mode == "columns":
        return report
    if mode == "performance":
        report.drifted = bool(dropped)
        if columns_drifted and not dropped:
            # Said as a warning, like columns that drifted below the share: seen, not acted on.
            report.status = "below share"
            report.reason = (
                f"columns drifted but {why}; [drift] retrain_on = 'performance': no retrain ({report.reason})"
            )
        elif dropped:
            report.status, report.reason = "drift", why
        return report
    if dropped and not columns_drifted:
        report.drifted = True
        report.status, report.reason = "drift", why
    elif dropped:
        report.reason = f"{report.reason}; {why}"
    return report
