"""The estimate and the multivariate rows in the HTML report and on the drift-over-time page."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa

from arlequin_core.config import ArlequinConfig
from arlequin_core.drift import build_profile, check_batch
from arlequin_core.drift.history import render_history
from arlequin_core.drift.html import render_html
from arlequin_core.drift.multivariate import add_multivariate
from arlequin_core.drift.report import DriftReport
from arlequin_core.performance.cbpe import fit_performance_model
from arlequin_core.performance.harm import apply_performance


def _table(n: int, rho: float, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    return pa.table({"a": a, "b": rho * a + np.sqrt(1 - rho**2) * rng.normal(size=n), "c": rng.normal(size=n)})


def _estimate(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=6000)
    y = (rng.random(x.size) < 1 / (1 + np.exp(-2 * x))).astype(int)
    s = 1 / (1 + np.exp(-x))
    return fit_performance_model(y[:4000], s[:4000], 0.5).estimate(s[4000:], y[4000:], np.ones(2000, dtype=bool))


def test_html_shows_the_multivariate_row_and_the_estimate(registry) -> None:
    config = ArlequinConfig()
    profile = build_profile(_table(5000, 0.8, 0), config, registry)
    batch = _table(3000, -0.8, 1)
    report = check_batch(profile, batch, config, registry, uri="flip.parquet")
    add_multivariate(report, profile, batch, config, "flip.parquet")
    apply_performance(report, _estimate(2), config.drift)
    page = render_html(report, profile, batch)
    assert "<h2>Several columns together</h2>" in page and "__multivariate_pca__" in page
    assert "<h2>Estimated performance</h2>" in page and "CBPE" in page and "Realised" in page
    again = DriftReport.from_dict(json.loads(report.to_json()))
    assert again.multivariate[0].column == "__multivariate_pca__" and again.multivariate[0].drifted
    assert again.performance["metrics"]["roc_auc"]["estimated"] == report.performance["metrics"]["roc_auc"]["estimated"]


def test_drift_over_time_plots_the_estimate_when_reports_have_one(registry) -> None:
    config = ArlequinConfig()
    profile = build_profile(_table(2000, 0.8, 0), config, registry)
    reports = []
    for i in range(3):
        report = check_batch(profile, _table(1000, 0.8, 10 + i), config, registry, uri=f"b{i}.parquet")
        report.created_at = f"2026-12-01T00:00:0{i}Z"
        reports.append(report)
    without = render_history(reports)
    for i, report in enumerate(reports):
        apply_performance(report, _estimate(i), config.drift)
    with_estimates = render_history(reports)
    assert with_estimates.count("<img") == without.count("<img") + 1
    assert "estimated performance per batch" in with_estimates and "roc_auc 0." in with_estimates
