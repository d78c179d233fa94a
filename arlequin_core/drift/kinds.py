"""Which columns are features, and whether each is numeric or categorical.

The rule (also in ``docs/detectors.md``):

1. ``[data] label``, ``[data] timestamp`` and ``[data] exclude`` are not features.
2. ``[data] numeric`` and ``[data] categorical`` force a column's kind.
3. A retrain keeps the champion's kinds (``[training] keep_kinds``, default true): a
   column the champion tested keeps its kind, so ``tx_last_24h`` does not flip from
   numeric to categorical because one training set happens to hold fewer distinct
   values; rule 2 still wins, and new columns are inferred.
4. Otherwise, by the reference column's Arrow type:

   * boolean, string, binary, dictionary: **categorical**, unless it is *id-like*:
     more than ``[drift] categorical_max_distinct`` distinct values that are at least
     ``[drift] id_like_share`` (default 0.9) of its non-missing values (an id, a
     free-text field): not a feature, with a note in every report;
   * integer, floating, decimal: **numeric** when it has more than
     ``[drift] categorical_max_distinct`` (default 20) distinct non-missing values,
     else **categorical** (codes, ratings, flags, a constant); an integer column whose
     values are all distinct and dense (a span of at most 4 x their count: a
     sequence number) is *id-like* too;
   * date, time, timestamp, duration: not a feature (time always moves on), unless
     forced numeric;
   * null (every value missing), list, struct, map: not a feature.

Columns that are not tested are reported with the reason, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa

from arlequin_core.config import ArlequinConfig
from arlequin_core.drift.base import ColumnKind
from arlequin_core.errors import ConfigError

_PREFIX = 10_000
#: The start of the reason of an id-like column in ``Profile.skipped`` (reports turn it into a note).
ID_LIKE = "not tested: looks like an identifier"
#: An integer column is a sequence number when its span is at most this many times its count
#: (and every value is distinct). n random integers over a span of 4n are all distinct with
#: probability about exp(-n/8): 0.2 % at the 50 values the rule needs, so a measured count
#: or age is not taken for an id; a sample of 60 % of a sequence's rows (span 1.7n) is.
_DENSE_SPAN = 4.0
#: Fewer values than this are never called a sequence number (too few to tell).
_PREFIX_MIN_SEQUENCE = 50


def _where(config: ArlequinConfig) -> str:
    return str(config.source_path) if config.source_path else "config"


def feature_kinds(table: pa.Table, config: ArlequinConfig) -> tuple[dict[str, ColumnKind], dict[str, str]]:
    """The kind of every feature column of ``table``, and why the others are not features.

    Kinds carried from the champion (:func:`carry_kinds`) apply to the columns config
    does not force.

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
    carried = carried_kinds(config)
    for name in names:
        if name in not_features:
            skipped[name] = f"not a feature: {not_features[name]}"
        elif name in data.numeric:
            kinds[name] = "numeric"
        elif name in data.categorical:
            kinds[name] = "categorical"
        elif name in carried and carried[name] in ("numeric", "categorical"):
            kinds[name] = carried[name]
        else:
            kind, reason = infer_kind(
                table.column(name), config.drift.categorical_max_distinct, config.drift.id_like_share
            )
            if kind is None:
                skipped[name] = reason
            else:
                kinds[name] = kind
    return kinds, skipped


def carry_kinds(config: ArlequinConfig, kinds: Mapping[str, ColumnKind], origin: str) -> ArlequinConfig:
    """A copy of ``config`` whose kind inference keeps ``kinds`` (the champion's), unless config forces a kind.

    :param origin: where the kinds come from, for notes (``model 'm' version 3``).
    """
    carried = config.model_copy(deep=False)
    carried._carried_kinds = {"origin": origin, "kinds": dict(kinds)}
    return carried


def carried_kinds(config: ArlequinConfig) -> dict[str, ColumnKind]:
    """The kinds :func:`carry_kinds` put on ``config`` (empty for a config read from a file)."""
    return dict((getattr(config, "_carried_kinds", None) and config._carried_kinds.get("kinds")) or {})


def carried_origin(config: ArlequinConfig) -> str | None:
    """Where :func:`carried_kinds` come from (None when no kinds were carried)."""
    return (getattr(config, "_carried_kinds", None) or {}).get("origin")


def infer_kind(
    column: pa.ChunkedArray | pa.Array, max_distinct: int = 20, id_like_share: float = 0.9
) -> tuple[ColumnKind | None, str]:
    """The kind of one reference column by the rule above.

    :param id_like_share: ``[drift] id_like_share``; 0 turns the id-like rule off.
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
        why = _id_like(column, kind, max_distinct, id_like_share)
        return (None, why) if why else ("categorical", "text")
    if pa.types.is_integer(kind) and id_like_share > 0:
        why = _sequence_like(column, kind)
        if why:
            return None, why
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


def _id_like(column: pa.ChunkedArray | pa.Array, kind: pa.DataType, max_distinct: int, share: float) -> str | None:
    """Why a text column is id-like (see the rule above), or None."""
    if share <= 0:
        return None
    # The prefix first: a category column repeats within 10,000 rows, an id does not.
    for part in (column.slice(0, _PREFIX), column):
        if pa.types.is_dictionary(part.type):  # count_distinct has no dictionary kernel; decoded part by part
            part = part.cast(kind)
        values = len(part) - part.null_count
        distinct = _distinct(part, kind)
        if values == 0 or distinct <= max_distinct or distinct < share * values:
            return None
        if len(column) <= _PREFIX:
            break
    return (
        f"{ID_LIKE} ({distinct:,} distinct values in {values:,} rows: an id or free text, whose values a new batch "
        "never repeats); list it in [data] categorical to test it anyway, or in [data] exclude to silence this"
    )


def _sequence_like(column: pa.ChunkedArray | pa.Array, kind: pa.DataType) -> str | None:
    """Why an integer column is a sequence number (every value distinct, densely spanned), or None."""
    import pyarrow.compute as pc  # not at module level: ~0.05-0.1 s of a one-off detect (issue 18)

    values = len(column) - column.null_count
    if values <= _PREFIX_MIN_SEQUENCE:
        return None
    bounds = pc.min_max(column).as_py()
    span = int(bounds["max"]) - int(bounds["min"]) + 1
    if span > _DENSE_SPAN * values or _distinct(column, kind) != values:
        return None
    return (
        f"{ID_LIKE} ({values:,} distinct integers spanning {bounds['min']}..{bounds['max']}: a sequence number); "
        "list it in [data] numeric to test it anyway, or in [data] exclude to silence this"
    )


def _distinct(column: pa.ChunkedArray | pa.Array, kind: pa.DataType) -> int:
    import pyarrow.compute as pc  # not at module level: ~0.05-0.1 s of a one-off detect (issue 18)

    distinct = pc.count_distinct(column, mode="only_valid").as_py()
    if pa.types.is_floating(kind):
        # NaN counts as a value for count_distinct but is missing for us.
        distinct -= int(pc.any(pc.is_nan(column)).as_py() or False)
    return int(distinct)


def _is_text(kind: pa.DataType) -> bool:
    checks = ("is_string", "is_large_string", "is_binary", "is_large_binary", "is_string_view", "is_binary_view")
    # The *_view types only exist in newer pyarrow.
    return any(getattr(pa.types, check, lambda _t: False)(kind) for check in checks)
