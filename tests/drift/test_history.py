"""Drift over time: the history page and ``arlequin history`` over real batch reports."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
from click.testing import CliRunner

from arlequin_core.cli import main
from arlequin_core.config import ArlequinConfig
from arlequin_core.drift import build_profile, check_batch
from arlequin_core.drift.history import load_reports, render_history, write_history
from arlequin_core.plugins import PluginHost


def _frame(rows: int, seed: int, scale: float = 1.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"amount": rng.normal(100, 10, rows) * scale, "channel": rng.choice(["web", "pos", "atm"], rows)}
    )


def _reports(reports_dir: Path) -> None:
    config = ArlequinConfig()
    registry = PluginHost().load().registry
    profile = build_profile(_frame(2000, 0), config, registry)
    reports_dir.mkdir(parents=True)
    for i, scale in enumerate([1.0, 1.0, 1.6, 1.0]):
        report = check_batch(profile, _frame(1000, i + 1, scale), config, registry, uri=f"b{i}.parquet")
        report.batch_id, report.model_version = f"b{i}", "1" if i < 3 else "2"
        (reports_dir / f"b{i}.json").write_text(report.to_json())
    (reports_dir / "broken.json").write_text("{")  # a half-written file is skipped


def test_history_page_orders_batches_and_links_reports(tmp_path: Path) -> None:
    _reports(tmp_path / "reports")
    reports = load_reports(tmp_path / "reports")
    assert [r.batch_id for r in reports] == ["b0", "b1", "b2", "b3"]
    assert [r.drifted for r in reports] == [False, False, True, False]
    page = render_history(reports)
    assert page.count("data:image/png;base64,") == 2
    assert "4 batches, 1 drifted" in page
    assert [m for m in re.findall(r"href='([^']+)'", page)] == ["b3.html", "b2.html", "b1.html", "b0.html"]
    path = write_history(tmp_path / "reports")
    assert path.name == "index.html" and path.stat().st_size < 200_000


def test_history_of_nothing() -> None:
    assert "No batch has been checked yet" in render_history([])


def test_history_command(tmp_path: Path) -> None:
    _reports(tmp_path / ".arlequin" / "reports")
    result = CliRunner().invoke(main, ["history", "--last", "2", "--html", "h.html"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()  # the skipped broken.json is a warning on stderr
    assert "DRIFT" in lines[0] and "b2.parquet" in lines[0] and "amount" in lines[0]
    assert "no drift" in lines[1] and "b3.parquet" in lines[1]
    assert len(lines) == 3 and lines[2] == "drift over time: h.html"
    assert Path("h.html").read_text().count("<tr>") == 5  # the page shows every batch: header + 4


def test_heavy_tailed_positive_columns_are_summarised_on_log_bins() -> None:
    from arlequin_core.drift.summary import summarize, summarize_like

    rng = np.random.default_rng(0)
    amounts = rng.lognormal(3.0, 1.5, 10_000)
    summary = summarize(amounts, "numeric")
    edges = np.asarray(summary["edges"])
    assert summary["scale"] == "log"
    assert np.allclose(np.diff(np.log(edges)), np.log(edges[1] / edges[0]))  # equal widths in log space
    assert summarize_like(summary, amounts * 2)["scale"] == "log"
    assert "scale" not in summarize(rng.normal(0, 1, 1000), "numeric")  # symmetric data: linear bins


def test_history_command_warns_on_columns_drifted_below_the_share(tmp_path: Path) -> None:
    config = ArlequinConfig.model_validate({"drift": {"drift_share": 0.9}})
    registry = PluginHost().load().registry
    reports_dir = tmp_path / ".arlequin" / "reports"
    reports_dir.mkdir(parents=True)
    profile = build_profile(_frame(2000, 0), config, registry)
    report = check_batch(profile, _frame(1000, 1, 1.6), config, registry, uri="b.parquet")
    assert report.status == "below share" and report.drifted_columns
    (reports_dir / "b.json").write_text(report.to_json())
    result = CliRunner().invoke(main, ["history", "--html", "h.html"])
    assert result.exit_code == 0, result.output
    line = result.stdout.splitlines()[0]
    assert "warning" in line and "no drift" not in line and "amount" in line
