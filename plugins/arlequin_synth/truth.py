"""Exact ground truth: how far each column's population distribution moved.

For every feature the marginal distribution of a :class:`Population` is computed
exactly from its parameters (no sampling): its null rate, and the distribution of its
non-null values:

* categorical columns: the probability of each category; distance = **total
  variation** ``1/2 sum |p - q|`` (0 to 1);
* numeric columns: the CDF on a grid (a dense symmetric log grid for the continuous
  columns, the integers for the others); distance = **Kolmogorov-Smirnov**
  ``sup |F - G|`` (0 to 1).

A column's *effect* is ``max(|null rate - reference null rate|, distance)``: a column
drifts when its values move or when more of them go missing, and one cannot hide the
other.

The continuous grid makes the KS distance exact to about 0.002; amounts and
distances are rounded to cents and 0.1 km in the data, which this ignores.

A batch drawn from several populations (a gradual drift) has the mixture of their
marginals, weighted by their shares.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import special

from arlequin_synth import schema
from arlequin_synth.population import Population

#: Below this, a column's drift is not called detectable whatever the sample sizes.
MIN_EFFECT = 0.05
#: Effects within this of the threshold count as reaching it (floating-point summation order).
EFFECT_TOLERANCE = 1e-12
#: A column is listed as drifted when its effect is at least this many times the
#: sampling noise of a two-sample KS statistic, sqrt(1/n + 1/m).
NOISE_MULTIPLE = 3.0

_POSITIVE = np.geomspace(1e-4, 1e10, 25_000)
FLOAT_GRID = np.concatenate([-_POSITIVE[::-1], [0.0], _POSITIVE])
INT_GRIDS = {
    "hour": np.arange(0, 24),
    "customer_age": np.arange(schema.AGE_MIN, schema.AGE_MAX + 1),
    "tx_last_24h": np.arange(0, 400),
}

Marginals = dict[str, np.ndarray]


def _lognormal_cdf(y: np.ndarray, log_median: float, sigma: float) -> np.ndarray:
    out = np.zeros_like(y)
    pos = y > 0
    out[pos] = special.ndtr((np.log(y[pos]) - log_median) / sigma)
    return out


def _float_cdf(pop: Population, column: str) -> np.ndarray:
    scale, shift = pop.transform(column)
    y = (FLOAT_GRID - shift) / scale
    if column == "amount":
        cdf = np.zeros_like(y)
        large = math.log(schema.LARGE_FACTOR)
        for p, mu, sigma in zip(pop.merchant_probs, pop.amount_log_median, pop.amount_sigma, strict=True):
            if p > 0:
                main = _lognormal_cdf(y, mu, sigma)
                tail = _lognormal_cdf(y, mu + large, schema.LARGE_SIGMA)
                cdf += p * ((1.0 - schema.LARGE_SHARE) * main + schema.LARGE_SHARE * tail)
        return cdf
    if column == "account_balance":
        return _lognormal_cdf(y, math.log(schema.BALANCE_MEDIAN), schema.BALANCE_SIGMA)
    foreign = 1.0 - float(pop.merchant_probs @ pop.country.table[:, 0])
    domestic_median, domestic_sigma = schema.DISTANCE_DOMESTIC
    abroad_median, abroad_sigma = schema.DISTANCE_FOREIGN
    return (1.0 - foreign) * _lognormal_cdf(y, math.log(domestic_median), domestic_sigma) + foreign * _lognormal_cdf(
        y, math.log(abroad_median), abroad_sigma
    )


def _int_cdf(column: str) -> np.ndarray:
    k = INT_GRIDS[column]
    if column == "hour":
        weights = np.asarray(schema.HOUR_WEIGHTS)
        return np.cumsum(weights / weights.sum())
    if column == "customer_age":
        # round() then clip: every value below AGE_MIN + 0.5 lands on AGE_MIN, and so on.
        cdf = special.ndtr((k + 0.5 - schema.AGE_MEAN) / schema.AGE_SD)
        cdf[-1] = 1.0
        return cdf
    n = schema.TX24_SUCCESSES
    return special.nbdtr(k, n, n / (n + schema.TX24_MEAN))


def category_probs(pop: Population, column: str) -> np.ndarray:
    """P(category) of a categorical column, nulls excluded; ``is_foreign`` is [False, True]."""
    if column == "merchant_category":
        return pop.merchant_probs.copy()
    if column == "channel":
        return pop.merchant_probs @ pop.channel.table
    country = pop.merchant_probs @ pop.country.table
    if column == "country":
        return country
    return np.array([country[0], 1.0 - country[0]])


def marginals(pop: Population) -> Marginals:
    """The exact marginal of every feature.

    :returns: column -> array whose first element is the null rate and the rest the
        distribution of non-null values. Categorical: probabilities of the categories
        (in ``pop.categories(column)`` order, ``[False, True]`` for ``is_foreign``).
        Numeric: the CDF over the column's grid.
    """
    out: Marginals = {}
    for column in schema.FEATURE_COLUMNS:
        if column in schema.CATEGORICAL_COLUMNS:
            dist = category_probs(pop, column)
        else:
            dist = _float_cdf(pop, column) if column in schema.FLOAT_COLUMNS else _int_cdf(column)
        out[column] = np.concatenate([[pop.missing_rate(column)], dist])
    return out


def mix(parts: Sequence[tuple[Marginals, float]]) -> Marginals:
    """Marginals of a batch drawn from several populations with the given shares.

    The non-null distribution is the mixture weighted by each part's share of
    non-null values.
    """
    out: Marginals = {}
    for column in parts[0][0]:
        null = sum(share * marg[column][0] for marg, share in parts)
        present = [(marg[column][1:], share * (1.0 - marg[column][0])) for marg, share in parts]
        total = sum(w for _, w in present)
        # When every value is null the distribution of values is moot: keep the first part's.
        dist = sum(w * d for d, w in present) / total if total > 0 else parts[0][0][column][1:]
        out[column] = np.concatenate([[null], dist])
    return out


def effects(current: Marginals, reference: Marginals) -> dict[str, float]:
    """Per feature: ``max(|change of null rate|, TV or KS distance of the non-null values)``."""
    out = {}
    for column in schema.FEATURE_COLUMNS:
        cur, ref = current[column], reference[column]
        diff = np.abs(cur[1:] - ref[1:])
        distance = diff.sum() / 2.0 if column in schema.CATEGORICAL_COLUMNS else diff.max()
        if cur[0] >= 1.0:  # no values left to compare
            distance = 0.0
        out[column] = float(max(abs(cur[0] - ref[0]), distance))
    return out


def detectable_effect(rows: int, reference_rows: int) -> float:
    """The effect above which a sound two-sample test flags a column (see module docstring).

    :param rows: rows in the batch.
    :param reference_rows: rows in the reference it is compared with.
    """
    return max(MIN_EFFECT, NOISE_MULTIPLE * math.sqrt(1.0 / rows + 1.0 / reference_rows))


def drifted_columns(effect: Mapping[str, float], threshold: float) -> list[str]:
    """Features whose effect is at least ``threshold``, in column order.

    The comparison allows for rounding (``EFFECT_TOLERANCE``): an exact effect of 0.05 is
    computed as 0.049999999999999996 by some numpy versions' summation order, and a
    scenario's stated effect must not fall off the threshold it sits on.
    """
    return [c for c in schema.FEATURE_COLUMNS if effect[c] >= threshold - EFFECT_TOLERANCE]
