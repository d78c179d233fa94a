"""Calibrating the effect floor on the reference, for the batch size the monitor expects.

The p-value of a test assumes independent rows. Real references are rarely that:
days differ, weeks have a rhythm, a campaign moves a category for a week. A batch of
one day then differs from the reference by more than sampling noise even when nothing
changed, and a large batch turns that into a tiny p-value. Calibration measures that
"no change" spread on the reference itself and raises the column's ``min_effect`` to it.

:func:`calibrate_profile`: for each of ``draws`` runs, a contiguous chunk of
``batch_rows`` rows at a random offset of the reference (rows in the order they were
written: time order for a time-ordered reference, so its days and seasons are in the
chunks) is compared with the fitted reference exactly as a batch would be, giving each
column's primary effect (KS's D, total variation; :mod:`arlequin_core.drift.effect`).
A chunk is part of the reference it is compared with, which hides part of the noise an
independent batch would show; for independent rows the spread of these distances scales
as ``sqrt(1/m - 1/n)`` against ``sqrt(1/m + 1/n)`` for a new batch (``m`` batch rows,
``n`` reference rows), so each chunk's effect is scaled by the ratio. The ``quantile``
of the scaled effects is stored as the column's ``calibration["min_effect"]``; the
policy then uses ``max([drift] min_effect, calibrated)`` for the column (a
``[drift.columns.<name>] min_effect`` still wins), and reports say ``calibrated``.

Use it when the reference spans time and batches are smaller slices of time (hourly
or daily batches against months of training data); the batch size must be at most half
the reference.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa

from arlequin_core.config import ArlequinConfig
from arlequin_core.drift.check import add_effects, effect_state
from arlequin_core.drift.columns import as_table, category_counts, sorted_values
from arlequin_core.drift.profile import ERROR_COLUMN, Profile, build_profile, column_values, sample_rows
from arlequin_core.drift.report import ColumnResult
from arlequin_core.errors import InputError
from arlequin_core.registry import ComponentRegistry


def calibrate_profile(
    profile: Profile,
    reference: pa.Table | Any,
    batch_rows: int,
    *,
    quantile: float = 0.99,
    draws: int = 200,
    seed: int = 0,
    where: str = "reference",
) -> Profile:
    """Store each column's calibrated ``min_effect`` in ``profile`` (changed in place, and returned).

    :param reference: the rows the profile was fitted on (a table or DataFrame).
    :param batch_rows: the expected batch size ``m`` (``2 m <= reference rows``).
    :param quantile: of the effect under no change (0.5 .. 1).
    :raises InputError: too few reference rows for that batch size, or a column missing.
    :raises ValueError: ``batch_rows``, ``quantile`` or ``draws`` out of range.
    """
    table = as_table(reference, where)
    n = table.num_rows
    if batch_rows < 1 or draws < 1 or not 0.5 <= quantile <= 1.0:
        raise ValueError("calibration needs batch_rows >= 1, draws >= 1 and 0.5 <= quantile <= 1")
    if 2 * batch_rows > n:
        raise InputError(
            where,
            f"calibrating for batches of {batch_rows} rows needs at least {2 * batch_rows} reference rows; it has {n}",
        )
    scale = math.sqrt((1 / batch_rows + 1 / n) / (1 / batch_rows - 1 / n))
    rng = np.random.default_rng(seed)
    offsets = rng.integers(0, n - batch_rows + 1, size=draws)
    names = [name for name, cp in profile.columns.items() if cp.effect and name != ERROR_COLUMN]
    absent = [name for name in names if name not in table.column_names]
    if absent:
        raise InputError(where, f"the reference lacks the profile's columns {', '.join(map(repr, absent))}")
    effects: dict[str, list[float]] = {name: [] for name in names}
    for offset in offsets:
        chunk = table.slice(int(offset), batch_rows)
        for name in names:
            cp = profile.columns[name]
            values, missing = column_values(chunk, name, cp.kind, where)
            if missing == batch_rows:
                continue
            state = sorted_values(values) if cp.kind == "numeric" else category_counts(values)
            result = ColumnResult(column=name, kind=cp.kind, detector="", score_kind=cp.score_kind, threshold=0.0)
            effect = add_effects(result, cp, effect_state(cp, state, presorted=cp.kind == "numeric")).effect
            if effect is not None and math.isfinite(effect):
                effects[name].append(scale * effect)
    for name, values in effects.items():
        if values:
            profile.columns[name].calibration = {
                "batch_rows": int(batch_rows),
                "quantile": float(quantile),
                "draws": len(values),
                "seed": int(seed),
                "min_effect": float(np.quantile(values, quantile)),
            }
    return profile


def build_calibrated_profile(
    reference: pa.Table | Any, config: ArlequinConfig, registry: ComponentRegistry, *, source: str | None = None
) -> Profile:
    """:func:`~arlequin_core.drift.profile.build_profile`, then :func:`calibrate_profile` when
    ``[drift] calibrate_rows`` is set (on the same, possibly sampled, reference rows)."""
    profile = build_profile(reference, config, registry, source=source)
    drift = config.drift
    if drift.calibrate_rows:
        table = sample_rows(as_table(reference, source or "reference"), drift.reference_sample)
        calibrate_profile(
            profile,
            table,
            drift.calibrate_rows,
            quantile=drift.calibrate_quantile,
            draws=drift.calibrate_draws,
            where=source or "reference",
        )
    return profile
