"""Plot bins that cover both samples, the same on every engine, and readable categorical bars."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from arlequin_core.config import ArlequinConfig
from arlequin_core.drift import build_profile, check_batch, plotbins, stream
from arlequin_core.drift.html import render_html
from arlequin_core.drift.plotbins import Outside, common_bins
from arlequin_core.drift.plots import TOP_BARS, bar_rows
from arlequin_core.drift.summary import summarize_like


def _batch_summary(summary: dict, values: np.ndarray) -> dict:
    batch = summarize_like(summary, values)
    batch["outside"] = Outside.of_values(values, summary).to_dict()
    return batch


def test_a_column_that_moved_far_is_drawn_with_both_samples(registry):
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"x": rng.normal(0, 1, 5000)})
    batch = pd.DataFrame({"x": rng.normal(50, 1, 4000)})
    profile = build_profile(reference, ArlequinConfig(), registry)
    summary = profile.columns["x"].summary
    edges, ref_counts, cur_counts = common_bins(summary, _batch_summary(summary, batch["x"].to_numpy()))
    assert edges[0] <= summary["edges"][0] and edges[-1] >= batch["x"].max()
    assert len(edges) - 1 <= plotbins.PLOT_BINS
    assert cur_counts.sum() == 4000  # every batch value is in a drawn bin
    assert ref_counts.sum() == sum(summary["counts"])  # the reference is drawn as the profile has it
    assert np.all(np.diff(edges) > 0)
    # The drawn bins are whole multiples of the reference's: aligned with them.
    width = summary["edges"][1] - summary["edges"][0]
    steps = (edges - summary["edges"][0]) / width
    assert np.allclose(steps, np.round(steps), atol=1e-6)

    report = check_batch(profile, batch, ArlequinConfig(), registry)
    page = render_html(report, profile, batch)
    assert "100.0 % of the batch drawn" in page and "not drawn)" not in page


def test_a_batch_inside_the_reference_range_keeps_the_reference_bins():
    rng = np.random.default_rng(1)
    from arlequin_core.drift.summary import summarize

    summary = summarize(rng.normal(0, 1, 5000), "numeric")
    inside = np.clip(rng.normal(0, 0.5, 3000), summary["edges"][0], summary["edges"][-1])
    assert common_bins(summary, _batch_summary(summary, inside)) is None


def test_log_scale_bins_cover_a_batch_a_thousand_times_larger_and_count_non_positive_values():
    rng = np.random.default_rng(2)
    from arlequin_core.drift.summary import summarize

    amounts = rng.lognormal(3.0, 1.5, 10_000)
    summary = summarize(amounts, "numeric")
    assert summary["scale"] == "log"
    batch = np.concatenate([amounts[:3000] * 1000, [0.0, -5.0]])
    outside = Outside.of_values(batch, summary)
    assert outside.nonpositive == 2
    edges, _, cur_counts = common_bins(summary, _batch_summary(summary, batch))
    assert edges[-1] >= batch.max() and edges[0] <= summary["edges"][0]
    assert cur_counts.sum() == 3000
    ratios = edges[1:] / edges[:-1]
    assert np.allclose(ratios, ratios[0])  # equal widths in log space, as the reference's


def test_outside_cells_stay_bounded_and_merge_exactly_in_any_split(monkeypatch):
    monkeypatch.setattr(plotbins, "MAX_CELLS", 8)
    rng = np.random.default_rng(3)
    from arlequin_core.drift.summary import summarize

    summary = summarize(rng.normal(0, 1, 2000), "numeric")
    values = np.concatenate([rng.uniform(-500, 500, 3000), rng.normal(0, 1, 1000)])
    whole = Outside.of_values(values, summary)
    assert len(whole.cells) <= 8 and whole.level > 0
    for parts in (2, 7, 50):
        merged = Outside()
        for chunk in np.array_split(rng.permutation(values), parts):
            merged = merged.merge(Outside.of_values(chunk, summary))
        assert merged.to_dict() == whole.to_dict()
    assert sum(whole.cells.values()) == np.count_nonzero(
        (values < summary["edges"][0]) | (values > summary["edges"][-1])
    )


def test_streamed_plots_equal_the_in_memory_ones(tmp_path, registry, monkeypatch):
    rng = np.random.default_rng(4)
    reference = pa.table({"x": rng.normal(0, 1, 3000), "y": rng.lognormal(2, 1.2, 3000)})
    batch = pa.table(
        {
            "x": np.concatenate([rng.normal(30, 5, 2500), rng.uniform(-1e4, 1e4, 500)]),
            "y": rng.lognormal(6, 1.2, 3000),
        }
    )
    profile = build_profile(reference, ArlequinConfig(), registry)
    path = tmp_path / "batch.parquet"
    pq.write_table(batch, path, row_group_size=256)
    monkeypatch.setattr(stream, "CHUNK_ROWS", 300)
    _, plots = stream.check_batch_arrow(profile, str(path), ArlequinConfig(), registry)
    for name in ("x", "y"):
        summary = profile.columns[name].summary
        expected = _batch_summary(summary, batch.column(name).to_numpy())
        assert plots[name] == expected, name
        edges, _, cur_counts = common_bins(summary, plots[name])
        assert cur_counts.sum() == batch.num_rows and edges[-1] >= np.max(batch.column(name).to_numpy())


@pytest.mark.spark
def test_spark_plots_equal_the_in_memory_ones(spark, registry, tmp_path):
    from arlequin_core.drift.spark import check_batch_spark_with_plots

    rng = np.random.default_rng(5)
    reference = pa.table({"x": rng.normal(0, 1, 3000)})
    batch = pa.table({"x": np.concatenate([rng.normal(30, 5, 2500), rng.uniform(-1e4, 1e4, 500)])})
    profile = build_profile(reference, ArlequinConfig(), registry)
    folder = tmp_path / "batch"
    folder.mkdir()
    for i, start in enumerate(range(0, batch.num_rows, 1000)):  # three files: three partition states merged
        pq.write_table(batch.slice(start, 1000), folder / f"part-{i}.parquet")
    frame = spark.read.parquet(str(folder))
    _, plots = check_batch_spark_with_plots(profile, frame, ArlequinConfig(), registry)
    assert plots["x"] == _batch_summary(profile.columns["x"].summary, batch.column("x").to_numpy())
    assert len(plots["x"]["outside"]["cells"]) <= plotbins.MAX_CELLS


def test_many_categories_become_the_largest_few_new_ones_named_and_the_rest_as_other():
    categories = [f"merchant-{i:03d}" for i in range(80)]
    ref_counts = list(range(200, 120, -1))
    reference = {
        "type": "bars",
        "categories": categories[:30],
        "counts": ref_counts[:30],
        "other": sum(ref_counts[30:]),
    }
    current = {
        "type": "bars",
        "categories": categories[:30],
        "counts": ref_counts[:30],
        "other": sum(ref_counts[30:]) + 900,
    }
    rows = bar_rows(reference, current, {"brand-new-shop": 900})
    assert len(rows) == TOP_BARS + 1 and rows[-1][0] == "all other categories"
    assert rows[0] == ("brand-new-shop (new)", 0.0, pytest.approx(900 / (sum(ref_counts) + 900)))
    assert sum(r for _, r, _ in rows) == pytest.approx(1.0) and sum(c for _, _, c in rows) == pytest.approx(1.0)


def test_small_new_categories_are_drawn_all_the_same():
    categories = [f"c{i}" for i in range(20)]
    reference = {"type": "bars", "categories": categories, "counts": [100] * 20, "other": 0}
    current = {"type": "bars", "categories": categories, "counts": [100] * 20, "other": 15}
    rows = bar_rows(reference, current, {"tiny-new-1": 5, "tiny-new-2": 4, "tiny-new-3": 3, "tiny-new-4": 3})
    labels = [label for label, _, _ in rows]
    assert {"tiny-new-1 (new)", "tiny-new-2 (new)", "tiny-new-3 (new)"} <= set(labels)
    assert len(rows) == TOP_BARS + 1 and labels[-1] == "all other categories"
    assert sum(c for _, _, c in rows) == pytest.approx(1.0)
