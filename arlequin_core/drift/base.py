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
* ``from_profile(json.loads(json.dumps(d.to_profile())))`` scores exactly like ``d``;
* the constructor takes keyword parameters only (``[drift.columns.<name>] params``)
  and raises ``TypeError``/``ValueError`` for a wrong one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

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
