"""Which columns are features, and of which kind.

:func:`infer_features` is the one place that decides, so it can follow the drift
detectors' column-kind inference when that is shared. The rule today:

* never features: ``[data] label``, ``[data] timestamp``, ``[data] exclude``, and the
  columns a ``[training] label_rule`` reads (they are the outcome);
* ``[data] numeric`` / ``[data] categorical`` force a kind;
* otherwise by Arrow type: integers, floats and decimals are numeric; strings,
  dictionaries and booleans are categorical; anything else (timestamps, dates,
  binary, nested) is skipped and reported.

Models see numeric features as float64 and categorical features as strings (booleans
as ``"true"``/``"false"``, missing as null), identically on both engines.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from arlequin_core.config import ArlequinConfig
from arlequin_core.errors import ConfigError
from arlequin_core.logs import get_logger
from arlequin_core.training.errors import TrainingError

log = get_logger(__name__)


@dataclass(frozen=True)
class FeatureSpec:
    """Feature columns by kind, in data order; ``skipped`` maps column -> why it is not a feature."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        """All feature columns, numeric first."""
        return [*self.numeric, *self.categorical]

    def to_dict(self) -> dict[str, object]:
        return {"numeric": list(self.numeric), "categorical": list(self.categorical), "skipped": dict(self.skipped)}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> FeatureSpec:
        return cls(
            numeric=tuple(data.get("numeric", ())),  # type: ignore[arg-type]
            categorical=tuple(data.get("categorical", ())),  # type: ignore[arg-type]
            skipped=dict(data.get("skipped", {})),  # type: ignore[arg-type]
        )


def infer_features(schema: pa.Schema, config: ArlequinConfig, label_columns: tuple[str, ...] = ()) -> FeatureSpec:
    """Feature columns of data with ``schema`` (see the module docstring for the rule).

    :param label_columns: columns the label is made from (never features).
    :raises ConfigError: a forced column (``[data] numeric/categorical``) is not in the data.
    :raises TrainingError: no feature column is left.
    """
    data = config.data
    names = set(schema.names)
    for key, forced in (("numeric", data.numeric), ("categorical", data.categorical)):
        missing = [c for c in forced if c not in names]
        if missing:
            raise ConfigError(
                f"[data] {key} names column(s) not in the training data: {', '.join(missing)}; "
                f"columns: {', '.join(schema.names)}"
            )
    not_features = {
        **{c: "exclude" for c in data.exclude},
        **({data.timestamp: "timestamp"} if data.timestamp else {}),
        **{c: "label" for c in label_columns},
    }
    numeric: list[str] = []
    categorical: list[str] = []
    skipped: dict[str, str] = {}
    for f in schema:
        if f.name in not_features:
            skipped[f.name] = not_features[f.name]
            continue
        kind = "numeric" if f.name in data.numeric else "categorical" if f.name in data.categorical else _kind(f.type)
        if kind == "numeric":
            numeric.append(f.name)
        elif kind == "categorical":
            categorical.append(f.name)
        else:
            skipped[f.name] = f"type {f.type} is not used by the trainers"
    if not numeric and not categorical:
        raise TrainingError(
            f"no feature columns: of {', '.join(schema.names)}, none is numeric or categorical "
            f"after leaving out {', '.join(sorted(skipped)) or 'nothing'}"
        )
    if skipped:
        log.debug("features_skipped", skipped=skipped)
    return FeatureSpec(tuple(numeric), tuple(categorical), skipped)


def _kind(dtype: pa.DataType) -> str | None:
    if pa.types.is_dictionary(dtype):
        dtype = dtype.value_type
    if pa.types.is_boolean(dtype) or pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return "categorical"
    if pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return "numeric"
    return None
