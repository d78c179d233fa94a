"""Chi-squared test of homogeneity for categorical columns.

Why ``chi2_contingency`` and not ``chisquare``: the question is whether two *samples*
come from the same category distribution. ``chisquare(current, expected)`` treats
the reference frequencies as the known truth and ignores their own sampling noise,
so it rejects too often when the reference is small. The test of homogeneity on the
2 x K table (reference counts, batch counts) accounts for both samples; with a very
large reference the two agree. The statistic and p-value are those of
``scipy.stats.chi2_contingency(table, correction=...)`` (its default applies Yates'
continuity correction when the table is 2 x 2, i.e. a column with two categories),
computed by :func:`homogeneity_test` in numpy on the small table, the p-value by
:func:`arlequin_stats.chisq.chi2_sf` (``scipy.special.chdtrc``, what
``scipy.stats.chi2.sf`` calls, in plain Python): importing ``scipy.stats``, or even
``scipy.special``, would cost more than a whole check. The tests compare both with
scipy.stats on random, tiny, tied and huge tables.

Categories seen only in the batch get their own column in the table (their
reference count is 0), are counted in ``details["unseen"]`` and never crash. The
approximation is poor when many expected counts are below 5: ``details`` reports
the share of such cells so a reader can judge.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from arlequin_core.drift.base import Detector, DetectorInfo, Score
from arlequin_core.drift.columns import category_counts
from arlequin_stats.chisq import chi2_sf

#: How many unseen categories are listed by name in ``details`` (all are counted).
MAX_LISTED = 20


class ChiSquared(Detector):
    """Chi-squared test of homogeneity; drift when the p-value is below the threshold (default 0.05).

    :param correction: Yates' continuity correction for 2 x 2 tables, as scipy's default.
    """

    info = DetectorInfo(
        name="chi2",
        display_name="Chi-squared",
        kinds=frozenset({"categorical"}),
        score="p_value",
        default_threshold=0.05,
        description="Chi-squared test of homogeneity on reference vs batch category counts "
        "(scipy.stats.chi2_contingency).",
    )

    def __init__(self, correction: bool = True) -> None:
        if not isinstance(correction, bool):
            raise ValueError(f"chi2: correction must be true or false, got {correction!r}")
        self.correction = correction
        self.counts: dict[str, int] = {}

    def fit(self, reference: Any) -> ChiSquared:
        counts = category_counts(reference)
        if not counts:
            raise ValueError("cannot fit chi2: the reference column has no non-missing values")
        self.counts = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
        return self

    def score(self, current: Any) -> Score:
        if not self.counts:
            raise RuntimeError("chi2: score() called before fit()")
        return self.score_category_counts(category_counts(current))

    def score_category_counts(self, observed: dict[str, int]) -> Score:
        """The same :class:`Score` as :meth:`score`, from the batch's counts by category key.

        :param observed: :func:`~arlequin_core.drift.columns.category_key` -> count (> 0),
            missing values left out, in any order.
        """
        if not self.counts:
            raise RuntimeError("chi2: score() called before fit()")
        if not observed:
            raise ValueError("chi2: the batch column has no non-missing values")
        table, unseen = contingency(self.counts, observed)
        statistic, p_value, dof, expected = homogeneity_test(table, correction=self.correction)
        details = unseen_details(unseen)
        details.update(
            {
                "dof": dof,
                "categories": int(table.shape[1]),
                "low_expected_share": float(np.mean(expected < 5)) if expected.size else 0.0,
                "absent": sum(1 for key in self.counts if key not in observed),
            }
        )
        return Score(statistic=statistic, p_value=p_value, details=details)

    def category_keys(self) -> list[str]:
        """The reference categories, in the order of chunk states' counts."""
        if not self.counts:
            raise RuntimeError("chi2: category_keys() called before fit()")
        return list(self.counts)

    def score_category_state(self, state: Any) -> Score:
        """The score of merged category counts; exact unless the unseen categories overflowed.

        Overflowed (more than :data:`~arlequin_core.drift.categories.UNSEEN_CAP` distinct
        unseen categories): the statistic is still exact, because an unseen category of
        batch count ``c`` adds ``c * N1 / N2`` whatever ``c`` is (its expected counts are
        ``c * N1 / N`` and ``c * N2 / N``), so all of them add ``unseen_rows * N1 / N2``.
        The degrees of freedom need their number, estimated by the state's sketch: the
        p-value is computed at the estimate and ``details["p_value_range"]`` gives it at
        the estimate plus and minus three standard errors.
        """
        if state.unseen.exact:
            return self.score_category_counts(state.observed(self.category_keys()))
        ref = np.asarray(list(self.counts.values()), dtype=np.float64)
        cur = state.counts.astype(np.float64)
        n1, n2 = float(ref.sum()), float(cur.sum() + state.unseen.rows)
        total = n1 + n2
        column = ref + cur
        e1, e2 = n1 * column / total, n2 * column / total
        statistic = float(np.sum((ref - e1) ** 2 / e1 + (cur - e2) ** 2 / e2) + state.unseen.rows * n1 / n2)
        distinct, error = state.unseen.distinct()
        categories = len(ref) + distinct

        def p_at(count: float) -> float:
            return float(chi2_sf(max(count - 1.0, 1.0), statistic))

        details = {
            "approximate": "more unseen categories than the bounded summary keeps: dof estimated",
            "unseen_categories": round(distinct),
            "unseen_categories_std_error": error,
            "unseen_rows": int(state.unseen.rows),
            "unseen": dict(
                list(zip(state.unseen.keys.tolist(), state.unseen.counts.tolist(), strict=True))[:MAX_LISTED]
            ),
            "unseen_count_error": int(state.unseen.dropped),
            "dof": round(categories - 1),
            "categories": round(categories),
            "absent": int(np.count_nonzero(cur == 0)),
            "p_value_range": [p_at(categories + 3 * error), p_at(max(categories - 3 * error, len(ref) + 1.0))],
        }
        return Score(statistic=statistic, p_value=p_at(categories), details=details)

    def to_profile(self) -> dict[str, Any]:
        if not self.counts:
            raise RuntimeError("chi2: to_profile() called before fit()")
        return {"correction": self.correction, "counts": dict(self.counts)}

    @classmethod
    def from_profile(cls, profile: dict[str, Any]) -> ChiSquared:
        detector = cls(correction=bool(profile.get("correction", True)))
        counts = {str(k): int(v) for k, v in profile["counts"].items()}
        if not counts or min(counts.values()) < 1:
            raise ValueError("chi2 profile: 'counts' must be non-empty with positive counts")
        detector.counts = counts
        return detector


def homogeneity_test(table: np.ndarray, correction: bool = True) -> tuple[float, float, int, np.ndarray]:
    """Pearson's chi-squared test of homogeneity of the rows of a 2-D table of counts.

    The same numbers as ``scipy.stats.chi2_contingency(table, correction=correction)``:
    expected counts ``row total * column total / total``, ``(r - 1)(c - 1)`` degrees of
    freedom; with one degree of freedom and ``correction``, each count moves toward
    its expected count by 0.5 (Yates), never past it; no degree of freedom: statistic
    0, p-value 1.

    :param table: counts, shape (r, c), every row and column total positive.
    :returns: ``(statistic, p_value, dof, expected)``.
    :raises ValueError: a row or column total is 0 (an expected count would be 0).
    """
    observed = np.asarray(table, dtype=np.float64)
    if observed.ndim != 2 or observed.size == 0:
        raise ValueError(f"expected a 2-D table of counts, got shape {observed.shape}")
    rows, columns = observed.sum(axis=1), observed.sum(axis=0)
    if np.any(rows <= 0) or np.any(columns <= 0):
        raise ValueError("every row and column of the table needs a positive total")
    expected = np.outer(rows, columns) / observed.sum()
    dof = (observed.shape[0] - 1) * (observed.shape[1] - 1)
    if dof == 0:
        return 0.0, 1.0, 0, expected
    if dof == 1 and correction:
        diff = expected - observed
        observed = observed + np.sign(diff) * np.minimum(0.5, np.abs(diff))
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    return statistic, float(chi2_sf(dof, statistic)), dof, expected


def contingency(reference: dict[str, int], current: dict[str, int]) -> tuple[np.ndarray, dict[str, int]]:
    """The 2 x K table (reference row, batch row) over the union of categories.

    :returns: the table (reference categories first, in their order, then unseen ones
        by decreasing count) and the unseen categories with their batch counts.
    """
    unseen = {k: v for k, v in current.items() if k not in reference}
    unseen = dict(sorted(unseen.items(), key=lambda kv: (-kv[1], kv[0])))
    keys = list(reference) + list(unseen)
    table = np.array([[reference.get(k, 0) for k in keys], [current.get(k, 0) for k in keys]], dtype=np.int64)
    return table, unseen


def unseen_details(unseen: dict[str, int]) -> dict[str, Any]:
    """What reports say about categories the reference never had."""
    listed = dict(list(unseen.items())[:MAX_LISTED])
    return {"unseen_categories": len(unseen), "unseen_rows": int(sum(unseen.values())), "unseen": listed}
