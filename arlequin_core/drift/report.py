"""The result of checking one batch: per-column results and the overall verdict.

:class:`DriftReport` has a JSON form (``to_json``/``from_dict``) that is strict JSON:
infinite or undefined numbers are written as the strings ``"inf"``, ``"-inf"`` and
``"nan"`` and read back as floats.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

REPORT_FORMAT = "arlequin.drift-report"
REPORT_FORMAT_VERSION = 1


@dataclass
class ColumnResult:
    """What the policy concluded about one column.

    :param statistic: the test statistic or the distance (None when the test could
        not run, e.g. every batch value is missing; ``details["skipped"]`` says why).
    :param p_value: the raw p-value of a p-value test, else None.
    :param p_value_adjusted: after the multiple-testing correction (equal to
        ``p_value`` with correction ``none``).
    :param threshold: the p-value level (drift below it) or the distance threshold
        (drift at or above it).
    :param n_ref: non-missing reference values the detector was fitted on.
    :param n_cur: non-missing batch values it scored.
    :param missing_ref: share of reference rows where the value is missing, in [0, 1].
    :param missing_cur: the same for the batch.
    :param missing_p_value: two-proportion test of ``missing_ref`` vs ``missing_cur``,
        and its adjusted value; None when turned off or when no value is missing in
        either sample (the test could not reject, so it is not part of the family).
    :param distribution_drifted: the detector's verdict; ``missing_drifted``: the
        missing-rate test's; ``drifted``: either.
    :param effects: effect sizes of the column (:mod:`arlequin_core.drift.effect`):
        numeric ``ks_d``, ``wasserstein`` (each with ``_bound``), categorical ``tv``,
        ``jensen_shannon``, ``cramers_v``; empty when not computed (old profile, not tested).
    :param effect_name: the effect the policy uses (``ks_d`` or ``tv``) and ``effect`` its value.
    :param min_effect: the smallest effect that counts as drift for this column, and
        ``min_effect_source`` where it comes from (``[drift] min_effect``,
        ``[drift.columns.<name>] min_effect``, or ``calibrated`` on the reference).
    :param missing_effect: ``|missing_cur - missing_ref|``, held against ``[drift] min_effect.missing``.
    """

    column: str
    kind: str
    detector: str
    score_kind: str
    threshold: float
    statistic: float | None = None
    p_value: float | None = None
    p_value_adjusted: float | None = None
    distribution_drifted: bool = False
    n_ref: int = 0
    n_cur: int = 0
    missing_ref: float = 0.0
    missing_cur: float = 0.0
    missing_p_value: float | None = None
    missing_p_value_adjusted: float | None = None
    missing_drifted: bool = False
    drifted: bool = False
    effects: dict[str, float] = field(default_factory=dict)
    effect_name: str | None = None
    effect: float | None = None
    min_effect: float = 0.0
    min_effect_source: str = "drift.min_effect"
    missing_effect: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class DriftReport:
    """The verdict on one batch.

    :param drift_share: drifted columns / tested columns, in [0, 1].
    :param status: ``no drift`` (no column drifted), ``below share`` (columns drifted,
        fewer than ``drift_share_threshold`` of them and no critical one: not a drift,
        but worth a look) or ``drift``.
    :param drift_share_threshold: ``[drift] drift_share``; None: any drifted column is drift.
    :param reason: one sentence saying why the batch did or did not drift.
    :param skipped: columns of the reference that were not tested, with the reason.
    :param extra_columns: batch columns the reference does not have (not tested).
    """

    drifted: bool
    drift_share: float
    drifted_columns: list[str]
    reason: str
    columns: list[ColumnResult]
    rows_ref: int
    rows_cur: int
    correction: str
    drift_share_threshold: float | None
    status: str = "no drift"
    critical: list[str] = field(default_factory=list)
    missing_threshold: float = 0.0
    skipped: dict[str, str] = field(default_factory=dict)
    extra_columns: list[str] = field(default_factory=list)
    uri: str | None = None
    created_at: str = ""
    #: Set by the monitor: the batch and the serving model the batch was checked for.
    batch_id: str | None = None
    model_name: str | None = None
    model_version: str | None = None
    #: What computed the report: ``memory`` (the whole batch as one Arrow table), ``arrow``
    #: (streamed by row groups) or ``spark`` (partition states merged on the driver).
    engine: str = "memory"
    #: Data-quality findings (:class:`arlequin_core.drift.quality.Finding` dicts); set by the monitor.
    quality: list[dict[str, Any]] = field(default_factory=list)
    #: The champion's estimated performance on the batch (CBPE, :mod:`arlequin_core.performance`), if computed.
    performance: dict[str, Any] | None = None
    #: The column tests' verdict alone (``drifted`` may differ under ``[drift] retrain_on``).
    columns_drifted: bool | None = None
    #: Rows of the detectors over all features together (``kind`` ``multivariate``), decided by the policy.
    multivariate: list[ColumnResult] = field(default_factory=list)
    #: Sentences to read beside the verdict (pandas index not read, id-like columns not tested, ...);
    #: see :mod:`arlequin_core.drift.notes`.
    notes: list[str] = field(default_factory=list)
    #: What drift was measured against: ``description`` (one line for people), ``model_name``,
    #: ``model_version``, ``batch_ids``, ``uris``, ``rows``, ``source``; None in older reports.
    reference: dict[str, Any] | None = None

    def column(self, name: str) -> ColumnResult:
        """The result of column ``name``.

        :raises KeyError: naming the columns the report has.
        """
        for result in self.columns:
            if result.column == name:
                return result
        raise KeyError(f"no column {name!r} in the report; columns: {', '.join(c.column for c in self.columns)}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (strict JSON: non-finite numbers become strings)."""
        data = {"format": REPORT_FORMAT, "format_version": REPORT_FORMAT_VERSION, **asdict(self)}
        return _finite(data)

    def to_json(self, indent: int | None = 2) -> str:
        """The report as JSON text."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False, default=_default)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DriftReport:
        """Rebuild a report from :meth:`to_dict` output.

        :raises ValueError: not a drift report, or a newer format version.
        """
        data = dict(data)
        if data.pop("format", REPORT_FORMAT) != REPORT_FORMAT:
            raise ValueError("not an arlequin drift report")
        version = data.pop("format_version", REPORT_FORMAT_VERSION)
        if version > REPORT_FORMAT_VERSION:
            raise ValueError(
                f"drift report format {version} is newer than this arlequin reads ({REPORT_FORMAT_VERSION})"
            )
        column_names = {f.name for f in fields(ColumnResult)}
        columns = [
            ColumnResult(**{k: _number(k, v) for k, v in c.items() if k in column_names}) for c in data.pop("columns")
        ]
        joint = [
            ColumnResult(**{k: _number(k, v) for k, v in c.items() if k in column_names})
            for c in data.pop("multivariate", None) or []
        ]
        known = {f.name for f in fields(cls)}
        return cls(columns=columns, multivariate=joint, **{k: v for k, v in data.items() if k in known})


_FLOAT_FIELDS = {f.name for f in fields(ColumnResult) if "float" in str(f.type)}


def _number(key: str, value: Any) -> Any:
    if key in _FLOAT_FIELDS and isinstance(value, str):
        return float(value)
    if key == "effects" and isinstance(value, dict):
        return {k: float(v) for k, v in value.items()}
    return value


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _finite(value.item())
    return value


def _default(value: Any) -> Any:
    return str(value)
