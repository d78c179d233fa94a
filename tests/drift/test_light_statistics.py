"""The statistics computed without ``scipy.stats`` equal scipy.stats' own, which stays the reference.

The chi-squared test of homogeneity (numpy + ``scipy.special.chdtrc``), the relative
entropy of the divergence detectors (numpy), the multiple-testing corrections (numpy)
and the missing-rate z-test (``math.erfc``), each compared with scipy.stats (or, for
Holm and Bonferroni, which scipy does not have, with their definitions written out as
plain loops) on random data, ties, tiny and huge inputs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from arlequin_core.drift.policy import adjust_p_values, missing_rate_test
from arlequin_stats.binned import relative_entropy
from arlequin_stats.chi2 import homogeneity_test


def close(ours: float, theirs: float, rel: float = 1e-12) -> bool:
    return ours == theirs or math.isclose(ours, theirs, rel_tol=rel, abs_tol=0.0)


# --------------------------------------------------------------------------- chi-squared


def _assert_like_scipy(table: np.ndarray, correction: bool) -> None:
    expected = stats.chi2_contingency(table, correction=correction)
    statistic, p_value, dof, freq = homogeneity_test(table, correction=correction)
    assert dof == expected.dof
    assert close(statistic, float(expected.statistic)), (table, statistic, expected.statistic)
    assert close(p_value, float(expected.pvalue)), (table, p_value, expected.pvalue)
    np.testing.assert_allclose(freq, expected.expected_freq, rtol=1e-14)


@pytest.mark.parametrize("correction", [True, False])
def test_homogeneity_test_equals_chi2_contingency_on_random_tables(correction: bool) -> None:
    rng = np.random.default_rng(180)
    for _ in range(300):
        k = int(rng.integers(2, 40))
        table = rng.integers(1, 200, size=(2, k))
        _assert_like_scipy(table, correction)


@pytest.mark.parametrize("correction", [True, False])
def test_homogeneity_test_on_tiny_tied_and_two_by_two_tables(correction: bool) -> None:
    # 2 x 2 (Yates), counts within 0.5 of their expectation (Yates must not overshoot),
    # identical rows (statistic 0, p 1), ties, single counts, more than two rows.
    for table in (
        [[1, 1], [1, 1]],
        [[1, 2], [2, 1]],
        [[3, 1], [1, 3]],
        [[10, 11], [11, 10]],
        [[5, 5, 5], [5, 5, 5]],
        [[1, 0], [0, 1]],
        [[30, 10], [12, 14]],
        [[1, 1, 1, 1], [2, 2, 2, 2]],
        [[7, 1, 3], [2, 9, 4], [5, 5, 5]],
    ):
        _assert_like_scipy(np.array(table), correction)


def test_homogeneity_test_on_huge_counts_and_many_categories() -> None:
    rng = np.random.default_rng(181)
    big = rng.integers(10**6, 10**9, size=(2, 12))
    _assert_like_scipy(big, True)
    many = rng.integers(1, 50, size=(2, 5_000))
    _assert_like_scipy(many, True)
    # A strong drift: p-values far in the tail (1e-200 and below) still match.
    drift = np.array([[500_000, 300_000, 200_000], [200_000, 300_000, 500_000]])
    _assert_like_scipy(drift, True)


def test_homogeneity_test_without_degrees_of_freedom_and_bad_tables() -> None:
    assert homogeneity_test(np.array([[5], [9]]))[:3] == (0.0, 1.0, 0)
    assert stats.chi2_contingency([[5], [9]]).pvalue == 1.0  # scipy says the same
    with pytest.raises(ValueError, match="positive total"):
        homogeneity_test(np.array([[0, 3], [0, 4]]))


def test_chdtrc_is_scipy_stats_chi2_sf_also_at_fractional_degrees_of_freedom() -> None:
    from scipy import special

    for dof in (1.0, 1.7, 2.0, 9.4, 150.0, 4_999.5):
        for x in (0.0, 0.3, dof, 3 * dof + 10, 50 * dof + 100):
            assert close(float(special.chdtrc(dof, x)), float(stats.chi2.sf(x, dof)), rel=1e-14)


# --------------------------------------------------------------------------- relative entropy


def test_relative_entropy_equals_scipy_entropy() -> None:
    rng = np.random.default_rng(182)
    for size in (1, 2, 3, 12, 1_000, 200_000):
        p = rng.uniform(0.0, 5.0, size)
        q = rng.uniform(0.1, 5.0, size)
        for base in (None, 2.0, 10.0):
            assert close(relative_entropy(p, q, base=base), float(stats.entropy(p, q, base=base)), rel=1e-12)
    # Unnormalised counts with ties and zeros in p (terms 0), identical inputs (0).
    p = np.array([0.0, 3.0, 3.0, 0.0, 1.0])
    q = np.array([1.0, 3.0, 3.0, 2.0, 1.0])
    assert close(relative_entropy(p, q), float(stats.entropy(p, q)))
    assert relative_entropy(q, q) == float(stats.entropy(q, q)) == 0.0
    # p > 0 where q is 0: infinite, as scipy.
    assert relative_entropy(q, p) == float(stats.entropy(q, p)) == math.inf


# --------------------------------------------------------------------------- corrections


def holm_by_definition(p: list[float]) -> list[float]:
    m = len(p)
    order = sorted(range(m), key=lambda i: (p[i], i))
    out = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):  # rank j = rank + 1
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def bonferroni_by_definition(p: list[float]) -> list[float]:
    return [min(1.0, len(p) * x) for x in p]


def _families(rng: np.random.Generator) -> list[np.ndarray]:
    families = [np.array([0.03]), np.array([0.0, 1.0]), np.array([0.5, 0.5, 0.5])]  # tiny, edges, all tied
    for m in (2, 7, 60, 1_000, 100_000):
        p = np.concatenate([rng.uniform(size=m), rng.uniform(0, 1e-4, size=m // 4), np.full(m // 10, 1e-300)])
        p[: m // 5] = p[-1]  # ties, with the tiny ones
        families.append(rng.permutation(p))
    return families


def test_bh_equals_scipy_false_discovery_control_on_tiny_tied_and_huge_families() -> None:
    for p in _families(np.random.default_rng(183)):
        expected = stats.false_discovery_control(p, method="bh")
        np.testing.assert_allclose(adjust_p_values(p, "bh"), expected, rtol=1e-12, atol=0.0)


def test_holm_and_bonferroni_equal_their_definitions_on_tiny_tied_and_huge_families() -> None:
    for p in _families(np.random.default_rng(184)):
        np.testing.assert_allclose(adjust_p_values(p, "holm"), holm_by_definition(p.tolist()), rtol=1e-15, atol=0.0)
        np.testing.assert_array_equal(adjust_p_values(p, "bonferroni"), bonferroni_by_definition(p.tolist()))


# --------------------------------------------------------------------------- missing rate


def test_missing_rate_test_equals_scipy_norm_sf_into_the_far_tail() -> None:
    rng = np.random.default_rng(185)
    cases = [(int(rng.integers(0, 500)), 1_000, int(rng.integers(0, 500)), 1_000) for _ in range(200)]
    cases += [(0, 10**7, 10**5, 10**7), (1, 3, 2, 3), (10, 10**6, 11, 10**6), (0, 2, 1, 1)]
    for k1, n1, k2, n2 in cases:
        got = missing_rate_test(k1, n1, k2, n2)
        pooled = (k1 + k2) / (n1 + n2)
        if pooled in (0.0, 1.0):
            assert got is None
            continue
        z = (k2 / n2 - k1 / n1) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        expected = min(1.0, 2.0 * float(stats.norm.sf(abs(z))))
        assert got is not None and (close(got, expected, rel=1e-12) or (got < 1e-300 and expected < 1e-300))
