"""The hidden fraud rules: a logit per rule, from the (final, pre-null) features of a row.

The label is ``Bernoulli(sigmoid(sum_r weight_r * logit_r))``: a rule plus noise. Each
rule is roughly linear in features a model sees (log amounts, flags, counts), so a
logistic regression learns it well (ROC AUC about 0.9 on the baseline rule), and a
model trained under one rule does poorly under another (about 0.7): that is concept drift. The
intercepts are set so each rule flags about 2 % of base-population rows.

Rules:

``baseline``
    stolen card details: large amounts, abroad, far from home, at night, risky
    merchants (electronics, online retail, gambling), card-not-present, bursts.
``card_testing``
    many small card-not-present payments in bursts, at home, at night.
``account_takeover``
    a payment draining a large share of the balance, on mobile, older customers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

Features = Mapping[str, np.ndarray]
Categories = Mapping[str, tuple[str, ...]]

RISKY_MERCHANTS = ("electronics", "online_retail", "gambling")


def _is(features: Features, categories: Categories, column: str, names: tuple[str, ...]) -> np.ndarray:
    wanted = [i for i, c in enumerate(categories[column]) if c in names]
    return np.isin(features[column], wanted).astype(float)


def _night(features: Features) -> np.ndarray:
    return (features["hour"] < 6).astype(float)


def baseline(features: Features, categories: Categories) -> np.ndarray:
    """Stolen card details."""
    return (
        -7.73
        + 1.1 * np.log(np.maximum(features["amount"], 0.01) / 60.0)
        + 1.6 * features["is_foreign"]
        + 0.3 * np.log1p(np.maximum(features["distance_from_home"], 0.0))
        + 1.4 * _night(features)
        + 0.25 * features["tx_last_24h"]
        + 1.1 * _is(features, categories, "merchant_category", RISKY_MERCHANTS)
        + 0.5 * _is(features, categories, "channel", ("online",))
    )


def card_testing(features: Features, categories: Categories) -> np.ndarray:
    """Small card-not-present payments in bursts."""
    return (
        -6.98
        - 1.3 * np.log(np.maximum(features["amount"], 0.01) / 60.0)
        + 0.45 * features["tx_last_24h"]
        + 1.3 * _is(features, categories, "channel", ("online", "mobile"))
        + 0.9 * _night(features)
        - 0.8 * features["is_foreign"]
    )


def account_takeover(features: Features, categories: Categories) -> np.ndarray:
    """Payments that drain the account."""
    ratio = np.maximum(features["amount"], 0.01) / np.maximum(features["account_balance"], 1.0)
    return (
        -1.40
        + 1.4 * np.log(ratio)
        + 1.1 * (features["customer_age"] >= 65)
        + 1.0 * _is(features, categories, "channel", ("mobile",))
        + 0.6 * _night(features)
    )


RULES: dict[str, Callable[[Features, Categories], np.ndarray]] = {
    "baseline": baseline,
    "card_testing": card_testing,
    "account_takeover": account_takeover,
}


def fraud_probability(rules: Mapping[str, float], features: Features, categories: Categories) -> np.ndarray:
    """P(fraud) per row under a weighted mix of rules.

    :param rules: rule name -> weight (weights sum to 1).
    :param features: column -> array of n values (categoricals as codes into ``categories``).
    :param categories: categorical column -> its categories.
    :returns: shape (n,), probabilities in (0, 1).
    """
    logit = sum(weight * RULES[name](features, categories) for name, weight in rules.items())
    return 1.0 / (1.0 + np.exp(-np.asarray(logit)))
