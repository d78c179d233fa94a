"""The report page's parts: details as tables, notes and reference from the report, trends from history."""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pandas as pd

from arlequin_core.config import ArlequinConfig
from arlequin_core.drift import build_profile, check_batch
from arlequin_core.drift.history import earlier_reports, render_history
from arlequin_core.drift.html import render_html, write_html


def _frame(rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    letters = [f"shop-{i}" for i in range(8 + (4 if shift else 0))]
    return pd.DataFrame({"x": rng.normal(shift, 1, rows), "shop": rng.choice(letters, rows)})


def test_details_are_small_tables_not_json(registry):
    profile = build_profile(_frame(2000, 0), ArlequinConfig(), registry)
    batch = _frame(2000, 1, shift=1.0)
    page = render_html(check_batch(profile, batch, ArlequinConfig(), registry), profile, batch)
    assert "<pre>" not in page and '"unseen"' not in page
    details = re.findall(r'<table class="details">(.*?)</table>', page)
    assert len(details) == 2
    assert "<th>unseen categories</th><td>4</td>" in details[1]
    assert re.search(r"<th>unseen</th><td>shop-\d+: \d+, shop-\d+", details[1])  # a dict: key: value pairs


def test_notes_and_reference_from_the_report_are_shown_after_the_verdict(registry):
    profile = build_profile(_frame(500, 0), ArlequinConfig(), registry, source="ref.parquet")
    report = check_batch(profile, _frame(500, 1), ArlequinConfig(), registry)
    report.notes = ["column <patient_id> looks like an identifier: not tested"]
    report.reference = {"description": "model churn v3: 3 batches, 32,000 rows"}
    page = render_html(report, profile)
    assert page.index('<div class="verdict') < page.index('<div class="notes">') < page.index('<table class="meta">')
    assert "column &lt;patient_id&gt; looks like an identifier" in page
    assert "<th>Reference</th><td>model churn v3: 3 batches, 32,000 rows</td>" in page
    del report.reference
    assert "<th>Reference</th><td>ref.parquet</td>" in render_html(report, profile)  # older reports


def test_the_trend_column_follows_the_earlier_reports_in_the_folder(registry, tmp_path):
    profile = build_profile(_frame(2000, 0), ArlequinConfig(), registry)
    folder = tmp_path / "reports"
    folder.mkdir()
    effects = []
    for i, shift in enumerate([0.0, 0.2, 0.5, 1.0]):
        report = check_batch(profile, _frame(1000, i + 1, shift), ArlequinConfig(), registry, uri=f"b{i}.parquet")
        report.batch_id = f"b{i}"
        (folder / f"b{i}.json").write_text(report.to_json())
        effects.append(report.column("x").effect)
    (folder / "broken.json").write_text("{")
    last = report
    earlier = earlier_reports(folder, last, 30)
    assert [r.batch_id for r in earlier] == ["b0", "b1", "b2"]  # itself and the broken file left out
    path = write_html(last, profile, None, folder / "b3.html")
    page = path.read_text()
    assert page.count('<svg class="trend"') == 2
    title = re.search(
        r'<svg class="trend"[^>]*aria-label="x: effect \(ks_d\) over the last 4 batches[^"]*: ([^"]+)"', page
    )
    assert title is not None
    assert [float(v) for v in title.group(1).split(", ")] == [float(f"{e:.3g}") for e in effects]
    # Without earlier reports, no trend column.
    assert "<svg" not in render_html(last, profile, history=[])
    assert len(earlier_reports(folder, last, 2)) == 2


def test_only_the_latest_files_are_read_for_the_trend(registry, tmp_path):
    profile = build_profile(_frame(300, 0), ArlequinConfig(), registry)
    report = check_batch(profile, _frame(300, 1), ArlequinConfig(), registry)
    for i in range(40):
        data = report.to_dict() | {"batch_id": f"old{i}", "created_at": f"2020-01-01T00:00:{i:02d}+00:00"}
        path = tmp_path / f"old{i}.json"
        path.write_text(json.dumps(data))
        os.utime(path, (1_000_000 + i, 1_000_000 + i))
    found = earlier_reports(tmp_path, report, 5)
    assert [r.batch_id for r in found] == [f"old{i}" for i in range(35, 40)]


def test_the_time_axis_names_batches_not_numbers(registry):
    from arlequin_core.drift.history import batch_label

    profile = build_profile(_frame(300, 0), ArlequinConfig(), registry)
    report = check_batch(
        profile, _frame(300, 1), ArlequinConfig(), registry, uri="hdfs://nn/landing/day=3/part.parquet"
    )
    report.created_at = "2026-12-02T00:10:39+00:00"
    assert batch_label(report) == "part.parquet\n12-02 00:10"
    report.batch_id = "batch-00042"
    assert batch_label(report) == "batch-00042\n12-02 00:10"
    assert "data:image/png" in render_history([report])


def test_drifted_columns_come_first_then_by_effect(registry):
    rng = np.random.default_rng(7)
    reference = pd.DataFrame({name: rng.normal(0, 1, 3000) for name in ("calm", "small", "large")})
    batch = pd.DataFrame(
        {"calm": rng.normal(0, 1, 3000), "small": rng.normal(0.3, 1, 3000), "large": rng.normal(2, 1, 3000)}
    )
    profile = build_profile(reference, ArlequinConfig(), registry)
    report = check_batch(profile, batch, ArlequinConfig(), registry)
    assert [c.column for c in report.columns] == ["calm", "small", "large"]
    page = render_html(report, profile, batch)
    table = page[page.index('<table class="results') :]
    assert table.index(">large<") < table.index(">small<") < table.index(">calm<")
    assert page.index('id="col-large"') < page.index('id="col-small"') < page.index('id="col-calm"')
