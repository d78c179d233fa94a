"""Vectorised draws of transaction features from a :class:`Population`.

Everything is drawn with one :class:`numpy.random.Generator`, in a fixed order, so a
seed fixes the rows. Categorical columns come back as integer codes into the
population's categories; nulls are drawn separately (:func:`null_masks`) after the
label, because a value lost on the way does not change whether a payment was fraud.
"""

from __future__ import annotations

import math

import numpy as np

from arlequin_synth import schema
from arlequin_synth.fraud import fraud_probability
from arlequin_synth.population import Population

US_PER_HOUR = 3_600_000_000
US_PER_DAY = 24 * US_PER_HOUR


def categorical(probs: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` codes drawn with probabilities ``probs`` (shape (K,)); int64."""
    cum = np.cumsum(probs)
    cum /= cum[-1]
    return np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(probs) - 1)


def conditional(table: np.ndarray, parent: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Codes drawn row by row from ``table[parent[i]]``.

    :param table: shape (M, K), each row a distribution over K categories.
    :param parent: shape (n,), codes in [0, M).
    :returns: shape (n,), codes in [0, K).
    """
    m, k = table.shape
    cum = np.cumsum(table, axis=1)
    cum /= cum[:, -1:]
    # One sorted search over all rows at once: row r's cumulative probabilities are
    # shifted to (r, r + 1], so parent + u falls inside its own row's slice.
    flat = (cum + np.arange(m)[:, None]).ravel()
    position = np.searchsorted(flat, parent + rng.random(parent.shape[0]), side="right")
    return np.minimum(position - parent * k, k - 1)


def _lognormal(
    log_median: np.ndarray | float, sigma: np.ndarray | float, n: int, rng: np.random.Generator
) -> np.ndarray:
    return np.exp(log_median + sigma * rng.standard_normal(n))


def _affine(pop: Population, column: str, values: np.ndarray, decimals: int) -> np.ndarray:
    scale, shift = pop.transform(column)
    if scale != 1.0 or shift != 0.0:
        values = scale * values + shift
    return np.round(values, decimals)


def sample_features(pop: Population, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Every feature but ``hour`` (which comes from the timestamp), for ``n`` rows.

    :returns: column -> array of n values: codes (int64) for merchant_category, channel
        and country; bool for is_foreign; float64 for amount (EUR, cents),
        account_balance (EUR, cents) and distance_from_home (km, 0.1); int16 for
        customer_age (years) and tx_last_24h.
    """
    merchant = categorical(pop.merchant_probs, n, rng)
    channel = conditional(pop.channel.table, merchant, rng)
    country = conditional(pop.country.table, merchant, rng)
    is_foreign = country != pop.country.categories.index(schema.HOME_COUNTRY)

    large = rng.random(n) < schema.LARGE_SHARE
    log_median = pop.amount_log_median[merchant] + large * math.log(schema.LARGE_FACTOR)
    sigma = np.where(large, schema.LARGE_SIGMA, pop.amount_sigma[merchant])
    amount = _affine(pop, "amount", _lognormal(log_median, sigma, n, rng), 2)

    age = np.clip(np.rint(rng.normal(schema.AGE_MEAN, schema.AGE_SD, n)), schema.AGE_MIN, schema.AGE_MAX)
    balance = _lognormal(math.log(schema.BALANCE_MEDIAN), schema.BALANCE_SIGMA, n, rng)
    successes = schema.TX24_SUCCESSES
    tx24 = rng.negative_binomial(successes, successes / (successes + schema.TX24_MEAN), n)

    (home_median, home_sigma), (away_median, away_sigma) = schema.DISTANCE_DOMESTIC, schema.DISTANCE_FOREIGN
    distance = _lognormal(
        np.where(is_foreign, math.log(away_median), math.log(home_median)),
        np.where(is_foreign, away_sigma, home_sigma),
        n,
        rng,
    )
    return {
        "amount": amount,
        "merchant_category": merchant,
        "channel": channel,
        "country": country,
        "is_foreign": is_foreign,
        "customer_age": age.astype(np.int16),
        "account_balance": _affine(pop, "account_balance", balance, 2),
        "tx_last_24h": np.minimum(tx24, np.iinfo(np.int16).max).astype(np.int16),
        "distance_from_home": _affine(pop, "distance_from_home", distance, 1),
    }


def sample_times(day_starts_us: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Sorted timestamps following the diurnal profile, and their UTC hour.

    :param day_starts_us: shape (n,), the midnight (UTC, microseconds since the epoch)
        of each row's day.
    :returns: ``(timestamps_us, hour)``, int64 and int8, sorted by time.
    """
    n = day_starts_us.shape[0]
    weights = np.asarray(schema.HOUR_WEIGHTS)
    hour = categorical(weights / weights.sum(), n, rng)
    within_hour_ms = rng.integers(0, 3_600_000, n)
    stamps = np.sort(day_starts_us + hour * US_PER_HOUR + within_hour_ms * 1000)
    return stamps, ((stamps % US_PER_DAY) // US_PER_HOUR).astype(np.int8)


def sample_label(pop: Population, features: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """``is_fraud`` for each row: Bernoulli of the population's fraud rules (bool, shape (n,))."""
    categories = {c: pop.categories(c) for c in schema.SHIFTABLE_CATEGORICALS}
    return rng.random(features["amount"].shape[0]) < fraud_probability(pop.rules, features, categories)


def null_masks(pop: Population, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per feature with a non-zero null rate, a bool mask (True = null) of shape (n,)."""
    return {c: rng.random(n) < pop.missing_rate(c) for c in schema.FEATURE_COLUMNS if pop.missing_rate(c) > 0}
