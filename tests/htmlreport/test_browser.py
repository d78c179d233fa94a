"""Reports rendered in a real headless Chromium: images load, nothing overflows, the verdict leads.

Each page is opened from disk in an offline browser context (a report must need no
network: no CDN script or font). Checked in the page itself, as a person's browser
lays it out: every image decoded (``naturalWidth > 0``), the document no wider than
the window, the verdict the first thing on the page, plots at the content width with
text of at least 12 px as shown, and the columns table sorting on a click.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from arlequin_core.config import ArlequinConfig
from arlequin_core.drift import build_profile, check_batch
from arlequin_core.drift.history import write_history
from arlequin_core.drift.html import write_html
from arlequin_core.drift.multivariate import add_multivariate
from arlequin_core.drift.notes import annotate
from arlequin_core.rendering import write_placeholder

MIN_TEXT_PX = 12.0


def _frame(rows: int, seed: int, shift: float = 0.0, new: int = 0) -> pd.DataFrame:
    """Columns that trip layouts: a long name, a heavy-tailed amount, 60 categories with long labels."""
    rng = np.random.default_rng(seed)
    merchants = [f"merchant category number {i:02d} of the acquiring bank" for i in range(60 + new)]
    return pd.DataFrame(
        {
            "transaction_amount_in_local_currency_after_fees_and_taxes": rng.lognormal(3 + shift, 1.2, rows),
            "age": rng.normal(40 + 40 * shift, 10, rows),
            "merchant": rng.choice(merchants, rows),
            "channel": rng.choice(["web", "pos", "atm"], rows),
            # id-like: every value new in every batch; set aside with a note, not tested
            "patient_identifier_assigned_at_admission": [f"P-{seed:02d}-{i:07d}" for i in range(rows)],
        }
    )


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory, registry: Any) -> Path:
    """A reports folder as the monitor leaves it: five batches, the last one far drifted."""
    folder = tmp_path_factory.mktemp("reports")
    config = ArlequinConfig()
    profile = build_profile(_frame(4000, 0), config, registry, source="s3://bank/training/2026-11/part-0.parquet")
    for i, shift in enumerate([0.0, 0.0, 0.1, 0.6, 2.0]):
        batch = _frame(3000, i + 1, shift, new=8 if shift > 1 else 0)
        uri = f"hdfs://namenode/landing/day={i}/batch.parquet"
        report = check_batch(profile, batch, config, registry, uri=uri)
        add_multivariate(report, profile, pa.Table.from_pandas(batch, preserve_index=False), config, uri)
        annotate(report, profile, config, uri, index=[])  # the notes the monitor adds
        report.batch_id, report.model_version = f"batch-{i:05d}", "1"
        (folder / f"{report.batch_id}.json").write_text(report.to_json())
        write_html(report, profile, batch, folder / f"{report.batch_id}.html")
    write_history(folder)
    write_placeholder(report, "batch-00099", folder / "batch-00099.html")
    return folder


def _open(page: Any, path: Path) -> list[str]:
    """Load ``path``; return the URLs of every request that was not the file itself or inline data."""
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if not r.url.startswith(("data:", "file:")) else None)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return requests


def _layout(page: Any) -> dict[str, Any]:
    return page.evaluate(
        """() => {
        const images = [...document.images].map(i => ({
            complete: i.complete, natural: i.naturalWidth, shown: i.getBoundingClientRect().width,
            font: parseFloat(i.dataset.fontPx || "0")}));
        const first = document.body.firstElementChild;
        const main = document.body.getBoundingClientRect();
        const style = getComputedStyle(document.body);
        return {
            images, scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
            content: main.width - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight),
            firstText: first.innerText, firstTop: first.getBoundingClientRect().top,
            firstClass: first.className,
        };
    }"""
    )


def _assert_readable(page: Any, path: Path, width: int) -> dict[str, Any]:
    page.set_viewport_size({"width": width, "height": 900})
    assert _open(page, path) == [], "the page fetched something: it must work offline"
    layout = _layout(page)
    broken = [i for i in layout["images"] if not (i["complete"] and i["natural"] > 0)]
    assert not broken, f"{path.name}: {len(broken)} of {len(layout['images'])} images did not load"
    assert layout["scrollWidth"] <= layout["innerWidth"], f"{path.name} overflows at {width} px: {layout}"
    return layout


@pytest.mark.parametrize("width", [1280, 760])
def test_a_drifted_report_reads_well_in_chromium(page: Any, reports: Path, width: int) -> None:
    layout = _assert_readable(page, reports / "batch-00004.html", width)
    assert layout["firstClass"] == "verdict drift" and layout["firstText"].startswith("Drift detected")
    assert layout["firstTop"] < 60
    plots = [i for i in layout["images"] if i["font"]]
    tested = json.loads((reports / "batch-00004.json").read_text())["columns"]
    assert len(plots) == len(tested) >= 4  # one plot per tested column
    for image in plots:
        assert image["shown"] >= 0.95 * layout["content"], image  # a plot spans the content width
        if width >= 1280:  # the laptop page: the text in the plots as shown is at least 12 px
            assert image["font"] * image["shown"] / image["natural"] >= MIN_TEXT_PX, image
    if width >= 1280:  # the columns table fits the laptop page without scrolling sideways
        box = page.evaluate(
            "() => { const w = document.querySelector('.wide'); return [w.scrollWidth, w.clientWidth]; }"
        )
        assert box[0] <= box[1], box
    # The report's notes (the id-like column set aside) follow the verdict, before the overview.
    order = page.evaluate("() => [...document.body.children].slice(0, 3).map(e => e.className)")
    assert order == ["verdict drift", "notes", "meta"], order
    assert "patient_identifier_assigned_at_admission" in page.locator("div.notes").inner_text()
    assert page.locator("h2", has_text="Several columns together").count() == 1  # in a box that fits too
    # Details are tables, never a raw JSON dump.
    assert page.locator("pre").count() == 0 and page.locator("table.details").count() >= 3
    # The trend column: one sparkline per column, over the five batches.
    assert page.locator("table.results svg.trend").count() == len(tested)
    assert "over the last 5 batches" in page.locator("table.results svg.trend title").first.text_content()


def test_the_columns_table_sorts_on_a_click(page: Any, reports: Path) -> None:
    _open(page, reports / "batch-00004.html")

    def effects() -> list[float]:
        return page.eval_on_selector_all(
            "table.sortable tbody tr", "rows => rows.map(r => parseFloat(r.cells[2].dataset.sort))"
        )

    heading = page.locator("table.sortable th", has_text="Effect").first
    heading.click()
    ascending = effects()
    assert ascending == sorted(ascending) and heading.get_attribute("aria-sort") == "ascending"
    heading.click()
    assert effects() == sorted(ascending, reverse=True)
    page.locator("table.sortable th", has_text="Column").first.click()
    names = page.eval_on_selector_all("table.sortable tbody tr", "rows => rows.map(r => r.cells[0].innerText)")
    assert names == sorted(names, key=str.lower)


def test_a_report_with_no_drift_leads_with_its_verdict(page: Any, reports: Path) -> None:
    layout = _assert_readable(page, reports / "batch-00000.html", 1280)
    assert layout["firstClass"] == "verdict ok" and layout["firstText"].startswith("No drift")


def test_the_drift_over_time_page_names_batches_and_fits(page: Any, reports: Path) -> None:
    layout = _assert_readable(page, reports / "index.html", 1280)
    assert layout["firstText"].startswith("Drift over time")
    assert len(layout["images"]) == 2
    for image in layout["images"]:
        assert image["shown"] >= 0.95 * layout["content"]
    _assert_readable(page, reports / "index.html", 760)


def test_the_placeholder_page_leads_with_its_verdict(page: Any, reports: Path) -> None:
    layout = _assert_readable(page, reports / "batch-00099.html", 1280)
    assert layout["firstText"].startswith("DRIFT")
