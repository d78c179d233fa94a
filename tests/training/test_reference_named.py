"""After a retrain on several batches, a report names its reference as the champion's training rows.

Not ``Reference: .../batch-00000.parquet, 32,000 rows`` (the first file only): the model
version, the batches its rows came from and how many were fitted on.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from arlequin_core.cli import main
from arlequin_core.training.flow import retrain

pytestmark = pytest.mark.slow


def test_the_report_names_the_champions_training_batches(make_app, write_batch, isolated: Path) -> None:
    app = make_app()
    retrain(app, [write_batch("reference", n=2000, seed=1)])
    uris = [write_batch("b-0001", n=2000, seed=2), write_batch("b-0002", n=2000, seed=3)]
    second = retrain(app, uris, batch_ids=["b-0001", "b-0002"])
    assert second.promoted, second.reason
    today = write_batch("today", n=1000, seed=4)

    Path("arlequin.toml").write_text(
        f'[arlequin]\nhome = "{isolated / ".arlequin"}"\njournal_fsync = false\n[data]\nlabel = "y"\nexclude = ["id"]\n'
    )
    result = CliRunner().invoke(main, ["detect", "-c", today, "--json", "r.json", "--html", "r.html"])
    assert result.exit_code in (0, 3), result.output
    reference = json.loads(Path("r.json").read_text())["reference"]
    assert reference["model_name"] == "arlequin-model" and reference["model_version"] == "2"
    assert reference["batch_ids"] == ["b-0001", "b-0002"]
    assert [Path(u).name for u in reference["uris"]] == ["b-0001.parquet", "b-0002.parquet"]
    assert reference["rows"] == 3200  # 80 % of the 4,000 rows; the held-out 800 are not the reference
    assert reference["description"] == (
        "model 'arlequin-model' version 2's training rows from batches b-0001, b-0002, 3,200 rows "
        "(the 800 held-out rows excluded)"
    )
    page = Path("r.html").read_text()
    assert "from batches b-0001, b-0002, 3,200 rows" in page
    assert "b-0001.parquet, " not in page
