"""The profile: the fitted reference of a whole dataset, saved as one file.

A profile is what drift is measured against. It is built once from the data a model
was trained on (:func:`build_profile`), saved beside the model (an MLflow artifact),
and loaded to check every batch (:func:`arlequin_core.drift.check.check_batch`). No
pickle: every detector stores its fitted state as a dict of JSON values and numpy
arrays of plain numbers.

On disk (:mod:`arlequin_core.drift.profile_file`): ``format_version`` 2, the default,
is this dict as one line of JSON followed by its large arrays (sorted distinct values
and counts, cut points, effect-size references) as Arrow IPC; ``*.json`` files are
format 1, the same dict as one JSON document with the arrays zlib + base64 encoded.
Both are read. The dict (:meth:`Profile.to_dict`)::

    {
      "format": "arlequin.profile",
      "format_version": 2,
      "arlequin_version": "0.1.0",
      "created_at": "2026-01-01T00:00:00.000000+00:00",   # UTC
      "source": "data/train.parquet",                       # or null
      "rows": 100000,                                       # reference rows fitted on
      "sampled_from": null,                                 # rows before [drift] reference_sample
      "data": {"label": "y", "timestamp": null, "exclude": ["id"]},
      "columns": [                                          # tested columns, table order
        {
          "name": "age", "kind": "numeric", "dtype": "int64",
          "detector": "ks", "params": {}, "threshold": 0.05, "score_kind": "p_value",
          "rows": 100000, "missing": 12,                    # missing = null or NaN
          "state": {...},                                   # Detector.to_profile()
          "summary": {...},                                 # see arlequin_core.drift.summary
          "effect": {...},                                  # see arlequin_core.drift.effect
          "calibration": null                               # see arlequin_core.drift.calibrate
        }
      ],
      "skipped": {"id": "not a feature: excluded by [data] exclude"}
    }

With ``[drift] error_detector`` set, training also fits that detector on the model's
errors on its held-out rows and adds them as the column :data:`ERROR_COLUMN`
(``kind`` numeric, not a column of the data, never a feature); ``data`` then holds
``"error_column": "__error__"`` so the monitor knows to compute it for each batch.

Arrays inside ``state`` and ``effect`` are :func:`~arlequin_core.drift.encoding.profile_array`
(in a format-1 file: the JSON form of :mod:`arlequin_core.drift.encoding`). A reader
refuses a newer ``format_version``; fields it does not know are ignored.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pyarrow as pa

from arlequin_core import __version__
from arlequin_core.clock import utc_now
from arlequin_core.config import ArlequinConfig
from arlequin_core.drift.base import ColumnKind, Detector
from arlequin_core.drift.columns import (
    as_table,
    category_counts,
    from_numpy,
    missing_count,
    numeric_array,
    sorted_values,
)
from arlequin_core.drift.effect import CategoricalReference, NumericReference
from arlequin_core.drift.encoding import to_json_tree
from arlequin_core.drift.error_stream import ERROR_COLUMN
from arlequin_core.drift.kinds import carried_origin, feature_kinds
from arlequin_core.drift.policy import ColumnPlan, check_columns_exist, plan_column
from arlequin_core.drift.profile_file import read_profile, write_profile
from arlequin_core.drift.summary import summarize
from arlequin_core.errors import ConfigError, InputError
from arlequin_core.registry import ComponentRegistry

PROFILE_FORMAT = "arlequin.profile"
PROFILE_FORMAT_VERSION = 2
#: The conventional name ending of a format-2 profile file (``*.json`` files are written in format 1).
PROFILE_SUFFIX = ".profile"


@dataclass
class ColumnProfile:
    """The fitted reference of one column.

    :param rows: reference rows; ``missing``: rows where the value is missing.
    :param state: the detector's :meth:`~arlequin_core.drift.base.Detector.to_profile`.
    :param summary: what plots draw (:mod:`arlequin_core.drift.summary`).
    :param effect: the reference side of the effect sizes (:mod:`arlequin_core.drift.effect`);
        empty in profiles written before effects existed (their columns report no effect).
    :param calibration: thresholds calibrated on the reference (:mod:`arlequin_core.drift.calibrate`), or None.
    """

    name: str
    kind: ColumnKind
    dtype: str
    detector: str
    threshold: float
    score_kind: str
    rows: int
    missing: int
    state: dict[str, Any]
    summary: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)
    effect: dict[str, Any] = field(default_factory=dict)
    calibration: dict[str, Any] | None = None

    @property
    def values(self) -> int:
        """Non-missing reference values."""
        return self.rows - self.missing


@dataclass
class Profile:
    """The fitted reference of a dataset: one :class:`ColumnProfile` per tested column."""

    columns: dict[str, ColumnProfile]
    rows: int
    skipped: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    source: str | None = None
    created_at: str = field(default_factory=utc_now)
    arlequin_version: str = __version__
    #: Reference rows before ``[drift] reference_sample`` (None: every row was used).
    sampled_from: int | None = None
    #: Fitted detectors over all feature columns together (:mod:`arlequin_core.drift.multivariate`).
    multivariate: dict[str, Any] = field(default_factory=dict)
    #: The model's calibration for estimating its performance (:mod:`arlequin_core.performance`), if any.
    performance: dict[str, Any] | None = None
    _fitted: dict[str, Detector] = field(default_factory=dict, repr=False, compare=False)

    def detector(self, column: str, registry: ComponentRegistry) -> Detector:
        """The fitted detector of ``column``, rebuilt from its state once and then reused.

        :raises UnknownComponentError: the detector is not registered here.
        :raises InputError: its state does not load.
        """
        fitted = self._fitted.get(column)
        if fitted is None:
            cp = self.columns[column]
            cls = registry.get("detector", cp.detector)
            try:
                fitted = cls.from_profile(cp.state)
            except (KeyError, TypeError, ValueError) as exc:
                where = self.source or "profile"
                raise InputError(where, f"column {column!r}: cannot load the {cp.detector} state: {exc}") from None
            self._fitted[column] = fitted
        return fitted

    def fork(self, columns: Collection[str]) -> Profile:
        """A copy of this profile whose ``columns`` start again from their saved state.

        The named columns get their own :class:`ColumnProfile` (a shallow copy) and no
        fitted detector yet; every other column shares this profile's entry and fitted
        detector. The monitor forks a cached profile for each batch so that online
        detectors (whose state changes as they score) are restored, fed and saved per
        batch without changing the cached profile, while batch detectors are still
        loaded once.

        :param columns: names of this profile's columns; others are ignored.
        """
        fresh = set(columns) & set(self.columns)
        return replace(
            self,
            columns={name: replace(cp) if name in fresh else cp for name, cp in self.columns.items()},
            skipped=dict(self.skipped),
            data=dict(self.data),
            _fitted={name: d for name, d in self._fitted.items() if name not in fresh},
        )

    def to_dict(self) -> dict[str, Any]:
        """The documented dict (see the module docstring) as pure JSON: arrays in their JSON form."""
        return to_json_tree({**self._tree(), "format_version": 1})

    def _tree(self) -> dict[str, Any]:
        """The documented dict, arrays as numpy arrays."""
        return {
            "format": PROFILE_FORMAT,
            "format_version": PROFILE_FORMAT_VERSION,
            "arlequin_version": self.arlequin_version,
            "created_at": self.created_at,
            "source": self.source,
            "rows": self.rows,
            "sampled_from": self.sampled_from,
            "data": self.data,
            "columns": [
                {
                    "name": c.name,
                    "kind": c.kind,
                    "dtype": c.dtype,
                    "detector": c.detector,
                    "params": c.params,
                    "threshold": c.threshold,
                    "score_kind": c.score_kind,
                    "rows": c.rows,
                    "missing": c.missing,
                    "state": c.state,
                    "summary": c.summary,
                    "effect": c.effect,
                    "calibration": c.calibration,
                }
                for c in self.columns.values()
            ],
            "skipped": self.skipped,
            "multivariate": self.multivariate,
            "performance": self.performance,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "profile") -> Profile:
        """Rebuild a profile from :meth:`to_dict` output.

        :raises InputError: not a profile, a newer format, or a malformed entry (naming ``where``).
        """
        if not isinstance(data, dict) or data.get("format") != PROFILE_FORMAT:
            raise InputError(where, f'not an arlequin profile (expected "format": "{PROFILE_FORMAT}")')
        version = data.get("format_version")
        if not isinstance(version, int) or version > PROFILE_FORMAT_VERSION:
            raise InputError(
                where,
                f"profile format version {version!r} is not supported (this arlequin reads up to "
                f"{PROFILE_FORMAT_VERSION}); upgrade arlequin or rebuild the profile",
            )
        try:
            columns = {}
            for entry in data["columns"]:
                cp = ColumnProfile(
                    name=str(entry["name"]),
                    kind=entry["kind"],
                    dtype=str(entry["dtype"]),
                    detector=str(entry["detector"]),
                    params=dict(entry.get("params") or {}),
                    threshold=float(entry["threshold"]),
                    score_kind=str(entry["score_kind"]),
                    rows=int(entry["rows"]),
                    missing=int(entry["missing"]),
                    state=dict(entry["state"]),
                    summary=dict(entry["summary"]),
                    effect=dict(entry.get("effect") or {}),
                    calibration=None if entry.get("calibration") is None else dict(entry["calibration"]),
                )
                if cp.kind not in ("numeric", "categorical"):
                    raise ValueError(f"column {cp.name!r}: kind must be numeric or categorical, got {cp.kind!r}")
                columns[cp.name] = cp
            return cls(
                columns=columns,
                rows=int(data["rows"]),
                skipped={str(k): str(v) for k, v in (data.get("skipped") or {}).items()},
                data=dict(data.get("data") or {}),
                source=data.get("source"),
                created_at=str(data.get("created_at", "")),
                arlequin_version=str(data.get("arlequin_version", "")),
                sampled_from=None if data.get("sampled_from") is None else int(data["sampled_from"]),
                multivariate=dict(data.get("multivariate") or {}),
                performance=None if data.get("performance") is None else dict(data["performance"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(where, f"malformed profile: {type(exc).__name__}: {exc}") from None

    def save(self, path: str | os.PathLike[str], format_version: int | None = None) -> None:
        """Write the profile to ``path``, atomically (temporary file, then rename).

        :param format_version: 2 (JSON line + Arrow arrays) or 1 (one JSON document);
            default: 1 for a name ending in ``.json``, else 2.
        """
        if format_version is None:
            format_version = 1 if os.fspath(path).lower().endswith(".json") else PROFILE_FORMAT_VERSION
        write_profile(self._tree(), path, format_version)

    @classmethod
    def load(cls, path: str | os.PathLike[str], mapped: bool = False) -> Profile:
        """Read a profile written by :meth:`save` (either format).

        :param mapped: memory-map format 2's arrays instead of reading them (see
            :func:`~arlequin_core.drift.profile_file.read_profile`: short-lived processes only).

        :raises InputError: missing or unreadable file, not JSON, not a profile, newer format.
        """
        where = os.fspath(path)
        profile = cls.from_dict(read_profile(path, mapped=mapped), where)
        if profile.source is None:
            profile.source = where
        return profile


def is_profile_path(path: str) -> bool:
    """Whether ``path`` names a saved profile rather than data: a name ending in ``.json`` or
    :data:`PROFILE_SUFFIX`, or a local file that starts like one."""
    if path.lower().endswith((".json", PROFILE_SUFFIX)):
        return True
    try:
        with open(path, "rb") as f:
            start = f.read(len(_MAGIC))
    except OSError:
        return False
    return start == _MAGIC


#: How both formats begin (``to_dict`` puts ``format`` first; written compact).
_MAGIC = f'{{"format":"{PROFILE_FORMAT}"'.encode()


def column_values(table: pa.Table, name: str, kind: ColumnKind, where: str) -> tuple[Any, int]:
    """One column in the form detectors take (see :mod:`arlequin_core.drift.base`) and its missing count."""
    column = table.column(name)
    if kind == "numeric":
        values = numeric_array(column, name, where)
        return values, missing_count(values)
    return column, missing_count(column)


def stored_type(table: pa.Table, name: str) -> str:
    """The type of column ``name`` as its file holds it (a text column read as a dictionary: its value type)."""
    kind = table.schema.field(name).type
    if pa.types.is_dictionary(kind):
        from arlequin_core.io import read_as_dictionary

        if name in read_as_dictionary(table):
            kind = kind.value_type
    return str(kind)


def effect_reference(
    values: Any, kind: ColumnKind, *, presorted: bool = False, counts: dict[str, int] | None = None
) -> dict[str, Any]:
    """The JSON form of a column's effect-size reference (empty when it has no finite value).

    :param presorted: numeric ``values`` are sorted ascending without NaN.
    :param counts: the categorical column's category counts, if known.
    """
    if kind == "categorical":
        found = category_counts(values) if counts is None else counts
        return {"kind": "categorical", **CategoricalReference.fit(found).to_dict()}
    finite = np.asarray(values, dtype=np.float64)
    if presorted:
        some = np.searchsorted(finite, np.inf) > np.searchsorted(finite, -np.inf, side="right")
    else:
        some = np.isfinite(finite).any()
    if not some:
        return {}
    return {"kind": "numeric", **NumericReference.fit(finite, presorted=presorted).to_dict()}


def build_profile(
    reference: pa.Table | Any,
    config: ArlequinConfig,
    registry: ComponentRegistry,
    *,
    source: str | None = None,
    errors: Any = None,
    performance: dict[str, Any] | None = None,
) -> Profile:
    """Fit the configured detector of every feature column of ``reference``.

    :param reference: a ``pyarrow.Table`` or ``pandas.DataFrame``: the data the model
        is trained on.
    :param config: ``[data]`` (label, exclude, forced kinds) and ``[drift]`` (detectors,
        thresholds, parameters) are used.
    :param registry: where detectors are looked up (``App.registry``).
    :param source: where the reference came from, for error messages and the profile.
    :param errors: the model's per-row errors on its held-out rows (1.0 wrong, 0.0
        right, NaN no label; shape ``(n_heldout,)``, any length), fitted with
        ``[drift] error_detector`` as the column :data:`ERROR_COLUMN`; needs that key set.
    :param performance: the model's calibration on its held-out rows
        (:func:`arlequin_core.performance.harm.fit_performance`), kept in the profile.
    :raises InputError: the reference is empty or a column cannot be read as its kind.
    :raises ConfigError: a config key names a missing column or a detector that does
        not fit the column's kind, or wrong detector parameters; ``errors`` given
        without ``[drift] error_detector``, or a reference column named :data:`ERROR_COLUMN`
        while it is set.
    """
    where = source or "reference"
    table = as_table(reference, where)
    if table.num_rows == 0:
        raise InputError(where, "the reference has no rows; a profile needs data to compare against")
    if config.drift.error_detector is not None and ERROR_COLUMN in table.column_names:
        raise ConfigError(
            f"{where}: column {ERROR_COLUMN!r} is reserved for the model's errors while [drift] error_detector "
            "is set; rename it or list it in [data] exclude"
        )
    total_rows = table.num_rows
    table = sample_rows(table, config.drift.reference_sample)
    kinds, skipped = feature_kinds(table, config)
    plans = [plan_column(name, kind, config, registry) for name, kind in kinds.items()]
    detectors = [_new_detector(plan, config, registry) for plan in plans]

    # Conversions and missing counts first (cheap): the multivariate fit needs the tested columns.
    prepared = [column_values(table, plan.column, plan.kind, where) for plan in plans]

    def fit(index: int) -> ColumnProfile | str:
        plan, detector = plans[index], detectors[index]
        values, missing = prepared[index]
        if missing == table.num_rows:
            return "not tested: every value is missing in the reference"
        counts = None
        if plan.kind == "numeric":
            # Sorted once (NaN cut off): the batch detectors (ks, wasserstein sort anyway; a
            # sorted input costs them one pass), the summary and the effect reference then
            # need no sort of their own. Online detectors get the rows in their order.
            ordered = sorted_values(values)
            detector.fit(values if type(detector).info.online else ordered)
            values = ordered
        else:
            counts = category_counts(values)
            detector.fit(values)
        presorted = plan.kind == "numeric"
        return ColumnProfile(
            name=plan.column,
            kind=plan.kind,
            dtype=stored_type(table, plan.column),
            detector=plan.detector,
            params=plan.params,
            threshold=plan.threshold,
            score_kind=type(detector).info.score,
            rows=table.num_rows,
            missing=missing,
            state=detector.to_profile(),
            summary=summarize(values, plan.kind, presorted=presorted, counts=counts),
            effect=effect_reference(values, plan.kind, presorted=presorted, counts=counts),
        )

    multivariate: Any = None
    with ThreadPoolExecutor(max_workers=_workers(len(plans) + 1)) as pool:
        if config.drift.multivariate:  # the longest single task: started first, beside the columns
            from arlequin_core.drift.multivariate import fit_multivariate

            tested = {
                p.column: p.kind for p, (_, missing) in zip(plans, prepared, strict=True) if missing < table.num_rows
            }
            multivariate = pool.submit(fit_multivariate, table, tested, config.drift.multivariate, where=where)
        fitted = list(pool.map(fit, range(len(plans))))
    columns: dict[str, ColumnProfile] = {}
    for plan, result in zip(plans, fitted, strict=True):
        if isinstance(result, str):
            skipped[plan.column] = result
        else:
            columns[plan.column] = result
    data: dict[str, Any] = {
        "label": config.data.label,
        "timestamp": config.data.timestamp,
        "exclude": list(config.data.exclude),
    }
    kinds_from = carried_origin(config)
    if kinds_from:  # a retrain kept the champion's kinds (arlequin_core.drift.kinds rule 3)
        data["kinds_from"] = kinds_from
    error_detector = None
    if errors is not None:
        error_detector = _fit_errors(errors, config, registry)
        columns[ERROR_COLUMN] = error_detector[0]
        data["error_column"] = ERROR_COLUMN
    # A critical column the data leaves untested (entirely missing) is the data's fault, not the config's.
    untestable = [c for c in config.drift.critical if "every value is missing" in skipped.get(c, "")]
    if untestable:
        raise InputError(
            source or "the reference data",
            "; ".join(f"critical column {c!r}: {skipped[c].removeprefix('not tested: ')}" for c in untestable)
            + ": this data cannot be the reference of a model; fix the batches (or drop the column from "
            "[drift] critical if it is really gone)",
        )
    check_columns_exist(config, list(columns))
    profile = Profile(
        columns=columns,
        rows=table.num_rows,
        skipped=skipped,
        data=data,
        source=source,
        sampled_from=total_rows if total_rows != table.num_rows else None,
    )
    if multivariate is not None:
        profile.multivariate = multivariate.result()
    profile.performance = performance
    profile._fitted.update({p.column: d for p, d in zip(plans, detectors, strict=True) if p.column in columns})
    if error_detector is not None:
        profile._fitted[ERROR_COLUMN] = error_detector[1]
    return profile


def _fit_errors(errors: Any, config: ArlequinConfig, registry: ComponentRegistry) -> tuple[ColumnProfile, Detector]:
    """The :data:`ERROR_COLUMN` entry: ``[drift] error_detector`` fitted on ``errors``.

    Its threshold is ``[drift.columns.__error__] threshold`` when set, else the detector's default.
    """
    drift = config.drift
    where = str(config.source_path) if config.source_path else "config"
    if drift.error_detector is None:
        raise ConfigError(f"{where}: the model's errors were given but [drift] error_detector is not set")
    cls = registry.get("detector", drift.error_detector)
    if "numeric" not in cls.info.kinds or not cls.info.online:
        raise ConfigError(
            f"{where}: key drift.error_detector: {drift.error_detector!r} cannot watch an error stream; "
            "use an online detector of numeric columns (ddm, eddm, hddm_a, hddm_w)"
        )
    override = drift.columns.get(ERROR_COLUMN)
    threshold = override.threshold if override and override.threshold is not None else cls.info.default_threshold
    try:
        detector = cls(**drift.error_params)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: key drift.error_params: {exc}") from None
    values = np.asarray(errors, dtype=np.float64).ravel()
    missing = missing_count(values)
    if missing == values.size:
        raise InputError("held-out rows", "no held-out row has a label; the model's errors cannot be profiled")
    detector.fit(values)
    entry = ColumnProfile(
        name=ERROR_COLUMN,
        kind="numeric",
        dtype="double",
        detector=drift.error_detector,
        params=dict(drift.error_params),
        threshold=float(threshold),
        score_kind=cls.info.score,
        rows=int(values.size),
        missing=missing,
        state=detector.to_profile(),
        summary=summarize(values, "numeric"),
    )
    return entry, detector


def sample_rows(table: pa.Table, size: int, seed: int = 0) -> pa.Table:
    """A seeded uniform sample of ``size`` rows of ``table``, in their original order.

    The whole table when ``size`` is 0 or at least its number of rows.
    """
    if size <= 0 or table.num_rows <= size:
        return table
    rows = np.sort(np.random.default_rng(seed).choice(table.num_rows, size=size, replace=False))
    return table.take(from_numpy(rows))


def _new_detector(plan: ColumnPlan, config: ArlequinConfig, registry: ComponentRegistry) -> Detector:
    cls = registry.get("detector", plan.detector)
    try:
        return cls(**plan.params)
    except (TypeError, ValueError) as exc:
        where = str(config.source_path) if config.source_path else "config"
        raise ConfigError(f"{where}: key drift.columns.{plan.column}.params: {exc}") from None


def _workers(tasks: int) -> int:
    # numpy sorts and Arrow kernels release the GIL, so one thread per core pays off.
    return max(1, min(tasks, os.cpu_count() or 1))
