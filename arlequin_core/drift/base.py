"""The detector interface every drift detector implements, built-in or third-party.

A detector is fitted once on one reference column and then scores many batches of
the same column. ``fit`` keeps what scoring needs (sorted values, category counts,
bin edges), so ``score`` never re-reads or re-sorts the reference. The fitted state
travels as a JSON-able *profile* (never a pickle) through ``to_profile`` and
``from_profile``.

What ``fit`` and ``score`` receive (the core always passes these forms, and the
conformance suite in ``tests/drift/test_conformance.py`` checks every registered
detector with them):

* a **numeric** column: a 1-D ``numpy.ndarray`` of ``float64``, ``NaN`` = missing;
* a **categorical** column: a ``pyarrow.Array`` or ``pyarrow.ChunkedArray`` of any
  type, null = missing. :func:`arlequin_core.drift.columns.category_counts` turns it
  into ``{category key: count}``; a detector that accepts both kinds tells them apart
  with :func:`arlequin_core.drift.columns.is_categorical_input`.

The contract:

* detectors ignore missing values; the core tests the change in missing rate itself;
* a column without one non-missing value is never fitted or scored by the core (it is
  reported as not tested); a detector given one anyway raises ``ValueError``, or
  returns an undefined score (``statistic`` NaN), never a made-up number;
* ``score`` does not change the fitted state of a batch detector (an online detector,
  ``info.online``, goes on from where it was: it is fed the data in order, and its
  ``score`` also takes ``timestamps=``, one value per row, which the core passes
  from the ``[data] timestamp`` column when the batch has it);
* ``to_profile()`` returns JSON values and, for large arrays, numpy arrays of plain
  numbers (:func:`arlequin_core.drift.encoding.profile_array`; the profile file keeps
  them in its binary part); ``from_profile`` reads them with
  :func:`~arlequin_core.drift.encoding.decode_array` (which also takes their JSON form,
  format-1 profiles), and
  ``from_profile(json.loads(json.dumps(to_json_tree(d.to_profile()))))`` scores exactly like ``d``,
  as does ``from_profile`` of the state read back from a format-2 file;
* the constructor takes keyword parameters only (``[drift.columns.<name>] params``)
  and raises ``TypeError``/``ValueError`` for a wrong one.

Mergeable statistics (what lets an engine score a batch it never holds whole):

* ``chunk_state(chunk)`` turns any chunk of a batch (same forms as ``score``) into a
  small *state*, bounded by the reference, not the batch;
* ``merge_states(a, b)`` is associative (and commutative): states of the parts of any
  split of a batch merge into the state of the whole;
* ``score_state(state)`` gives the :class:`Score`; for an exact statistic it equals
  ``score`` of the whole batch (to 1e-9); where a bounded state cannot be exact
  (``wasserstein``) the approximation is documented and ``details["error_bound"]``
  bounds ``|score_state - score|`` of the statistic.

The defaults below give every detector that has ``cut_points()`` and
``score_cut_counts(CutCounts)`` (numeric) or ``score_category_counts(dict)``
(categorical) bounded states for free: counts at its cut points
(:mod:`arlequin_core.drift.cuts`) or over its reference categories plus a bounded
summary of unseen ones (:mod:`arlequin_core.drift.categories`, which the detector's
``category_keys()`` names). A detector with neither keeps the chunks' values
(:class:`ValuesState`): correct, but it grows with the batch, and engines that
cannot hold the batch (Spark) refuse it by name. Online detectors cannot stream at
all (``DetectorInfo.cannot_stream``): they need every row in order.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal


def _is_arrow(values: Any) -> bool:
    import pyarrow as pa

    return isinstance(values, (pa.Array, pa.ChunkedArray))


ColumnKind = Literal["numeric", "categorical"]
ScoreKind = Literal["p_value", "distance"]


@dataclass(frozen=True)
class DetectorInfo:
    """What a detector is, for the registry, the policy and the docs.

    :param name: the key used in config and on the CLI (``ks``, ``chi2``, ...).
    :param kinds: the column kinds it accepts.
    :param score: ``p_value``: drift when the p-value is *below* the threshold;
        ``distance``: drift when the distance is *at or above* the threshold.
    :param default_threshold: used when config sets none.
    :param online: a streaming detector (fed values in order) rather than a batch test.
    """

    name: str
    display_name: str
    kinds: frozenset[str]
    score: ScoreKind
    default_threshold: float
    online: bool = False
    description: str = ""

    @property
    def cannot_stream(self) -> str | None:
        """Why this detector cannot score a batch from merged chunk states (None: it can)."""
        if self.online:
            return (
                "it is an online detector: it must be fed every row of the batch in order, "
                "which states of chunks merged in any order cannot give"
            )
        return None


@dataclass(frozen=True)
class Score:
    """What one detector says about one column of one batch.

    ``statistic`` is the test statistic or the distance; ``p_value`` is set only for
    p-value tests. ``details`` holds anything else worth reporting (unseen
    categories, the row where an online detector saw the change, ...).
    """

    statistic: float
    p_value: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


class Detector(ABC):
    """Base class of all detectors. Subclasses set ``info`` and implement the four methods."""

    info: ClassVar[DetectorInfo]

    @abstractmethod
    def fit(self, reference: Any) -> Detector:
        """Fit on the reference column; return ``self``."""

    @abstractmethod
    def score(self, current: Any) -> Score:
        """Score one batch of the same column against the fitted reference."""

    @abstractmethod
    def to_profile(self) -> dict[str, Any]:
        """The fitted state as a JSON-able dict."""

    @classmethod
    @abstractmethod
    def from_profile(cls, profile: dict[str, Any]) -> Detector:
        """Rebuild a fitted detector from :meth:`to_profile` output."""

    # Mergeable statistics (see the module docstring). A detector may override all three.

    def chunk_state(self, chunk: Any) -> Any:
        """The state of one chunk of a batch (numeric: float64 numpy, NaN missing; categorical: Arrow)."""
        from arlequin_core.drift.categories import CategoryIndex
        from arlequin_core.drift.cuts import cut_counts

        how = state_kind(self, "categorical" if _is_arrow(chunk) else "numeric")
        if how == "none":
            raise TypeError(f"{self.info.name}: {self.info.cannot_stream}")
        if how == "cuts":
            return cut_counts(chunk, self.cut_points(), sums=getattr(self, "needs_sums", False))  # type: ignore[attr-defined]
        if how == "categories":
            index = self.__dict__.get("_category_index")
            if index is None:
                index = CategoryIndex(self.category_keys())  # type: ignore[attr-defined]
                self.__dict__["_category_index"] = index
            return index.counts(chunk)
        return ValuesState([chunk])

    def merge_states(self, a: Any, b: Any) -> Any:
        """The state of two parts of a batch, ``a`` before ``b`` (associative)."""
        if isinstance(a, ValuesState):
            return ValuesState(a.chunks + b.chunks)
        return a.merge(b)

    def score_state(self, state: Any) -> Score:
        """The :class:`Score` of the batch whose merged state is ``state``."""
        from arlequin_core.drift.categories import CategoryCounts
        from arlequin_core.drift.cuts import CutCounts

        if isinstance(state, ValuesState):
            return self.score(state.values())
        if isinstance(state, CutCounts):
            return self.score_cut_counts(state)  # type: ignore[attr-defined]
        if isinstance(state, CategoryCounts):
            return self.score_category_state(state)
        raise TypeError(f"{self.info.name}: cannot score a state of type {type(state).__name__}")

    def score_category_state(self, state: Any) -> Score:
        """Score merged :class:`~arlequin_core.drift.categories.CategoryCounts`.

        While the unseen categories are exact this is ``score_category_counts`` of the
        exact counts. Otherwise it is scored on the kept counts and ``details`` says
        ``approximate`` (a detector may override this to do better, as ``chi2`` does).
        """
        score = self.score_category_counts(state.observed(self.category_keys()))  # type: ignore[attr-defined]
        if not state.unseen.exact:
            estimate, error = state.unseen.distinct()
            score.details.update(
                {
                    "approximate": "unseen categories overflowed their bounded summary; scored on the kept ones",
                    "unseen_categories": round(estimate),
                    "unseen_categories_std_error": error,
                    "unseen_rows": state.unseen.rows,
                    "unseen_count_error": state.unseen.dropped,
                }
            )
        return score


@dataclass
class ValuesState:
    """The fallback state of a detector without bounded states: the chunks' values themselves.

    It grows with the batch (an engine that cannot hold the batch refuses it); merging
    keeps the order of the parts, so ``score_state`` scores the concatenation.
    """

    chunks: list[Any] = field(default_factory=list)

    def values(self) -> Any:
        """The concatenated values (numpy for numeric chunks, Arrow for categorical ones)."""
        import numpy as np
        import pyarrow as pa

        if not self.chunks:
            return np.empty(0)
        if isinstance(self.chunks[0], (pa.Array, pa.ChunkedArray)):
            return pa.chunked_array([c for chunk in self.chunks for c in _arrow_chunks(chunk)])
        return np.concatenate([np.asarray(c, dtype=np.float64) for c in self.chunks])


def _arrow_chunks(value: Any) -> list[Any]:
    import pyarrow as pa

    return list(value.chunks) if isinstance(value, pa.ChunkedArray) else [value]


def state_kind(detector: Detector, kind: str) -> str:
    """How ``detector`` (fitted on a ``kind`` column) builds states: ``own`` (its own
    ``chunk_state``), ``cuts``, ``categories``, ``values`` (the fallback), or ``none``
    (it cannot stream: :attr:`DetectorInfo.cannot_stream`)."""
    cls = type(detector)
    if cls.info.cannot_stream:
        return "none"
    if _defines(cls, "chunk_state"):
        return "own"
    if kind == "numeric" and _owns(cls, "score_cut_counts") and _owns(cls, "cut_points"):
        return "cuts"
    if kind != "numeric" and _owns(cls, "score_category_counts") and callable(getattr(cls, "category_keys", None)):
        return "categories"
    return "values"


def _defines(cls: type, method: str) -> bool:
    return any(method in vars(k) for k in cls.__mro__ if k is not Detector and k is not object)


def _owns(cls: type, method: str) -> bool:
    """``cls`` has ``method`` from the class that defines ``cls.score`` or a subclass of it.

    A subclass that overrides ``score`` but inherits a count-based method would score
    differently from counts than from values; it falls back to values instead.
    """
    if not callable(getattr(cls, method, None)):
        return False
    defines_score = next(k for k in cls.__mro__ if "score" in vars(k))
    defines_method = next(k for k in cls.__mro__ if method in vars(k))
    return issubclass(defines_method, defines_score)
