"""Statistics and p-values equal scipy's, computed directly by scipy on the same data."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
from collections import Counter

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats
from scipy.spatial import distance

from arlequin_stats.chi2 import ChiSquared
from arlequin_stats.jensen_shannon import JensenShannon
from arlequin_stats.kl import KullbackLeibler
from arlequin_stats.ks import KolmogorovSmirnov
from arlequin_stats.ks_pvalue import MAX_EXACT_N
from arlequin_stats.psi import PopulationStabilityIndex
from arlequin_stats.smirnov import kstwo_sf
from arlequin_stats.wasserstein import Wasserstein

TOL = 1e-9


def same(ours: float, theirs: float) -> bool:
    """Equal to a relative 1e-9 (no absolute slack: tiny p-values must match too)."""
    return ours == theirs or math.isclose(ours, theirs, rel_tol=TOL, abs_tol=0.0)


def check_ks(a: np.ndarray, b: np.ndarray) -> str:
    expected = stats.ks_2samp(a, b)  # method="auto"
    score = KolmogorovSmirnov().fit(a).score(b)
    assert same(score.statistic, float(expected.statistic)), (score.statistic, expected.statistic)
    assert same(score.p_value, float(expected.pvalue)), (score.p_value, expected.pvalue, len(a), len(b))
    return score.details["method"]


# --------------------------------------------------------------------------- KS


def test_ks_matches_scipy_on_random_data():
    rng = np.random.default_rng(0)
    for _ in range(300):
        n1, n2 = (int(n) for n in rng.integers(1, 300, 2))
        a = rng.normal(0, 1, n1)
        b = rng.normal(rng.uniform(-1, 1), rng.uniform(0.5, 2), n2)
        assert check_ks(a, b) == "exact"


def test_ks_matches_scipy_with_heavy_ties():
    rng = np.random.default_rng(1)
    for _ in range(300):
        n1, n2 = (int(n) for n in rng.integers(1, 400, 2))
        levels = int(rng.integers(1, 6))
        check_ks(rng.integers(0, levels, n1).astype(float), rng.integers(0, levels + 1, n2).astype(float))


@pytest.mark.filterwarnings("ignore:ks_2samp. Exact calculation unsuccessful:RuntimeWarning")
def test_ks_matches_scipy_on_every_tiny_sample_size():
    rng = np.random.default_rng(2)
    for n1, n2 in itertools.product(range(1, 6), repeat=2):
        for _ in range(20):
            check_ks(rng.normal(size=n1), rng.normal(0.5, 1, size=n2))
            check_ks(rng.integers(0, 3, n1).astype(float), rng.integers(0, 3, n2).astype(float))


@pytest.mark.parametrize(
    ("n1", "n2", "method"),
    [
        (MAX_EXACT_N, MAX_EXACT_N - 1, "exact"),  # the largest exact case scipy attempts
        (MAX_EXACT_N, MAX_EXACT_N, "exact"),
        (6000, 9000, "exact"),
        (MAX_EXACT_N + 1, 50, "asymp"),
        (200_000, 150_000, "asymp"),
    ],
)
def test_ks_matches_scipy_on_large_samples_in_both_regimes(n1, n2, method):
    rng = np.random.default_rng(n1 + n2)
    a = rng.normal(0, 1, n1)
    b = rng.normal(0.02, 1, n2)
    assert check_ks(a, b) == method
    ties_a = np.round(a, 1)
    ties_b = np.round(b, 1)
    assert check_ks(ties_a, ties_b) == method


def test_ks_matches_scipy_for_disjoint_and_identical_samples():
    a = np.arange(50.0)
    check_ks(a, a + 100)  # D = 1, smallest p-value
    check_ks(a, a.copy())  # D = 0, p = 1
    check_ks(np.full(7, 3.0), np.full(4, 3.0))  # constant, equal
    check_ks(np.full(7, 3.0), np.full(4, 4.0))  # constant, different


def test_ks_matches_scipy_with_infinities():
    rng = np.random.default_rng(9)
    a = np.concatenate([rng.normal(size=300), [np.inf, np.inf, -np.inf]])
    b = np.concatenate([rng.normal(size=200), [np.inf] * 5, [-np.inf] * 2])
    check_ks(a, b)
    check_ks(b, a)
    same_with_repeated_infinity = np.array([1.0, 2.0, 3.0, np.inf, np.inf])
    check_ks(same_with_repeated_infinity, same_with_repeated_infinity.copy())  # D = 0


#: n * d**2 in every branch of kstwo.sf for n > 140: Durbin's matrix or Pelz-Good below 2.2
#: (which one depends on n * d**1.5 and n), the Smirnov series (or its closed form above
#: n = 1e6) in [2.2, 370), zero above.
ALL_BRANCHES = (1e-4, 0.01, 0.1, 0.5, 0.754, 1.5, 2.19, 2.2, 3.0, 10.0, 60.0, 200.0, 369.0, 370.0, 400.0)
#: n * d**1.5 either side of the Durbin / Pelz-Good boundary (1.4).
DURBIN_EDGE = (0.5, 1.0, 1.39, 1.41, 3.0)
#: n * d: the exact ends of the distribution (t <= 1/2, 1/2 < t <= 1, t >= n - 1).
ENDS = (0.3, 0.5, 0.7, 1.0, 1.2)
#: d >= 1/2: twice the one-sided probability whatever n * d**2.
LARGE_D = (0.5, 0.6, 0.99)

#: Terms of the Smirnov series that scipy sums one by one, slowly (about a second per
#: value for n >= 500k): those n get a shorter list in that branch.
SLOW_SCIPY = (0.5, 1.5, 2.19, 5.0, 400.0)


def _grid(n: int) -> list[float]:
    qs = ALL_BRANCHES if n < 500_000 or n > 1_000_000 else SLOW_SCIPY
    ds = [math.sqrt(q / n) for q in qs]
    ds += [(a / n) ** (2 / 3) for a in DURBIN_EDGE]
    ds += [t / n for t in ENDS] + [1.0 - 1.0 / n, 1.0 - 0.5 / n, 0.0, 1.0]
    if n < 500_000 or n > 1_000_000:
        ds += list(LARGE_D)
    return ds


@pytest.mark.parametrize("n", [141, 1000, 20_000, 100_000, 100_001, 500_000, 1_000_000, 1_000_001, 2_000_000])
def test_kstwo_sf_equals_scipy_in_every_branch(n):
    # Relative 1e-10 (the worst seen is about 1e-13); both below 1e-300 counts as equal
    # (there scipy's own result underflows unevenly).
    for d in _grid(n):
        expected = float(stats.kstwo.sf(d, float(n)))
        ours = kstwo_sf(d, float(n))
        ok = ours == expected or math.isclose(ours, expected, rel_tol=1e-10, abs_tol=0.0)
        assert ok or (ours < 1e-300 and expected < 1e-300), (n, d, n * d * d, ours, expected)


def test_kstwo_sf_for_large_n_imports_no_scipy_stats():
    code = (
        "import sys, math; from arlequin_stats.smirnov import kstwo_sf\n"
        "for n in (141, 10_000, 100_000, 100_001, 2_000_000):\n"
        "    for q in (1e-4, 0.1, 1.0, 2.19, 2.2, 50.0, 400.0):\n"
        "        kstwo_sf(math.sqrt(q / n), float(n))\n"
        "    for d in (0.3 / n, 0.7 / n, 0.5, 0.7, 1 - 0.5 / n):\n"
        "        kstwo_sf(d, float(n))\n"
        "print(sorted(m for m in sys.modules if m.startswith('scipy.stats')))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert proc.stdout.strip() == "[]", proc.stdout + proc.stderr


# --------------------------------------------------------------------------- chi-squared


def scipy_chi2(ref: list, cur: list, correction: bool = True):
    keys = sorted(set(ref) | set(cur))
    rc, cc = Counter(ref), Counter(cur)
    return stats.chi2_contingency([[rc[k] for k in keys], [cc[k] for k in keys]], correction=correction)


@pytest.mark.parametrize("correction", [True, False])
def test_chi2_matches_chi2_contingency(correction):
    rng = np.random.default_rng(3)
    for _ in range(200):
        k = int(rng.integers(2, 8))
        cats = [f"c{i}" for i in range(k)]
        ref = list(rng.choice(cats, int(rng.integers(1, 500)), p=rng.dirichlet(np.ones(k))))
        cur = list(rng.choice([*cats, "new1", "new2"], int(rng.integers(1, 500)), p=rng.dirichlet(np.ones(k + 2))))
        expected = scipy_chi2(ref, cur, correction)
        score = ChiSquared(correction=correction).fit(pa.array(ref)).score(pa.array(cur))
        assert same(score.statistic, float(expected.statistic))
        assert same(score.p_value, float(expected.pvalue))


def test_chi2_two_categories_uses_yates_like_scipy_default():
    ref = ["a"] * 30 + ["b"] * 10
    cur = ["a"] * 12 + ["b"] * 14
    expected = scipy_chi2(ref, cur)  # correction=True by default: Yates on 2 x 2
    score = ChiSquared().fit(pa.array(ref)).score(pa.array(cur))
    # The p-value is arlequin_stats.chisq's chdtrc (plain Python): scipy's to 1e-12, not to the bit.
    assert (score.statistic, score.p_value) == (
        pytest.approx(expected.statistic, rel=TOL),
        pytest.approx(expected.pvalue, rel=1e-12),
    )
    assert score.details["dof"] == 1


def test_chi2_matches_on_tiny_samples():
    for n1, n2 in itertools.product(range(1, 6), repeat=2):
        rng = np.random.default_rng(n1 * 10 + n2)
        ref = list(rng.choice(["x", "y", "z"], n1))
        cur = list(rng.choice(["x", "y", "w"], n2))
        expected = scipy_chi2(ref, cur)
        score = ChiSquared().fit(pa.array(ref)).score(pa.array(cur))
        assert same(score.statistic, float(expected.statistic)) and same(score.p_value, float(expected.pvalue))


# --------------------------------------------------------------------------- KL, PSI, JS


def documented_cells(ref: np.ndarray, cur: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """The cells of docs/detectors.md, counted by brute force (number of edges <= x)."""
    q = np.quantile(ref, np.linspace(0, 1, bins + 1))
    edges = np.unique(np.append(q[:-1], np.nextafter(ref.max(), np.inf)))

    def count(x: np.ndarray) -> np.ndarray:
        cells = (x[:, None] >= edges[None, :]).sum(axis=1)
        return np.array([(cells == i).sum() for i in range(edges.size + 1)], dtype=float)

    return count(ref), count(cur)


def documented_categories(ref: list, cur: list) -> tuple[np.ndarray, np.ndarray]:
    keys = sorted(set(ref) | set(cur))
    rc, cc = Counter(ref), Counter(cur)
    return np.array([rc[k] for k in keys], float), np.array([cc[k] for k in keys], float)


def smooth(counts: np.ndarray, alpha: float) -> np.ndarray:
    return (counts + alpha) / (counts.sum() + alpha * counts.size)


DIVERGENCES = [
    (KullbackLeibler, 0.5, lambda p, q: stats.entropy(q, p)),
    (PopulationStabilityIndex, 0.5, lambda p, q: np.sum((q - p) * np.log(q / p))),
    (JensenShannon, 0.0, lambda p, q: distance.jensenshannon(p, q, base=2)),
]


@pytest.mark.parametrize(("cls", "alpha", "reference_formula"), DIVERGENCES, ids=lambda v: getattr(v, "__name__", ""))
def test_divergences_match_scipy_on_numeric_columns(cls, alpha, reference_formula):
    rng = np.random.default_rng(4)
    for n1, n2 in [*itertools.product(range(1, 6), repeat=2), (500, 300), (2000, 5000)]:
        for ref, cur in [
            (rng.normal(size=n1), rng.normal(0.4, 1.3, size=n2)),
            (rng.integers(0, 4, n1).astype(float), rng.integers(0, 6, n2).astype(float)),  # ties, out of range
        ]:
            bins = int(rng.integers(1, 12))
            p, q = documented_cells(ref, cur, bins)
            expected = float(reference_formula(smooth(p, alpha), smooth(q, alpha)))
            score = cls(bins=bins).fit(ref).score(cur)
            assert same(score.statistic, expected) or abs(score.statistic - expected) < 1e-15, (n1, n2, bins)


@pytest.mark.parametrize(("cls", "alpha", "reference_formula"), DIVERGENCES, ids=lambda v: getattr(v, "__name__", ""))
def test_divergences_match_scipy_on_categorical_columns(cls, alpha, reference_formula):
    rng = np.random.default_rng(5)
    for n1, n2 in [*itertools.product(range(1, 6), repeat=2), (400, 900)]:
        ref = list(rng.choice(["a", "b", "c", "d"], n1))
        cur = list(rng.choice(["a", "b", "e"], n2))
        p, q = documented_categories(ref, cur)
        expected = float(reference_formula(smooth(p, alpha), smooth(q, alpha)))
        score = cls().fit(pa.array(ref)).score(pa.array(cur))
        assert same(score.statistic, expected) or abs(score.statistic - expected) < 1e-15


def test_psi_is_the_symmetrised_kl():
    rng = np.random.default_rng(6)
    ref, cur = rng.normal(size=1000), rng.normal(0.3, 1, 700)
    psi = PopulationStabilityIndex().fit(ref).score(cur).statistic
    p, q = documented_cells(ref, cur, 10)
    p, q = smooth(p, 0.5), smooth(q, 0.5)
    assert same(psi, float(stats.entropy(p, q) + stats.entropy(q, p)))


# --------------------------------------------------------------------------- Wasserstein


def test_wasserstein_matches_scipy_normalised_by_reference_std():
    rng = np.random.default_rng(7)
    cases = [(rng.normal(size=n1), rng.normal(0.3, 2, n2)) for n1, n2 in itertools.product(range(2, 6), repeat=2)]
    cases += [(rng.normal(size=3000), rng.normal(0.1, 1, 4000))]
    cases += [(rng.integers(0, 5, 300).astype(float), rng.integers(0, 7, 200).astype(float))]
    for ref, cur in cases:
        expected = stats.wasserstein_distance(ref, cur)
        score = Wasserstein().fit(ref).score(cur)
        assert math.isclose(score.details["distance"], expected, rel_tol=TOL, abs_tol=1e-15)
        assert math.isclose(score.statistic, expected / np.std(ref), rel_tol=TOL, abs_tol=1e-15)


def test_wasserstein_constant_reference_is_zero_or_infinite():
    detector = Wasserstein().fit(np.full(10, 2.0))
    assert detector.score(np.full(3, 2.0)).statistic == 0.0
    assert detector.score(np.array([2.0, 2.5])).statistic == math.inf
    assert detector.score(np.array([2.0, 2.5])).details["distance"] == stats.wasserstein_distance([2.0] * 10, [2, 2.5])


def test_ks_falls_back_to_asymptotic_where_scipy_does():
    # For n1 = n2 = 5 and D = 1/5 the exact series rounds to 1.0000000000000002;
    # scipy then warns and uses the asymptotic formula. So do we, silently.
    a = np.array([0.0, 2.0, 4.0, 6.0, 8.0])
    b = a + 1.0
    with pytest.warns(RuntimeWarning, match="Exact calculation unsuccessful"):
        expected = stats.ks_2samp(a, b)
    score = KolmogorovSmirnov().fit(a).score(b)
    assert score.details["method"] == "asymp"
    assert (score.statistic, score.p_value) == (expected.statistic, expected.pvalue)
