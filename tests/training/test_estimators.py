"""The ``sklearn`` trainer with any estimator: config errors name the key, regression is inferred
from the label, and each estimator kind fits, saves with skops and loads back."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from training_helpers import labelled_frame, make_config

from arlequin_core.errors import ConfigError
from arlequin_core.training.errors import LabelRuleError
from arlequin_core.training.labels import LabelSpec
from arlequin_core.training.metrics import regression_metrics
from arlequin_sklearn.trainer import SklearnLogregTrainer, SklearnTrainer


def regression_frame(n: int = 1500, seed: int = 0) -> pd.DataFrame:
    """A seeded regression batch: ``amount`` depends on ``x1``, ``x2`` and the category ``c``."""
    rng = np.random.default_rng(seed)
    frame = labelled_frame(n=n, seed=seed).drop(columns=["y"])
    x2 = frame["x2"].fillna(0.0).to_numpy()
    frame["amount"] = 3.0 * frame["x1"] - 0.5 * x2 + np.where(frame["c"] == "a", 2.0, 0.0) + rng.normal(0, 0.5, n)
    return frame


def trainer_for(isolated: Path, **training: object) -> SklearnTrainer:
    return SklearnTrainer(make_config(isolated / ".arlequin", training={"trainer": "sklearn", **training}))


@pytest.mark.parametrize(
    ("training", "message"),
    [
        ({"estimator": "sklearn.ensemble"}, r"\[training\] estimator = 'sklearn.ensemble': expected 'module:Class'"),
        ({"estimator": "no_such_pkg:Model"}, r"\[training\] estimator = .*module 'no_such_pkg' cannot be imported"),
        ({"estimator": "sklearn.ensemble:GradientBoosted"}, r"module 'sklearn.ensemble' has no 'GradientBoosted'"),
        ({"estimator": "math:pi"}, r"\[training\] estimator = 'math:pi' is not a scikit-learn-compatible"),
        (
            {"estimator": "sklearn.ensemble:RandomForestClassifier", "params": {"trees": 10}},
            r"\[training\] params: trees not accepted by sklearn.ensemble:RandomForestClassifier; valid: ",
        ),
        (
            {"estimator": "sklearn.ensemble:HistGradientBoostingClassifier", "params": {"max_iter": -1}},
            r"\[training\] params refused by sklearn.ensemble:HistGradientBoostingClassifier: .*max_iter",
        ),
        (
            {"estimator": "sklearn.ensemble:RandomForestRegressor", "task": "classification"},
            r"\[training\] estimator = 'sklearn.ensemble:RandomForestRegressor' is not a classifier",
        ),
        (
            {"estimator": "sklearn.cluster:KMeans"},
            r"\[training\] estimator = 'sklearn.cluster:KMeans' is neither a classifier nor a regressor",
        ),
    ],
)
def test_a_bad_estimator_or_parameter_is_a_config_error_naming_the_key(
    isolated: Path, write_batch, training: dict, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        trainer_for(isolated, **training).train([write_batch("b", n=200)], heldout_uri=str(isolated / "h.parquet"))


def test_the_estimator_must_fit_the_inferred_task(isolated: Path, write_batch) -> None:
    trainer = trainer_for(isolated, estimator="sklearn.ensemble:RandomForestRegressor")
    with pytest.raises(ConfigError, match="is not a classifier with predict_proba, but the task is classification"):
        trainer.train([write_batch("b", n=200)], heldout_uri=str(isolated / "h.parquet"))


def test_sklearn_logreg_refuses_an_estimator_and_a_regression(isolated: Path, write_batch) -> None:
    config = make_config(isolated / ".arlequin", training={"estimator": "sklearn.ensemble:RandomForestClassifier"})
    with pytest.raises(ConfigError, match=r"\[training\] estimator = .* needs \[training\] trainer = 'sklearn'"):
        SklearnLogregTrainer(config).train([write_batch("b", n=200)], heldout_uri=str(isolated / "h.parquet"))
    path = isolated / "r.parquet"
    regression_frame(300).to_parquet(path)
    config = make_config(isolated / ".arlequin", data={"label": "amount"})
    with pytest.raises(
        ConfigError, match=r"trainer sklearn-logreg is logistic regression .* but the task is regression"
    ):
        SklearnLogregTrainer(config).train([str(path)], heldout_uri=str(isolated / "h.parquet"))


@pytest.mark.parametrize(
    ("spec", "params", "kind"),
    [
        ("sklearn.ensemble:HistGradientBoostingClassifier", {"max_iter": 40}, "HistGradientBoostingClassifier"),
        ("sklearn.ensemble:RandomForestClassifier", {"n_estimators": 20, "min_samples_leaf": 5}, "RandomForest"),
        ("lightgbm:LGBMClassifier", {"n_estimators": 40, "verbose": -1}, "LGBMClassifier"),
        ("xgboost:XGBClassifier", {"n_estimators": 40, "max_depth": 3}, "XGBClassifier"),
    ],
)
def test_each_estimator_kind_fits_saves_with_skops_and_loads_back(
    isolated: Path, write_batch, spec: str, params: dict, kind: str
) -> None:
    pytest.importorskip(spec.partition(":")[0].split(".")[0])
    trainer = trainer_for(isolated, estimator=spec, params=params)
    heldout = str(isolated / "h.parquet")
    trained = trainer.train([write_batch("b", n=2000, seed=3)], heldout_uri=heldout)
    assert type(trained.model.named_steps["model"]).__name__.startswith(kind)
    assert trained.task == "classification"
    assert trained.params["estimator"] == spec
    assert trained.metrics["roc_auc"] > 0.75
    path = isolated / "model"
    trainer.save(trained.model, str(path), trained.example)
    assert "serialization_format: skops" in (path / "MLmodel").read_text()
    requirements = (path / "requirements.txt").read_text()
    if not spec.startswith("sklearn"):
        assert f"{spec.partition(':')[0]}" in requirements.replace("-cpu", "")
    loaded = trainer.load(str(path))
    y, p = trainer.score(loaded, [heldout])
    assert skm.roc_auc_score(y, p) == pytest.approx(trained.metrics["roc_auc"], abs=1e-12)


def test_regression_is_inferred_from_a_numeric_label_and_scored_with_rmse_mae_r2(isolated: Path) -> None:
    path = isolated / "r.parquet"
    regression_frame(2000, seed=4).to_parquet(path)
    heldout = str(isolated / "h.parquet")
    config = make_config(
        isolated / ".arlequin",
        data={"label": "amount"},
        training={"trainer": "sklearn", "estimator": "sklearn.ensemble:HistGradientBoostingRegressor"},
    )
    trainer = SklearnTrainer(config)
    trained = trainer.train([str(path)], heldout_uri=heldout)
    assert trained.task == "regression"
    assert set(trained.metrics) == {"rmse", "mae", "r2"}
    y, pred = trainer.score(trained.model, [heldout])
    assert trained.metrics["rmse"] == pytest.approx(math.sqrt(skm.mean_squared_error(y, pred)), abs=1e-12)
    assert trained.metrics["mae"] == pytest.approx(skm.mean_absolute_error(y, pred), abs=1e-12)
    assert trained.metrics["r2"] == pytest.approx(skm.r2_score(y, pred), abs=1e-12)
    assert trained.metrics["r2"] > 0.8
    # The default regressor (Ridge) is there too, and a loaded model scores alike.
    default = SklearnTrainer(
        make_config(isolated / ".arlequin", data={"label": "amount"}, training={"trainer": "sklearn"})
    )
    ridge = default.train([str(path)], heldout_uri=str(isolated / "h2.parquet"))
    assert type(ridge.model.named_steps["model"]).__name__ == "Ridge"
    default.save(ridge.model, str(isolated / "ridge"), ridge.example)
    y2, pred2 = default.score(default.load(str(isolated / "ridge")), [str(isolated / "h2.parquet")])
    assert regression_metrics(y2, pred2) == pytest.approx(ridge.metrics)


def test_a_rule_that_gives_a_number_is_a_regression_target(isolated: Path) -> None:
    frame = regression_frame(400, seed=5)
    frame["cost"] = np.abs(frame["amount"]) / 2
    frame.loc[:9, "cost"] = np.nan
    spec = LabelSpec.from_config(
        make_config(isolated / ".arlequin", data={"label": None}, training={"label_rule": "amount - cost * 2"})
    )
    assert spec.infer_task(frame) == "regression"
    values, missing = spec.numbers(frame)
    assert missing[:10].all() and not missing[10:].any()
    np.testing.assert_allclose(values[10:], (frame["amount"] - frame["cost"] * 2).to_numpy()[10:])
    assert LabelSpec(rule=spec.rule).task(frame, "regression") == "regression"
    condition = LabelSpec.from_config(
        make_config(isolated / ".arlequin", data={"label": None}, training={"label_rule": "amount > 1"})
    )
    assert condition.infer_task(frame) == "classification"
    with pytest.raises(LabelRuleError, match="the rule gives a bool, but it must be a number"):
        condition.numbers(frame)
    with pytest.raises(LabelRuleError, match="the rule gives a number, but it must be a condition"):
        spec.labels(frame)


@pytest.mark.parametrize(
    ("values", "task"),
    [
        ([0, 1, 1, None], "classification"),
        ([0.0, 1.0, float("nan")], "classification"),
        ([True, False], "classification"),
        ([0, 1, 2], "regression"),
        ([0.5, 1.0], "regression"),
    ],
)
def test_task_inference_rule_for_a_label_column(values: list, task: str) -> None:
    assert LabelSpec(column="y").infer_task(pd.DataFrame({"y": values})) == task
