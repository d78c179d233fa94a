"""The traps a new user's own pandas-written Parquet falls into, through ``arlequin detect``.

The data is scikit-learn's bundled breast-cancer set with a string ``patient_id`` and a
``visit_date`` added, written by pandas after ``sort_values`` (so its index is not a
RangeIndex and ``to_parquet`` stores it as the column ``__index_level_0__``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from arlequin_core.cli import main
from arlequin_core.config import ArlequinConfig
from arlequin_core.drift.kinds import ID_LIKE, feature_kinds
from arlequin_core.errors import EXIT_OK
from arlequin_core.io import index_columns, read_table

INDEX = "__index_level_0__"


@pytest.fixture
def patients() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    frame.insert(0, "patient_id", [f"P{100000 + i}" for i in range(len(frame))])
    frame.insert(1, "visit_date", pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(len(frame)), unit="D"))
    return frame.sample(frac=1.0, random_state=0)


@pytest.fixture
def written(patients: pd.DataFrame) -> tuple[str, str]:
    """``train.parquet`` and ``today.parquet``, each written by pandas with its default index=True."""
    # Microsecond timestamps: Spark reads no nanosecond ones (its error says so, tested below).
    us = {"coerce_timestamps": "us", "allow_truncated_timestamps": True}
    patients.iloc[:340].sort_values("visit_date").to_parquet("train.parquet", **us)
    patients.iloc[340:].sort_values("mean radius").to_parquet("today.parquet", **us)
    assert INDEX in pq.read_schema("train.parquet").names  # the trap is really there
    return "train.parquet", "today.parquet"


def detect(*args: str, config: str = '[data]\nlabel = "target"\n'):
    Path("arlequin.toml").write_text(config)
    return CliRunner().invoke(main, ["detect", *args], catch_exceptions=False)


@pytest.mark.parametrize("engine", ["memory", "arrow", "spark"])
def test_the_pandas_index_is_never_a_column_on_any_engine(written, engine, request) -> None:
    if engine == "spark":
        request.getfixturevalue("spark")
    result = detect("-r", written[0], "-c", written[1], "--engine", engine, "--json", "r.json")
    assert result.exit_code == EXIT_OK, result.output
    report = json.loads(Path("r.json").read_text())
    assert report["engine"] == engine
    assert INDEX not in [c["column"] for c in report["columns"]]
    assert INDEX not in report["skipped"] and INDEX not in report["extra_columns"]
    assert [n for n in report["notes"] if INDEX in n] == [
        f"column {INDEX!r}: the pandas index (written by DataFrame.to_parquet with index=True), not data: "
        "not read; reset_index() before writing to keep it as a column"
    ]
    assert result.output.count(f"note: column {INDEX!r}") == 1


def test_a_named_index_is_dropped_unless_config_names_it(patients: pd.DataFrame) -> None:
    patients.set_index("patient_id").to_parquet("named.parquet")
    assert index_columns(pq.read_schema("named.parquet")) == ["patient_id"]
    assert "patient_id" not in read_table("named.parquet").column_names
    patients.set_index("visit_date").to_parquet("dated.parquet")
    assert "visit_date" in read_table("dated.parquet", keep_index={"visit_date"}).column_names
    assert ArlequinConfig.model_validate({"data": {"timestamp": "visit_date"}}).data.roles() == {"visit_date"}
    # Asked for by name, an index column is read like any other.
    assert read_table("named.parquet", columns=["patient_id"]).column_names == ["patient_id"]
    # A RangeIndex is metadata only: nothing to drop, and a file without pandas metadata is left alone.
    patients.reset_index(drop=True).to_parquet("range.parquet")
    assert index_columns(pq.read_schema("range.parquet")) == []
    pq.write_table(pa.table({INDEX: [1, 2]}), "plain.parquet")
    assert read_table("plain.parquet").column_names == [INDEX]


def test_an_id_column_is_not_tested_and_says_so_in_the_report_and_the_cli(written) -> None:
    result = detect("-r", written[0], "-c", written[1], "--json", "r.json", "--html", "r.html")
    assert result.exit_code == EXIT_OK, result.output
    report = json.loads(Path("r.json").read_text())
    assert "patient_id" not in [c["column"] for c in report["columns"]]
    assert report["skipped"]["patient_id"].startswith(f"{ID_LIKE} (340 distinct values in 340 rows")
    assert [n for n in report["notes"] if "patient_id" in n] == [
        f"column 'patient_id' is not tested: {report['skipped']['patient_id'].removeprefix('not tested: ')}"
    ]
    assert "note: column 'patient_id' is not tested: looks like an identifier" in result.output
    assert "looks like an identifier" in Path("r.html").read_text()
    assert report["skipped"]["visit_date"].startswith("not tested: timestamp[")


def test_an_id_forced_categorical_is_tested_and_its_unseen_values_are_noted(written) -> None:
    config = '[data]\nlabel = "target"\ncategorical = ["patient_id"]\n'
    result = detect("-r", written[0], "-c", written[1], "--json", "r.json", config=config)
    report = json.loads(Path("r.json").read_text())
    assert "patient_id" in [c["column"] for c in report["columns"]]
    assert (
        "column 'patient_id': 100% of the batch's values are categories the reference never had: an identifier "
        "or a renamed code? list it in [data] exclude if it is an id"
    ) in report["notes"], result.output


def test_the_id_like_rule_leaves_categories_and_measurements_alone() -> None:
    rng = np.random.default_rng(0)
    n = 2000
    table = pa.table(
        {
            "city": rng.choice([f"city{i}" for i in range(300)], n),  # 300 categories, repeated: a feature
            "seq": np.arange(10_000, 10_000 + n),  # a sequence number
            "sampled": rng.choice(3333, n, replace=False),  # 60 % of a sequence's rows, shuffled
            "age": rng.integers(18, 90, n),  # repeats: a measurement
            "cents": rng.integers(0, 10_000_000, n),  # all distinct, but sparse: an amount, not an id
            "code": [f"C{i}" for i in range(n)],
            "few": [f"t{i}" for i in range(15)] + ["t0"] * (n - 15),
        }
    )
    kinds, skipped = feature_kinds(table, ArlequinConfig())
    assert kinds == {"city": "categorical", "age": "numeric", "cents": "numeric", "few": "categorical"}
    assert sorted(skipped) == ["code", "sampled", "seq"]
    assert all(why.startswith(ID_LIKE) for why in skipped.values())
    off = ArlequinConfig.model_validate({"drift": {"id_like_share": 0}})
    assert feature_kinds(table, off)[0] == {
        "city": "categorical",
        "seq": "numeric",
        "sampled": "numeric",
        "age": "numeric",
        "cents": "numeric",
        "code": "categorical",
        "few": "categorical",
    }


def test_spark_refusing_nanosecond_timestamps_says_how_to_write_them(patients: pd.DataFrame, spark) -> None:
    patients.iloc[:340].to_parquet("train.parquet")
    patients.iloc[340:].to_parquet("today.parquet")  # pandas' default: nanoseconds
    result = detect("-r", "train.parquet", "-c", "today.parquet", "--engine", "spark")
    assert result.exit_code == 2, result.output
    assert "today.parquet: Spark cannot read the batch" in result.output
    assert "coerce_timestamps='us'" in result.output
