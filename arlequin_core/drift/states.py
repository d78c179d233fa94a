"""One statistics engine, any executor: per-column states of batch chunks, merged, then scored.

A batch's path through the streaming engines reads top to bottom:

1. :class:`Plan` (once per batch): the profile's fitted detectors, each column's way of
   building states (refused by name, with the reason, when an executor cannot honour it);
2. :meth:`Plan.chunk_state` (per chunk, wherever the chunk is: a pyarrow record batch
   on this machine, a Spark partition on an executor): a :class:`BatchState` holding
   rows, and per column its missing count, its detector's state and the counts over
   the profile's plot bins / categories; bounded by the reference;
3. :meth:`BatchState.merge` (associative, in any grouping; parts kept in order);
4. :meth:`Plan.report` (once): every column scored from its merged state, then the
   policy (:func:`~arlequin_core.drift.check.build_report`); the report says which
   engine computed it.

Each column's state also carries the batch side of its effect sizes (counts and sums
over the profile's effect cells, or counts over its effect categories: see
:mod:`arlequin_core.drift.effect`), merged like the rest and turned into effects by
:func:`~arlequin_core.drift.check.add_effects` once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from arlequin_core.config import ArlequinConfig
from arlequin_core.drift.base import Detector, state_kind
from arlequin_core.drift.categories import CategoryIndex
from arlequin_core.drift.check import (
    add_effects,
    build_report,
    categorical_reference,
    finish_result,
    numeric_reference,
    start_result,
)
from arlequin_core.drift.columns import sorted_values
from arlequin_core.drift.cuts import cut_counts
from arlequin_core.drift.effect import CategoricalBatch, NumericBatch
from arlequin_core.drift.plotbins import Outside
from arlequin_core.drift.policy import check_columns_exist
from arlequin_core.drift.profile import ERROR_COLUMN, Profile, column_values
from arlequin_core.drift.report import DriftReport
from arlequin_core.errors import ArlequinError, InputError
from arlequin_core.registry import ComponentRegistry


class EngineUnsupportedError(ArlequinError):
    """A column's detector cannot be computed by the chosen engine (the message names both and why)."""


@dataclass
class ColumnState:
    """One column of a batch part: missing values, the detector's state, plot-bin counts, effect state."""

    missing: int
    state: Any
    #: Numeric: ``[below, bin 1 .. bin B, above]`` over the profile summary's edges;
    #: categorical: counts of the summary's listed categories, then of all others.
    plot: np.ndarray
    #: The batch side of the effect sizes (:mod:`arlequin_core.drift.effect`); None for a
    #: profile without effect summaries.
    effect: NumericBatch | CategoricalBatch | None = None
    #: Numeric: the batch values outside the plot bins, on their grid extended
    #: (:mod:`arlequin_core.drift.plotbins`), so the plot covers both samples.
    outside: Outside | None = None

    def merge(self, other: ColumnState, detector: Detector) -> ColumnState:
        effect = None if self.effect is None or other.effect is None else self.effect.merge(other.effect)  # type: ignore[arg-type]
        outside = None if self.outside is None or other.outside is None else self.outside.merge(other.outside)
        return ColumnState(
            self.missing + other.missing,
            detector.merge_states(self.state, other.state),
            self.plot + other.plot,
            effect,
            outside,
        )


@dataclass
class BatchState:
    """The merged state of some rows of a batch (see the module docstring)."""

    rows: int = 0
    columns: dict[str, ColumnState] = field(default_factory=dict)

    def counts(self, column: str) -> Any:
        """The detector state of ``column``: :class:`~arlequin_core.drift.cuts.CutCounts`,
        :class:`~arlequin_core.drift.categories.CategoryCounts`, or the detector's own."""
        return self.columns[column].state


class Plan:
    """How to build, merge and score the states of a batch against ``profile``.

    :param engine: the executor's name, for refusals and the report (``arrow``, ``spark``).
    :param bounded: the executor cannot hold the batch: detectors without bounded states
        (the values fallback) are refused too, not only those that cannot stream.
    :raises EngineUnsupportedError: naming every column the engine cannot compute.
    """

    def __init__(self, profile: Profile, registry: ComponentRegistry, engine: str, *, bounded: bool) -> None:
        self.profile = profile
        self.engine = engine
        self.detectors: dict[str, Detector] = {name: profile.detector(name, registry) for name in profile.columns}
        refused = []
        for name, detector in self.detectors.items():
            how = state_kind(detector, profile.columns[name].kind)
            if how == "none":
                refused.append(
                    f"column {name!r}: detector {profile.columns[name].detector!r}: {detector.info.cannot_stream}"
                )
            elif how == "values" and bounded:
                refused.append(
                    f"column {name!r}: detector {profile.columns[name].detector!r} has no bounded state "
                    "(no chunk_state, cut_points or score_category_counts), so scoring it would hold every value"
                )
        if refused:
            raise EngineUnsupportedError(
                f"the {engine} engine cannot check this batch: " + "; ".join(refused) + ". Use another detector "
                'for these columns ([drift.columns.<name>] detector), or [drift] engine = "memory" '
                "(the whole batch in memory)"
            )
        self._effect_index: dict[str, CategoryIndex] = {}
        self._categories = {
            name: CategoryIndex(cp.summary.get("categories", []))
            for name, cp in profile.columns.items()
            if cp.kind != "numeric"
        }
        self._cuts = {
            name: (detector.cut_points(), bool(getattr(detector, "needs_sums", False)))  # type: ignore[attr-defined]
            for name, detector in self.detectors.items()
            if state_kind(detector, profile.columns[name].kind) == "cuts"
        }
        # Plot bars and effect counts straight from the detector's category counts, when it
        # keeps them (its keys are every reference category): each chunk is counted once.
        self._bars: dict[str, np.ndarray] = {}
        self._effect_positions: dict[str, np.ndarray] = {}
        for name, index in self._categories.items():
            detector = self.detectors[name]
            if state_kind(detector, "categorical") == "categories":
                position = {key: i for i, key in enumerate(detector.category_keys())}  # type: ignore[attr-defined]
                if all(key in position for key in index.keys):
                    self._bars[name] = np.array([position[key] for key in index.keys], dtype=np.int64)
                cp = profile.columns[name]
                effect_keys = list(categorical_reference(cp).counts) if cp.effect else []
                if effect_keys and all(key in position for key in effect_keys):
                    self._effect_positions[name] = np.array([position[key] for key in effect_keys], dtype=np.int64)

    def counted_by_category(self, name: str) -> bool:
        """Whether column ``name``'s detector state is category counts (any Arrow form of the chunk will do)."""
        cp = self.profile.columns[name]
        return cp.kind != "numeric" and state_kind(self.detectors[name], cp.kind) == "categories"

    def cut_count(self, name: str) -> int:
        """How many cut points a numeric column's chunks are counted at (0 without cut counts)."""
        cuts = self._cuts.get(name)
        return 0 if cuts is None else int(cuts[0].size)

    def reference_categories(self, name: str) -> int:
        """How many reference categories a categorical column's detector counts a chunk against."""
        return len(self.detectors[name].category_keys())  # type: ignore[attr-defined]

    @property
    def columns(self) -> list[str]:
        """The tested columns, in profile order (what an executor must read)."""
        return [name for name in self.profile.columns if name != ERROR_COLUMN]

    def chunk_state(self, chunk: pa.Table | pa.RecordBatch, where: str) -> BatchState:
        """The state of one chunk (it must hold every column of :attr:`columns`)."""
        table = chunk if isinstance(chunk, pa.Table) else pa.Table.from_batches([chunk])
        columns = {name: self.column_state(table, name, where) for name in self.columns}
        return BatchState(rows=table.num_rows, columns=columns)

    def column_state(self, table: pa.Table, name: str, where: str) -> ColumnState:
        """The state of column ``name`` of one chunk."""
        cp = self.profile.columns[name]
        values, missing = column_values(table, name, cp.kind, where)
        detector = self.detectors[name]
        if cp.kind == "numeric":
            ordered = sorted_values(values)  # sorted once: cut counts and plot bins are binary searches
            if self._cuts.get(name) is not None:
                cuts, sums = self._cuts[name]
                state = cut_counts(ordered, cuts, sums=sums, presorted=True)
            else:
                state = detector.chunk_state(values)
            plot = _plot_counts(ordered, cp.summary)
            effect = NumericBatch.from_sorted(ordered, numeric_reference(cp).cuts) if cp.effect else None
            return ColumnState(missing, state, plot, effect, Outside.of_sorted(ordered, cp.summary))
        else:
            state = detector.chunk_state(values)
            bars = self._bars.get(name)
            listed = (
                state.counts[bars] if bars is not None else self._categories[name].counts(values, unseen=False).counts
            )
            plot = np.append(listed, len(values) - missing - int(listed.sum()))
            effect = self._category_effect(cp, values, missing, state)
        return ColumnState(missing, state, plot, effect)

    def _category_effect(self, cp: Any, values: Any, missing: int, state: Any) -> CategoricalBatch | None:
        if not cp.effect:
            return None
        positions = self._effect_positions.get(cp.name)
        if positions is not None:
            counts = state.counts[positions]
            return CategoricalBatch(counts=counts, other=len(values) - missing - int(counts.sum()))
        index = self._effect_index.get(cp.name)
        if index is None:
            index = self._effect_index[cp.name] = CategoryIndex(list(categorical_reference(cp).counts))
        counts = index.counts(values, unseen=False).counts
        return CategoricalBatch(counts=counts, other=len(values) - missing - int(counts.sum()))

    def merge(self, a: BatchState, b: BatchState) -> BatchState:
        """The state of two parts, ``a`` before ``b``."""
        if not a.columns:
            return BatchState(a.rows + b.rows, b.columns) if a.rows == 0 else a
        if not b.columns:
            return a
        return BatchState(
            a.rows + b.rows, {name: a.columns[name].merge(b.columns[name], self.detectors[name]) for name in a.columns}
        )

    def report(
        self,
        state: BatchState,
        config: ArlequinConfig,
        column_names: list[str],
        uri: str | None,
        skip: Mapping[str, str] | None = None,
    ) -> DriftReport:
        """Score every column from the merged ``state`` and apply the policy.

        :raises InputError: the batch had no rows.
        """
        where = uri or "current batch"
        if state.rows == 0:
            raise InputError(where, "the batch has no rows; nothing to test (it is rejected, not passed)")
        check_columns_exist(config, list(self.profile.columns))
        results = []
        for name in self.columns:
            cp = self.profile.columns[name]
            column = state.columns[name]
            result = start_result(cp, config, state.rows, column.missing, (skip or {}).get(name))
            if "skipped" not in result.details:
                result = finish_result(result, self.detectors[name].score_state(column.state))
                result = add_effects(result, cp, column.effect)
            results.append(result)
        report = build_report(self.profile, results, config, state.rows, column_names, uri)
        report.engine = self.engine
        return report

    def plots(self, state: BatchState) -> dict[str, dict[str, Any]]:
        """The batch summaries the HTML report draws (as :func:`~arlequin_core.drift.summary.summarize_like`)."""
        out = {}
        for name in self.columns:
            summary, counts = self.profile.columns[name].summary, state.columns[name].plot
            if summary.get("type") == "bars":
                out[name] = {
                    "type": "bars",
                    "categories": list(summary["categories"]),
                    "counts": [int(c) for c in counts[:-1]],
                    "other": int(counts[-1]),
                }
            else:
                out[name] = {
                    "type": "histogram",
                    "edges": list(summary["edges"]),
                    "counts": [int(c) for c in counts[1:-1]],
                    "below": int(counts[0]),
                    "above": int(counts[-1]),
                    **({"scale": summary["scale"]} if "scale" in summary else {}),
                }
                outside = state.columns[name].outside
                if outside is not None:
                    out[name]["outside"] = outside.to_dict()
        return out


def check_columns(plan: Plan, column_names: list[str], where: str) -> None:
    """Refuse a batch that lacks columns of the profile (all named)."""
    absent = [name for name in plan.columns if name not in column_names]
    if absent:
        raise InputError(
            where,
            f"missing column{'s' if len(absent) > 1 else ''} {', '.join(map(repr, absent))} "
            f"that the reference has; the batch has: {', '.join(column_names) or 'no columns'}",
        )


def _plot_counts(ordered: np.ndarray, summary: dict[str, Any]) -> np.ndarray:
    """``[below, bins..., above]`` of the finite values of ``ordered`` (sorted, no NaN) on the
    summary's edges, by numpy.histogram's rule: the last bin includes its right edge."""
    edges = np.asarray(summary["edges"], dtype=np.float64)
    low = np.searchsorted(ordered, -np.inf, side="right")
    high = np.searchsorted(ordered, np.inf, side="left")
    left = np.searchsorted(ordered, edges, side="left")
    last = np.searchsorted(ordered, edges[-1], side="right")
    bins = np.diff(np.append(left[:-1], last))
    return np.concatenate(([left[0] - low], bins, [high - last])).astype(np.int64)
