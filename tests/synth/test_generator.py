"""The generated transactions: schema, plausibility, determinism, and a learnable fraud label."""

from __future__ import annotations

from datetime import date, datetime, timezone

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from arlequin_synth import (
    CATEGORICAL_COLUMNS,
    FEATURE_COLUMNS,
    NUMERIC_COLUMNS,
    SCHEMA,
    TransactionGenerator,
)
from arlequin_synth import schema as s

from .helpers import empirical_effect, sampling_tolerance


@pytest.fixture(scope="module")
def clean() -> pa.Table:
    return TransactionGenerator("none", seed=11).batch(0, 40_000)


def test_batch_has_the_documented_schema_and_no_nulls(clean: pa.Table) -> None:
    assert clean.schema == SCHEMA
    assert clean.num_rows == 40_000
    assert all(clean.column(c).null_count == 0 for c in clean.column_names)


def test_values_are_plausible(clean: pa.Table) -> None:
    amount = clean.column("amount").to_numpy()
    assert amount.min() > 0 and np.all(np.round(amount, 2) == amount)
    # heavy tail: the mean well above the median, and some purchases in the thousands
    assert np.mean(amount) > 1.8 * np.median(amount) and amount.max() > 5_000
    age = clean.column("customer_age").to_numpy()
    assert age.min() == s.AGE_MIN and age.max() <= s.AGE_MAX
    assert set(pc.unique(clean.column("country").cast(pa.string())).to_pylist()) <= {
        s.HOME_COUNTRY,
        *s.FOREIGN_COUNTRIES,
    }
    foreign = clean.column("is_foreign").to_numpy(zero_copy_only=False)
    country = clean.column("country").cast(pa.string()).to_numpy(zero_copy_only=False)
    assert np.array_equal(foreign, country != s.HOME_COUNTRY)
    distance = clean.column("distance_from_home").to_numpy()
    assert np.median(distance[foreign]) > 100 * np.median(distance[~foreign])
    channel = clean.column("channel").cast(pa.string()).to_numpy(zero_copy_only=False)
    merchant = clean.column("merchant_category").cast(pa.string()).to_numpy(zero_copy_only=False)
    assert np.array_equal(channel == "atm", merchant == "cash_withdrawal")
    assert 0.012 < np.mean(clean.column("is_fraud").to_numpy(zero_copy_only=False)) < 0.03


def test_timestamps_are_one_utc_day_sorted_and_hour_matches(clean: pa.Table) -> None:
    stamps = clean.column("timestamp")
    assert stamps.type == pa.timestamp("us", tz="UTC")
    values = stamps.cast(pa.int64()).to_numpy()
    assert np.all(np.diff(values) >= 0)
    day = int(datetime(2024, 1, 1, tzinfo=timezone.utc).timestamp()) * 1_000_000
    assert values.min() >= day and values.max() < day + 86_400_000_000
    assert np.array_equal(pc.hour(stamps).to_numpy(), clean.column("hour").to_numpy())
    hours = np.bincount(clean.column("hour").to_numpy(), minlength=24)
    assert hours[3] < hours[12] / 10  # quiet nights


def test_transaction_ids_are_unique_and_name_the_batch() -> None:
    gen = TransactionGenerator(seed=1, start_date=date(2025, 3, 1))
    table = gen.batch(7, 12_345)
    ids = table.column("transaction_id").to_pylist()
    assert ids[0] == "b00007-0000000" and ids[-1] == "b00007-0012344" and len(set(ids)) == len(ids)
    assert gen.reference(5).column("transaction_id").to_pylist()[:2] == ["ref-0000000", "ref-0000001"]
    assert table.column("timestamp")[0].as_py().date() == date(2025, 3, 8)


def test_reference_covers_the_week_before_batch_zero() -> None:
    ref = TransactionGenerator(seed=2).reference(5_000)
    days = {t.date() for t in ref.column("timestamp").to_pylist()}
    assert days == {date(2023, 12, 25 + i) for i in range(7)}


def test_same_seed_same_rows_and_any_batch_can_be_regenerated_alone() -> None:
    spec = "gradual:amount_scale=2,duration=3+sudden:missing=channel,start=2"
    first = TransactionGenerator(spec, seed=5)
    tables = [first.batch(i, 3_000) for i in range(4)]
    assert TransactionGenerator(spec, seed=5).batch(3, 3_000).equals(tables[3])
    assert not TransactionGenerator(spec, seed=6).batch(3, 3_000).equals(tables[3])
    assert not tables[0].equals(tables[1])


def test_seed_must_be_a_non_negative_integer() -> None:
    for bad in (-1, 1.5, "7", True):
        with pytest.raises(ValueError, match="seed must be a non-negative integer"):
            TransactionGenerator(seed=bad)


def _xy(table: pa.Table):
    frame = table.to_pandas()
    features = frame[list(NUMERIC_COLUMNS) + list(CATEGORICAL_COLUMNS)].copy()
    for column in CATEGORICAL_COLUMNS:
        features[column] = features[column].astype(str)
    return features, frame["is_fraud"].to_numpy()


def _model():
    prep = make_column_transformer(
        (StandardScaler(), list(NUMERIC_COLUMNS)), (OneHotEncoder(handle_unknown="ignore"), list(CATEGORICAL_COLUMNS))
    )
    return make_pipeline(prep, LogisticRegression(max_iter=2_000))


@pytest.fixture(scope="module")
def baseline_model():
    gen = TransactionGenerator(seed=21)
    return _model().fit(*_xy(gen.reference(40_000)))


def test_fraud_is_learnable_by_logistic_regression(baseline_model) -> None:
    features, label = _xy(TransactionGenerator(seed=22).batch(0, 40_000))
    assert roc_auc_score(label, baseline_model.predict_proba(features)[:, 1]) > 0.8


@pytest.mark.parametrize("rule", ["card_testing", "account_takeover"])
def test_concept_drift_changes_the_rule_not_the_features(baseline_model, rule: str) -> None:
    gen = TransactionGenerator(f"sudden:concept={rule},start=1", seed=23)
    before, after = gen.batch(0, 40_000), gen.batch(1, 40_000)
    truth = gen.truth(1, 40_000)
    assert truth["drifted_columns"] == [] and truth["affected_columns"] == []
    assert truth["concept_drift"] == {"rules": {rule: 1.0}}
    tolerance = sampling_tolerance(40_000, 40_000)
    for column in FEATURE_COLUMNS:
        assert empirical_effect(after, before, column) < tolerance, column
    features, label = _xy(after)
    old_auc = roc_auc_score(label, baseline_model.predict_proba(features)[:, 1])
    fresh = _model().fit(*_xy(gen.batch(2, 40_000)))
    new_auc = roc_auc_score(label, fresh.predict_proba(features)[:, 1])
    assert old_auc < 0.78 and new_auc > 0.85 and new_auc - old_auc > 0.12
    assert 0.01 < label.mean() < 0.035


def test_gradual_concept_drift_mixes_the_rules() -> None:
    gen = TransactionGenerator("gradual:concept=card_testing,start=1,duration=4", seed=3)
    batch = gen.draw(2, 10_000)
    assert batch.truth["concept_drift"] == {"rules": {"baseline": 0.5, "card_testing": 0.5}}
    assert abs(batch.truth["drifted_rows"]["1"] - 5_000) < 4 * np.sqrt(10_000 * 0.25)
