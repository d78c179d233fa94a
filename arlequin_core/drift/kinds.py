"""Which columns are features, and whether each is numeric or categorical.

The rule (also in ``docs/detectors.md``):

1. ``[data] label``, ``[data] timestamp`` and ``[data] exclude`` are not features.
2. ``[data] numeric`` and ``[data] categorical`` force a column's kind.
3. Otherwise, by the reference column's Arrow type:

   * boolean, string, binary, dictionary: **categorical**;
   * integer, floating, decimal: **numeric** when it has more than
     ``[drift] categorical_max_distinct`` (default 20) distinct non-missing values,
     else **categorical** (codes, ratings, flags, a constant);
   * date, time, timestamp, duration: not a feature (time always moves on), unless
     forced numeric;
   * null (every value missing), list, struct, map: not a feature.

Columns that are not tested are reported with the reason, never silently dropped.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from arlequin_core.config import ArlequinConfig
from arlequin_core.drift.base import ColumnKind
from arlequin_core.errors import ConfigError

_PREFIX = 10_000


def _where(config: ArlequinConfig) -> str:
    return str(config.source_path) if config.source_path else "config"


def feature_kinds(table: pa.Table, config: ArlequinConfig) -> tuple[dict[str, ColumnKind], dict[str, str]]:
    """The kind of every feature column of ``table``, and why the others are not features.

    :returns: ``(kinds, skipped)``: column -> ``numeric``/``categorical`` in table
        order, and column -> reason for every column that is not tested.
    :raises ConfigError: a column is forced both numeric and categorical, or a forced
        column is not in the table (naming the key and the columns there are).
    """
    data = config.data
    names = table.column_names
    both = sorted(set(data.numeric) & set(data.categorical))
    if both:
        raise ConfigError(f"{_where(config)}: key data.numeric and data.categorical both list {', '.join(both)}")
    for key, listed in (("data.numeric", data.numeric), ("data.categorical", data.categorical)):
        unknown = [c for c in listed if c not in names]
        if unknown:
            raise ConfigError(
                f"{_where(config)}: key {key}: no column {', '.join(map(repr, unknown))} in the reference; "
                f"columns: {', '.join(names)}"
            )
    not_features = {data.label: "label column", data.timestamp: "timestamp column"}
    not_features.update({c: "excluded by [data] exclude" for c in data.exclude})
    kinds: dict[str, ColumnKind] = {}
    skipped: dict[str, str] = {}
    for name in names:
        if name in not_features:
            skipped[name] = f"not a feature: {not_features[name]}"
        elif name in data.numeric:
            kinds[name] = "numeric"
        elif name in data.categorical:
            kinds[name] = "categorical"
        else:
            kind, reason = infer_kind(table.column(name), config.drift.categorical_max_distinct)
            if kind is None:
                skipped[name] = reason
            else:
                kinds[name] = kind
    return kinds, skipped


def infer_kind(column: pa.ChunkedArray | pa.Array, max_distinct: int = 20) -> tuple[ColumnKind | None, str]:
    """The kind of one reference column by the rule above.

    :returns: ``(kind, why)``; ``kind`` is None when the column is not a feature.
    """
    kind = column.type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_null(kind) or column.null_count == len(column):
        return None, "not tested: every value is missing in the reference"
    if pa.types.is_boolean(kind):
        return "categorical", "boolean"
    if _is_text(kind):
        return "categorical", "text"
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        # The distinct values of a prefix are a lower bound: continuous columns stop here.
        distinct = _distinct(column.slice(0, _PREFIX), kind)
        if distinct <= max_distinct and len(column) > _PREFIX:
            distinct = _distinct(column, kind)
        if distinct > max_distinct:
            return "numeric", f"{distinct} distinct values"
        return "categorical", f"{distinct} distinct values (at most {max_distinct})"
    if pa.types.is_temporal(kind):
        return None, (
            f"not tested: {kind} column (time always moves on); set [data] timestamp, "
            "or list it in [data] numeric to test it as a number"
        )
    return None, f"not tested: {kind} values are neither numeric nor categorical"


def _distinct(column: pa.ChunkedArray | pa.Array, kind: pa.DataType) -> int:
    distinct = pc.count_distinct(column, mode="only_valid").as_py()
    if pa.types.is_floating(kind):
        # NaN counts as a value for count_distinct but is missing for us.
        distinct -= int(pc.any(pc.is_nan(column)).as_py() or False)
    return int(distinct)


def _is_text(kind: pa.DataType) -> bool:
    checks = ("is_string", "is_large_string", "is_binary", "is_large_binary", "is_string_view", "is_binary_view")
    # The *_view types only exist in newer pyarrow.
    return any(getattr(pa.types, check, lambda _t: False)(kind) for check in checks)
