"""The transaction generator: batches as Arrow tables, each with its exact ground truth.

Batch ``i`` covers one UTC day, ``start_date + i days``; the reference covers the
seven days before ``start_date``. Batch ``i`` is drawn from its own random stream
(``SeedSequence(seed, spawn_key=(1, i))``, the reference from ``(0,)``), so any batch
can be regenerated alone and the same seed gives the same rows, for the same versions
of numpy and Arlequin.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pyarrow as pa

from arlequin_synth import schema, truth
from arlequin_synth.population import Population
from arlequin_synth.sampling import (
    US_PER_DAY,
    null_masks,
    sample_features,
    sample_label,
    sample_times,
)
from arlequin_synth.scenario import Scenario, State, parse_scenario

DEFAULT_START = date(2024, 1, 1)  # a Monday: the default recurring drift falls on weekends
REFERENCE_DAYS = 7
_AFFECTED = 1e-9  # effects below this are float noise from mixing identical marginals


@dataclass
class Batch:
    """One generated batch.

    :param index: batch index (``None`` for the reference).
    :param table: the rows, with :data:`arlequin_synth.schema.SCHEMA`.
    :param truth: what changed and by how much (see :meth:`TransactionGenerator.truth`),
        plus ``fraud_rate`` (observed) and, for gradual components, ``drifted_rows``.
    """

    index: int | None
    table: pa.Table
    truth: dict[str, Any] = field(default_factory=dict)


class TransactionGenerator:
    """Synthetic card transactions under a drift scenario.

    :param scenario: a :class:`Scenario` or anything :func:`parse_scenario` accepts.
    :param seed: a non-negative integer; the same seed gives the same batches.
    :param start_date: the UTC day of batch 0.
    :raises ScenarioError: on a bad scenario. :raises ValueError: on a bad seed.

    >>> gen = TransactionGenerator("sudden:amount_scale=2,start=1", seed=3)
    >>> gen.batch(1, rows=1000).num_rows
    1000
    >>> gen.truth(1, rows=1000)["drifted_columns"]
    ['amount']
    """

    def __init__(self, scenario: Any = "none", seed: int = 0, start_date: date = DEFAULT_START) -> None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self.scenario: Scenario = parse_scenario(scenario)
        self.seed = int(seed)
        self.start_date = start_date
        self._marginals: dict[tuple[float, ...], truth.Marginals] = {}

    # ------------------------------------------------------------------ data

    def batch(self, index: int, rows: int) -> pa.Table:
        """Batch ``index`` (0-based) with ``rows`` rows."""
        return self.draw(index, rows).table

    def reference(self, rows: int) -> pa.Table:
        """An undrifted batch to train the first model on and to compare batches with."""
        return self.draw(None, rows).table

    def stream(self, rows: int, batches: int, reference_rows: int | None = None) -> Iterator[Batch]:
        """Batches ``0 .. batches-1``, each with its truth (see :meth:`draw`)."""
        for index in range(batches):
            yield self.draw(index, rows, reference_rows)

    def draw(self, index: int | None, rows: int, reference_rows: int | None = None) -> Batch:
        """Batch ``index`` (``None``: the reference) with its ground truth.

        :param rows: number of rows, >= 1.
        :param reference_rows: size of the reference the batch will be compared with
            (sets ``detectable_effect``); default ``rows``.
        """
        if rows < 1:
            raise ValueError(f"rows must be >= 1, got {rows}")
        if index is not None and index < 0:
            raise ValueError(f"batch index must be >= 0, got {index}")
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(0,) if index is None else (1, index)))
        zero = tuple(0.0 for _ in self.scenario.components)
        states = [State(zero, 1.0)] if index is None else self.scenario.states(index)
        pops = [self.scenario.population(s.intensities) for s in states]

        day0 = _epoch_us(self.start_date)
        if index is None:
            days = day0 - rng.integers(1, REFERENCE_DAYS + 1, rows) * US_PER_DAY
        else:
            days = np.full(rows, day0 + index * US_PER_DAY, dtype=np.int64)
        stamps, hour = sample_times(days, rng)
        assign, picked = self._assign(index, states, rows, rng)

        columns: dict[str, np.ndarray] = {}
        masks: dict[str, np.ndarray] = {}
        label = np.zeros(rows, dtype=bool)
        for s, pop in enumerate(pops):
            where = slice(None) if assign is None else np.flatnonzero(assign == s)
            n = rows if assign is None else where.shape[0]
            if n == 0:
                continue
            features = sample_features(pop, n, rng)
            features["hour"] = hour[where]
            label[where] = sample_label(pop, features, rng)
            for name, values in features.items():
                if name not in columns:
                    columns[name] = np.empty(rows, dtype=values.dtype)
                columns[name][where] = values
            for name, mask in null_masks(pop, n, rng).items():
                masks.setdefault(name, np.zeros(rows, dtype=bool))[where] = mask

        table = self._table(index, rows, stamps, columns, masks, label, pops)
        info = {} if index is None else self.truth(index, rows, reference_rows)
        info["fraud_rate"] = round(float(label.mean()), 6)
        if picked:
            info["drifted_rows"] = picked
        return Batch(index, table, info)

    def _assign(
        self, index: int | None, states: list[State], rows: int, rng: np.random.Generator
    ) -> tuple[np.ndarray | None, dict[str, int]]:
        """Which state each row is drawn from (``None``: all from the only one)."""
        if len(states) == 1:
            return None, {}
        assign = np.zeros(rows, dtype=np.int64)
        picked = {}
        # States enumerate gradual components in mixed radix, first component most significant.
        for i, comp in enumerate(self.scenario.components, 1):
            t = comp.intensity(index)
            if comp.mixture and 0.0 < t < 1.0:
                bits = rng.random(rows) < t
                assign = assign * 2 + bits
                picked[str(i)] = int(bits.sum())
        return assign, picked

    def _table(
        self,
        index: int | None,
        rows: int,
        stamps: np.ndarray,
        columns: dict[str, np.ndarray],
        masks: dict[str, np.ndarray],
        label: np.ndarray,
        pops: list[Population],
    ) -> pa.Table:
        arrays: list[pa.Array] = [
            _ids("ref-" if index is None else f"b{index:05d}-", rows),
            pa.array(stamps, type=pa.timestamp("us", tz="UTC")),
        ]
        for name in schema.FEATURE_COLUMNS:
            values, mask = columns[name], masks.get(name)
            if name in schema.SHIFTABLE_CATEGORICALS:
                arrays.append(_dictionary(values, mask, name, pops))
            else:
                arrays.append(pa.array(values, type=schema.SCHEMA.field(name).type, mask=mask))
        arrays.append(pa.array(label, type=pa.bool_()))
        return pa.Table.from_arrays(arrays, schema=schema.SCHEMA)

    # ----------------------------------------------------------------- truth

    def _marginals_of(self, intensities: tuple[float, ...]) -> truth.Marginals:
        if intensities not in self._marginals:
            self._marginals[intensities] = truth.marginals(self.scenario.population(intensities))
        return self._marginals[intensities]

    def truth(self, index: int, rows: int, reference_rows: int | None = None) -> dict[str, Any]:
        """What batch ``index`` should show against the reference, from the populations alone.

        :returns: a JSON-ready dict:

            * ``day``: the batch's UTC date;
            * ``drifted_columns``: features whose effect is at least ``detectable_effect``:
              a sound detector flags these;
            * ``affected_columns``: features whose distribution changed at all (a superset);
              a detector flagging a feature outside it is a false positive;
            * ``effects``: feature -> ``max(|change of null rate|, distance)``, the distance
              between the batch's and the reference's population distributions of non-null
              values being KS (numeric) or total variation (categorical);
            * ``detectable_effect``: ``max(0.05, 3 * sqrt(1/rows + 1/reference_rows))``;
            * ``missing_rate``: features with nulls -> expected null rate;
            * ``concept_drift``: ``None``, or the fraud rules' weights when the label's rule
              changed (features unaffected by it);
            * ``components``: active components with their intensity and effective drifts
              (for a gradual one, the intensity is the expected share of drifted rows and
              the drifts are at full strength).
        """
        states = self.scenario.states(index)
        current = truth.mix([(self._marginals_of(s.intensities), s.share) for s in states])
        zero = tuple(0.0 for _ in self.scenario.components)
        effect = truth.effects(current, self._marginals_of(zero))
        threshold = truth.detectable_effect(rows, reference_rows or rows)
        pops = [(self.scenario.population(s.intensities), s.share) for s in states]
        missing = {c: sum(p.missing_rate(c) * w for p, w in pops) for c in schema.FEATURE_COLUMNS}
        rules: dict[str, float] = {}
        for pop, share in pops:
            for rule, weight in pop.rules.items():
                rules[rule] = rules.get(rule, 0.0) + weight * share
        active = []
        for i, comp in enumerate(self.scenario.components, 1):
            t = comp.intensity(index)
            if t > 0:
                at = 1.0 if comp.mixture else t
                drifts = [_rounded(d.at(at)) for d in comp.drifts]
                active.append({"component": i, "spec": comp.text, "intensity": round(t, 6), "drifts": drifts})
        return {
            "day": (self.start_date + timedelta(days=index)).isoformat(),
            "drifted_columns": truth.drifted_columns(effect, threshold),
            "affected_columns": [c for c in schema.FEATURE_COLUMNS if effect[c] > _AFFECTED],
            "effects": {c: round(v, 6) for c, v in effect.items()},
            "detectable_effect": round(threshold, 6),
            "missing_rate": {c: round(m, 6) for c, m in missing.items() if m > 0},
            "concept_drift": None if rules == {"baseline": 1.0} else {"rules": _rounded(rules)},
            "components": active,
        }


def _epoch_us(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp()) * 1_000_000


def _rounded(values: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in values.items()}


def _ids(prefix: str, rows: int) -> pa.Array:
    """``prefix`` + zero-padded row number, built as one byte buffer (no Python loop)."""
    width = max(7, len(str(rows - 1)))
    head = np.frombuffer(prefix.encode(), dtype=np.uint8)
    size = head.size + width
    buf = np.empty((rows, size), dtype=np.uint8)
    buf[:, : head.size] = head
    number = np.arange(rows, dtype=np.int64)
    for position in range(size - 1, head.size - 1, -1):
        number, digit = np.divmod(number, 10)
        buf[:, position] = digit + ord("0")
    if size * rows >= 2**31:
        raise ValueError(f"{rows} rows is too many for one batch; split them over more batches")
    offsets = np.arange(0, size * (rows + 1), size, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), rows, [None, pa.py_buffer(offsets), pa.py_buffer(buf)])


def _dictionary(codes: np.ndarray, mask: np.ndarray | None, column: str, pops: list[Population]) -> pa.Array:
    """A dictionary array listing only the categories this batch can contain."""
    categories = pops[0].categories(column)
    possible = np.zeros(len(categories), dtype=bool)
    for pop in pops:
        possible |= truth.category_probs(pop, column) > 0
    remap = np.cumsum(possible) - 1
    indices = pa.array(remap[codes].astype(np.int8), mask=mask)
    dictionary = pa.array([c for c, keep in zip(categories, possible, strict=True) if keep], type=pa.string())
    return pa.DictionaryArray.from_arrays(indices, dictionary)
