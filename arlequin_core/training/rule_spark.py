"""Compile a :class:`~arlequin_core.training.rule.LabelRule` to a pyspark ``Column``.

The compiled column follows the semantics of :mod:`arlequin_core.training.rule`, the
same as :mod:`arlequin_core.training.rule_numpy`: NaN is null (``nanvl``), arithmetic
is in double precision, division by zero is null (``try_divide``, which also keeps
Spark's ANSI mode from raising), and Spark's own ``AND``/``OR``/``IN`` are already
three-valued.
"""

from __future__ import annotations

from typing import Any

from arlequin_core.training.rule import Binary, ColumnRef, InList, IsNull, LabelRule, Literal_, Node, Unary, ValueType


def spark_value_type(dtype: Any) -> ValueType | None:
    """The rule type of a Spark SQL type (None: not usable in a rule)."""
    from pyspark.sql import types as T

    if isinstance(dtype, T.BooleanType):
        return "bool"
    if isinstance(dtype, T.NumericType):
        return "number"
    if isinstance(dtype, (T.StringType, T.CharType, T.VarcharType)):
        return "string"
    return None


def quote(name: str) -> str:
    """``name`` as a Spark column reference (backticks, so dots and spaces are literal)."""
    return "`" + name.replace("`", "``") + "`"


def compile_rule(rule: LabelRule, schema: Any, number: bool = False) -> Any:
    """The rule as a boolean Spark ``Column`` (null where the rule is null).

    :param schema: the DataFrame's ``StructType``.
    :param number: the rule gives a number (a regression target) instead of a condition.
    :raises LabelRuleError: unknown column or type mismatch.
    """
    allow = ("number",) if number else ("bool",)
    types = rule.check({f.name: spark_value_type(f.dataType) for f in schema.fields}, allow=allow)
    floating = {f.name for f in schema.fields if type(f.dataType).__name__ in ("DoubleType", "FloatType")}
    return _Compiler(types, floating).compile(rule.ast)


class _Compiler:
    def __init__(self, types: dict[int, ValueType], floating: set[str]) -> None:
        from pyspark.sql import functions as F

        self.F = F
        self.types = types
        self.floating = floating

    def _null_nan(self, column: Any) -> Any:
        F = self.F
        return F.nanvl(column, F.lit(None).cast("double"))

    def compile(self, node: Node) -> Any:
        """``node`` as a Spark Column."""
        F = self.F
        if isinstance(node, ColumnRef):
            column = F.col(quote(node.name))
            if node.name in self.floating:
                column = self._null_nan(column.cast("double"))
            return column
        if isinstance(node, Literal_):
            return F.lit(float(node.value) if isinstance(node.value, float) else node.value)
        if isinstance(node, Unary):
            operand = self.compile(node.operand)
            return ~operand if node.op == "not" else self._null_nan(-operand.cast("double"))
        if isinstance(node, IsNull):
            operand = self.compile(node.operand)
            return operand.isNotNull() if node.negated else operand.isNull()
        if isinstance(node, InList):
            operand = self.compile(node.operand)
            if self.types[id(node.operand)] == "number":
                member = operand.cast("double").isin([float(v.value) for v in node.values])
            else:
                member = operand.isin([v.value for v in node.values])
            return ~member if node.negated else member
        return self._binary(node)

    def _binary(self, node: Binary) -> Any:
        F = self.F
        left = self.compile(node.left)
        right = self.compile(node.right)
        op = node.op
        if op == "and":
            return left & right
        if op == "or":
            return left | right
        if op in ("+", "-", "*", "/"):
            a, b = left.cast("double"), right.cast("double")
            out = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: F.try_divide(a, b)}[op]()
            return self._null_nan(out)
        return {
            "==": lambda: left == right,
            "!=": lambda: left != right,
            "<": lambda: left < right,
            "<=": lambda: left <= right,
            ">": lambda: left > right,
            ">=": lambda: left >= right,
        }[op]()
