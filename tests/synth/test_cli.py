"""``arlequin generate``: registered by the plugin, writes a stream, bad arguments exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from arlequin_core.cli import main
from arlequin_core.errors import EXIT_USAGE
from arlequin_core.plugins import PluginHost


def _run(*args: str):
    return CliRunner().invoke(main, ["generate", *args], catch_exceptions=False)


def test_arlequin_register_commands_registers_generate() -> None:
    host = PluginHost().load()
    assert "synth" in host.plugins, host.failures
    (entry,) = [e for e in host.registry.entries("command") if e.name == "generate"]
    assert entry.origin == "synth"
    assert "arlequin_register_commands" in host.plugins["synth"].hooks


def test_generate_writes_a_drifting_stream(tmp_path: Path) -> None:
    result = _run(
        "--out", str(tmp_path / "stream"), "--rows", "2000", "--batches", "5", "--seed", "3",
        "--scenario", "sudden:amount_scale=1.5,start=3", "--reference", str(tmp_path / "reference.parquet"),
        "--reference-rows", "4000", "--no-progress",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"reference: {tmp_path / 'reference.parquet'} (4000 rows, undrifted)"
    assert lines[1] == "batch-00000.parquet  2024-01-01  no drift"
    assert lines[4].startswith("batch-00003.parquet  2024-01-04  drifted: amount 0.")
    assert "wrote 5 batches of 2000 rows" in lines[-1] and "(2 drifted;" in lines[-1]
    manifest = json.loads((tmp_path / "stream" / "manifest.json").read_text())
    assert manifest["seed"] == 3 and manifest["reference"]["rows"] == 4000 and manifest["complete"]
    assert [b["drifted_columns"] for b in manifest["batches"]] == [[], [], [], ["amount"], ["amount"]]
    assert (tmp_path / "reference.parquet").exists()


def test_generate_csv_with_progress_bar(tmp_path: Path) -> None:
    result = _run("--out", str(tmp_path), "--rows", "100", "--batches", "2", "--format", "csv", "--progress")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["batch-00000.csv", "batch-00001.csv", "manifest.json"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scenario", "sudden:amout_scale=2"], "error: scenario component 1 (sudden:amout_scale=2): unknown key"),
        (["--scenario", "sudden:amount_scale=2,start=20"], "starts at batch 20, but only batches 0..9"),
        (["--scenario", "missing.toml"], "scenario file missing.toml: cannot read it"),
        (["--rows", "0"], "Invalid value for '--rows'"),
        (["--batches", "-2"], "Invalid value for '--batches'"),
        (["--seed", "-1"], "Invalid value for '--seed'"),
        (["--format", "orc"], "Invalid value for '--format'"),
        (["--interval", "-1"], "Invalid value for '--interval'"),
        (["--reference-rows", "10"], "Invalid value for --reference-rows: needs --reference"),
        (["--start-date", "01/02/2024"], "Invalid value for '--start-date'"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["generate", "--out", str(tmp_path / "out"), *args])
    assert result.exit_code == EXIT_USAGE, result.output
    assert message in result.output
    assert not (tmp_path / "out").exists()


def test_missing_out_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["generate"])
    assert result.exit_code == EXIT_USAGE and "Missing option '--out'" in result.output


def test_existing_stream_needs_overwrite(tmp_path: Path) -> None:
    assert _run("--out", str(tmp_path), "--rows", "50", "--batches", "1").exit_code == 0
    result = CliRunner().invoke(main, ["generate", "--out", str(tmp_path), "--rows", "50", "--batches", "1"])
    assert result.exit_code == EXIT_USAGE and "--overwrite" in result.output
    assert _run("--out", str(tmp_path), "--rows", "50", "--batches", "1", "--overwrite").exit_code == 0


def test_a_batch_drifting_below_the_detectable_effect_is_not_called_no_drift(tmp_path: Path) -> None:
    # The demo's gradual drift: its first step moves merchant_category by less than 0.05.
    result = _run(
        "--out", str(tmp_path / "stream"), "--rows", "2000", "--batches", "2", "--seed", "7",
        "--scenario", "gradual:category=travel,factor=4,start=1,duration=3", "--no-progress",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "batch-00000.parquet  2024-01-01  no drift"
    assert lines[1].startswith(
        "batch-00001.parquet  2024-01-02  no detectable drift: drifting below the 0.095 effect (merchant_category 0.0"
    ), lines[1]
    manifest = json.loads((tmp_path / "stream" / "manifest.json").read_text())
    assert manifest["batches"][1]["drifted_columns"] == []
