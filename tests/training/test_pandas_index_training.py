"""Both trainers leave pandas' index out: it is neither a feature of the model nor of its profile."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from training_helpers import labelled_frame

from arlequin_sklearn.trainer import SklearnLogregTrainer
from arlequin_spark.trainer import SparkLogregTrainer

INDEX = "__index_level_0__"


@pytest.fixture
def sorted_batch(isolated: Path) -> str:
    path = isolated / "sorted.parquet"
    labelled_frame(n=1200, seed=1).sort_values("x2").to_parquet(path)  # pandas' default index=True
    assert INDEX in pq.read_schema(path).names
    return str(path)


def test_the_sklearn_trainer_does_not_learn_from_the_index(make_app, sorted_batch, isolated: Path) -> None:
    trained = SklearnLogregTrainer(make_app().config).train([sorted_batch], heldout_uri=str(isolated / "h.parquet"))
    assert INDEX not in trained.features.columns and INDEX not in trained.reference.column_names
    assert set(trained.features.columns) == {"x1", "x2", "c", "flag"}


@pytest.mark.spark
def test_the_spark_trainer_does_not_learn_from_the_index(spark, make_app, sorted_batch, isolated: Path) -> None:
    trainer = SparkLogregTrainer(make_app().config, spark=spark)
    trained = trainer.train([sorted_batch], heldout_uri=str(isolated / "heldout"))
    assert INDEX not in trained.features.columns and INDEX not in trained.reference.column_names
    assert set(trained.features.columns) == {"x1", "x2", "c", "flag"}
