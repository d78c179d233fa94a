"""Checking one batch against a profile: score every column, then apply the policy."""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pyarrow as pa

from arlequin_core.clock import utc_now
from arlequin_core.config import ArlequinConfig
from arlequin_core.drift.base import Score
from arlequin_core.drift.columns import as_table, category_counts, sorted_values
from arlequin_core.drift.effect import (
    PRIMARY,
    CategoricalBatch,
    CategoricalReference,
    NumericBatch,
    NumericReference,
    categorical_effects,
    numeric_effects,
)
from arlequin_core.drift.policy import apply_policy, check_columns_exist, missing_rate_test
from arlequin_core.drift.profile import ERROR_COLUMN, ColumnProfile, Profile, column_values
from arlequin_core.drift.report import ColumnResult, DriftReport
from arlequin_core.errors import InputError
from arlequin_core.registry import ComponentRegistry

#: Scoring may hold this share of the batch's Arrow size in working memory at once: a quarter
#: lets two numeric columns of a 10-column batch (text read as dictionaries) be sorted at once.
WORKING_MEMORY_SHARE = 0.25


def check_batch(
    profile: Profile,
    current: pa.Table | Any,
    config: ArlequinConfig,
    registry: ComponentRegistry,
    *,
    uri: str | None = None,
    skip: Mapping[str, str] | None = None,
) -> DriftReport:
    """Test a batch for drift against ``profile`` and return the verdict.

    Every column of the profile is tested with the detector it was fitted with; a
    threshold set in ``[drift.columns.<name>]`` overrides the profile's. Online
    detectors (``info.online``) also get the ``[data] timestamp`` column, when the
    batch has it, so their detections carry timestamps. The missing
    rate of each column is tested too; correction, drift share and critical columns
    come from ``config.drift``.

    :param current: a ``pyarrow.Table`` or ``pandas.DataFrame``; extra columns are
        ignored (and listed in the report).
    :param uri: where the batch came from, for error messages and the report.
    :param skip: columns not to give to their detector, with the reason (the monitor
        does not feed an online detector a batch it was already fed); only their
        missing rate is tested, and ``details["skipped"]`` says why.
    :raises InputError: the batch has no rows, lacks columns of the profile (all named),
        or a numeric column holds text.
    :raises ConfigError: ``[drift.columns]`` or ``critical`` name a column the profile does not test.
    """
    where = uri or "current batch"
    table = as_table(current, where)
    if table.num_rows == 0:
        raise InputError(where, "the batch has no rows; nothing to test (it is rejected, not passed)")
    absent = [name for name in profile.columns if name not in table.column_names]
    if absent:
        raise InputError(
            where,
            f"missing column{'s' if len(absent) > 1 else ''} {', '.join(map(repr, absent))} "
            f"that the reference has; the batch has: {', '.join(table.column_names) or 'no columns'}",
        )
    check_columns_exist(config, list(profile.columns))
    names = list(profile.columns)
    for name in names:  # build fitted detectors here, not concurrently in the pool
        profile.detector(name, registry)
    # A numeric detector holds about one float64 copy of its column (a sorted copy for
    # KS); running them in parallel is capped so that all copies together stay within
    # WORKING_MEMORY_SHARE of the batch. Categorical columns need little and run beside.
    copies = int(WORKING_MEMORY_SHARE * table.nbytes) // max(8 * table.num_rows, 1)
    numeric_slots = threading.BoundedSemaphore(max(1, copies))
    skip = skip or {}

    def score(name: str) -> ColumnResult:
        cp = profile.columns[name]
        if cp.kind != "numeric":
            return _score_column(profile, cp, table, config, registry, where, skip.get(name))
        with numeric_slots:
            return _score_column(profile, cp, table, config, registry, where, skip.get(name))

    with ThreadPoolExecutor(max_workers=max(1, min(len(names), os.cpu_count() or 1))) as pool:
        scored = dict(zip(_interleaved(profile), pool.map(score, _interleaved(profile)), strict=True))
    return build_report(profile, [scored[name] for name in names], config, table.num_rows, table.column_names, uri)


def build_report(
    profile: Profile,
    results: list[ColumnResult],
    config: ArlequinConfig,
    rows: int,
    column_names: list[str],
    uri: str | None,
) -> DriftReport:
    """Apply the policy to the scored columns (in profile order) and make the report.

    :param rows: rows of the batch; ``column_names``: all of its columns (extra ones are listed).
    """
    drifted, share, drifted_columns, status, reason = apply_policy(results, config.drift)
    tested_or_skipped = set(profile.columns) | set(profile.skipped)
    return DriftReport(
        drifted=drifted,
        drift_share=share,
        drifted_columns=drifted_columns,
        reason=reason,
        columns=results,
        rows_ref=profile.rows,
        rows_cur=rows,
        correction=config.drift.correction,
        drift_share_threshold=config.drift.drift_share,
        status=status,
        critical=list(config.drift.critical),
        missing_threshold=config.drift.missing_threshold,
        skipped=dict(profile.skipped),
        extra_columns=[c for c in column_names if c not in tested_or_skipped],
        uri=uri,
        created_at=utc_now(),
    )


def _score_column(
    profile: Profile,
    cp: ColumnProfile,
    table: pa.Table,
    config: ArlequinConfig,
    registry: ComponentRegistry,
    where: str,
    skip_reason: str | None = None,
) -> ColumnResult:
    values, missing = column_values(table, cp.name, cp.kind, where)
    result = start_result(cp, config, table.num_rows, missing, skip_reason)
    if "skipped" in result.details:
        return result
    detector = profile.detector(cp.name, registry)
    if detector.info.online:
        if config.data.timestamp is not None and config.data.timestamp in table.column_names:
            score = detector.score(values, timestamps=table.column(config.data.timestamp))
        else:
            if config.data.timestamp is not None:
                result.details["timestamp_note"] = (
                    f"the timestamp column {config.data.timestamp!r} ([data] timestamp) is not in the batch; "
                    "detections are reported by row only"
                )
            score = detector.score(values)
        state: Any = values if cp.kind == "numeric" else category_counts(values)
    elif cp.kind == "numeric":
        # Sorted once: ks and wasserstein sort anyway (a sorted input costs them one pass),
        # and the effect sizes then need no pass over the rows.
        state = sorted_values(values)
        score = detector.score(state)
    else:
        state = category_counts(values)
        score = detector.score_category_counts(state) if _counts_score(detector) else detector.score(values)
    finish_result(result, score)
    presorted = cp.kind == "numeric" and not detector.info.online
    return add_effects(result, cp, effect_state(cp, state, presorted=presorted))


def effect_state(cp: ColumnProfile, values: Any, *, presorted: bool = False) -> NumericBatch | CategoricalBatch | None:
    """The batch side of ``cp``'s effect sizes from its values, or None when the profile has no effect summary.

    :param values: numeric: the values (``presorted``: ascending without NaN, the fast
        path); categorical: the batch's ``{category key: count}``.
    """
    if not cp.effect:
        return None
    if cp.kind == "categorical":
        return CategoricalBatch.from_counts(categorical_reference(cp), values)
    cuts = numeric_reference(cp).cuts
    if presorted:
        return NumericBatch.from_sorted(values, cuts)
    return NumericBatch.from_values(np.asarray(values, dtype=np.float64), cuts)


def add_effects(result: ColumnResult, cp: ColumnProfile, state: NumericBatch | CategoricalBatch | None) -> ColumnResult:
    """``result`` with its effect sizes, from the batch's merged effect state (see :func:`effect_state`).

    Engines that build states per chunk merge them and call this once. When the column's
    detector is ``ks`` its exact statistic is the reported ``ks_d`` (bound 0).
    """
    if state is None or not cp.effect or state.n == 0:
        return result
    if isinstance(state, NumericBatch):
        effects = numeric_effects(numeric_reference(cp), state)
        if cp.detector == "ks" and result.statistic is not None:
            effects["ks_d"], effects["ks_d_bound"] = float(result.statistic), 0.0
    else:
        effects = categorical_effects(categorical_reference(cp), state)
    result.effects = effects
    result.effect_name = PRIMARY[cp.kind]
    result.effect = effects[result.effect_name]
    return result


def categorical_reference(cp: ColumnProfile) -> CategoricalReference:
    """The column's categorical effect reference, decoded once per profile entry."""
    return _effect_reference(cp, CategoricalReference)


def numeric_reference(cp: ColumnProfile) -> NumericReference:
    """The column's numeric effect reference, decoded once per profile entry."""
    return _effect_reference(cp, NumericReference)


def _effect_reference(cp: ColumnProfile, kind: Any) -> Any:
    cached = cp.__dict__.get("_effect_reference")
    if cached is None:
        cached = kind.from_dict(cp.effect)
        cp.__dict__["_effect_reference"] = cached
    return cached


def _counts_score(detector: Any) -> bool:
    """The detector scores from category counts exactly as ``score`` does (same defining class)."""
    method = getattr(type(detector), "score_category_counts", None)
    if not callable(method):
        return False
    mro = type(detector).__mro__
    defines_score = next(k for k in mro if "score" in vars(k))
    defines_counts = next(k for k in mro if "score_category_counts" in vars(k))
    return issubclass(defines_counts, defines_score)


def start_result(
    cp: ColumnProfile, config: ArlequinConfig, rows: int, missing: int, skip_reason: str | None = None
) -> ColumnResult:
    """The result of one column before its detector runs: counts, threshold, missing-rate test.

    When the column is not to be scored (``skip_reason``, or every value missing),
    ``details["skipped"]`` says why and the result is final.

    :param rows: rows of the batch; ``missing``: how many of them miss this column's value.
    """
    override = config.drift.columns.get(cp.name)
    if override and override.threshold is not None:
        threshold = override.threshold
    elif config.drift.threshold is not None:
        threshold = config.drift.threshold
    else:
        threshold = cp.threshold
    result = ColumnResult(
        column=cp.name,
        kind=cp.kind,
        detector=cp.detector,
        score_kind=cp.score_kind,
        threshold=float(threshold),
        n_ref=cp.values,
        n_cur=rows - missing,
        missing_ref=cp.missing / cp.rows,
        missing_cur=missing / rows,
    )
    result.missing_effect = abs(result.missing_cur - result.missing_ref)
    result.min_effect, result.min_effect_source = min_effect(cp, config)
    if override and override.detector and override.detector != cp.detector:
        result.details["note"] = (
            f"config asks for {override.detector!r} but the profile was fitted with {cp.detector!r}; "
            "rebuild the profile to change the test"
        )
    # A missing error is a label not arrived yet: its rate says when labels come, not that data drifted.
    test_missing = config.drift.missing_threshold > 0 and cp.name != ERROR_COLUMN
    if test_missing:
        result.missing_p_value = missing_rate_test(cp.missing, cp.rows, missing, rows)
    tail = "; only the missing rate is tested" if test_missing else ""
    if skip_reason is not None:
        result.details["skipped"] = f"{skip_reason}{tail}"
        return result
    if missing == rows:
        result.details["skipped"] = f"every value in the batch is missing{tail}"
    return result


def min_effect(cp: ColumnProfile, config: ArlequinConfig) -> tuple[float, str]:
    """The smallest effect that counts as drift for ``cp``, and where it comes from.

    ``[drift.columns.<name>] min_effect`` when set; else ``[drift] min_effect`` of the
    column's kind, or the calibrated value stored in the profile when that is larger.
    """
    override = config.drift.columns.get(cp.name)
    if override is not None and override.min_effect is not None:
        return float(override.min_effect), f"drift.columns.{cp.name}.min_effect"
    floor = float(getattr(config.drift.min_effect, cp.kind))
    calibrated = (cp.calibration or {}).get("min_effect")
    if calibrated is not None and float(calibrated) > floor:
        return float(calibrated), "calibrated"
    return floor, "drift.min_effect"


def finish_result(result: ColumnResult, score: Score) -> ColumnResult:
    """``result`` with the detector's ``score`` filled in."""
    result.statistic = float(score.statistic)
    result.p_value = None if score.p_value is None else float(score.p_value)
    result.details.update(score.details)
    return result


def _interleaved(profile: Profile) -> list[str]:
    """Numeric and categorical columns alternated, so a thread waiting for a numeric
    slot does not hold categorical columns back."""
    numeric = [n for n, c in profile.columns.items() if c.kind == "numeric"]
    categorical = [n for n, c in profile.columns.items() if c.kind != "numeric"]
    pairs = itertools.zip_longest(numeric, categorical)
    return [name for pair in pairs for name in pair if name is not None]
