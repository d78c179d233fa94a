"""The retraining flow with other estimators and a regressor, against a real MLflow store: each is
trained, registered, validated by the paired test, promoted (or not) and loaded back by alias."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pyarrow.parquet as pq
import pytest
from mlflow import MlflowClient
from test_estimators import regression_frame

from arlequin_core.events import ModelRegistered
from arlequin_core.journal import read_journal
from arlequin_core.training.features import FeatureSpec
from arlequin_core.training.flow import retrain
from arlequin_core.training.tracking import Tracking
from arlequin_sklearn.trainer import model_input

pytestmark = pytest.mark.slow


def client_of(app) -> MlflowClient:
    tracking = Tracking.from_config(app.config)
    tracking.activate()
    return MlflowClient(tracking.uri)


def registered_events(app) -> list[ModelRegistered]:
    return [e for e in read_journal(app.config.home / "journal.jsonl") if isinstance(e, ModelRegistered)]


def test_each_estimator_kind_is_registered_validated_and_loads_back_by_alias(make_app, write_batch) -> None:
    kinds = [
        ("sklearn.ensemble:HistGradientBoostingClassifier", {"max_iter": 60}, None),
        ("sklearn.ensemble:RandomForestClassifier", {"n_estimators": 30, "min_samples_leaf": 5}, None),
        ("lightgbm:LGBMClassifier", {"n_estimators": 60, "verbose": -1}, "lightgbm=="),
        ("xgboost:XGBClassifier", {"n_estimators": 60, "max_depth": 3}, "xgboost"),
    ]
    data = write_batch("b", n=2500, seed=11)
    for number, (spec, params, requirement) in enumerate(kinds, start=1):
        app = make_app(training={"trainer": "sklearn", "estimator": spec, "params": params})
        result = retrain(app, [data])
        assert result.version == str(number)
        client = client_of(app)
        version = client.get_model_version("arlequin-model", result.version)
        assert version.tags["arlequin.trainer"] == "sklearn"
        assert version.tags["arlequin.task"] == "classification"
        if number > 1:
            # Validated against the previous champion on the same held-out rows, by DeLong's test.
            assert result.validation["method"] == "delong"
            assert result.validation["champion_version"] is not None
            assert result.validation["low"] <= result.validation["difference"] <= result.validation["high"]
            assert version.tags["arlequin.validation.method"] == "delong"
            assert version.tags["arlequin.validation.verdict"] == ("passed" if result.promoted else "rejected")
        run = client.get_run(result.run_id)
        assert run.data.params["model.estimator"] == spec
        reqs = client.download_artifacts(result.run_id, "model/requirements.txt", str(app.config.home / f"r{number}"))
        if requirement:
            assert requirement in Path(reqs).read_text()
        loaded = mlflow.sklearn.load_model(f"models:/arlequin-model/{result.version}")
        assert type(loaded.named_steps["model"]).__name__ == spec.rpartition(":")[2]
    # The champion, whichever kind won, serves through plain MLflow.
    champion = mlflow.pyfunc.load_model("models:/arlequin-model@champion")
    frame = model_input(pq.read_table(data), FeatureSpec(("x1", "x2"), ("c", "flag")))
    assert set(np.unique(champion.predict(frame.head(50)))) <= {0, 1}


def test_a_regressor_is_trained_registered_promoted_and_loaded_back(make_app, isolated) -> None:
    first, second = isolated / "r1.parquet", isolated / "r2.parquet"
    regression_frame(2000, seed=1).to_parquet(first)
    regression_frame(2000, seed=2).to_parquet(second)
    app = make_app(
        data={"label": "amount"},
        training={"trainer": "sklearn", "estimator": "sklearn.ensemble:HistGradientBoostingRegressor"},
    )
    one = retrain(app, [str(first)])
    assert (one.version, one.promoted, one.reason) == ("1", True, "first model")
    assert set(one.metrics) == {"rmse", "mae", "r2"}
    two = retrain(app, [str(second)])
    validation = two.validation
    assert (validation["metric"], validation["method"], validation["task"]) == ("rmse", "bootstrap", "regression")
    assert validation["champion_version"] == "1"
    # Same process, fresh data: neither is significantly worse, so non_inferior promotes.
    assert two.promoted, two.reason
    assert "(non_inferior): rmse challenger" in two.reason
    client = client_of(app)
    tags = client.get_model_version("arlequin-model", "2").tags
    assert tags["arlequin.task"] == "regression"
    assert json.loads(tags["arlequin.validation"])["p_value"] == pytest.approx(validation["p_value"])
    assert tags["arlequin.validation.interval"].startswith("[")
    metrics = client.get_run(two.run_id).data.metrics
    assert metrics["validation.p_value"] == pytest.approx(validation["p_value"])
    assert metrics["validation.champion.rmse"] == pytest.approx(validation["champion"])

    event = registered_events(app)[-1]
    assert event.model_version == "2"
    assert event.validation["method"] == "bootstrap"
    assert event.validation["low"] == pytest.approx(validation["low"])

    served = mlflow.sklearn.load_model("models:/arlequin-model@champion")
    frame = regression_frame(50, seed=3)
    x = frame[["x1", "x2", "c", "flag"]].assign(flag=frame["flag"].map({True: "true", False: "false"}))
    predicted = served.predict(x)
    assert np.corrcoef(predicted, frame["amount"])[0, 1] > 0.9


def test_superior_keeps_the_champion_against_a_challenger_of_the_same_quality(make_app, write_batch) -> None:
    data = write_batch("same", n=2500, seed=21)
    spec = "sklearn.ensemble:RandomForestClassifier"
    first = make_app(
        training={"trainer": "sklearn", "estimator": spec, "params": {"n_estimators": 30, "random_state": 1}}
    )
    assert retrain(first, [data]).promoted
    app = make_app(
        training={
            "trainer": "sklearn",
            "estimator": spec,
            "params": {"n_estimators": 30, "random_state": 2},
            "promote": "superior",
        }
    )
    result = retrain(app, [data])
    assert not result.promoted
    assert result.reason.startswith("not significantly better than the champion (superior): roc_auc")
    assert result.validation["low"] <= 0  # the interval does not lie above 0
    client = client_of(app)
    assert str(client.get_registered_model("arlequin-model").aliases["champion"]) == "1"
    assert client.get_model_version("arlequin-model", "2").tags["arlequin.rejected"] == "true"
