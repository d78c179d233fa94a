"""``arlequin detect --current X`` with no ``--reference``: measured against the serving model,
with its estimated performance (real MLflow store, real scikit-learn champion)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from arlequin_core.cli import main
from arlequin_core.errors import EXIT_OK, EXIT_USAGE
from arlequin_core.io import write_table_atomic
from arlequin_synth import TransactionGenerator


def _config(home: Path) -> Path:
    path = home.parent / "arlequin.toml"
    path.write_text(
        f'[arlequin]\nhome = "{home}"\njournal_fsync = false\n'
        '[data]\nlabel = "is_fraud"\ntimestamp = "timestamp"\nexclude = ["transaction_id"]\n',
        encoding="utf-8",
    )
    return path


def test_detect_against_the_champion_reports_its_estimated_performance(isolated: Path) -> None:
    config = _config(isolated / "state")
    generator = TransactionGenerator("sudden:column=channel,category=online,factor=8,start=1", seed=1)
    write_table_atomic(generator.reference(30_000), str(isolated / "reference.parquet"))
    write_table_atomic(generator.draw(1, 10_000).table, str(isolated / "batch.parquet"))
    runner = CliRunner()
    trained = runner.invoke(main, ["--config", str(config), "train", "--data", str(isolated / "reference.parquet")])
    assert trained.exit_code == 0, trained.output
    out = runner.invoke(
        main, ["--config", str(config), "detect", "-c", str(isolated / "batch.parquet"), "--json", "r.json"]
    )
    assert out.exit_code in (EXIT_OK, 3), out.output
    assert "estimated performance of the champion" in out.output
    report = json.loads(Path("r.json").read_text())
    assert report["model_version"] == "1"
    metrics = report["performance"]["metrics"]
    assert set(metrics) == {"roc_auc", "precision", "recall", "f1"}
    # The batch carries labels: the realised AUC is within the band of the estimate (covariate shift only).
    auc = metrics["roc_auc"]
    assert auc["lower"] <= auc["realised"] <= auc["upper"], auc


def test_detect_without_reference_or_champion_says_how_to_get_one(isolated: Path) -> None:
    config = _config(isolated / "state")
    write_table_atomic(TransactionGenerator("none", seed=1).reference(100), str(isolated / "batch.parquet"))
    out = CliRunner().invoke(main, ["--config", str(config), "detect", "-c", str(isolated / "batch.parquet")])
    assert out.exit_code == EXIT_USAGE
    assert "no champion model" in out.output and "arlequin train" in out.output
