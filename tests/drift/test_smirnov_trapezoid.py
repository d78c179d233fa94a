"""The Smirnov series by the trapezoid rule equals the series summed term by term (issue 18)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import special

from arlequin_stats import smirnov
from arlequin_stats.smirnov import _smirnov_sf_direct, _smirnov_sf_trapezoid, _x_minus_log1p, smirnov_sf

#: n * d**2: the Smirnov branch of kstwo.sf is [2.2, 370); 0.5 and 1 are below it.
SQUARED = (0.5, 1.0, 2.2, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0, 150.0, 250.0, 300.0, 350.0, 369.0)
SIZES = (20_000, 50_000, 141_421, 500_000, 1_000_000)


def _close(ours: float, expected: float, rel: float = 1e-12) -> bool:
    # Below 1e-300 (n d^2 = 369: about 1e-321) the value is subnormal or zero in both.
    if expected < 1e-300:
        return ours < 1e-300
    return math.isclose(ours, expected, rel_tol=rel, abs_tol=0.0)


@pytest.mark.parametrize("n", SIZES)
def test_trapezoid_equals_the_direct_sum(n):
    for q in SQUARED:
        d = math.sqrt(q / n)
        quadrature = _smirnov_sf_trapezoid(n, d)
        assert quadrature is not None, (n, q)  # the method applies: this tests it, not the fallback
        direct = _smirnov_sf_direct(n, d)
        assert _close(quadrature, direct), (n, q, quadrature, direct, quadrature / direct - 1 if direct else None)
        # n = 20 000 has fewer than 20 000 terms: smirnov_sf sums them one by one.
        used = quadrature if smirnov._last_term(n, d) >= smirnov._QUADRATURE_MIN_TERMS else direct
        assert smirnov_sf(n, d) == used


@pytest.mark.parametrize(
    ("n", "q"), [(20_000, 250.0), (141_421, 50.0), (500_000, 2.2), (500_000, 500_000 * 0.0048**2), (1_000_000, 150.0)]
)
def test_trapezoid_equals_scipy_smirnov(n, q):
    # scipy.special.smirnov sums the series in double-double arithmetic (about 1 s at n = 1e6).
    d = math.sqrt(q / n)
    expected = float(special.smirnov(n, d))
    assert _close(smirnov_sf(n, d), expected), (n, q, smirnov_sf(n, d), expected)


@pytest.mark.parametrize("d", [0.5, 0.6, 0.99])
def test_large_d_equals_the_direct_sum(d):
    for n in (1_000, 19_999, 40_000, 100_000):
        assert _close(smirnov_sf(n, d), _smirnov_sf_direct(n, d)), (n, d)


def test_few_terms_take_the_direct_sum_exactly():
    for n, q in [(2, 0.5), (141, 3.0), (10_000, 5.0), (19_000, 50.0), (20_000, 300.0)]:
        d = math.sqrt(q / n) if q * n > 0 else 0.5
        assert smirnov._last_term(n, d) < smirnov._QUADRATURE_MIN_TERMS, (n, q)
        assert smirnov_sf(n, d) == _smirnov_sf_direct(n, d), (n, q)


def test_a_bump_reaching_an_end_takes_the_direct_sum_exactly():
    # n d^2 = 0.01: the terms near v = 1 are within e^-60 of the largest.
    for n in (100_000, 500_000):
        d = math.sqrt(0.01 / n)
        assert _smirnov_sf_trapezoid(n, d) is None
        assert smirnov_sf(n, d) == _smirnov_sf_direct(n, d)


def test_a_bump_too_narrow_for_the_grid_takes_the_direct_sum_exactly(monkeypatch):
    n, d = 500_000, math.sqrt(250.0 / 500_000)
    for intervals in (16, 32, 64):
        assert _smirnov_sf_trapezoid(n, d, intervals) is None, intervals  # step 2h and h disagree
    monkeypatch.setattr(smirnov, "_QUADRATURE_INTERVALS", 64)
    assert smirnov_sf(n, d) == _smirnov_sf_direct(n, d)
    # d near 1/2: a few hundred terms wide at most, under-resolved by 513 points.
    for n, d in [(100_000, 0.3), (500_000, 0.5)]:
        assert _smirnov_sf_trapezoid(n, d) is None


def _exact_x_minus_log1p(x: float) -> float:
    # sum_{k>=2} (-1)^k x^k / k in rationals, for |x| <= 1/2 (the tail beyond 70 terms is < 2^-70).
    t = Fraction(x)
    return float(sum((-1) ** k * t**k / k for k in range(2, 72)))


def test_x_minus_log1p_is_accurate_where_it_cancels():
    xs = [s * m for s in (1.0, -1.0) for m in (1e-8, 1e-4, 0.003, 0.01, 0.1, 0.25, 0.3333, 0.49, 0.5)]
    ours = _x_minus_log1p(np.array(xs))
    for x, value in zip(xs, ours, strict=True):
        assert math.isclose(value, _exact_x_minus_log1p(x), rel_tol=4e-16, abs_tol=0.0), x
    # Beyond |x| = 1/2, x - log1p(x) as it stands.
    wide = np.array([-0.9, 0.7, 3.0, 100.0])
    assert np.array_equal(_x_minus_log1p(wide), wide - np.log1p(wide))
