"""Column kinds are decided once and carried forward: a retrain keeps the champion's kinds.

A count column (``tx``) has 40 distinct values in the first training set (numeric, KS)
and 8 in the next (inferred alone: categorical, chi-squared). The retrain must keep it
numeric, in the model's features and in its drift profile, unless config says otherwise.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from mlflow import MlflowClient
from training_helpers import labelled_frame

from arlequin_core.drift.profile import Profile
from arlequin_core.training.flow import retrain
from arlequin_core.training.profiles import PROFILE_ARTIFACT
from arlequin_core.training.tracking import Tracking

pytestmark = pytest.mark.slow


def _batch(isolated: Path, name: str, seed: int, tx_values: int) -> str:
    frame = labelled_frame(n=1500, seed=seed)
    frame["tx"] = np.random.default_rng(seed).integers(0, tx_values, len(frame))
    path = isolated / "data" / f"{name}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)
    return str(path)


def _profile(app, run_id: str) -> Profile:
    tracking = Tracking.from_config(app.config)
    tracking.activate()
    with tempfile.TemporaryDirectory() as tmp:
        return Profile.load(Path(MlflowClient(tracking.uri).download_artifacts(run_id, PROFILE_ARTIFACT, tmp)))


def _features(app, run_id: str) -> dict[str, list[str]]:
    tracking = Tracking.from_config(app.config)
    tracking.activate()
    params = MlflowClient(tracking.uri).get_run(run_id).data.params
    return {k: v for k, v in params.items() if k.startswith("features")}


def test_a_retrain_keeps_the_champions_kinds(make_app, isolated: Path) -> None:
    app = make_app()
    first = retrain(app, [_batch(isolated, "old", 1, tx_values=40)])
    assert _profile(app, first.run_id).columns["tx"].kind == "numeric"

    second = retrain(app, [_batch(isolated, "new", 2, tx_values=8)])
    profile = _profile(app, second.run_id)
    assert profile.columns["tx"].kind == "numeric"
    assert profile.columns["tx"].detector == "ks"
    assert profile.data["kinds_from"] == "model 'arlequin-model' version 1"
    features = _features(app, second.run_id)  # the model sees it as a number too
    assert "tx" in features["features.numeric"].split(","), features


def test_keep_kinds_false_and_a_forced_kind_decide_again(make_app, isolated: Path) -> None:
    app = make_app()
    retrain(app, [_batch(isolated, "old", 1, tx_values=40)])
    fresh = make_app(training={"keep_kinds": False})
    second = retrain(fresh, [_batch(isolated, "new", 2, tx_values=8)])
    profile = _profile(fresh, second.run_id)
    assert profile.columns["tx"].kind == "categorical"
    assert "kinds_from" not in profile.data

    forced = make_app(data={"exclude": ["id"], "categorical": ["tx"]})  # config still wins over the carried kind
    third = retrain(forced, [_batch(isolated, "newer", 3, tx_values=8)])
    assert _profile(forced, third.run_id).columns["tx"].kind == "categorical"
    assert "tx" in _features(forced, third.run_id)["features.categorical"].split(",")
