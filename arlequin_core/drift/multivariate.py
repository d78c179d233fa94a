"""Drift that only shows in several columns at once: PCA reconstruction error, and a domain classifier.

Per-column tests compare marginals; a change in how columns move together (a
correlation that flips sign, a fraud pattern combining two normal-looking values)
leaves every marginal as it was. Two detectors look at all feature columns together;
both are fitted once on the reference and stored in the profile (``multivariate``).

**PCA reconstruction error** (``pca``, on by default; NannyML's "data reconstruction
drift"). Encoding: numeric columns standardised with the reference's mean and standard
deviation; categorical columns replaced by the reference frequency of their value
(unseen: 0), then standardised the same way; a missing value becomes 0 (the reference
mean). The reference is split in two (seeded): principal components explaining
``PCA_VARIANCE`` of the variance are fitted on one half, and the per-row reconstruction
error ``||x - x V Vᵀ||`` on the other half gives its mean ``mu`` and standard deviation
``sigma`` on unchanged data (in-sample errors would be biased low). It needs a reference of
at least ``PCA_MIN_ROWS`` (1,000) rows: below that the fitted components are too noisy
for the test, and the detector is skipped with that reason. A batch's statistic
is its mean error ``m``; the test is a two-sided z-test of ``m`` against ``mu``,
``z = (m - mu) / (sigma * sqrt(1/n + 1/n_ref))`` (the mean of many rows' errors is
close to normal: valid for batches of more than a few dozen rows); the effect size is
``|m - mu| / sigma``, which does not shrink with ``n``. Its state over a chunk is
``(n, sum e, sum e²)``: it merges by addition, so it streams. Assumes the reference's
correlation structure is the one to keep; a column whose variance is zero in the
reference is left out of the encoding.

**Domain classifier** (``classifier``, optional: ``[drift] multivariate =
["pca", "classifier"]``; alibi-detect's ``ClassifierDrift``). A sample of reference
rows (``CLASSIFIER_ROWS``, encoded as above, kept in the profile) and as many batch
rows are labelled 0 and 1; a gradient-boosted classifier's out-of-fold scores
(``CLASSIFIER_FOLDS``-fold cross-validation) give its ROC AUC. With no change, no
classifier does better than chance: AUC about 0.5. The p-value is the Mann–Whitney U
test of the out-of-fold scores of batch rows against reference rows (the same quantity
as the AUC, ``U = AUC * n1 * n0``), and the effect size is ``2 |AUC - 0.5|`` (0: no
separation, 1: perfect). It needs rows, so it does not stream: the streaming engines
use a uniform sample of the batch of the same size.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from arlequin_core.drift.columns import category_key, numeric_array, take_rows, to_numpy
from arlequin_core.drift.encoding import decode_array, profile_array

#: Share of the reference's variance the kept principal components explain (NannyML's default).
PCA_VARIANCE = 0.65
#: Reference rows used to fit the PCA (a seeded sample of larger references).
PCA_ROWS = 200_000
#: The fewest reference rows the PCA detector is fitted on: with fewer, the components
#: (fitted on half of them) are too noisy for the z-test, and it is skipped with the reason.
PCA_MIN_ROWS = 1_000
#: Reference rows the domain classifier keeps, and batch rows it samples.
CLASSIFIER_ROWS = 2_000
CLASSIFIER_FOLDS = 5
#: Name of the report row for each detector.
ROW_NAMES = {"pca": "__multivariate_pca__", "classifier": "__multivariate_classifier__"}
MULTIVARIATE = tuple(ROW_NAMES)


@dataclass
class Encoder:
    """Turns feature columns into a standardised float matrix (see the module docstring)."""

    numeric: list[str]
    categorical: list[str]
    frequencies: dict[str, dict[str, float]]
    means: np.ndarray
    scales: np.ndarray

    @property
    def columns(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    @classmethod
    def fit(cls, table: pa.Table, kinds: Mapping[str, str], where: str = "reference") -> Encoder | None:
        """An encoder for the features of ``table`` (``kinds``: column → kind); None with fewer than 2 columns."""
        return cls._fit(table, kinds, where)[0]

    @classmethod
    def fit_transform(
        cls, table: pa.Table, kinds: Mapping[str, str], where: str = "reference"
    ) -> tuple[Encoder | None, np.ndarray | None]:
        """:meth:`fit`, and :meth:`transform` of the same ``table`` (None without an encoder) from the
        matrix the fit built: the same numbers, the columns not converted twice."""
        encoder, raw, keep = cls._fit(table, kinds, where)
        if encoder is None:
            return None, None
        return encoder, encoder._standardise(raw if keep.all() else raw[:, keep])

    @classmethod
    def _fit(
        cls, table: pa.Table, kinds: Mapping[str, str], where: str
    ) -> tuple[Encoder | None, np.ndarray, np.ndarray]:
        numeric = [c for c, k in kinds.items() if k == "numeric" and c in table.column_names]
        categorical = [c for c, k in kinds.items() if k == "categorical" and c in table.column_names]
        frequencies = {}
        for name in categorical:
            counts = _category_counts(table.column(name))
            total = sum(counts.values()) or 1
            frequencies[name] = {k: v / total for k, v in counts.items()}
        raw = _raw_matrix(table, numeric, categorical, frequencies, where)
        with np.errstate(all="ignore"):
            if raw.size and not np.isnan(raw).any():
                # Without a missing value np.mean / np.std do what their nan variants do, bit for
                # bit, without the masked copies: half the time on the 200,000-row sample.
                means, scales = raw.mean(axis=0), raw.std(axis=0)
            else:
                means = np.nanmean(raw, axis=0) if raw.size else np.zeros(raw.shape[1])
                scales = np.nanstd(raw, axis=0) if raw.size else np.zeros(raw.shape[1])
        keep = np.isfinite(means) & np.isfinite(scales) & (scales > 0)
        names = [*numeric, *categorical]
        kept = [n for n, k in zip(names, keep, strict=True) if k]
        if len(kept) < 2:
            return None, raw, keep
        encoder = cls(
            numeric=[c for c in numeric if c in kept],
            categorical=[c for c in categorical if c in kept],
            frequencies={c: frequencies[c] for c in categorical if c in kept},
            means=means[keep],
            scales=scales[keep],
        )
        return encoder, raw, keep

    def transform(self, table: pa.Table, where: str = "batch") -> np.ndarray:
        """The standardised matrix, shape ``(rows, len(columns))``; missing values are 0."""
        return self._standardise(_raw_matrix(table, self.numeric, self.categorical, self.frequencies, where))

    def _standardise(self, raw: np.ndarray) -> np.ndarray:
        x = (raw - self.means) / self.scales
        x[~np.isfinite(x)] = 0.0
        return x

    def to_dict(self) -> dict[str, Any]:
        return {
            "numeric": self.numeric,
            "categorical": self.categorical,
            "frequencies": self.frequencies,
            "means": profile_array(self.means),
            "scales": profile_array(self.scales),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Encoder:
        return cls(
            numeric=list(data["numeric"]),
            categorical=list(data["categorical"]),
            frequencies={k: dict(v) for k, v in data["frequencies"].items()},
            means=decode_array(data["means"]),
            scales=decode_array(data["scales"]),
        )


@dataclass
class ErrorState:
    """Sums of per-row reconstruction errors over a chunk: merge by addition."""

    n: int = 0
    total: float = 0.0
    squares: float = 0.0

    def merge(self, other: ErrorState) -> ErrorState:
        return ErrorState(self.n + other.n, self.total + other.total, self.squares + other.squares)


@dataclass
class PCADetector:
    """PCA reconstruction error of all features together (see the module docstring)."""

    encoder: Encoder
    components: np.ndarray
    mean_error: float
    std_error: float
    rows: int
    threshold: float = 0.05
    name: str = field(default="pca", init=False)

    @classmethod
    def fit(
        cls, table: pa.Table, kinds: Mapping[str, str], seed: int = 0, where: str = "reference"
    ) -> PCADetector | None:
        """Fit on the reference; None when fewer than 2 usable columns or :data:`PCA_MIN_ROWS` rows."""
        if table.num_rows < PCA_MIN_ROWS:
            return None
        table = _sample(table, PCA_ROWS, seed)
        encoder, x = Encoder.fit_transform(table, kinds, where)
        if encoder is None or x is None:
            return None
        rng = np.random.default_rng(seed)
        half = rng.permutation(x.shape[0]) < x.shape[0] // 2
        fit_rows, test_rows = x[half], x[~half]
        singular, vt = _right_svd(fit_rows - fit_rows.mean(axis=0))
        explained = np.cumsum(singular**2) / max(float(np.sum(singular**2)), 1e-300)
        k = int(np.searchsorted(explained, PCA_VARIANCE) + 1)
        components = vt[: min(k, vt.shape[0] - 1)] if vt.shape[0] > 1 else vt
        errors = _errors(test_rows, components)
        return cls(encoder, components, float(errors.mean()), float(errors.std(ddof=1)), int(errors.size))

    def state(self, table: pa.Table, where: str = "batch") -> ErrorState:
        """The mergeable state of one chunk of a batch."""
        e = _errors(self.encoder.transform(table, where), self.components)
        return ErrorState(int(e.size), float(e.sum()), float(np.sum(e * e)))

    def score_state(self, state: ErrorState) -> dict[str, Any]:
        """``statistic`` (mean error), ``p_value``, ``effect`` and ``details`` of a merged state."""
        if state.n == 0:
            return {"statistic": math.nan, "p_value": None, "effect": math.nan, "details": {}}
        mean = state.total / state.n
        sigma = max(self.std_error, 1e-12)
        z = (mean - self.mean_error) / (sigma * math.sqrt(1.0 / state.n + 1.0 / self.rows))
        p_value = math.erfc(abs(z) / math.sqrt(2.0))
        return {
            "statistic": mean,
            "p_value": p_value,
            "effect": abs(mean - self.mean_error) / sigma,
            "details": {
                "reference_mean_error": self.mean_error,
                "reference_std_error": self.std_error,
                "components": int(self.components.shape[0]),
                "columns": self.encoder.columns,
                "z": z,
            },
        }

    def score(self, table: pa.Table, where: str = "batch") -> dict[str, Any]:
        return self.score_state(self.state(table, where))

    def to_dict(self) -> dict[str, Any]:
        return {
            "encoder": self.encoder.to_dict(),
            "components": profile_array(self.components.ravel()),
            "shape": list(self.components.shape),
            "mean_error": self.mean_error,
            "std_error": self.std_error,
            "rows": self.rows,
            "threshold": self.threshold,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PCADetector:
        return cls(
            encoder=Encoder.from_dict(data["encoder"]),
            components=decode_array(data["components"]).reshape(data["shape"]),
            mean_error=float(data["mean_error"]),
            std_error=float(data["std_error"]),
            rows=int(data["rows"]),
            threshold=float(data.get("threshold", 0.05)),
        )


@dataclass
class ClassifierDetector:
    """A domain classifier telling reference rows from batch rows (see the module docstring)."""

    encoder: Encoder
    reference: np.ndarray
    seed: int = 0
    threshold: float = 0.05
    name: str = field(default="classifier", init=False)

    @classmethod
    def fit(
        cls, table: pa.Table, kinds: Mapping[str, str], seed: int = 0, where: str = "reference"
    ) -> ClassifierDetector | None:
        encoder = Encoder.fit(table, kinds, where)
        if encoder is None or table.num_rows < 2 * CLASSIFIER_FOLDS:
            return None
        return cls(encoder, encoder.transform(_sample(table, CLASSIFIER_ROWS, seed), where), seed)

    def score(self, table: pa.Table, where: str = "batch") -> dict[str, Any]:
        from scipy.stats import mannwhitneyu
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.model_selection import StratifiedKFold, cross_val_predict

        batch = self.encoder.transform(_sample(table, self.reference.shape[0], self.seed + 1), where)
        if batch.shape[0] < CLASSIFIER_FOLDS:
            return {"statistic": math.nan, "p_value": None, "effect": math.nan, "details": {}}
        x = np.vstack([self.reference, batch])
        y = np.r_[np.zeros(self.reference.shape[0]), np.ones(batch.shape[0])]
        folds = StratifiedKFold(n_splits=CLASSIFIER_FOLDS, shuffle=True, random_state=self.seed)
        model = HistGradientBoostingClassifier(
            max_iter=50, max_leaf_nodes=15, early_stopping=False, random_state=self.seed
        )
        scores = cross_val_predict(model, x, y, cv=folds, method="predict_proba")[:, 1]
        u, p_value = mannwhitneyu(scores[y == 1], scores[y == 0], alternative="two-sided")
        auc = float(u) / (batch.shape[0] * self.reference.shape[0])
        return {
            "statistic": auc,
            "p_value": float(p_value),
            "effect": 2.0 * abs(auc - 0.5),
            "details": {
                "roc_auc": auc,
                "rows_each": [self.reference.shape[0], batch.shape[0]],
                "folds": CLASSIFIER_FOLDS,
            },
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "encoder": self.encoder.to_dict(),
            "reference": profile_array(self.reference.ravel()),
            "shape": list(self.reference.shape),
            "seed": self.seed,
            "threshold": self.threshold,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClassifierDetector:
        return cls(
            encoder=Encoder.from_dict(data["encoder"]),
            reference=decode_array(data["reference"]).reshape(data["shape"]),
            seed=int(data.get("seed", 0)),
            threshold=float(data.get("threshold", 0.05)),
        )


_CLASSES = {"pca": PCADetector, "classifier": ClassifierDetector}


def fit_multivariate(
    table: pa.Table, kinds: Mapping[str, str], names: Sequence[str], seed: int = 0, where: str = "reference"
) -> dict[str, Any]:
    """Fit the detectors ``names`` (of :data:`MULTIVARIATE`) on the reference; the profile's ``multivariate`` entry.

    Detectors that cannot be fitted (fewer than two usable columns, too few rows) are
    left out with the reason under ``"skipped"``.
    """
    out: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    for name in names:
        if name not in _CLASSES:
            raise ValueError(f"unknown multivariate detector {name!r}; known: {', '.join(MULTIVARIATE)}")
        detector = _CLASSES[name].fit(table, kinds, seed=seed, where=where)
        if detector is None:
            skipped[name] = f"needs at least two feature columns that vary in the reference, and {PCA_MIN_ROWS:,} rows"
        else:
            out[name] = detector.to_dict()
    if skipped:
        out["skipped"] = skipped
    return out


def load_multivariate(entry: Mapping[str, Any]) -> dict[str, PCADetector | ClassifierDetector]:
    """The fitted detectors of a profile's ``multivariate`` entry."""
    return {name: _CLASSES[name].from_dict(data) for name, data in entry.items() if name in _CLASSES}


def _right_svd(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The singular values and right vectors of ``np.linalg.svd(x, full_matrices=False)``, without its left vectors.

    LAPACK's ``gesdd`` factors a matrix of many more rows than columns as ``QR`` first and decomposes ``R``; doing
    that here (``qr(mode="r")``, then the small ``R``) gives the same singular values and
    right vectors and skips building the ``rows x columns`` left vectors: half the time.
    """
    if x.shape[0] < 2 * x.shape[1]:
        _, singular, vt = np.linalg.svd(x, full_matrices=False)
    else:
        _, singular, vt = np.linalg.svd(np.linalg.qr(x, mode="r"))
    return singular, vt


def _errors(x: np.ndarray, components: np.ndarray) -> np.ndarray:
    residual = x - (x @ components.T) @ components
    return np.sqrt(np.einsum("ij,ij->i", residual, residual))


def _sample(table: pa.Table, rows: int, seed: int) -> pa.Table:
    if table.num_rows <= rows:
        return table
    rng = np.random.default_rng(seed)
    return take_rows(table, np.sort(rng.choice(table.num_rows, rows, replace=False)))


def _category_counts(column: pa.ChunkedArray) -> dict[str, int]:
    import pyarrow.compute as pc

    counts: dict[str, int] = {}
    for entry in pc.value_counts(column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column):
        value = entry["values"].as_py()
        if value is None:
            continue
        key = category_key(value)
        counts[key] = counts.get(key, 0) + int(entry["counts"].as_py())
    return counts


def _frequency_codes(column: pa.ChunkedArray, frequencies: Mapping[str, float]) -> np.ndarray:
    """Each value's reference frequency (unseen: 0, missing: NaN), vectorised through a dictionary encoding."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type) or pa.types.is_boolean(array.type):
        # Encoded in Python (a sample: ~1 ms a column): dictionary_encode imports pyarrow.compute,
        # whose import alone is ~0.05-0.1 s of a one-off detect from a profile (issue 18).
        values = array.to_pylist()
        position = {value: i for i, value in enumerate(dict.fromkeys(values))}
        lut = np.array(
            [np.nan if v is None else frequencies.get(category_key(v), 0.0) for v in position], dtype=np.float64
        )
        return lut[np.fromiter(map(position.__getitem__, values), dtype=np.int64, count=len(values))]
    if not pa.types.is_dictionary(array.type):
        array = array.dictionary_encode()
    keys = [None if v is None else category_key(v) for v in array.dictionary.to_pylist()]
    lut = np.array([np.nan if k is None else frequencies.get(k, 0.0) for k in keys] + [np.nan], dtype=np.float64)
    # Missing -> the NaN at the end of lut; in numpy (pc.fill_null's scalar and Array.to_numpy import pandas).
    codes = to_numpy(array.indices)  # floats with NaN for null when there are nulls
    if array.indices.null_count:
        codes = np.where(np.isnan(codes), len(keys), codes)
    return lut[codes.astype(np.int64)]


def _raw_matrix(
    table: pa.Table,
    numeric: Sequence[str],
    categorical: Sequence[str],
    frequencies: Mapping[str, Mapping[str, float]],
    where: str,
) -> np.ndarray:
    parts = [numeric_array(table.column(c), c, where) for c in numeric]
    for name in categorical:
        parts.append(_frequency_codes(table.column(name), frequencies[name]))
    if not parts:
        return np.zeros((table.num_rows, 0))
    x = np.column_stack(parts).astype(np.float64, copy=False)
    x[~np.isfinite(x)] = np.nan
    return x


def multivariate_results(profile: Any, table: pa.Table, where: str) -> list[Any]:
    """One report row per multivariate detector of ``profile`` on the batch ``table``.

    Each row (``kind`` ``multivariate``, ``score_kind`` ``p_value``, level 0.05) takes
    part in the policy like a column: its p-value joins the family that is corrected;
    ``details["effect"]`` holds its effect size. A detector whose columns the batch
    lacks cannot have been reached (the column check comes first).
    """
    from arlequin_core.drift.policy import MULTIVARIATE_MIN_EFFECT
    from arlequin_core.drift.report import ColumnResult

    results = []
    for name, detector in load_multivariate(profile.multivariate).items():
        scored = detector.score(table, where)
        results.append(
            ColumnResult(
                column=ROW_NAMES[name],
                kind="multivariate",
                detector=name,
                score_kind="p_value",
                threshold=detector.threshold,
                statistic=float(scored["statistic"]),
                p_value=None if scored["p_value"] is None else float(scored["p_value"]),
                n_ref=int(getattr(detector, "rows", 0) or getattr(detector, "reference", np.empty((0,))).shape[0]),
                n_cur=table.num_rows,
                effect=float(scored["effect"]),
                min_effect=MULTIVARIATE_MIN_EFFECT,
                details={"effect": float(scored["effect"]), **scored["details"]},
            )
        )
    return results


def add_multivariate(report: Any, profile: Any, sample: pa.Table, config: Any, where: str) -> None:
    """Score the multivariate detectors on ``sample`` and decide ``report`` again with their rows.

    For engines whose report was made from per-column states (arrow, spark): the
    policy is applied once more over the columns and the new rows together (it
    recomputes every adjusted p-value from the raw ones, so nothing is counted twice).
    """
    from arlequin_core.drift.policy import apply_policy

    joint = multivariate_results(profile, sample, where)
    if not joint:
        return
    drifted, share, drifted_columns, status, reason = apply_policy(report.columns, config.drift, joint)
    report.drifted, report.drift_share, report.drifted_columns = drifted, share, drifted_columns
    report.status, report.reason = status, reason
    report.multivariate = joint
