"""Where the label comes from: a column (``[data] label``) or a rule (``[training] label_rule``).

Classification: the label is 1 (positive) or 0. A label column may be boolean or
numeric with values 0 and 1 only; anything else is an error naming the column and
showing bad values. Regression: the label is a number (a numeric column, or a rule
that gives a number, e.g. ``revenue - cost``).

The task is ``[training] task`` when set, else inferred from the label
(:meth:`LabelSpec.infer_task`): a rule that gives a condition, a boolean column, or
a numeric column whose non-missing values are all 0 or 1 is classification; a rule
that gives a number, or any other numeric column, is regression.

Rows whose label is missing (a null or NaN in the column, or a rule that is null)
are left out of training and scoring and counted. Columns a rule reads are never
features: they are the outcome the label is made from, and would leak it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from arlequin_core.config import ArlequinConfig
from arlequin_core.errors import ConfigError, InputError
from arlequin_core.training.rule import LabelRule

#: Name of the label column the trainers add to their frames (never a data column).
LABEL = "__arlequin_label__"
TASKS = ("classification", "regression")


@dataclass(frozen=True)
class LabelSpec:
    """The label's source: exactly one of ``column`` or ``rule``."""

    column: str | None = None
    rule: LabelRule | None = None

    @classmethod
    def from_config(cls, config: ArlequinConfig) -> LabelSpec:
        """Read ``[data] label`` / ``[training] label_rule``.

        :raises ConfigError: both or neither set.
        :raises LabelRuleError: the rule does not parse (caret under the place).
        """
        column, text = config.data.label, config.training.label_rule
        if column and text:
            raise ConfigError(
                "set either [data] label (a label column) or [training] label_rule (a rule), not both: "
                f"label = {column!r}, label_rule = {text!r}"
            )
        if text:
            return cls(rule=LabelRule(text))
        if column:
            return cls(column=column)
        raise ConfigError(
            "training needs a label: set [data] label to the label column, or [training] label_rule "
            "to a rule such as \"amount > 100 and country in ['FR']\" (see docs/training.md)"
        )

    @property
    def source_columns(self) -> tuple[str, ...]:
        """Data columns the label is made from (excluded from the features)."""
        if self.rule is not None:
            return self.rule.columns
        return (self.column,) if self.column else ()

    def describe(self) -> str:
        """``column:NAME`` or ``rule:TEXT`` (logged as an MLflow param)."""
        return f"rule:{self.rule.text}" if self.rule is not None else f"column:{self.column}"

    # ------------------------------------------------------------------ the task
    def task(self, data: Any, configured: str | None, where: str = "data") -> str:
        """``configured`` (``[training] task``) when set, else :meth:`infer_task` on ``data``."""
        return configured if configured is not None else self.infer_task(data, where)

    def infer_task(self, data: Any, where: str = "data") -> str:
        """``classification`` or ``regression`` from the label of a pyarrow Table or pandas DataFrame.

        See the module docstring for the rule. :raises InputError: the label column is
        absent, or neither boolean nor numeric.
        """
        if self.rule is not None:
            from arlequin_core.training.rule_numpy import column_types

            kind = self.rule.result_type(column_types(data, self.rule.columns))
            return "regression" if kind == "number" else "classification"
        raw = self._raw(data, where)
        if pa.types.is_boolean(raw.type) or pa.types.is_null(raw.type):
            return "classification"
        if not _is_numeric(raw.type):
            raise InputError(where, _not_numeric(self.column, raw.type))
        values = raw.cast(pa.float64()).drop_null().to_numpy(zero_copy_only=False)
        values = values[~np.isnan(values)]
        return "classification" if np.isin(values, (0.0, 1.0)).all() else "regression"

    def targets(self, data: Any, task: str, where: str = "data") -> tuple[np.ndarray, np.ndarray]:
        """The label of every row for ``task``: :meth:`labels` (classification) or :meth:`numbers`."""
        return self.numbers(data, where) if task == "regression" else self.labels(data, where)

    def numbers(self, data: Any, where: str = "data") -> tuple[np.ndarray, np.ndarray]:
        """The numeric label (regression target) of every row of a pyarrow Table or pandas DataFrame.

        :returns: ``(values, missing)``: float64 (0 where missing), and True where the row has none.
        :raises InputError: the label column is absent or not numeric.
        :raises LabelRuleError: the rule does not give a number.
        """
        if self.rule is not None:
            from arlequin_core.training.rule_numpy import evaluate_number

            return evaluate_number(self.rule, data)
        raw = self._raw(data, where)
        if not _is_numeric(raw.type) and not pa.types.is_null(raw.type):
            raise InputError(where, _not_numeric(self.column, raw.type))
        values = pc.fill_null(raw.cast(pa.float64()), np.nan).to_numpy(zero_copy_only=False)
        missing = ~np.isfinite(values)
        return np.where(missing, 0.0, values), missing

    def _raw(self, data: Any, where: str) -> Any:
        assert self.column is not None
        names = data.column_names if isinstance(data, pa.Table) else list(data.columns)
        if self.column not in names:
            raise InputError(
                where, f"label column {self.column!r} ([data] label) is missing; columns: {', '.join(map(str, names))}"
            )
        raw = data.column(self.column) if isinstance(data, pa.Table) else pa.Array.from_pandas(data[self.column])
        if isinstance(raw, pa.ChunkedArray):
            raw = raw.combine_chunks()
        if pa.types.is_dictionary(raw.type):
            raw = raw.cast(raw.type.value_type)
        return raw

    # ------------------------------------------------------------------ pandas / arrow
    def labels(self, data: Any, where: str = "data") -> tuple[np.ndarray, np.ndarray]:
        """The label of every row of a pyarrow Table or pandas DataFrame.

        :param where: names the data in errors (a URI, "held-out data").
        :returns: ``(labels, missing)``: int8 array of 0/1 (0 where missing) and a
            bool array, True where the row has no label.
        :raises InputError: the label column is absent or not binary.
        """
        if self.rule is not None:
            from arlequin_core.training.rule_numpy import evaluate

            values, missing = evaluate(self.rule, data)
            return values.astype(np.int8), missing
        assert self.column is not None
        return _binary_from_arrow(self._raw(data, where), self.column, where)

    # ------------------------------------------------------------------ spark
    def spark_task(self, df: Any, configured: str | None, where: str = "data") -> str:
        """:meth:`task` for a Spark DataFrame (a label column's 0/1 check is one Spark job)."""
        if configured is not None:
            return configured
        from pyspark.sql import functions as F

        from arlequin_core.training.rule_spark import quote, spark_value_type

        if self.rule is not None:
            types = {f.name: spark_value_type(f.dataType) for f in df.schema.fields}
            return "regression" if self.rule.result_type(types) == "number" else "classification"
        assert self.column is not None
        if self.column not in df.columns:
            raise InputError(
                where, f"label column {self.column!r} ([data] label) is missing; columns: {', '.join(df.columns)}"
            )
        kind = spark_value_type(df.schema[self.column].dataType)
        if kind == "bool":
            return "classification"
        if kind != "number":
            raise InputError(where, _not_numeric(self.column, df.schema[self.column].dataType.simpleString()))
        value = F.col(quote(self.column)).cast("double")
        other = df.filter(value.isNotNull() & ~F.isnan(value) & ~value.isin(0.0, 1.0)).limit(1).count()
        return "regression" if other else "classification"

    def spark_target(self, df: Any, task: str, where: str = "data") -> Any:
        """The label for ``task`` as a double Spark column (null where missing)."""
        if task != "regression":
            return self.spark_label(df, where)
        from pyspark.sql import functions as F

        from arlequin_core.training.rule_spark import compile_rule, quote, spark_value_type

        if self.rule is not None:
            return F.nanvl(compile_rule(self.rule, df.schema, number=True).cast("double"), F.lit(None).cast("double"))
        assert self.column is not None
        if self.column not in df.columns:
            raise InputError(
                where, f"label column {self.column!r} ([data] label) is missing; columns: {', '.join(df.columns)}"
            )
        dtype = df.schema[self.column].dataType
        if spark_value_type(dtype) != "number":
            raise InputError(where, _not_numeric(self.column, dtype.simpleString()))
        return F.nanvl(F.col(quote(self.column)).cast("double"), F.lit(None).cast("double"))

    def spark_label(self, df: Any, where: str = "data") -> Any:
        """The label as a double Spark column (null where missing).

        :raises InputError: the label column is absent or not binary (checked with one Spark job).
        """
        from pyspark.sql import functions as F

        from arlequin_core.training.rule_spark import compile_rule, quote

        if self.rule is not None:
            return compile_rule(self.rule, df.schema).cast("double")
        assert self.column is not None
        if self.column not in df.columns:
            raise InputError(
                where, f"label column {self.column!r} ([data] label) is missing; columns: {', '.join(df.columns)}"
            )
        field = df.schema[self.column]
        column = F.col(quote(self.column))
        kind = type(field.dataType).__name__
        if kind == "BooleanType":
            return column.cast("double")
        if kind.endswith(
            ("IntegerType", "LongType", "ShortType", "ByteType", "DoubleType", "FloatType", "DecimalType")
        ):
            value = column.cast("double")
            bad = df.filter(value.isNotNull() & ~F.isnan(value) & ~value.isin(0.0, 1.0)).select(column).limit(5)
            examples = [row[0] for row in bad.collect()]
            if examples:
                raise InputError(where, _not_binary(self.column, examples))
            return F.nanvl(value, F.lit(None).cast("double"))
        raise InputError(
            where,
            f"label column {self.column!r} has type {field.dataType.simpleString()}; "
            "it must be boolean or numeric 0/1 (or set [training] label_rule to derive it)",
        )


def _is_numeric(t: Any) -> bool:
    return bool(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t))


def _not_numeric(column: str | None, type_: Any) -> str:
    return (
        f"label column {column!r} has type {type_}; it must be boolean or numeric "
        "(or set [training] label_rule to derive it)"
    )


def _not_binary(column: str, examples: list[Any]) -> str:
    shown = ", ".join(repr(x) for x in examples)
    return (
        f"label column {column!r} must hold 0/1 or true/false only; found {shown}. "
        "Map it with [training] label_rule instead, e.g. \"status == 'churned'\""
    )


def _binary_from_arrow(raw: Any, column: str, where: str) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(raw, pa.ChunkedArray):
        raw = raw.combine_chunks()
    if pa.types.is_dictionary(raw.type):
        raw = raw.cast(raw.type.value_type)
    missing = raw.is_null().to_numpy(zero_copy_only=False)
    if pa.types.is_boolean(raw.type):
        return pc.fill_null(raw, False).to_numpy(zero_copy_only=False).astype(np.int8), missing
    if pa.types.is_integer(raw.type) or pa.types.is_floating(raw.type) or pa.types.is_decimal(raw.type):
        values = pc.fill_null(raw.cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False)
        missing = missing | np.isnan(values)
        bad = ~missing & (values != 0) & (values != 1)
        if bad.any():
            examples = list(dict.fromkeys(values[bad][:100].tolist()))[:5]
            raise InputError(where, _not_binary(column, examples))
        return np.where(missing, 0, values).astype(np.int8), missing
    if pa.types.is_null(raw.type):
        return np.zeros(len(raw), dtype=np.int8), np.ones(len(raw), dtype=bool)
    examples = list(dict.fromkeys(x for x in raw.drop_null()[:100].to_pylist()))[:5]
    raise InputError(where, _not_binary(column, examples))
