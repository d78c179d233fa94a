"""Real data through build_profile/check_batch: missing values, unseen categories, odd columns."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy import stats

from arlequin_core.config import ArlequinConfig
from arlequin_core.drift import build_profile, check_batch
from arlequin_core.drift.kinds import infer_kind
from arlequin_core.errors import InputError


def cfg(**drift) -> ArlequinConfig:
    return ArlequinConfig.model_validate({"drift": {"correction": "none", **drift}})


def test_missing_rate_change_is_tested_and_reported(registry):
    rng = np.random.default_rng(0)
    ref = rng.normal(size=2000)
    ref[:40] = np.nan  # 2 % missing
    cur = rng.normal(size=1000)
    cur[:150] = np.nan  # 15 % missing, same distribution otherwise
    profile = build_profile(pd.DataFrame({"x": ref}), cfg(), registry)
    result = check_batch(profile, pd.DataFrame({"x": cur}), cfg(), registry).column("x")
    assert (result.missing_ref, result.missing_cur) == (0.02, 0.15)
    expected = stats.chi2_contingency([[40, 1960], [150, 850]], correction=False).pvalue
    assert result.missing_p_value == pytest.approx(expected, rel=1e-9)
    assert result.missing_drifted and result.drifted and not result.distribution_drifted
    # The distribution test ignores missing values: same p-value as on the present values.
    assert result.p_value == pytest.approx(stats.ks_2samp(ref[40:], cur[150:]).pvalue, rel=1e-9)
    assert (result.n_ref, result.n_cur) == (1960, 850)


def test_missing_rate_test_can_be_turned_off(registry):
    frame = pd.DataFrame({"x": [1.0, None] * 50 + list(range(100))})
    profile = build_profile(frame, cfg(missing_threshold=0.0), registry)
    result = check_batch(profile, frame.fillna(0.5), cfg(missing_threshold=0.0), registry).column("x")
    assert result.missing_p_value is None and not result.missing_drifted


def test_none_and_nan_in_categorical_columns_are_missing(registry):
    ref = pd.DataFrame({"c": ["a", "b", None, "a", np.nan] * 40})
    profile = build_profile(ref, cfg(), registry)
    assert profile.columns["c"].missing == 80 and profile.columns["c"].kind == "categorical"
    result = check_batch(profile, ref, cfg(), registry).column("c")
    assert result.p_value == 1.0 and result.missing_p_value == pytest.approx(1.0) and not result.drifted


def test_unseen_categories_are_counted_never_a_crash(registry):
    ref = pd.DataFrame({"c": ["a", "b", "c"] * 100})
    cur = pd.DataFrame({"c": ["a", "b", "c"] * 90 + ["new"] * 25 + ["newer"] * 5})
    profile = build_profile(ref, cfg(), registry)
    result = check_batch(profile, cur, cfg(), registry).column("c")
    assert result.details["unseen_categories"] == 2
    assert result.details["unseen_rows"] == 30
    assert result.details["unseen"] == {"new": 25, "newer": 5}
    assert result.drifted


def test_batch_with_only_unseen_categories(registry):
    profile = build_profile(pd.DataFrame({"c": ["a"] * 50}), cfg(), registry)
    result = check_batch(profile, pd.DataFrame({"c": ["z"] * 10}), cfg(), registry).column("c")
    assert result.drifted and result.details["absent"] == 1


def test_all_missing_batch_column_is_reported_and_caught_by_the_missing_rate(registry):
    profile = build_profile(pd.DataFrame({"x": np.arange(100.0), "c": ["a", "b"] * 50}), cfg(), registry)
    cur = pd.DataFrame({"x": [np.nan] * 30, "c": [None] * 30})
    report = check_batch(profile, cur, cfg(), registry)
    for name in ("x", "c"):
        result = report.column(name)
        assert result.statistic is None and "every value in the batch is missing" in result.details["skipped"]
        assert result.missing_cur == 1.0 and result.missing_drifted
    assert report.drifted_columns == ["x", "c"]


def test_constant_columns(registry):
    profile = build_profile(pd.DataFrame({"x": [3.5] * 200, "c": ["only"] * 200}), cfg(), registry)
    same = check_batch(profile, pd.DataFrame({"x": [3.5] * 50, "c": ["only"] * 50}), cfg(), registry)
    assert not same.drifted and same.column("c").p_value == 1.0
    moved = check_batch(profile, pd.DataFrame({"x": [4.0] * 50, "c": ["other"] * 50}), cfg(), registry)
    # x has one distinct value, so it is categorical: 4.0 is a category never seen.
    assert moved.drifted_columns == ["x", "c"] and moved.column("x").detector == "chi2"
    forced = ArlequinConfig.model_validate({"data": {"numeric": ["x"]}, "drift": {"correction": "none"}})
    profile = build_profile(pd.DataFrame({"x": [3.5] * 200}), forced, registry)
    result = check_batch(profile, pd.DataFrame({"x": [4.0] * 50}), forced, registry).column("x")
    assert result.detector == "ks" and result.statistic == 1.0 and result.drifted


def test_integers_with_few_values_booleans_and_mixed_objects_are_categorical(registry):
    rng = np.random.default_rng(1)
    ref = pd.DataFrame(
        {
            "rating": rng.integers(1, 6, 500),
            "flag": rng.random(500) < 0.5,
            "mixed": pd.Series([1, "one", 2.5, None, True] * 100, dtype=object),
            "many": rng.integers(0, 1000, 500),
        }
    )
    profile = build_profile(ref, cfg(), registry)
    kinds = {n: c.kind for n, c in profile.columns.items()}
    assert kinds == {"rating": "categorical", "flag": "categorical", "mixed": "categorical", "many": "numeric"}
    cur = ref.copy()
    cur["rating"] = cur["rating"].astype(float)  # read back as floats: 3.0 is still category "3"
    report = check_batch(profile, cur, cfg(), registry)
    assert not report.drifted
    assert report.column("rating").details["unseen_categories"] == 0
    assert report.column("mixed").details["unseen_categories"] == 0


def test_kind_inference_rule_on_arrow_types():
    assert infer_kind(pa.chunked_array([pa.array(np.arange(21.0))]))[0] == "numeric"
    assert infer_kind(pa.chunked_array([pa.array(np.arange(20.0))]))[0] == "categorical"
    assert infer_kind(pa.array([1.0, np.nan, *list(range(20))], from_pandas=False), 20)[0] == "categorical"
    assert infer_kind(pa.array([True, False]))[0] == "categorical"
    assert infer_kind(pa.array(["a", "b"]).dictionary_encode())[0] == "categorical"
    kind, reason = infer_kind(pa.array([dt.datetime(2024, 1, 1)]))
    assert kind is None and "timestamp" in reason
    assert infer_kind(pa.array([None, None], type=pa.float64()))[0] is None
    assert infer_kind(pa.array([[1], [2]]))[0] is None


def test_temporal_and_all_missing_columns_are_skipped_with_reasons(registry):
    ref = pa.table(
        {
            "when": pa.array([dt.datetime(2024, 1, 1) + dt.timedelta(hours=i) for i in range(50)]),
            "nothing": pa.array([None] * 50, type=pa.float64()),
            "x": pa.array(np.arange(50.0)),
        }
    )
    profile = build_profile(ref, cfg(), registry)
    assert list(profile.columns) == ["x"]
    assert "time always moves on" in profile.skipped["when"]
    assert "every value is missing" in profile.skipped["nothing"]
    report = check_batch(profile, ref, cfg(), registry)
    assert set(report.skipped) == {"when", "nothing"} and report.extra_columns == []


def test_text_in_a_numeric_column_is_an_input_error_naming_it(registry):
    profile = build_profile(pd.DataFrame({"x": np.arange(100.0)}), cfg(), registry)
    with pytest.raises(InputError, match=r"b\.csv: column 'x' \(string\) is not numeric"):
        check_batch(profile, pa.table({"x": ["1.5", "oops"]}), cfg(), registry, uri="b.csv")


def test_numbers_as_text_are_read_as_numbers(registry):
    profile = build_profile(pd.DataFrame({"x": np.arange(100.0)}), cfg(), registry)
    report = check_batch(profile, pa.table({"x": [str(float(i)) for i in range(100)]}), cfg(), registry)
    assert report.column("x").p_value == 1.0


def test_extra_batch_columns_are_listed_not_tested(registry):
    profile = build_profile(pd.DataFrame({"x": np.arange(100.0)}), cfg(), registry)
    report = check_batch(profile, pd.DataFrame({"x": np.arange(100.0), "new": 1}), cfg(), registry)
    assert report.extra_columns == ["new"] and [c.column for c in report.columns] == ["x"]


def test_excluded_and_timestamp_columns_are_not_features(registry):
    config = ArlequinConfig.model_validate({"data": {"label": "y", "timestamp": "ts", "exclude": ["id"]}})
    frame = pd.DataFrame({"id": range(30), "ts": range(30), "y": [0, 1] * 15, "x": np.linspace(0, 1, 30)})
    profile = build_profile(frame, config, registry)
    assert list(profile.columns) == ["x"]
    assert profile.skipped == {
        "id": "not a feature: excluded by [data] exclude",
        "ts": "not a feature: timestamp column",
        "y": "not a feature: label column",
    }


def test_kind_inference_reads_past_a_repetitive_prefix():
    # The first 10 000 values have 3 distinct values; the rest make it continuous.
    values = np.concatenate([np.tile([1.0, 2.0, 3.0], 4000), np.linspace(0, 1, 5000)])
    assert infer_kind(pa.chunked_array([pa.array(values)]))[0] == "numeric"
    assert infer_kind(pa.chunked_array([pa.array(np.tile([1.0, 2.0, 3.0], 9000))]))[0] == "categorical"
