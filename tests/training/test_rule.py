"""The label rule language: parsing, errors that point at the place, and numpy semantics."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from arlequin_core.training.errors import LabelRuleError
from arlequin_core.training.rule import LabelRule, tokenize
from arlequin_core.training.rule_numpy import evaluate

TYPES = {"amount": "number", "n": "number", "country": "string", "active": "bool", "when": None}


def error_of(text: str, types: dict | None = TYPES) -> LabelRuleError:
    with pytest.raises(LabelRuleError) as info:
        rule = LabelRule(text)
        if types is not None:
            rule.check(types)
    return info.value


def caret_line(err: LabelRuleError) -> str:
    return str(err).splitlines()[-1].strip("\n")


@pytest.mark.parametrize(
    ("text", "position", "width", "words"),
    [
        ("amount > ", 9, 1, "ends too early"),
        ("amount >> 3", 8, 1, "expected a value"),
        ("amount > 3 < 4", 11, 1, "chained comparisons"),
        ("amount ? 3", 7, 1, "unexpected character '?'"),
        ("country == 'FR", 11, 3, "unclosed ' quote"),
        ("(amount > 3", 11, 1, "expected ')'"),
        ("country in ['FR' 'DE']", 17, 4, "expected ',' or ']'"),
        ("country in 'FR'", 11, 4, "expected '['"),
        ("amount is 3", 10, 1, "'null' after 'is'"),
        ("amount == null", 10, 4, "use 'x is null'"),
        ("", 0, 1, "empty"),
        ("amount > 3 country", 11, 7, "unexpected 'country'"),
    ],
)
def test_syntax_errors_point_at_the_place(text: str, position: int, width: int, words: str) -> None:
    err = error_of(text, types=None)
    assert err.position == position
    assert err.width == width
    assert words in err.problem
    assert f"at column {position + 1}" in str(err)
    lines = str(err).splitlines()
    assert lines[-2] == "    " + text
    assert lines[-1] == "    " + " " * position + "^" * width


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("amout > 3", 0, "unknown column 'amout' (known columns: active, amount, country, n, when)"),
        ("amount > 'x'", 7, "cannot compare a number with a string"),
        ("country + 1 > 2", 8, "'+' needs numbers"),
        ("amount and active", 0, "'and' needs conditions on both sides; this is a number"),
        ("amount + 1", 0, "must be a condition"),
        ("active < true", 7, "'<' needs numbers or strings, got bools"),
        ("country in ['FR', 3]", 18, "list value is a number but the left side is a string"),
        ("not amount", 0, "'not' needs a bool, got a number"),
        ("when > 3", 0, "type rules cannot use"),
    ],
)
def test_type_errors_point_at_the_place(text: str, position: int, words: str) -> None:
    err = error_of(text)
    assert err.position == position
    assert words in err.problem


@pytest.mark.parametrize(
    ("text", "position", "fixed"),
    [
        ("worst area > 800", 0, "`worst area` > 800"),
        ("mean worst area > 8 and active", 0, "`mean worst area` > 8 and active"),
        ("(worst area) > 800", 1, "(`worst area`) > 800"),
        ("active or worst area > 1", 10, "active or `worst area` > 1"),
    ],
)
def test_a_name_with_spaces_without_backticks_says_how_to_quote_it(text: str, position: int, fixed: str) -> None:
    err = error_of(text, types=None)
    assert err.position == position
    assert f"a column name with spaces (or other characters) is written in backticks: {fixed}" in err.problem
    LabelRule(fixed).check({**TYPES, "worst area": "number", "mean worst area": "number"})  # the fix parses


def test_an_unknown_piece_of_a_name_needing_backticks_suggests_the_quoted_column() -> None:
    types = {**TYPES, "worst area": "number", "area-km": "number"}
    assert error_of("worst > 800", types).problem.endswith(
        "a name with spaces or other characters is written in backticks: `worst area`"
    )
    assert error_of("area-km > 1", types).problem.endswith("backticks: `area-km`, `worst area`")
    assert "backticks" not in error_of("amout > 3", types).problem  # nothing like it: no hint


def test_tokens_keywords_are_case_insensitive_and_names_can_be_quoted() -> None:
    kinds = [(t.kind, t.value) for t in tokenize("A AND `my col` In [1, -2.5e1] OR x <> 'it\\'s'")]
    assert kinds == [
        ("name", "A"),
        ("keyword", "and"),
        ("name", "my col"),
        ("keyword", "in"),
        ("op", "["),
        ("number", 1),
        ("op", ","),
        ("op", "-"),
        ("number", 25.0),
        ("op", "]"),
        ("keyword", "or"),
        ("name", "x"),
        ("op", "!="),
        ("string", "it's"),
        ("end", None),
    ]


def test_rule_lists_the_columns_it_reads() -> None:
    assert LabelRule("amount > 3 and (country in ['FR'] or amount < n)").columns == ("amount", "country", "n")


def test_the_rule_is_never_evaluated_as_python() -> None:
    assert "unexpected character '.'" in error_of("__import__('os').system('true')", types=None).problem
    assert "unexpected '('" in error_of("len(country) > 2", types=None).problem


def table() -> pa.Table:
    return pa.table(
        {
            "amount": pa.array([1.0, 5.0, None, math.nan, 0.0, -2.0, math.inf]),
            "n": pa.array([1, 0, 2, None, 0, 4, 1], pa.int64()),
            "country": pa.array(["FR", "DE", None, "FR", "", "ES", "b"]),
            "active": pa.array([True, False, None, True, False, None, True]),
        }
    )


def run(text: str) -> list[bool | None]:
    values, nulls = evaluate(LabelRule(text), table())
    return [None if m else bool(v) for v, m in zip(values, nulls, strict=True)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # NaN is null, comparisons with null are null.
        ("amount > 0", [True, True, None, None, False, False, True]),
        # Division by zero is null; inf / 1 stays inf.
        ("amount / n > 1", [False, None, None, None, None, False, True]),
        # Kleene logic: null and false is false, null or true is true.
        ("amount > 0 and active", [True, False, None, None, False, False, True]),
        ("amount > 0 or active", [True, True, None, True, False, None, True]),
        ("not active", [False, True, None, False, True, None, False]),
        ("country in ['FR', 'ES']", [True, False, None, True, False, True, False]),
        ("country not in ['FR', 'ES']", [False, True, None, False, True, False, True]),
        ("amount is null", [False, False, True, True, False, False, False]),
        ("country is not null and country < 'E'", [False, True, False, False, True, False, False]),
        ("-amount * 2 + 1 >= -9", [True, True, None, None, True, True, False]),
        ("n in [1, 4.0]", [True, False, False, None, False, True, True]),
        ("active == true", [True, False, None, True, False, None, True]),
        ("1 < 2", [True] * 7),
    ],
)
def test_numpy_semantics_by_hand(text: str, expected: list[bool | None]) -> None:
    assert run(text) == expected


def test_pandas_and_arrow_inputs_give_the_same_labels() -> None:
    frame = table().to_pandas()
    assert isinstance(frame, pd.DataFrame)
    rule = LabelRule("amount > 0 and country in ['FR', 'b'] or n == 4")
    a_values, a_nulls = evaluate(rule, table())
    p_values, p_nulls = evaluate(rule, frame)
    np.testing.assert_array_equal(a_values, p_values)
    np.testing.assert_array_equal(a_nulls, p_nulls)


def test_int64_comparisons_are_exact() -> None:
    big = 2**53 + 1
    values, nulls = evaluate(LabelRule(f"n == {big}"), pa.table({"n": pa.array([big, big - 1], pa.int64())}))
    assert values.tolist() == [True, False]
    assert not nulls.any()
