"""The drift policy: which test each column gets, and how results become one verdict.

Per column (``[drift]`` and ``[drift.columns.<name>]`` in config):

* the detector is ``columns.<name>.detector``, else ``numeric_detector`` (``ks``) or
  ``categorical_detector`` (``chi2``) by the column's kind; its threshold is
  ``columns.<name>.threshold``, else ``threshold``, else the detector's default; its parameters
  ``columns.<name>.params``;
* the change in missing rate is tested by a two-sided two-proportion z-test (pooled
  variance; the same p-value as ``chi2_contingency`` without continuity correction on
  the 2 x 2 table of missing / present rows; ``erfc(|z|/sqrt 2)``, computed with the
  standard library), at level ``missing_threshold`` (0: off).
  When no value is missing in either sample the test cannot reject and is not run.

For one batch, every p-value (the p-value tests' and the missing-rate tests') forms
one family, corrected by ``correction``:

* ``none``: the raw p-values;
* ``bonferroni``: ``min(1, m * p)``;
* ``holm``: step-down, ``max_{j <= i} min(1, (m - j + 1) p_(j))`` for the i-th smallest;
* ``bh``: Benjamini–Hochberg step-up, ``min_{j >= i} min(1, m p_(j) / j)``, as
  ``scipy.stats.false_discovery_control``. It controls the false discovery rate,
  the others the family-wise error rate.

All three are a sort and a cumulative min/max in numpy (the tests compare them with
``scipy.stats.false_discovery_control`` and statsmodels' definitions on random, tied,
tiny and large families); the check imports nothing of ``scipy.stats``.

A p-value test flags a column when its adjusted p-value is below the column's
threshold **and** its effect size (:mod:`arlequin_core.drift.effect`: KS's D for
numeric columns, total variation for categorical ones) is at least its
``min_effect`` (``[drift.columns.<name>] min_effect``, else ``[drift] min_effect``
of its kind, raised to the calibrated value when the profile was calibrated, see
:mod:`arlequin_core.drift.calibrate`). At small n the test guards against noise, at
large n the floor against irrelevance. A distance detector flags a column when its
distance is at or above its threshold (no floor: the distance is its own effect).
The missing-rate test flags a column when significant and the rate moved by at
least ``min_effect.missing``. A column drifted when its distribution or its missing
rate did.

The batch (``status``): ``drift`` when any tested column drifted (the default: with
the correction, "any column after correction" is a test of the whole batch at level
alpha); with ``drift_share`` set, ``drift`` when at least that share of the columns
drifted or a ``critical`` column did, and ``below share`` (not a drift; a warning)
when some columns drifted but fewer; ``no drift`` when no column drifted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from arlequin_core.config import ArlequinConfig, DriftSection
from arlequin_core.drift.base import ColumnKind, Detector
from arlequin_core.drift.report import ColumnResult
from arlequin_core.errors import ConfigError
from arlequin_core.registry import ComponentRegistry

CORRECTIONS = ("none", "bonferroni", "holm", "bh")
#: The smallest effect (|mean error change| / reference std of the per-row error) at
#: which a multivariate detector calls drift, whatever its p-value: at a million rows
#: a z-test rejects for changes nobody cares about. Measured in docs/detectors.md.
MULTIVARIATE_MIN_EFFECT = 0.1
#: The smallest effect (|mean error change| / reference std of the per-row error) at
#: which a multivariate detector calls drift, whatever its p-value: at a million rows
#: a z-test rejects for changes nobody cares about. Measured in docs/detectors.md.
MULTIVARIATE_MIN_EFFECT = 0.1


@dataclass(frozen=True)
class ColumnPlan:
    """The test chosen for one column."""

    column: str
    kind: ColumnKind
    detector: str
    threshold: float
    params: dict[str, Any] = field(default_factory=dict)


def plan_column(column: str, kind: ColumnKind, config: ArlequinConfig, registry: ComponentRegistry) -> ColumnPlan:
    """The detector, threshold and parameters for ``column`` from config, with defaults.

    :raises UnknownComponentError: the detector is not registered (naming the known ones).
    :raises ConfigError: the detector does not accept the column's kind, or the
        threshold is out of range for its score.
    """
    drift = config.drift
    override = drift.columns.get(column)
    default = drift.numeric_detector if kind == "numeric" else drift.categorical_detector
    name = override.detector if override and override.detector else default
    key = f"drift.columns.{column}.detector" if override and override.detector else f"drift.{kind}_detector"
    where = str(config.source_path) if config.source_path else "config"
    cls: type[Detector] = registry.get("detector", name)
    if kind not in cls.info.kinds:
        raise ConfigError(
            f"{where}: key {key}: detector {name!r} does not test {kind} columns (column {column!r}); "
            f"it accepts {', '.join(sorted(cls.info.kinds))}"
        )
    if override and override.threshold is not None:
        threshold, key = override.threshold, f"drift.columns.{column}.threshold"
    elif drift.threshold is not None:
        threshold, key = drift.threshold, "drift.threshold"
    else:
        threshold = cls.info.default_threshold
    if not math.isfinite(threshold) or (cls.info.score == "p_value" and not 0.0 <= threshold <= 1.0):
        raise ConfigError(f"{where}: key {key}: a p-value level must be in [0, 1] (column {column!r}, {name})")
    return ColumnPlan(column, kind, name, float(threshold), dict(override.params) if override else {})


def check_columns_exist(config: ArlequinConfig, columns: Sequence[str]) -> None:
    """Refuse ``[drift.columns.X]`` and ``critical`` entries naming no tested column (typos).

    :raises ConfigError: naming the key and the tested columns.
    """
    where = str(config.source_path) if config.source_path else "config"
    known = set(columns)
    for key, names in (("drift.columns", list(config.drift.columns)), ("drift.critical", config.drift.critical)):
        unknown = [c for c in names if c not in known]
        if unknown:
            raise ConfigError(
                f"{where}: key {key}: {', '.join(map(repr, unknown))} is not a tested column; "
                f"tested columns: {', '.join(columns) or 'none'}"
            )


def exceeds(score_kind: str, value: float | None, threshold: float) -> bool:
    """True when ``value`` means drift: a p-value below ``threshold``, or a distance at or above it.

    An undefined value (None or NaN) is never drift by itself.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    if score_kind == "p_value":
        return value < threshold
    return value >= threshold


def adjust_p_values(p_values: Sequence[float], method: str) -> np.ndarray:
    """P-values adjusted for testing them together (see the module docstring).

    :param p_values: raw p-values in [0, 1] (NaN not allowed: leave untested columns out).
    :param method: ``none``, ``bonferroni``, ``holm`` or ``bh``.
    :returns: adjusted p-values, same order and shape, in [0, 1].
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError(f"expected a 1-D sequence of p-values, got shape {p.shape}")
    if np.any(np.isnan(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError("p-values must be numbers in [0, 1]")
    m = p.size
    if m == 0 or method == "none":
        return p.copy()
    if method == "bonferroni":
        return np.minimum(1.0, p * m)
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    if method == "holm":
        adjusted = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * ranked))
    elif method == "bh":
        adjusted = np.minimum.accumulate((ranked * m / np.arange(1, m + 1))[::-1])[::-1]
        adjusted = np.minimum(1.0, adjusted)
    else:
        raise ValueError(f"unknown correction {method!r}; known: {', '.join(CORRECTIONS)}")
    result = np.empty(m)
    result[order] = adjusted
    return result


def missing_rate_test(missing_ref: int, rows_ref: int, missing_cur: int, rows_cur: int) -> float | None:
    """Two-sided p-value of the pooled two-proportion z-test of two missing rates.

    None when the pooled rate is 0 or 1 (no value missing anywhere, or every value
    missing in both): such a test cannot give evidence of anything, so it is left out
    of the family instead of making the correction needlessly strict.
    """
    if rows_ref < 1 or rows_cur < 1:
        raise ValueError("row counts must be >= 1")
    pooled = (missing_ref + missing_cur) / (rows_ref + rows_cur)
    variance = pooled * (1.0 - pooled) * (1.0 / rows_ref + 1.0 / rows_cur)
    if variance <= 0.0:
        return None
    z = (missing_cur / rows_cur - missing_ref / rows_ref) / math.sqrt(variance)
    # 2 * (1 - Phi(|z|)) = erfc(|z| / sqrt(2)): scipy.stats.norm.sf without importing scipy.stats
    # (about a second at start-up), and as accurate in the tail (no 1 - Phi cancellation).
    return float(min(1.0, math.erfc(abs(z) / math.sqrt(2.0))))


def apply_policy(
    results: list[ColumnResult], drift: DriftSection, joint: Sequence[ColumnResult] = ()
) -> tuple[bool, float, list[str], str, str]:
    """Correct the p-values, decide each column, then the batch (results are updated in place).

    :param joint: the multivariate detectors' rows (all features together): their
        p-values join the corrected family and they are decided like columns (effect at
        least their ``min_effect``, :data:`MULTIVARIATE_MIN_EFFECT`); one that drifts makes
        the batch drift whatever the share (like a critical column). They are not
        columns: not counted in the share nor listed in ``drifted_columns``.
    :returns: ``(drifted, drift_share, drifted_columns, status, reason)``; ``status`` is
        ``no drift``, ``below share`` or ``drift`` (see the module docstring).
    """
    everything = [*results, *joint]
    family: list[tuple[ColumnResult, str]] = []
    for result in everything:
        if result.score_kind == "p_value" and result.p_value is not None and not math.isnan(result.p_value):
            family.append((result, "p_value"))
        if result.missing_p_value is not None:
            family.append((result, "missing_p_value"))
    adjusted = adjust_p_values([getattr(r, attr) for r, attr in family], drift.correction)
    for (result, attr), value in zip(family, adjusted, strict=True):
        setattr(result, f"{attr}_adjusted", float(value))
    for result in everything:
        if result.score_kind == "p_value":
            significant = exceeds("p_value", result.p_value_adjusted, result.threshold)
            # No effect (a profile from before effects, an undefined one): the test alone decides.
            large = result.effect is None or math.isnan(result.effect) or result.effect >= result.min_effect
            result.distribution_drifted = significant and large
        else:
            result.distribution_drifted = exceeds(result.score_kind, result.statistic, result.threshold)
        result.missing_drifted = (
            exceeds("p_value", result.missing_p_value_adjusted, drift.missing_threshold)
            and result.missing_effect >= drift.min_effect.missing
        )
        result.drifted = result.distribution_drifted or result.missing_drifted
    joint_drifted = [r.column for r in joint if r.drifted]
    together = f"; the columns drifted together ({', '.join(joint_drifted)})" if joint_drifted else ""
    drifted_columns = [r.column for r in results if r.drifted]
    tested = len(results)
    share = len(drifted_columns) / tested if tested else 0.0
    critical = [c for c in drift.critical if c in drifted_columns]
    counted = f"{len(drifted_columns)} of {tested} columns drifted"
    names = f": {', '.join(drifted_columns)}" if drifted_columns else ""
    if tested == 0 and not joint_drifted:
        return False, 0.0, [], "no drift", "no drift: no column was tested"
    if not drifted_columns:
        if joint_drifted:
            return True, 0.0, [], "drift", f"{counted}{together}"
        return False, 0.0, [], "no drift", f"no drift: {counted}"
    if drift.drift_share is None:
        return True, share, drifted_columns, "drift", f"{counted}{names}{together}"
    if share >= drift.drift_share:
        reason = f"{counted} (share {share:.2f} >= {drift.drift_share:.2f}){names}{together}"
        return True, share, drifted_columns, "drift", reason
    if critical:
        which = f"critical column{'s' if len(critical) > 1 else ''} drifted: {', '.join(critical)}"
        return True, share, drifted_columns, "drift", f"{which}; {counted}{names}{together}"
    if joint_drifted:
        reason = f"{counted} (share {share:.2f} < {drift.drift_share:.2f}){names}{together}"
        return True, share, drifted_columns, "drift", reason
    reason = (
        f"columns drifted, below the policy's share: {counted} (share {share:.2f} < {drift.drift_share:.2f}){names}"
    )
    if drift.critical:
        reason += "; no critical column drifted"
    return False, share, drifted_columns, "below share", reason
