"""The ``sklearn-logreg`` trainer on its own: split, fit, held-out metrics, persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import roc_auc_score
from training_helpers import labelled_frame, make_config

from arlequin_core.errors import ConfigError, InputError
from arlequin_core.training.errors import TrainingError
from arlequin_core.training.features import FeatureSpec
from arlequin_core.training.metrics import compute_metrics
from arlequin_sklearn.trainer import SklearnLogregTrainer, model_input


@pytest.fixture
def trainer(isolated: Path) -> SklearnLogregTrainer:
    return SklearnLogregTrainer(make_config(isolated / ".arlequin"))


def test_train_holds_out_rows_writes_them_and_scores_them(trainer, write_batch, isolated: Path) -> None:
    uri = write_batch("b1", n=3000, seed=1)
    heldout = str(isolated / "heldout.parquet")
    trained = trainer.train([uri], heldout_uri=heldout)
    assert trained.rows == {"train": 2400, "heldout": 600, "unlabelled": 0}
    assert trained.features.numeric == ("x1", "x2")
    assert trained.features.categorical == ("c", "flag")
    assert trained.reference.num_rows == 2400
    held = pq.read_table(heldout)
    assert held.num_rows == 600
    # The held-out rows are rows of the batch that the model did not train on.
    ids_train = set(trained.reference.column("id").to_pylist())
    assert ids_train.isdisjoint(held.column("id").to_pylist())
    # The metrics are the model's on exactly those rows.
    y, p = trainer.score(trained.model, [heldout])
    assert compute_metrics(y, p) == trained.metrics
    assert trained.metrics["roc_auc"] > 0.8
    assert trained.params["max_iter"] == 1000


def test_split_is_seeded_and_stratified(trainer, write_batch, isolated: Path) -> None:
    uri = write_batch("b1", n=1000, seed=2)
    a = trainer.train([uri], heldout_uri=str(isolated / "a.parquet"))
    b = trainer.train([uri], heldout_uri=str(isolated / "b.parquet"))
    assert pq.read_table(isolated / "a.parquet").equals(pq.read_table(isolated / "b.parquet"))
    assert a.metrics == b.metrics
    frame = labelled_frame(n=1000, seed=2)
    held = pq.read_table(isolated / "a.parquet").to_pandas()
    assert held["y"].mean() == pytest.approx(frame["y"].mean(), abs=0.01)


def test_unseen_categories_and_missing_values_score_without_error(trainer, write_batch, isolated: Path) -> None:
    trained = trainer.train([write_batch("b1", n=1000)], heldout_uri=str(isolated / "h.parquet"))
    frame = labelled_frame(n=200, seed=9)
    frame.loc[:50, "c"] = "never-seen"
    frame.loc[50:100, "x1"] = np.nan
    frame["flag"] = frame["flag"].astype(object)
    frame.loc[100:120, "flag"] = None
    y, p = trainer.score(trained.model, frame)
    assert len(y) == 200
    assert np.isfinite(p).all()


def test_score_names_missing_feature_columns(trainer, write_batch, isolated: Path) -> None:
    trained = trainer.train([write_batch("b1", n=500)], heldout_uri=str(isolated / "h.parquet"))
    frame = labelled_frame(n=50).drop(columns=["x2"])
    with pytest.raises(InputError, match=r"missing feature column.* x2"):
        trainer.score(trained.model, frame, where="recent.parquet")


def test_one_class_is_a_training_error_naming_the_data(trainer, write_batch, isolated: Path) -> None:
    frame = labelled_frame(n=100)
    frame["y"] = 1
    path = isolated / "ones.parquet"
    frame.to_parquet(path)
    with pytest.raises(TrainingError, match=r"ones\.parquet: every labelled row has label 1 \(100 rows\)"):
        trainer.train([str(path)], heldout_uri=str(isolated / "h.parquet"))


def test_unknown_params_are_a_config_error(isolated: Path, write_batch) -> None:
    trainer = SklearnLogregTrainer(make_config(isolated / ".arlequin", training={"params": {"regParam": 0.1}}))
    with pytest.raises(
        ConfigError, match=r"\[training\] params: regParam not accepted by sklearn.linear_model:LogisticRegression"
    ):
        trainer.train([write_batch("b1", n=200)], heldout_uri=str(isolated / "h.parquet"))


def test_rows_without_label_are_left_out_and_counted(trainer, isolated: Path) -> None:
    frame = labelled_frame(n=600)
    frame["y"] = frame["y"].astype("float64")
    frame.loc[:99, "y"] = np.nan
    trained = trainer.train(frame, heldout_uri=str(isolated / "h.parquet"))
    assert trained.rows["unlabelled"] == 100
    assert trained.rows["train"] + trained.rows["heldout"] == 500


def test_saved_model_loads_through_mlflow_pyfunc_and_predicts(trainer, write_batch, isolated: Path) -> None:
    import mlflow.pyfunc

    trained = trainer.train([write_batch("b1", n=1000)], heldout_uri=str(isolated / "h.parquet"))
    path = str(isolated / "model")
    trainer.save(trained.model, path, trained.example)
    loaded = mlflow.pyfunc.load_model(path)
    frame = labelled_frame(n=100, seed=5)
    x = model_input(pa.Table.from_pandas(frame), trained.features)
    predicted = np.asarray(loaded.predict(x))
    np.testing.assert_array_equal(predicted, trained.model.predict(x))
    schema = loaded.metadata.get_input_schema()
    assert {c.name: c.type.name for c in schema.inputs} == {
        "x1": "double",
        "x2": "double",
        "c": "string",
        "flag": "string",
    }
    reloaded = trainer.load(path)
    assert roc_auc_score(frame["y"], reloaded.predict_proba(x)[:, 1]) > 0.8


def test_model_input_types_match_spark_casts() -> None:
    table = pa.table({"n": pa.array([1, None], pa.int64()), "b": pa.array([True, None]), "s": ["x", None]})
    frame = model_input(table, FeatureSpec(("n",), ("b", "s")))
    assert frame["n"].dtype == np.float64
    assert np.isnan(frame["n"][1])
    assert frame["b"].tolist() == ["true", None]
    assert frame["s"].tolist() == ["x", None]
    assert isinstance(frame, pd.DataFrame)
