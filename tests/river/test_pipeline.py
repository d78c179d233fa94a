"""Online detectors through the shared pipeline: profile, check_batch, policy, JSON and HTML report, restarts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from arlequin_core.config import ArlequinConfig
from arlequin_core.drift.check import check_batch
from arlequin_core.drift.html import render_html
from arlequin_core.drift.online_state import (
    OnlineStateStore,
    online_columns,
    restore_online_state,
    save_online_state,
    state_dir,
)
from arlequin_core.drift.profile import Profile, build_profile
from arlequin_core.events import ModelRegistered
from arlequin_core.monitor import Monitor
from arlequin_core.plugins import PluginHost
from arlequin_core.registry import ComponentRegistry
from arlequin_river import ERROR_COLUMN, error_stream


@pytest.fixture(scope="module")
def registry() -> ComponentRegistry:
    host = PluginHost().load()
    assert "river" in host.plugins and not host.failures
    return host.registry


def _config() -> ArlequinConfig:
    return ArlequinConfig.model_validate(
        {"drift": {"columns": {"amount": {"detector": "adwin", "params": {"delta": 0.001}}}, "drift_share": 0.5}}
    )


def _frame(n: int, seed: int, change_at: int | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    amount = rng.normal(100.0, 10.0, n)
    if change_at is not None:
        amount[change_at:] += 15.0
    return pd.DataFrame({"amount": amount, "age": rng.normal(40.0, 8.0, n)})


def test_online_result_goes_through_the_same_report_policy_and_html(registry: ComponentRegistry) -> None:
    config = _config()
    profile = build_profile(_frame(2000, 0), config, registry)
    assert profile.columns["amount"].detector == "adwin" and profile.columns["age"].detector == "ks"
    assert profile.columns["amount"].score_kind == "distance" and profile.columns["amount"].threshold == 1.0
    assert online_columns(profile, registry) == ["amount"]

    quiet = check_batch(profile, _frame(1000, 1), config, registry)
    assert not quiet.drifted

    batch = _frame(1000, 2, change_at=600)
    report = check_batch(profile, batch, config, registry)
    assert report.drifted and report.drifted_columns == ["amount"]
    amount = next(r for r in report.columns if r.column == "amount")
    assert amount.statistic >= 1.0 and amount.distribution_drifted
    first = amount.details["first_detection"]
    assert 600 <= first < 800 and amount.details["detections"][0] == first
    assert amount.details["stream_offset"] == 1000 + 2000  # the quiet batch came first
    assert json.loads(report.to_json())["columns"][0]["details"]["first_detection"] == first
    page = render_html(report, profile, batch)
    assert "first detection" in page and str(first) in page  # the HTML details table labels keys with spaces


def _run(profile: Profile, registry: ComponentRegistry, batches: list[pd.DataFrame]) -> list[list[int]]:
    config = _config()
    out = []
    for batch in batches:
        report = check_batch(profile, batch, config, registry)
        out.append(next(r for r in report.columns if r.column == "amount").details["detections"])
    return out


def test_daemon_restart_continues_the_stream_from_saved_state(registry: ComponentRegistry, tmp_path: Path) -> None:
    config = _config()
    reference = _frame(2000, 0)
    batches = [_frame(700, 10), _frame(700, 11), _frame(700, 12, change_at=300), _frame(700, 13)]
    uninterrupted = _run(build_profile(reference, config, registry), registry, batches)
    assert uninterrupted[2], "the third batch holds a change"

    build_profile(reference, config, registry).save(tmp_path / "profile.json")
    seen = []
    for i, batch in enumerate(batches):
        # Every batch in a "new process": the champion's profile read from disk, a new store.
        profile = Profile.load(tmp_path / "profile.json")
        store = OnlineStateStore(state_dir(tmp_path))
        restored = restore_online_state(profile, registry, store, "model", "1")
        assert restored == ([] if i == 0 else ["amount"])
        seen.extend(_run(profile, registry, [batch]))
        files = save_online_state(profile, registry, store, f"b{i}", "model", "1")
        assert files == [state_dir(tmp_path) / "amount.adwin.json"]
    assert seen == uninterrupted


def test_promotion_resets_so_the_next_batch_starts_from_the_new_champion(
    registry: ComponentRegistry, tmp_path: Path
) -> None:
    config = _config()
    store = OnlineStateStore(state_dir(tmp_path))
    profile = build_profile(_frame(2000, 0), config, registry)
    _run(profile, registry, [_frame(700, 10)])
    save_online_state(profile, registry, store, "b0", "model", "1")

    monitor = Monitor(ArlequinConfig.model_validate({"arlequin": {"home": str(tmp_path)}}), registry, None, None)
    assert monitor.online_store.directory == store.directory  # the monitor owns the store of its home
    monitor.arlequin_on_model_registered(
        ModelRegistered(model_name="model", model_version="2", run_id="r", promoted=True)
    )
    champion = build_profile(_frame(2000, 5), config, registry)
    assert restore_online_state(champion, registry, store, "model", "2") == []
    assert champion.detector("amount", registry).to_profile()["n_seen"] == 2000  # its own warm-up only


def test_error_stream_column_is_monitored_like_any_column(registry: ComponentRegistry) -> None:
    # The documented contract: the champion's 0/1 errors as a numeric pseudo-column.
    config = ArlequinConfig.model_validate(
        {
            "data": {"numeric": [ERROR_COLUMN]},
            "drift": {"columns": {ERROR_COLUMN: {"detector": "hddm_a"}}, "critical": [ERROR_COLUMN]},
        }
    )
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 3000)
    right = labels.copy()
    reference = pd.DataFrame({"x": rng.normal(0, 1, 2000), ERROR_COLUMN: error_stream(labels[:2000], right[:2000])})
    reference.loc[rng.choice(2000, 200, replace=False), ERROR_COLUMN] = 1.0  # a 10% error rate
    profile = build_profile(reference, config, registry)
    assert profile.columns[ERROR_COLUMN].kind == "numeric" and profile.columns[ERROR_COLUMN].detector == "hddm_a"

    predictions = right[2000:].copy()
    worse = rng.random(1000) < np.where(np.arange(1000) < 500, 0.1, 0.4)
    predictions[worse] = 1 - predictions[worse]
    errors = error_stream(pd.Series(labels[2000:]).astype("Int64").mask(np.arange(1000) % 7 == 0), predictions)
    batch = pd.DataFrame({"x": rng.normal(0, 1, 1000), ERROR_COLUMN: errors})
    report = check_batch(profile, batch, config, registry)
    result = next(r for r in report.columns if r.column == ERROR_COLUMN)
    assert report.drifted and ERROR_COLUMN in report.drifted_columns and result.distribution_drifted
    assert result.details["n_missing"] == int(np.ceil(1000 / 7))  # labels not arrived yet: skipped, counted
    assert 500 <= result.details["first_detection"] < 800
