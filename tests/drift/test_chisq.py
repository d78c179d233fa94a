"""The chi-squared survival function in plain Python (:mod:`arlequin_stats.chisq`) against scipy.

``scipy.special.chdtrc`` is the reference wherever it is accurate: random and grid
points, tiny and large degrees of freedom, the edges (0, inf, NaN). In the far tail of
large degrees of freedom (Q below 1e-100, df in the thousands) and at five sigmas below
the mean of df = 2e6 and more, scipy itself is off by 1e-12 to 1e-5 relative; there the
reference is the same series and fraction evaluated in 50-digit decimal arithmetic.
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

import numpy as np
import pytest
from scipy import special

from arlequin_stats.chisq import _lgamma1p, _zeta, chi2_sf


def _cases() -> list[tuple[float, float]]:
    cases: list[tuple[float, float]] = []
    for df in (1, 2, 3, 4, 5, 10, 19, 20, 21, 99, 100, 999, 1e4, 1e5, 2e5, 0.5, 0.1, 1e-3, 1e-8, 1e-300, 1.5, 7.3):
        cases += [(df, df * r) for r in (1e-10, 1e-3, 0.1, 0.5, 0.9, 0.99, 1, 1.01, 1.1, 1.5, 2, 3, 5, 10, 30)]
        cases += [(df, df + s * math.sqrt(2 * df)) for s in (-10, -5, -3, -1, -0.1, 0.1, 1, 3, 5, 10, 20, 30)]
    rng = np.random.default_rng(18)
    for _ in range(4000):
        if rng.random() < 0.5:
            df = float(np.exp(rng.uniform(math.log(0.5), math.log(2e5))))
        else:
            df = float(rng.integers(1, 2000))
        cases.append((df, float(np.exp(rng.uniform(math.log(1e-6), math.log(df * 20 + 50))))))
    return [(df, x) for df, x in cases if x > 0]


def test_equals_scipy_chdtrc_where_scipy_is_accurate() -> None:
    worst = 0.0
    for df, x in _cases():
        expected = float(special.chdtrc(df, x))
        got = chi2_sf(df, x)
        if expected < 1e-100 and df > 1000:
            continue  # scipy's own error grows there (next test)
        if expected < 1e-300:
            assert got < 1e-290, (df, x, got, expected)
            continue
        worst = max(worst, abs(got - expected) / expected)
        assert got == pytest.approx(expected, rel=2e-12, abs=0), (df, x)
    assert worst > 0.0  # the comparison compared something


def _decimal_q(df: float, x: float) -> float:
    """Q(df/2, x/2) in 50-digit decimals: Legendre's fraction (x > a + 1) or 1 - the series."""
    with localcontext() as ctx:
        ctx.prec = 50
        a, half_x = Decimal(df) / 2, Decimal(x) / 2
        pi = Decimal("3.14159265358979323846264338327950288419716939937510")
        bernoulli = [Decimal(n) / d for n, d in ((1, 6), (-1, 30), (1, 42), (-1, 30), (5, 66), (-691, 2730), (7, 6))]
        log_gamma = (a - Decimal("0.5")) * a.ln() - a + (2 * pi).ln() / 2
        log_gamma += sum(b / (2 * k * (2 * k - 1) * a ** (2 * k - 1)) for k, b in enumerate(bernoulli, 1))
        prefactor = (a * half_x.ln() - half_x - log_gamma).exp()
        if half_x > a + 1:
            b, c, h = half_x + 1 - a, Decimal(10) ** 300, 1 / (half_x + 1 - a)
            d, i = h, 1
            while True:
                an = -i * (i - a)
                b += 2
                d, c = 1 / (an * d + b), b + an / c
                h *= d * c
                i += 1
                if abs(d * c - 1) < Decimal("1e-40"):
                    return float(prefactor * h)
        term = total = 1 / a
        denominator = a
        while term > total * Decimal("1e-40"):
            denominator += 1
            term = term * half_x / denominator
            total += term
        return float(1 - prefactor * total)


@pytest.mark.parametrize(
    ("df", "x"),
    [(10_000.0, 14242.640687119285), (17633.3005866345, 24817.040265790423), (1856.0, 3270.1957544619354)]
    + [(df, df - 5 * math.sqrt(2 * df)) for df in (2e5, 2e6, 2e7)],
)
def test_far_tails_and_huge_degrees_of_freedom_against_decimal_arithmetic(df: float, x: float) -> None:
    expected = _decimal_q(df, x)
    assert chi2_sf(df, x) == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize(
    ("df", "x"),
    [
        (1, -1.0),
        (0, 1.0),
        (-1, 1.0),
        (math.inf, 1.0),
        (1, math.inf),
        (math.nan, 1.0),
        (1, math.nan),
        (1, 0.0),
        (0, 0.0),
        (2, 0.0),
        (math.inf, math.inf),
        (1e-300, 1.0),
        (1e300, 1e300),
        (5, 1e-320),
        (3e7, 3e7),
    ],
)
def test_edges_as_scipy(df: float, x: float) -> None:
    expected = float(special.chdtrc(df, x))
    got = chi2_sf(df, x)
    if math.isnan(expected):
        assert math.isnan(got)
    else:
        assert got == pytest.approx(expected, rel=1e-12, abs=0)


def test_zeta_and_lgamma1p_helpers() -> None:
    for k in range(2, 60):
        assert _zeta(k) == pytest.approx(float(special.zeta(k)), rel=5e-16)
    for a in (1e-20, 1e-8, 1e-3, 0.1, 0.3, 0.49, 0.5, -0.1, -0.3, 0.7, 3.0):
        assert _lgamma1p(a) == pytest.approx(float(special.gammaln(1 + a)), rel=1e-14)


def test_the_chi2_detector_imports_no_scipy() -> None:
    import subprocess
    import sys

    code = (
        "import sys\nfrom arlequin_stats.chi2 import ChiSquared\n"
        "d = ChiSquared().fit(['a'] * 50 + ['b'] * 50)\n"
        "print(d.score(['a'] * 70 + ['b'] * 30).p_value, sorted(m for m in sys.modules if m.startswith('scipy')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    p_value, modules = out.stdout.split(" ", 1)
    assert 0.0 < float(p_value) < 0.05
    assert modules.strip() == "[]"
