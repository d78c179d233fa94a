"""The HTML report: verdict first, a results table, one embedded plot per column, small."""

from __future__ import annotations

import base64
import re

import numpy as np
import pandas as pd

from arlequin_core.config import ArlequinConfig
from arlequin_core.drift import build_profile, check_batch
from arlequin_core.drift.html import render_html, write_html


def wide_frame(n: int, seed: int, drift: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    columns = {f"num{i}": rng.normal(i, 1 + (0.5 if drift and i == 0 else 0), n) for i in range(6)}
    columns.update({f"cat{i}": rng.choice([f"v{j}" for j in range(3 + 10 * i)], n) for i in range(4)})
    return pd.DataFrame(columns)


def test_html_report_for_ten_columns_is_small_and_complete(registry, tmp_path):
    config = ArlequinConfig()
    reference, batch = wide_frame(50_000, 0), wide_frame(50_000, 1, drift=True)
    profile = build_profile(reference, config, registry, source="ref.parquet")
    report = check_batch(profile, batch, config, registry, uri="batch.parquet")
    path = write_html(report, profile, batch, tmp_path / "reports" / "r.html")
    page = path.read_text()
    assert path.stat().st_size < 1_000_000
    # Default policy: one drifted column is a drifted batch, and the verdict comes first.
    assert page.index("Drift detected") < page.index("<table")
    assert "1 of 10 columns drifted" in page and "No drift" not in page
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 10
    assert all(base64.b64decode(image).startswith(b"\x89PNG\r\n\x1a\n") for image in images)
    assert page.count('<tr class="drifted">') == 1
    assert ">Effect vs minimum</th>" in page and "D 0." in page and "TV 0." in page


def test_html_below_the_share_is_a_warning_not_ok(registry):
    config = ArlequinConfig.model_validate({"drift": {"drift_share": 0.5}})
    reference, batch = wide_frame(20_000, 0), wide_frame(20_000, 1, drift=True)
    profile = build_profile(reference, config, registry)
    report = check_batch(profile, batch, config, registry)
    assert report.status == "below share" and not report.drifted and report.drifted_columns == ["num0"]
    page = render_html(report, profile, batch)
    verdict = page[page.index('<div class="verdict') : page.index("</div>")]
    assert 'class="verdict warn"' in verdict and "Columns drifted, below the policy" in verdict
    assert "No drift" not in page and "OK" not in verdict


def test_html_escapes_column_names_and_values(registry):
    frame = pd.DataFrame({"<script>x</script>": ["<b>", "&"] * 30})
    profile = build_profile(frame, ArlequinConfig(), registry)
    page = render_html(check_batch(profile, frame, ArlequinConfig(), registry), profile, frame)
    assert "<script>x</script>" not in page and "<b>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page


def test_html_without_the_batch_has_tables_but_no_plots(registry):
    frame = wide_frame(500, 2)
    profile = build_profile(frame, ArlequinConfig(), registry)
    page = render_html(check_batch(profile, frame, ArlequinConfig(), registry), profile)
    assert "data:image/png" not in page and "<h2>Columns</h2>" in page
