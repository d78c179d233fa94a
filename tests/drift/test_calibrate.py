"""Calibration of the effect floor on the reference (arlequin_core.drift.calibrate)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from scipy import stats

from arlequin_core.cli import main
from arlequin_core.config import ArlequinConfig
from arlequin_core.drift import Profile, build_profile, check_batch
from arlequin_core.drift.calibrate import build_calibrated_profile, calibrate_profile
from arlequin_core.errors import EXIT_DRIFT, EXIT_OK, InputError


def daily(days: int, rows: int, seed: int, level: float | None = None) -> pa.Table:
    """A time-ordered table whose level moves from day to day (weather, campaigns): not i.i.d. rows.

    The day's level is normal(0, 0.3), or ``level`` for every day.
    """
    rng = np.random.default_rng(seed)
    levels = rng.normal(0.0, 0.3, days) if level is None else np.full(days, level)
    level = np.repeat(levels, rows)
    share = np.repeat(np.clip(rng.normal(0.3, 0.04, days), 0.01, 0.99), rows)
    return pa.table(
        {
            "x": level + rng.normal(0.0, 1.0, days * rows),
            "c": np.where(rng.random(days * rows) < share, "promo", "regular"),
        }
    )


def test_iid_reference_calibrates_to_the_null_quantile_of_d(registry):
    rng = np.random.default_rng(0)
    reference = pa.table({"x": rng.normal(size=20_000)})
    profile = build_profile(reference, ArlequinConfig(), registry)
    calibrate_profile(profile, reference, 1000, quantile=0.95, draws=300)
    calibrated = profile.columns["x"].calibration["min_effect"]
    # The two-sample KS null: D's 95 % quantile for m = 1000 against n = 20000.
    expected = stats.kstwo.ppf(0.95, round(1 / (1 / 1000 + 1 / 20_000)))
    assert calibrated == pytest.approx(expected, rel=0.15)
    # It travels with the profile.
    again = Profile.from_dict(json.loads(json.dumps(profile.to_dict())))
    assert again.columns["x"].calibration == profile.columns["x"].calibration


def test_calibration_stops_daily_rhythm_from_raising_false_alarms(registry):
    reference, today = daily(30, 2000, 1), daily(1, 2000, 99, level=0.3)  # an ordinary day: 1 sd of the days
    config = ArlequinConfig()
    plain = build_profile(reference, config, registry)
    before = check_batch(plain, today, config, registry)
    calibrated = build_calibrated_profile(
        reference,
        config.model_copy(update={"drift": config.drift.model_copy(update={"calibrate_rows": 2000})}),
        registry,
    )
    after = check_batch(calibrated, today, config, registry)
    assert before.drifted, before.reason  # an ordinary day looks like drift to an i.i.d. test
    assert not after.drifted, after.reason
    x = after.column("x")
    assert x.min_effect_source == "calibrated" and x.min_effect > 0.05
    # A real change is still found: the level moves by one standard deviation.
    moved = today.set_column(0, "x", pa.array(np.asarray(today["x"]) + 1.0))
    assert check_batch(calibrated, moved, config, registry).drifted_columns == ["x"]


def test_calibrate_refuses_batches_larger_than_half_the_reference(registry):
    reference = pa.table({"x": np.arange(100.0)})
    profile = build_profile(reference, ArlequinConfig(), registry)
    with pytest.raises(InputError, match="at least 120 reference rows"):
        calibrate_profile(profile, reference, 60)


def test_calibrate_command_and_detect_flag(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ARLEQUIN_CONFIG", raising=False)
    pq.write_table(daily(30, 2000, 1), "ref.parquet")
    pq.write_table(daily(1, 2000, 99, level=0.3), "today.parquet")
    runner = CliRunner()
    detect = ["detect", "-r", "ref.parquet", "-c", "today.parquet"]
    assert runner.invoke(main, [*detect, "--save-profile", "p.json"]).exit_code == EXIT_DRIFT
    result = runner.invoke(main, ["calibrate", "-p", "p.json", "-r", "ref.parquet", "--batch-rows", "2000"])
    assert result.exit_code == 0, result.output
    assert "calibrated for batches of 2,000 rows: p.json" in result.output
    assert runner.invoke(main, ["detect", "-r", "p.json", "-c", "today.parquet"]).exit_code == EXIT_OK
    flagged = runner.invoke(main, [*detect, "--calibrate-rows", "2000", "--html", "r.html"])
    assert flagged.exit_code == EXIT_OK, flagged.output
    assert "calibrated on the reference for batches of 2,000 rows" in Path("r.html").read_text()
    refused = runner.invoke(main, ["detect", "-r", "p.json", "-c", "today.parquet", "--calibrate-rows", "10"])
    assert refused.exit_code == 2 and "need reference data" in refused.output
