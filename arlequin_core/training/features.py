"""Which columns are features, and of which kind.

:func:`infer_features` is the one place that decides, and it follows the drift
detectors' rule (:func:`arlequin_core.drift.kinds.feature_kinds`, documented in
``docs/detectors.md``), applied to the training rows: so the model's features are
exactly the columns its drift profile tests. In short: ``[data] label``,
``timestamp`` and ``exclude`` are not features, ``[data] numeric``/``categorical``
force a kind, booleans and text are categorical, numbers are numeric when they have
more than ``[drift] categorical_max_distinct`` distinct values (else categorical),
and dates, all-missing and nested columns are left out (with the reason).

Training adds one rule: the columns a ``[training] label_rule`` reads are not
features either (they are the outcome the label is made from).

Models see numeric features as float64 and categorical features as strings (booleans
as ``"true"``/``"false"``, missing as null), identically on both engines.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from arlequin_core.config import ArlequinConfig
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
        """A JSON-able dict (kept in the pending state and the lineage artifact)."""
        return {"numeric": list(self.numeric), "categorical": list(self.categorical), "skipped": dict(self.skipped)}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> FeatureSpec:
        """The inverse of :meth:`to_dict`."""
        return cls(
            numeric=tuple(data.get("numeric", ())),  # type: ignore[arg-type]
            categorical=tuple(data.get("categorical", ())),  # type: ignore[arg-type]
            skipped=dict(data.get("skipped", {})),  # type: ignore[arg-type]
        )


def infer_features(table: pa.Table, config: ArlequinConfig, label_columns: tuple[str, ...] = ()) -> FeatureSpec:
    """Feature columns of the training rows ``table`` (see the module docstring for the rule).

    :param label_columns: columns the label is made from (never features).
    :raises ConfigError: a forced column (``[data] numeric/categorical``) is not in the data.
    :raises TrainingError: no feature column is left.
    """
    from arlequin_core.drift.kinds import feature_kinds

    kinds, skipped = feature_kinds(table, config)
    for name in label_columns:
        if name in kinds:
            del kinds[name]
            skipped[name] = "not a feature: read by [training] label_rule"
    numeric = tuple(c for c, k in kinds.items() if k == "numeric")
    categorical = tuple(c for c, k in kinds.items() if k == "categorical")
    if not numeric and not categorical:
        raise TrainingError(
            f"no feature columns: of {', '.join(table.column_names)}, none is numeric or categorical "
            f"({'; '.join(f'{k}: {v}' for k, v in skipped.items()) or 'no columns'})"
        )
    log.debug("features", numeric=numeric, categorical=categorical, skipped=skipped)
    return FeatureSpec(numeric, categorical, skipped)
