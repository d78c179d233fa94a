"""A label rule labels the same rows the same way on pandas (numpy) and on Spark, nulls included."""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from arlequin_core.training.errors import LabelRuleError
from arlequin_core.training.rule import LabelRule
from arlequin_core.training.rule_numpy import evaluate
from arlequin_core.training.rule_spark import compile_rule

pytestmark = pytest.mark.spark

FIXED_RULES = [
    "amount > 0",
    "amount / n > 1",
    "amount * 0 == 0",
    "amount - amount == 0",
    "amount > 0 and flag",
    "amount > 0 or flag",
    "not flag",
    "country in ['FR', 'ES', '']",
    "country not in ['FR']",
    "amount is null or country is not null",
    "country < 'E' and country >= ''",
    "-amount * 2 + 1 >= -9",
    "n in [1, 4.0, -3]",
    "flag == true",
    "flag != false",
    "n / 0 is null",
    "(amount + n) / (n - 1) <= 0.5",
    "`odd name` > 2",
    "ratio > 1e300",
]


def data(n: int = 400, seed: int = 3) -> pa.Table:
    """Columns with nulls, NaN, infinities, zeros and negative numbers, empty strings."""
    rng = np.random.default_rng(seed)
    amount = rng.choice([0.0, -1.5, 2.0, 7.25, math.inf, -math.inf, math.nan, 1e-12], n)
    amount_mask = rng.random(n) < 0.1
    n_col = rng.integers(-3, 5, n)
    n_mask = rng.random(n) < 0.1
    country = rng.choice(np.array(["FR", "DE", "ES", "", "é", "Zz"], dtype=object), n)
    country_mask = rng.random(n) < 0.1
    flag = rng.random(n) < 0.5
    flag_mask = rng.random(n) < 0.1
    return pa.table(
        {
            "row": pa.array(np.arange(n)),
            "amount": pa.array(amount, mask=amount_mask),
            "n": pa.array(n_col, mask=n_mask),
            "country": pa.array(list(country), mask=country_mask),
            "flag": pa.array(flag, mask=flag_mask),
            "odd name": pa.array(rng.integers(0, 5, n).astype(np.int32)),
            "ratio": pa.array(rng.choice([1e308, 1.0, -1e308], n)),
        }
    )


def random_rule(rng: random.Random, depth: int = 0) -> str:
    """A random well-typed boolean rule over the columns of :func:`data`."""

    def number(d: int) -> str:
        if d > 2 or rng.random() < 0.4:
            return rng.choice(["amount", "n", "`odd name`", "0", "1", "2.5", "-3"])
        op = rng.choice(["+", "-", "*", "/"])
        return f"({number(d + 1)} {op} {number(d + 1)})"

    def condition(d: int) -> str:
        roll = rng.random()
        if d > 2 or roll < 0.45:
            kind = rng.random()
            if kind < 0.5:
                return f"{number(d + 1)} {rng.choice(['==', '!=', '<', '<=', '>', '>='])} {number(d + 1)}"
            if kind < 0.65:
                return f"country {rng.choice(['==', '!=', '<', '>='])} '{rng.choice(['FR', '', 'E', 'é'])}'"
            if kind < 0.75:
                return f"country {rng.choice(['in', 'not in'])} ['FR', 'ES']"
            if kind < 0.85:
                return f"{rng.choice(['amount', 'country', 'flag', 'n'])} is {rng.choice(['', 'not '])}null"
            return rng.choice(["flag", "not flag", "flag == true"])
        if roll < 0.85:
            return f"({condition(d + 1)} {rng.choice(['and', 'or'])} {condition(d + 1)})"
        return f"not ({condition(d + 1)})"

    return condition(depth)


def compare_engines(spark, tmp_path: Path, rules: list[str]) -> None:
    table = data()
    path = tmp_path / "rules.parquet"
    pq.write_table(table, path)
    df = spark.read.parquet(str(path))
    columns = [compile_rule(LabelRule(text), df.schema).alias(f"r{i}") for i, text in enumerate(rules)]
    rows = df.select("row", *columns).orderBy("row").collect()
    for i, text in enumerate(rules):
        values, nulls = evaluate(LabelRule(text), table)
        expected = [None if m else bool(v) for v, m in zip(values, nulls, strict=True)]
        got = [row[f"r{i}"] for row in rows]
        assert got == expected, f"engines disagree on {text!r}"


def test_fixed_rules_agree_on_pandas_and_spark(spark, tmp_path: Path) -> None:
    compare_engines(spark, tmp_path, FIXED_RULES)


def test_random_rules_agree_on_pandas_and_spark(spark, tmp_path: Path) -> None:
    rng = random.Random(7)
    compare_engines(spark, tmp_path, [random_rule(rng) for _ in range(150)])


def test_spark_compile_reports_unknown_columns_with_a_caret(spark, tmp_path: Path) -> None:
    path = tmp_path / "rules.parquet"
    pq.write_table(data(20), path)
    df = spark.read.parquet(str(path))
    with pytest.raises(LabelRuleError) as info:
        compile_rule(LabelRule("amount > 1 and contry == 'FR'"), df.schema)
    assert info.value.position == 15
    assert "unknown column 'contry'" in str(info.value)
