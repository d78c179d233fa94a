"""Empirical counterparts of the generator's exact ground truth, for the tests."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import stats

from arlequin_synth import CATEGORICAL_COLUMNS


def values(table: pa.Table, column: str) -> np.ndarray:
    """Non-null values of ``column`` (categories as strings)."""
    col = table.column(column).drop_null()
    if pa.types.is_dictionary(col.type):
        col = col.cast(pa.string())
    return col.to_numpy(zero_copy_only=False)


def null_rate(table: pa.Table, column: str) -> float:
    return table.column(column).null_count / table.num_rows


def frequencies(table: pa.Table, column: str) -> dict:
    counts = pc.value_counts(table.column(column).drop_null().combine_chunks())
    total = sum(c.as_py() for c in counts.field("counts"))
    return {
        str(v.as_py()): c.as_py() / total for v, c in zip(counts.field("values"), counts.field("counts"), strict=True)
    }


def empirical_effect(current: pa.Table, reference: pa.Table, column: str) -> float:
    """What :mod:`arlequin_synth.truth` computes exactly, estimated from two samples.

    Numeric columns use scipy's two-sample KS statistic on non-null values.
    """
    null_change = abs(null_rate(current, column) - null_rate(reference, column))
    if current.column(column).null_count == current.num_rows:
        return null_change
    if column in CATEGORICAL_COLUMNS:
        p, q = frequencies(current, column), frequencies(reference, column)
        distance = sum(abs(p.get(k, 0.0) - q.get(k, 0.0)) for k in set(p) | set(q)) / 2
    else:
        distance = stats.ks_2samp(values(current, column), values(reference, column)).statistic
    return max(null_change, float(distance))


def sampling_tolerance(n: int, m: int) -> float:
    """Generous bound on |empirical - exact effect| for samples of n and m rows."""
    return 2.0 * (1 / math.sqrt(n) + 1 / math.sqrt(m)) + 0.005


def drift_p_value(current: pa.Table, reference: pa.Table, column: str) -> float:
    """p-value of "same distribution" for one column, as a sound detector would test it.

    Two tests, Bonferroni-combined: chi-squared on null vs non-null counts, and on the
    values KS (numeric) or chi-squared on category counts (categorical).
    """
    n, m = current.num_rows, reference.num_rows
    nulls = [current.column(column).null_count, reference.column(column).null_count]
    p_null = 1.0
    if any(nulls) and not all(k == rows for k, rows in zip(nulls, (n, m), strict=True)):
        p_null = stats.chi2_contingency([[nulls[0], n - nulls[0]], [nulls[1], m - nulls[1]]]).pvalue
    if nulls[0] == n or nulls[1] == m:
        return min(1.0, 2 * p_null)
    if column in CATEGORICAL_COLUMNS:
        p, q = frequencies(current, column), frequencies(reference, column)
        keys = sorted(set(p) | set(q))
        counts = [[p.get(k, 0.0) * (n - nulls[0]) for k in keys], [q.get(k, 0.0) * (m - nulls[1]) for k in keys]]
        p_values = stats.chi2_contingency(np.round(counts)).pvalue
    else:
        p_values = stats.ks_2samp(values(current, column), values(reference, column)).pvalue
    return min(1.0, 2 * min(p_null, float(p_values)))
