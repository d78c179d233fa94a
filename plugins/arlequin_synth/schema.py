"""The columns of a synthetic transaction batch and the undrifted ("base") parameters.

Every number that shapes the base population lives here, so the generator
(:mod:`arlequin_synth.sampling`) and the exact ground truth
(:mod:`arlequin_synth.truth`) read the same values.

The bank is in France (``HOME_COUNTRY``); amounts are in euros, distances in
kilometres, timestamps in UTC and ``hour`` is the UTC hour of ``timestamp``.
"""

from __future__ import annotations

import pyarrow as pa

#: Column names, in the order they appear in every batch.
TRANSACTION_ID = "transaction_id"
TIMESTAMP = "timestamp"
LABEL = "is_fraud"

#: Identifier-like columns: never features, never tested for drift.
ID_COLUMNS: tuple[str, ...] = (TRANSACTION_ID, TIMESTAMP)
#: Numeric features; the first three are continuous and accept ``<column>_scale`` / ``<column>_shift`` drift.
FLOAT_COLUMNS: tuple[str, ...] = ("amount", "account_balance", "distance_from_home")
INT_COLUMNS: tuple[str, ...] = ("hour", "customer_age", "tx_last_24h")
NUMERIC_COLUMNS: tuple[str, ...] = (
    "amount",
    "hour",
    "customer_age",
    "account_balance",
    "tx_last_24h",
    "distance_from_home",
)
#: Categorical features (``is_foreign`` is a boolean, treated as a two-valued category).
CATEGORICAL_COLUMNS: tuple[str, ...] = ("merchant_category", "channel", "country", "is_foreign")
#: Categorical columns whose frequencies can shift and that can gain new categories.
SHIFTABLE_CATEGORICALS: tuple[str, ...] = ("merchant_category", "channel", "country")
FEATURE_COLUMNS: tuple[str, ...] = (
    "amount",
    "merchant_category",
    "channel",
    "country",
    "is_foreign",
    "hour",
    "customer_age",
    "account_balance",
    "tx_last_24h",
    "distance_from_home",
)
COLUMNS: tuple[str, ...] = (TRANSACTION_ID, TIMESTAMP, *FEATURE_COLUMNS, LABEL)

_CATEGORY = pa.dictionary(pa.int8(), pa.string())

#: The Arrow schema of every batch (categoricals are dictionary-encoded strings).
SCHEMA = pa.schema(
    [
        pa.field(TRANSACTION_ID, pa.string(), nullable=False),
        pa.field(TIMESTAMP, pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("amount", pa.float64()),
        pa.field("merchant_category", _CATEGORY),
        pa.field("channel", _CATEGORY),
        pa.field("country", _CATEGORY),
        pa.field("is_foreign", pa.bool_()),
        pa.field("hour", pa.int8()),
        pa.field("customer_age", pa.int16()),
        pa.field("account_balance", pa.float64()),
        pa.field("tx_last_24h", pa.int16()),
        pa.field("distance_from_home", pa.float64()),
        pa.field(LABEL, pa.bool_(), nullable=False),
    ]
)

# --------------------------------------------------------------------------- #
# Merchant category: the root of the categorical dependencies
# --------------------------------------------------------------------------- #

MERCHANT_CATEGORIES: tuple[str, ...] = (
    "grocery",
    "restaurant",
    "fuel",
    "retail",
    "online_retail",
    "electronics",
    "travel",
    "entertainment",
    "health",
    "utilities",
    "cash_withdrawal",
    "gambling",
)
MERCHANT_PROBS: tuple[float, ...] = (0.22, 0.14, 0.09, 0.12, 0.13, 0.04, 0.04, 0.05, 0.05, 0.05, 0.05, 0.02)

#: Amount, main lognormal component per merchant category: (median in EUR, sigma of log).
AMOUNT_MAIN: dict[str, tuple[float, float]] = {
    "grocery": (38.0, 0.6),
    "restaurant": (32.0, 0.5),
    "fuel": (55.0, 0.35),
    "retail": (60.0, 0.8),
    "online_retail": (45.0, 0.9),
    "electronics": (280.0, 0.9),
    "travel": (350.0, 0.8),
    "entertainment": (40.0, 0.7),
    "health": (50.0, 0.8),
    "utilities": (90.0, 0.5),
    "cash_withdrawal": (100.0, 0.6),
    "gambling": (50.0, 1.1),
}
#: The heavy tail: a share of "large purchases" whose median is LARGE_FACTOR times the category's.
LARGE_SHARE = 0.04
LARGE_FACTOR = 8.0
LARGE_SIGMA = 1.0

# --------------------------------------------------------------------------- #
# Channel and country, each conditional on the merchant category
# --------------------------------------------------------------------------- #

CHANNELS: tuple[str, ...] = ("pos", "online", "mobile", "atm")
#: P(channel | merchant category), rows in CHANNELS order.
CHANNEL_GIVEN_MERCHANT: dict[str, tuple[float, float, float, float]] = {
    "grocery": (0.85, 0.05, 0.10, 0.0),
    "restaurant": (0.80, 0.05, 0.15, 0.0),
    "fuel": (0.95, 0.0, 0.05, 0.0),
    "retail": (0.70, 0.15, 0.15, 0.0),
    "online_retail": (0.0, 0.70, 0.30, 0.0),
    "electronics": (0.40, 0.45, 0.15, 0.0),
    "travel": (0.20, 0.60, 0.20, 0.0),
    "entertainment": (0.50, 0.30, 0.20, 0.0),
    "health": (0.85, 0.10, 0.05, 0.0),
    "utilities": (0.0, 0.60, 0.40, 0.0),
    "cash_withdrawal": (0.0, 0.0, 0.0, 1.0),
    "gambling": (0.0, 0.60, 0.40, 0.0),
}

HOME_COUNTRY = "FR"
FOREIGN_COUNTRIES: tuple[str, ...] = ("DE", "ES", "IT", "BE", "GB", "US", "CN")
FOREIGN_COUNTRY_PROBS: tuple[float, ...] = (0.22, 0.22, 0.18, 0.12, 0.12, 0.10, 0.04)
#: P(country != HOME_COUNTRY | merchant category).
FOREIGN_GIVEN_MERCHANT: dict[str, float] = {
    "grocery": 0.03,
    "restaurant": 0.05,
    "fuel": 0.03,
    "retail": 0.04,
    "online_retail": 0.15,
    "electronics": 0.10,
    "travel": 0.45,
    "entertainment": 0.06,
    "health": 0.02,
    "utilities": 0.01,
    "cash_withdrawal": 0.05,
    "gambling": 0.25,
}

# --------------------------------------------------------------------------- #
# Independent numeric columns
# --------------------------------------------------------------------------- #

#: customer_age = round(Normal(AGE_MEAN, AGE_SD)) clipped to [AGE_MIN, AGE_MAX], in years.
AGE_MEAN, AGE_SD, AGE_MIN, AGE_MAX = 44.0, 15.0, 18, 95
#: account_balance ~ lognormal (median in EUR, sigma of log), rounded to cents.
BALANCE_MEDIAN, BALANCE_SIGMA = 2500.0, 1.3
#: tx_last_24h ~ negative binomial with this mean and number of successes (over-dispersed counts).
TX24_MEAN, TX24_SUCCESSES = 2.5, 2.0
#: distance_from_home (km) ~ lognormal (median, sigma), domestic or foreign; rounded to 0.1 km.
DISTANCE_DOMESTIC = (6.0, 1.1)
DISTANCE_FOREIGN = (900.0, 0.8)

#: Relative weight of each UTC hour of the day (a diurnal profile, quiet at night).
HOUR_WEIGHTS: tuple[float, ...] = (
    1.0,
    0.6,
    0.4,
    0.3,
    0.3,
    0.5,
    1.2,
    2.5,
    4.0,
    4.5,
    5.0,
    5.5,
    7.0,
    6.5,
    5.0,
    4.8,
    5.0,
    5.8,
    6.5,
    6.0,
    5.0,
    3.8,
    2.6,
    1.6,
)


def categories_of(column: str) -> tuple[str, ...]:
    """The base categories of a shiftable categorical column.

    :raises KeyError: for any other column.
    """
    return {
        "merchant_category": MERCHANT_CATEGORIES,
        "channel": CHANNELS,
        "country": (HOME_COUNTRY, *FOREIGN_COUNTRIES),
    }[column]
