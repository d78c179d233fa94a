"""Multivariate drift: a correlation flip that no marginal shows."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from arlequin_core.drift.encoding import to_json_tree
from arlequin_core.drift.multivariate import (
    ClassifierDetector,
    PCADetector,
    fit_multivariate,
    load_multivariate,
)

KINDS = {"a": "numeric", "b": "numeric", "c": "numeric", "k": "categorical"}


def correlated(n: int, rho: float, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    b = rho * a + np.sqrt(1 - rho**2) * rng.normal(size=n)
    return pa.table({"a": a, "b": b, "c": rng.normal(size=n), "k": rng.choice(["x", "y", "z"], n)})


@pytest.fixture(scope="module")
def pca() -> PCADetector:
    fitted = fit_multivariate(correlated(20_000, 0.8, 0), KINDS, ["pca"])
    found = load_multivariate(json.loads(json.dumps(to_json_tree(fitted))))
    return found["pca"]


def test_pca_sees_the_correlation_flip(pca: PCADetector) -> None:
    flipped = pca.score(correlated(5_000, -0.8, 1))
    assert flipped["p_value"] < 1e-6 and flipped["effect"] > 0.5


def test_pca_quiet_on_unchanged_data(pca: PCADetector) -> None:
    p_values = [pca.score(correlated(2_000, 0.8, seed))["p_value"] for seed in range(10, 30)]
    assert sum(p < 0.05 for p in p_values) <= 3  # about 1 of 20 at level 0.05
    assert max(pca.score(correlated(2_000, 0.8, 99))["effect"], 0) < 0.2


def test_pca_state_merges_like_one_piece(pca: PCADetector) -> None:
    batch = correlated(3_000, -0.5, 2)
    whole = pca.state(batch)
    parts = [pca.state(batch.slice(i, 700)) for i in range(0, batch.num_rows, 700)]
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.merge(part)
    assert merged.n == whole.n
    assert merged.total == pytest.approx(whole.total, rel=1e-12)
    assert pca.score_state(merged)["p_value"] == pytest.approx(pca.score_state(whole)["p_value"], rel=1e-9)


def test_missing_and_unseen_values_are_encoded_not_fatal(pca: PCADetector) -> None:
    batch = pa.table({"a": [1.0, None, np.nan] * 10, "b": [0.5] * 30, "c": [0.0] * 30, "k": ["new", None, "x"] * 10})
    assert np.isfinite(pca.score(batch)["statistic"])


def test_too_few_columns_is_skipped_with_a_reason() -> None:
    entry = fit_multivariate(pa.table({"a": np.arange(100.0)}), {"a": "numeric"}, ["pca"])
    assert "pca" not in entry and "two feature columns" in entry["skipped"]["pca"]


def test_domain_classifier_sees_the_flip_and_not_noise() -> None:
    detector = ClassifierDetector.fit(correlated(3_000, 0.8, 3), KINDS)
    assert detector is not None
    detector = ClassifierDetector.from_dict(json.loads(json.dumps(to_json_tree(detector.to_dict()))))
    flipped = detector.score(correlated(3_000, -0.8, 4))
    assert flipped["p_value"] < 1e-6 and flipped["statistic"] > 0.7
    same = detector.score(correlated(3_000, 0.8, 5))
    assert same["p_value"] > 1e-3 and same["effect"] < 0.15


@pytest.mark.parametrize("engine", ["memory", "arrow"])
def test_correlation_flip_is_drift_with_defaults_and_invisible_to_columns(tmp_path, registry, engine) -> None:
    """+0.8 -> -0.8 with unchanged marginals: the default check says drift; per-column tests alone do not."""
    import pyarrow.parquet as pq

    from arlequin_core.config import ArlequinConfig
    from arlequin_core.drift import build_profile
    from arlequin_core.drift.engines import check_uri

    reference, batch = correlated(20_000, 0.8, 7), correlated(5_000, -0.8, 8)
    pq.write_table(batch, tmp_path / "flip.parquet")
    defaults = ArlequinConfig()
    report = check_uri(
        build_profile(reference, defaults, registry), str(tmp_path / "flip.parquet"), defaults, registry, engine=engine
    ).report
    assert report.drifted and report.status == "drift"
    assert report.drifted_columns == []  # no column drifted on its own
    assert [r.column for r in report.multivariate if r.drifted] == ["__multivariate_pca__"]
    columns_only = ArlequinConfig.model_validate({"drift": {"multivariate": []}})
    alone = check_uri(
        build_profile(reference, columns_only, registry),
        str(tmp_path / "flip.parquet"),
        columns_only,
        registry,
        engine=engine,
    ).report
    assert not alone.drifted and alone.multivariate == []
