"""Labels from a column or a rule; features leave out what makes the label."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from arlequin_core.config import ArlequinConfig
from arlequin_core.errors import ConfigError, InputError
from arlequin_core.training.errors import LabelRuleError, TrainingError
from arlequin_core.training.features import infer_features
from arlequin_core.training.labels import LabelSpec


def spec(**data) -> LabelSpec:
    return LabelSpec.from_config(ArlequinConfig.model_validate(data))


def test_label_needs_exactly_one_source() -> None:
    with pytest.raises(ConfigError, match=r"set \[data\] label"):
        spec()
    with pytest.raises(ConfigError, match="not both"):
        spec(data={"label": "y"}, training={"label_rule": "x > 1"})


def test_a_bad_rule_in_config_fails_before_any_work_with_a_caret() -> None:
    with pytest.raises(LabelRuleError, match=r"label_rule, at column 4: expected a value") as info:
        spec(training={"label_rule": "x >> 1"})
    assert str(info.value).splitlines()[-2:] == ["    x >> 1", "       ^"]


@pytest.mark.parametrize(
    "values",
    [[0, 1, None, 1], [0.0, 1.0, float("nan"), 1.0], [False, True, None, True]],
)
def test_label_column_accepts_01_and_bool_and_counts_missing(values) -> None:
    y, missing = spec(data={"label": "y"}).labels(pd.DataFrame({"y": values}))
    assert y.tolist() == [0, 1, 0, 1]
    assert missing.tolist() == [False, False, True, False]


def test_label_column_that_is_not_binary_names_column_and_values() -> None:
    with pytest.raises(InputError, match=r"b\.parquet: label column 'y' must hold 0/1 or true/false only; found 2\.0"):
        spec(data={"label": "y"}).labels(pd.DataFrame({"y": [0, 1, 2]}), where="b.parquet")
    with pytest.raises(InputError, match="found 'yes', 'no'"):
        spec(data={"label": "y"}).labels(pa.table({"y": ["yes", "no", None]}))


def test_missing_label_column_lists_the_columns() -> None:
    with pytest.raises(InputError, match=r"label column 'y' .* is missing; columns: a, b"):
        spec(data={"label": "y"}).labels(pd.DataFrame({"a": [1], "b": [2]}))


def test_rule_labels_and_null_rows() -> None:
    s = spec(training={"label_rule": "amount > 10 or country == 'FR'"})
    frame = pd.DataFrame({"amount": [20.0, 1.0, np.nan, np.nan], "country": ["DE", "DE", "FR", None]})
    y, missing = s.labels(frame)
    assert y.tolist() == [1, 0, 1, 0]
    assert missing.tolist() == [False, False, False, True]
    assert s.source_columns == ("amount", "country")
    assert s.describe() == "rule:amount > 10 or country == 'FR'"


def test_features_leave_out_label_rule_inputs_ids_and_timestamps() -> None:
    n = 100
    rng = np.random.default_rng(0)
    table = pa.table(
        {
            "id": np.arange(n),
            "ts": pa.array(pd.date_range("2026-01-01", periods=n, freq="h")),
            "amount": rng.normal(size=n),
            "x": rng.normal(size=n),
            "code": rng.integers(0, 3, n),
            "c": rng.choice(["a", "b"], n),
            "flag": rng.random(n) < 0.5,
        }
    )
    config = ArlequinConfig.model_validate(
        {"data": {"exclude": ["id"], "timestamp": "ts"}, "training": {"label_rule": "amount > 0"}}
    )
    features = infer_features(table, config, ("amount",))
    assert features.numeric == ("x",)
    # Few distinct integers are categorical, as the drift detectors decide.
    assert features.categorical == ("code", "c", "flag")
    assert "label_rule" in features.skipped["amount"]
    assert set(features.skipped) == {"id", "ts", "amount"}


def test_no_feature_left_is_a_clear_error() -> None:
    config = ArlequinConfig.model_validate({"data": {"label": "y"}})
    with pytest.raises(TrainingError, match="no feature columns"):
        infer_features(pa.table({"y": [0, 1]}), config)


def test_forced_kind_on_missing_column_names_the_key() -> None:
    config = ArlequinConfig.model_validate({"data": {"label": "y", "numeric": ["nope"]}})
    with pytest.raises(ConfigError, match=r"data\.numeric: no column 'nope'"):
        infer_features(pa.table({"y": [0, 1], "x": [1.0, 2.0]}), config)
