"""The serving model's view of a batch: its reference, and its estimated performance.

The monitor (``arlequin watch``) and ``arlequin detect`` without ``--reference`` both
measure a batch against the champion: its drift profile from MLflow, and, after the
column check, its estimated performance on the batch's rows
(:mod:`arlequin_core.performance`). This module sits above ``drift``, ``training`` and
``performance`` so that none of them imports another back.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from arlequin_core.config import ArlequinConfig
from arlequin_core.drift.report import DriftReport
from arlequin_core.errors import ArlequinError
from arlequin_core.logs import get_logger
from arlequin_core.performance.harm import apply_performance, estimate_batch, performance_model
from arlequin_core.registry import ComponentRegistry

log = get_logger(__name__)


def champion_reference(config: ArlequinConfig, cache: Any = None) -> tuple[Any, str, str] | None:
    """The champion's drift profile, model name and version (None when there is no champion yet)."""
    from arlequin_core.training.champion import champion_profile

    return champion_profile(config, cache)


def weigh_performance(
    report: DriftReport,
    profile: Any,
    rows: pa.Table | None,
    config: ArlequinConfig,
    registry: ComponentRegistry,
    model_name: str | None,
    model_version: str | None,
    cache: Any = None,
) -> None:
    """The champion's estimated performance on the batch, folded into ``report``'s verdict.

    The monitor and ``arlequin detect`` (against the serving model) call this after the
    column check. Without a calibrated champion (an older profile, a regression model,
    a trainer that cannot score) the verdict stays the columns' and
    ``report.performance["skipped"]`` says why there is no estimate.

    :param rows: the batch's sample of rows (:mod:`arlequin_core.drift.sample`).
    :param cache: where the champion model is kept between batches (the monitor's).
    """
    drift = config.drift
    estimate = None
    skipped = (profile.performance or {}).get("skipped")
    model_perf = performance_model(profile.performance) if drift.performance else None
    if model_perf is not None and (model_name is None or model_version is None):
        skipped = "the profile belongs to no registered model, so there is no model to score the batch with"
    elif model_perf is not None and rows is not None:
        from arlequin_core.training.model_errors import champion_model

        try:
            trainer, model = champion_model(config, registry, model_name, model_version, cache)
            estimate = estimate_batch(model_perf, trainer, model, rows, report.uri or "batch")
            estimate["batch_rows"] = report.rows_cur
        except (ArlequinError, NotImplementedError) as exc:
            log.warning("performance_estimate_failed", batch_id=report.batch_id, error=str(exc))
            skipped = f"the champion could not score the batch: {exc}"
    apply_performance(report, estimate, drift)
    if estimate is None and skipped and drift.performance:
        report.performance = {"skipped": skipped}
