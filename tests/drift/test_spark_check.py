"""check_batch_spark gives the same report as check_batch, computing only aggregates in Spark."""

from __future__ import annotations

import decimal
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from arlequin_core.config import ArlequinConfig
from arlequin_core.drift.check import check_batch
from arlequin_core.drift.cuts import cut_counts
from arlequin_core.drift.profile import build_profile
from arlequin_core.drift.spark import SparkUnsupportedError, check_batch_spark
from arlequin_core.errors import InputError
from arlequin_stats.ks import KolmogorovSmirnov

TOL = 1e-9

DETECTORS = {
    "ks_cont": "ks",
    "ks_ties": "ks",
    "ks_inf": "ks",
    "psi_num": "psi",
    "kl_num": "kl",
    "js_num": "jensen_shannon",
    "chi2_cat": "chi2",
    "chi2_two": "chi2",
    "psi_cat": "psi",
    "js_cat": "jensen_shannon",
    "kl_int": "kl",
}


def table(n: int, seed: int, shift: float) -> pa.Table:
    """Columns of every tested shape: continuous, tied, infinite, signed zeros; categories; nulls and NaNs."""
    rng = np.random.default_rng(seed)

    def holes(values: np.ndarray, share: float) -> pa.Array:
        mask = rng.random(n) < share
        return pa.array(values, mask=mask)  # nulls

    def nans(values: np.ndarray, share: float) -> np.ndarray:
        values = values.astype(np.float64)
        values[rng.random(n) < share] = np.nan
        return values

    ties = rng.integers(0, 40, n).astype(np.float64) + (shift > 0)
    with_inf = rng.normal(shift, 1, n)
    with_inf[rng.random(n) < 0.02] = np.inf
    with_inf[rng.random(n) < 0.02] = -np.inf
    with_inf[rng.random(n) < 0.05] = -0.0 if seed % 2 == 0 else 0.0  # batches (even seeds) get -0.0
    colours = ["red", "green", "blue", "grey"] + (["mauve", "teal"] if shift > 0 else [])
    weights = rng.dirichlet(np.ones(len(colours)))
    return pa.table(
        {
            "ks_cont": holes(nans(rng.normal(shift, 1, n), 0.03), 0.05),
            "ks_ties": pa.array(nans(ties, 0.1)),
            "ks_inf": pa.array(with_inf),
            "psi_num": holes(rng.lognormal(shift, 1, n), 0.1),
            "kl_num": pa.array(nans(rng.exponential(1 + shift, n), 0.05)),
            "js_num": pa.array(rng.integers(0, 100, n) + int(10 * shift)),
            "chi2_cat": holes(rng.choice(colours, n, p=weights), 0.05),
            "chi2_two": pa.array(rng.choice(["yes", "no"], n, p=[0.3 + shift / 10, 0.7 - shift / 10])),
            "psi_cat": holes(rng.choice(colours, n, p=weights), 0.2),
            "js_cat": pa.array(rng.integers(0, 5 + int(shift), n)),
            "kl_int": holes(nans(rng.integers(0, 4, n).astype(np.float64), 0.05), 0.05),
            "extra": pa.array(rng.random(n)),
        }
    )


def make_config(**drift: Any) -> ArlequinConfig:
    columns = {name: {"detector": detector} for name, detector in DETECTORS.items()}
    return ArlequinConfig.model_validate(
        {
            "data": {"exclude": ["extra"], "categorical": ["js_cat", "kl_int"]},
            "drift": {"columns": columns, "categorical_max_distinct": 10, **drift},
        }
    )


def spark_frame(spark, data: pa.Table, name: str = "batch.parquet"):
    """The table as Spark reads it from Parquet (real nulls and NaNs, as a batch on HDFS would be)."""
    path = Path(name).resolve()  # the JVM does not share the test's working directory
    pq.write_table(data, path)
    return spark.read.parquet(str(path))


def assert_same(ours: Any, theirs: Any, path: str = "report") -> None:
    """Equal, floats to a relative 1e-9 (NaN equals NaN).

    The Wasserstein effect is summed from per-cell offset sums, whose order follows Spark's
    partitions: on timestamps (1.6e15 microseconds) that order moves it by a few 1e-9, so it
    is held to 1e-6, and so is its bound (the reported bound is far wider than that).
    """
    if isinstance(theirs, float) and isinstance(ours, (float, int)):
        tol = 1e-6 if path.endswith(("effects.wasserstein", "effects.wasserstein_bound")) else TOL
        assert (math.isnan(theirs) and math.isnan(ours)) or math.isclose(ours, theirs, rel_tol=tol, abs_tol=0.0), (
            path,
            ours,
            theirs,
        )
    elif isinstance(theirs, dict):
        assert isinstance(ours, dict) and set(ours) == set(theirs), (path, ours, theirs)
        for key in theirs:
            assert_same(ours[key], theirs[key], f"{path}.{key}")
    elif isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs), (path, ours, theirs)
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            assert_same(a, b, f"{path}[{i}]")
    else:
        assert ours == theirs, (path, ours, theirs)


def compare(spark, registry, reference: pa.Table, batch: pa.Table, config: ArlequinConfig):
    profile = build_profile(reference, config, registry, source="reference")
    assert set(DETECTORS) <= set(profile.columns), profile.skipped
    expected = check_batch(profile, batch, config, registry, uri="batch.parquet")
    actual = check_batch_spark(profile, spark_frame(spark, batch), config, registry, uri="batch.parquet")
    theirs, ours = expected.to_dict(), actual.to_dict()
    assert (theirs.pop("engine"), ours.pop("engine")) == ("memory", "spark")
    theirs.pop("created_at")
    ours.pop("created_at")
    assert_same(ours, theirs)
    return expected, actual


@pytest.mark.parametrize("shift", [0.0, 0.4])
def test_spark_report_equals_numpy_report_exact_ks(spark, registry, shift):
    reference = table(1500, seed=1, shift=0.0)
    batch = table(900, seed=2, shift=shift)
    expected, actual = compare(spark, registry, reference, batch, make_config(correction="holm"))
    assert actual.column("ks_cont").details["method"] == "exact"
    assert actual.column("chi2_cat").details["unseen_categories"] == (2 if shift else 0)
    assert actual.drifted == expected.drifted and actual.drifted_columns == expected.drifted_columns
    if shift:
        assert actual.drifted and {"ks_cont", "chi2_cat"} <= set(actual.drifted_columns)


def test_spark_report_equals_numpy_report_asymptotic_ks(spark, registry):
    reference = table(12_000, seed=3, shift=0.0)
    batch = table(11_000, seed=4, shift=0.05)
    _, actual = compare(spark, registry, reference, batch, make_config(correction="bh"))
    assert actual.column("ks_cont").details["method"] == "asymp"


def test_spark_report_with_a_column_missing_in_the_whole_batch(spark, registry):
    reference = table(600, seed=5, shift=0.0)
    batch = table(400, seed=6, shift=0.2)
    batch = batch.set_column(batch.schema.get_field_index("psi_num"), "psi_num", pa.nulls(400, pa.float64()))
    _, actual = compare(spark, registry, reference, batch, make_config())
    assert "skipped" in actual.column("psi_num").details


def test_cut_counts_give_the_ks_score_of_the_values():
    rng = np.random.default_rng(7)
    for _ in range(50):
        reference = rng.integers(0, 30, int(rng.integers(1, 300))).astype(float)
        current = rng.integers(-3, 33, int(rng.integers(1, 300))).astype(float)
        detector = KolmogorovSmirnov().fit(reference)
        expected = detector.score(current)
        actual = detector.score_cut_counts(cut_counts(current, detector.cut_points()))
        assert actual == expected


def test_an_online_detector_is_refused_by_name_with_the_reason(spark, registry):
    reference = table(300, seed=8, shift=0.0)
    config = make_config()
    config.drift.columns["ks_cont"].detector = "adwin"
    profile = build_profile(reference, config, registry)
    frame = spark_frame(spark, table(200, seed=9, shift=0.0))
    with pytest.raises(SparkUnsupportedError, match=r"column 'ks_cont': detector 'adwin': .*online .*in order"):
        check_batch_spark(profile, frame, config, registry)


def test_wasserstein_on_spark_is_within_its_reported_bound_of_the_exact_distance(spark, registry):
    config = make_config()
    config.drift.columns["ks_cont"].detector = "wasserstein"
    config.drift.columns["psi_num"].detector = "wasserstein"
    profile = build_profile(table(1200, seed=20, shift=0.0), config, registry)
    batch = table(1000, seed=21, shift=0.3)
    exact = check_batch(profile, batch, config, registry)
    bounded = check_batch_spark(profile, spark_frame(spark, batch, "w.parquet").repartition(3), config, registry)
    for name in ("ks_cont", "psi_num"):
        ours, theirs = bounded.column(name), exact.column(name)
        assert abs(ours.statistic - theirs.statistic) <= ours.details["error_bound"] * (1 + 1e-9) + 1e-12
        assert ours.details["error_bound"] < 0.05 * theirs.statistic


def test_text_in_a_numeric_column_is_an_input_error(spark, registry):
    reference = table(300, seed=10, shift=0.0)
    profile = build_profile(reference, make_config(), registry)
    batch = table(200, seed=11, shift=0.0)
    texts = pa.array(["1.5"] * 199 + ["abc"])
    batch = batch.set_column(batch.schema.get_field_index("ks_cont"), "ks_cont", texts)
    with pytest.raises(InputError, match=r"column 'ks_cont' \(string\) is not numeric: .*'abc'"):
        check_batch_spark(profile, spark_frame(spark, batch), make_config(), registry, uri="b.parquet")
    with pytest.raises(InputError, match=r"column 'ks_cont'"):
        check_batch(profile, batch, make_config(), registry)


def test_spark_batch_without_rows_or_columns_is_refused(spark, registry):
    reference = table(300, seed=12, shift=0.0)
    profile = build_profile(reference, make_config(), registry)
    empty = spark_frame(spark, table(300, seed=13, shift=0.0).slice(0, 0), "empty.parquet")
    with pytest.raises(InputError, match="no rows"):
        check_batch_spark(profile, empty, make_config(), registry)
    with pytest.raises(InputError, match="missing column 'ks_cont'"):
        check_batch_spark(profile, empty.drop("ks_cont"), make_config(), registry)


def test_spark_report_equals_numpy_report_on_typed_numeric_columns(spark, registry):
    """Timestamps (microseconds), decimals and booleans forced numeric become the same numbers as on numpy."""

    def typed(n: int, seed: int) -> pa.Table:
        rng = np.random.default_rng(seed)
        micros = rng.integers(1_600_000_000_000_000, 1_600_000_100_000_000, n)
        cents = rng.integers(-5000, 5000 + 300 * seed, n)
        return pa.table(
            {
                "when": pa.array(micros, pa.timestamp("us"), mask=rng.random(n) < 0.05),
                "amount": pa.array([decimal.Decimal(int(c)) / 100 for c in cents], pa.decimal128(10, 2)),
                "flag": pa.array(rng.random(n) < 0.3 + 0.05 * seed, mask=rng.random(n) < 0.05),
            }
        )

    config = ArlequinConfig.model_validate(
        {"data": {"numeric": ["when", "flag"]}, "drift": {"columns": {"flag": {"detector": "psi"}}}}
    )
    profile = build_profile(typed(800, 1), config, registry)
    assert [profile.columns[c].kind for c in ("when", "amount", "flag")] == ["numeric"] * 3
    batch = typed(700, 2)
    expected = check_batch(profile, batch, config, registry).to_dict()
    actual = check_batch_spark(profile, spark_frame(spark, batch).repartition(3), config, registry).to_dict()
    for report in (expected, actual):
        report.pop("created_at")
        report.pop("engine")
    assert_same(actual, expected)
