"""The example third-party trainer (examples/arlequin-scorecard), installed by `make install`:
discovered through its own distribution, equal to scikit-learn's CategoricalNB on the binned
features, and taken through the real retraining flow (MLflow, registry, load back by alias)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from arlequin_core.app import App
from arlequin_core.config import ArlequinConfig
from arlequin_core.errors import ConfigError
from arlequin_core.plugins import PluginHost


def batch(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    c = rng.choice(np.array(["a", "b", "c"]), n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(1.5 * x + np.where(c == "a", 1.0, -0.5))))).astype(int)
    frame = pd.DataFrame({"x": x, "c": c, "y": y})
    frame.loc[rng.random(n) < 0.05, "x"] = np.nan
    frame.loc[rng.random(n) < 0.05, "c"] = None
    return frame


def config(home: Path, **training: object) -> ArlequinConfig:
    return ArlequinConfig.model_validate(
        {
            "arlequin": {"home": str(home), "journal_fsync": False},
            "data": {"label": "y"},
            "training": {"trainer": "scorecard", **training},
            "mlflow": {"request_retries": 0},
        }
    )


@pytest.fixture(scope="module")
def scorecard():
    host = PluginHost().load()
    assert "scorecard" in host.plugins, "run `make install` (it installs examples/arlequin-scorecard)"
    assert host.plugins["scorecard"].distribution == "arlequin-scorecard"
    return host.registry.get("trainer", "scorecard")


def test_scorecard_equals_categorical_naive_bayes_on_the_binned_features(scorecard, tmp_path: Path) -> None:
    from arlequin_scorecard import fit_scorecard
    from arlequin_scorecard_model import probability
    from sklearn.naive_bayes import CategoricalNB

    from arlequin_core.training.features import FeatureSpec

    frame = batch(3000, seed=1)
    features = FeatureSpec(("x",), ("c",))
    x = frame[["x", "c"]]
    y = frame["y"].to_numpy()
    card = fit_scorecard(x, y, features, alpha=0.5)
    # The same bins, computed independently: deciles of x (missing: its own bin), c's levels (+ missing).
    edges = np.unique(np.nanquantile(frame["x"], np.linspace(0.1, 0.9, 9)))
    x_codes = np.where(frame["x"].isna(), edges.size + 1, np.searchsorted(edges, frame["x"], side="right"))
    levels = {"a": 0, "b": 1, "c": 2}
    c_codes = frame["c"].map(levels).fillna(3).astype(int)
    nb = CategoricalNB(alpha=0.5, min_categories=[edges.size + 2, 4]).fit(np.c_[x_codes, c_codes], y)
    expected = nb.predict_proba(np.c_[x_codes, c_codes])[:, 1]
    np.testing.assert_allclose(probability(card, x), expected, rtol=1e-10, atol=1e-12)


def test_refuses_unknown_params_naming_the_key(scorecard, tmp_path: Path) -> None:
    path = tmp_path / "b.parquet"
    batch(100, 0).to_parquet(path)
    with pytest.raises(ConfigError, match=r"\[training\] params: depth not accepted by scorecard; valid: alpha"):
        scorecard(config(tmp_path, params={"depth": 3})).train([str(path)], heldout_uri=str(tmp_path / "h.parquet"))


@pytest.mark.slow
def test_the_scorecard_trains_registers_promotes_and_loads_back_by_alias(scorecard, tmp_path: Path) -> None:
    import mlflow

    from arlequin_core.training.flow import retrain
    from arlequin_core.training.tracking import Tracking

    first_path, second_path = tmp_path / "b1.parquet", tmp_path / "b2.parquet"
    batch(2000, 2).to_parquet(first_path)
    batch(2000, 3).to_parquet(second_path)
    with App(config(tmp_path / ".arlequin")) as app:
        first = retrain(app, [str(first_path)])
        assert (first.version, first.promoted) == ("1", True)
        assert first.metrics["roc_auc"] > 0.75
        second = retrain(app, [str(second_path)])
        assert second.version == "2"
        assert second.validation["champion_version"] == "1"
        tracking = Tracking.from_config(app.config)
        with tracking.scope() as client:
            assert client.get_model_version("arlequin-model", "2").tags["arlequin.trainer"] == "scorecard"
            champion_version = client.get_model_version_by_alias("arlequin-model", "champion").version
            rows = batch(50, 9)
            rows.to_parquet(tmp_path / "recent.parquet")
            served = mlflow.pyfunc.load_model("models:/arlequin-model@champion").predict(rows[["x", "c"]])
            trainer = scorecard(app.config)
            y, p = trainer.score(trainer.load("models:/arlequin-model@champion"), [str(tmp_path / "recent.parquet")])
    assert str(champion_version) == ("2" if second.promoted else "1")
    # Served through plain MLflow, the champion gives the trainer's own probabilities.
    np.testing.assert_allclose(served, p, rtol=1e-12)
    assert ((served > 0) & (served < 1)).all()
    np.testing.assert_array_equal(y, rows["y"].to_numpy())
