"""Evaluate a :class:`~arlequin_core.training.rule.LabelRule` on Arrow or pandas data with numpy.

Every sub-expression is a pair of arrays ``(values, nulls)`` of the table's length
(or scalars for literals, broadcast by numpy), following the semantics documented in
:mod:`arlequin_core.training.rule`; :mod:`arlequin_core.training.rule_spark` compiles
the same AST to Spark with the same results.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from arlequin_core.errors import InputError
from arlequin_core.training.rule import Binary, ColumnRef, InList, IsNull, LabelRule, Literal_, Node, Unary, ValueType

Vec = tuple[Any, Any]  # (values, nulls): numpy arrays or scalars


def arrow_value_type(dtype: pa.DataType) -> ValueType | None:
    """The rule type of an Arrow column type (None: not usable in a rule)."""
    if pa.types.is_dictionary(dtype):
        dtype = dtype.value_type
    if pa.types.is_boolean(dtype):
        return "bool"
    if pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return "number"
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype) or pa.types.is_string_view(dtype):
        return "string"
    return None


def _as_table(data: Any, columns: tuple[str, ...]) -> pa.Table:
    if isinstance(data, pa.Table):
        return data
    arrays = {}
    for name in columns:
        if name not in data.columns:
            continue  # the type check reports unknown columns with the caret
        try:
            arrays[name] = pa.Array.from_pandas(data[name])
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise InputError(f"column {name!r}", f"mixed or unsupported values for a label rule: {exc}") from None
    # A rule without columns (``1 > 0``) still needs the row count.
    return pa.table(arrays) if arrays else pa.table({"__rows": pa.nulls(len(data))})


def column_types(data: Any, only: tuple[str, ...] | None = None) -> dict[str, ValueType | None]:
    """Rule types of the columns of a pyarrow Table or pandas DataFrame.

    :param only: compute types for these columns only (the others map to None);
        every column name is still listed, so an unknown-column error can name them.
    """
    if isinstance(data, pa.Table):
        return {f.name: arrow_value_type(f.type) for f in data.schema}
    types: dict[str, ValueType | None] = {}
    for name in data.columns:
        if only is not None and name not in only:
            types[str(name)] = None
            continue
        try:
            types[str(name)] = arrow_value_type(pa.Array.from_pandas(data[name]).type)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            types[str(name)] = None
    return types


def evaluate(rule: LabelRule, data: Any) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate ``rule`` on every row of ``data``.

    :param data: a pyarrow Table or a pandas DataFrame.
    :returns: ``(values, nulls)``, two bool arrays of length ``len(data)``; where
        ``nulls`` is True the rule is null (a missing input) and ``values`` is False.
    :raises LabelRuleError: unknown column or type mismatch (checked before evaluating).
    """
    types = rule.check(column_types(data, rule.columns))
    table = _as_table(data, rule.columns)
    n = table.num_rows
    values, nulls = _Evaluator(table, types).eval(rule.ast)
    nulls = np.broadcast_to(np.asarray(nulls, dtype=bool), (n,)).copy()
    values = np.broadcast_to(np.asarray(values, dtype=bool), (n,)) & ~nulls
    return values, nulls


def evaluate_number(rule: LabelRule, data: Any) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate a rule that gives a number (a regression target) on every row of ``data``.

    :returns: ``(values, nulls)``: float64 values (0.0 where null) and a bool array.
    :raises LabelRuleError: unknown column, type mismatch, or the rule is not a number.
    """
    types = rule.check(column_types(data, rule.columns), allow=("number",))
    table = _as_table(data, rule.columns)
    n = table.num_rows
    values, nulls = _Evaluator(table, types).eval(rule.ast)
    values = np.broadcast_to(np.asarray(values, dtype=np.float64), (n,))
    nulls = np.broadcast_to(np.asarray(nulls, dtype=bool), (n,)) | ~np.isfinite(values)
    return np.where(nulls, 0.0, values), nulls


class _Evaluator:
    def __init__(self, table: pa.Table, types: dict[int, ValueType]) -> None:
        self.table = table
        self.types = types

    def eval(self, node: Node) -> Vec:
        """``(values, nulls)`` of ``node``."""
        if isinstance(node, ColumnRef):
            return self._column(node)
        if isinstance(node, Literal_):
            value = float(node.value) if node.type == "number" and isinstance(node.value, float) else node.value
            return value, False
        if isinstance(node, Unary):
            v, m = self.eval(node.operand)
            if node.op == "not":
                return ~np.asarray(v, dtype=bool), m
            return _nan_to_null(-np.asarray(v, dtype=np.float64), m)
        if isinstance(node, IsNull):
            _, m = self.eval(node.operand)
            m = np.asarray(m, dtype=bool)
            return (~m if node.negated else m), False
        if isinstance(node, InList):
            return self._in(node)
        return self._binary(node)

    def _column(self, node: ColumnRef) -> Vec:
        arr = self.table.column(node.name)
        if pa.types.is_dictionary(arr.type):
            arr = arr.cast(arr.type.value_type)
        nulls = arr.is_null().to_numpy(zero_copy_only=False)
        kind = self.types[id(node)]
        if kind == "number":
            if pa.types.is_decimal(arr.type):
                arr = arr.cast(pa.float64())
            if pa.types.is_floating(arr.type):
                values = pc.fill_null(arr.cast(pa.float64()), np.nan).to_numpy(zero_copy_only=False)
                return values, nulls | np.isnan(values)
            return pc.fill_null(arr.cast(pa.int64()), 0).to_numpy(zero_copy_only=False), nulls
        if kind == "string":
            return pc.fill_null(arr.cast(pa.string()), "").to_numpy(zero_copy_only=False), nulls
        return pc.fill_null(arr, False).to_numpy(zero_copy_only=False), nulls

    def _in(self, node: InList) -> Vec:
        v, m = self.eval(node.operand)
        if self.types[id(node.operand)] == "number":
            member = np.isin(np.asarray(v, dtype=np.float64), [float(x.value) for x in node.values])
        else:
            member = np.isin(np.asarray(v, dtype=object), np.array([x.value for x in node.values], dtype=object))
        return (~member if node.negated else member), m

    def _binary(self, node: Binary) -> Vec:
        lv, lm = self.eval(node.left)
        rv, rm = self.eval(node.right)
        op = node.op
        if op == "and":
            lf = ~np.asarray(lv, dtype=bool) & ~np.asarray(lm, dtype=bool)
            rf = ~np.asarray(rv, dtype=bool) & ~np.asarray(rm, dtype=bool)
            false = lf | rf
            nulls = ~false & (np.asarray(lm, dtype=bool) | np.asarray(rm, dtype=bool))
            return ~false & ~nulls, nulls
        if op == "or":
            lt = np.asarray(lv, dtype=bool) & ~np.asarray(lm, dtype=bool)
            rt = np.asarray(rv, dtype=bool) & ~np.asarray(rm, dtype=bool)
            true = lt | rt
            nulls = ~true & (np.asarray(lm, dtype=bool) | np.asarray(rm, dtype=bool))
            return true, nulls
        nulls = np.logical_or(lm, rm)
        if op in ("+", "-", "*", "/"):
            a = np.asarray(lv, dtype=np.float64)
            b = np.asarray(rv, dtype=np.float64)
            with np.errstate(all="ignore"):
                if op == "+":
                    out = a + b
                elif op == "-":
                    out = a - b
                elif op == "*":
                    out = a * b
                else:
                    out = a / np.where(b == 0, 1.0, b)
                    nulls = nulls | (b == 0)
            return _nan_to_null(out, nulls)
        if self.types[id(node.left)] == "string":
            lv, rv = np.asarray(lv, dtype=object), np.asarray(rv, dtype=object)
        compare = {
            "==": np.equal,
            "!=": np.not_equal,
            "<": np.less,
            "<=": np.less_equal,
            ">": np.greater,
            ">=": np.greater_equal,
        }[op]
        return np.asarray(compare(lv, rv), dtype=bool), nulls


def _nan_to_null(values: np.ndarray, nulls: Any) -> Vec:
    return values, np.logical_or(nulls, np.isnan(values))
