"""The chi-squared survival function in plain Python, without importing scipy.

``chi2_sf(df, x) = Q(df / 2, x / 2)``, the regularized upper incomplete gamma function,
equal to ``scipy.special.chdtrc(df, x)`` (what ``scipy.stats.chi2.sf`` calls) to about
1e-12 relative, for the chi-squared detector's p-value. ``from scipy import special``
costs a quarter of a second of a one-off ``arlequin detect`` (scipy's array-API layer
imports ``numpy.f2py``), more than the check it serves (issue 18).

The classic pair (Numerical Recipes' ``gser``/``gcf``, Cephes' ``igam``/``igamc``):

* ``x < a + 1``: the series ``P(a, x) = x^a e^-x / Gamma(a) * sum_n x^n / (a (a+1) ... (a+n))``,
  and ``Q = 1 - P`` (``Q`` is then at least about 0.3: no cancellation to speak of);
* otherwise Legendre's continued fraction for ``Q``, evaluated by the modified Lentz method.

Both converge in ``O(sqrt(a))`` terms near ``x = a``. The prefactor ``x^a e^-x / Gamma(a)``
is computed in log as ``a * log1pmx((x - a) / a) + log(a / 2 pi) / 2 - stirlerr(a)`` for
``a >= 10`` (``log1pmx(t) = log(1 + t) - t``, ``stirlerr`` the remainder of Stirling's
series for ``log Gamma``), so no large terms cancel for large degrees of freedom; below
10, ``a log x - x - lgamma(a)`` is small enough to take as it is.

Left to scipy (imported then): ``df <= 0``, infinite ``df``, and ``df / 2`` above
:data:`A_MAX` (where the term count grows past a few tens of thousands); NaN in, NaN out.
"""

from __future__ import annotations

import math

#: Above this ``a = df / 2`` the series would take more than ~30,000 terms: scipy's asymptotic expansion.
A_MAX = 1e7
_EPS = 2.220446049250313e-16
_TINY = 1e-300
_LOG_2PI = math.log(2.0 * math.pi)
_MAXLOG = 709.782712893384  # log(DBL_MAX)
_MAX_TERMS = 100_000


def chi2_sf(df: float, x: float) -> float:
    """P(X >= x) for X chi-squared with ``df`` degrees of freedom (``scipy.special.chdtrc``)."""
    df, x = float(df), float(x)
    if math.isnan(df) or math.isnan(x) or x < 0.0:
        return math.nan
    if not (0.0 < df <= 2.0 * A_MAX):
        from scipy import special  # the edges (df <= 0, inf, huge): scipy's own conventions

        return float(special.chdtrc(df, x))
    if x == 0.0:
        return 1.0
    if math.isinf(x):
        return 0.0
    return upper_gamma_q(0.5 * df, 0.5 * x)


def upper_gamma_q(a: float, x: float) -> float:
    """The regularized upper incomplete gamma function ``Q(a, x)``, for ``0 < a <= A_MAX``, ``0 < x < inf``."""
    if x <= 1.1 and (a <= -0.4 / math.log(x) if x <= 0.5 else a <= 1.1 * x):
        return _upper_series(a, x)  # small a and x: Q is small, 1 - P would cancel
    log_prefactor = _log_prefactor(a, x)
    # Below exp(-MAXLOG) the prefactor counts as 0, as in Cephes (scipy's p-value is then 0, not subnormal).
    if x < a + 1.0:
        if log_prefactor < -_MAXLOG:
            return 1.0
        return max(0.0, 1.0 - math.exp(log_prefactor) * _lower_series(a, x))
    if log_prefactor < -_MAXLOG:
        return 0.0
    return math.exp(log_prefactor + math.log(_upper_fraction(a, x)))


def _log_prefactor(a: float, x: float) -> float:
    """``log(x^a e^-x / Gamma(a))``, accurate for large ``a`` (see the module docstring)."""
    if a < 10.0:
        return a * math.log(x) - x - math.lgamma(a)
    return a * _log1pmx((x - a) / a) + 0.5 * (math.log(a) - _LOG_2PI) - _stirlerr(a)


def _log1pmx(t: float) -> float:
    """``log(1 + t) - t``, without cancellation for small ``t``."""
    if abs(t) >= 0.5:
        return math.log1p(t) - t
    # log(1 + t) = 2 atanh(y), y = t / (2 + t); and 2y - t = -t^2 / (2 + t).
    y = t / (2.0 + t)
    y2 = y * y
    power, total, k = y * y2, 0.0, 3
    while True:
        term = power / k
        total += term
        if abs(term) <= _EPS * abs(total):
            break
        power *= y2
        k += 2
    return -t * t / (2.0 + t) + 2.0 * total


def _stirlerr(a: float) -> float:
    """``lgamma(a) - ((a - 1/2) log a - a + log(2 pi) / 2)``, Stirling's series, for ``a >= 10``."""
    r = 1.0 / a
    r2 = r * r
    # Coefficients B_2k / (2k (2k - 1)); at a = 10 the first term left out is below 1e-16 relative.
    series = 1.0 / 12.0 - r2 * (
        1.0 / 360.0
        - r2 * (1.0 / 1260.0 - r2 * (1.0 / 1680.0 - r2 * (1.0 / 1188.0 - r2 * (691.0 / 360360.0 - r2 / 156.0))))
    )
    return series * r


def _upper_series(a: float, x: float) -> float:
    """``Q(a, x)`` for small ``a`` and ``x <= 1.1`` (Cephes' ``igamc_series``).

    ``Q = 1 - x^a / Gamma(a + 1) + x^a / Gamma(a) * sum_{n>=1} (-x)^n / (n! (a + n))``, the
    first two terms as ``-expm1(a log x - lgamma(1 + a))``: no cancellation as ``a -> 0``.
    """
    factor, total = 1.0, 0.0
    for n in range(1, _MAX_TERMS):
        factor *= -x / n
        term = factor / (a + n)
        total += term
        if abs(term) <= _EPS * abs(total):
            break
    log_x = math.log(x)
    return -math.expm1(a * log_x - _lgamma1p(a)) - math.exp(a * log_x - math.lgamma(a)) * total


#: Riemann's zeta at 2, 3, ..., for the Taylor series of lgamma(1 + a) (filled on first use).
_ZETA: list[float] = []
_EULER = 0.57721566490153286061


def _zeta(k: int) -> float:
    """``zeta(k)`` for an integer ``k >= 2``: 19 terms and the Euler-Maclaurin tail to ``B_8`` (error < 1e-16)."""
    n = 20.0
    head = math.fsum(m**-k for m in range(1, 20))
    rising = [math.prod(range(k, k + j)) for j in (1, 3, 5, 7)]  # k (k+1) ... (k+j-1)
    tail = (
        n ** (1 - k) / (k - 1)
        + 0.5 * n**-k
        + rising[0] * n ** (-k - 1) / 12.0
        - rising[1] * n ** (-k - 3) / 720.0
        + rising[2] * n ** (-k - 5) / 30240.0
        - rising[3] * n ** (-k - 7) / 1209600.0
    )
    return head + tail


def _lgamma1p(a: float) -> float:
    """``lgamma(1 + a)``, accurate for small ``a`` (``math.lgamma(1.0 + a)`` rounds ``1 + a``)."""
    if abs(a) > 0.5:
        return math.lgamma(1.0 + a)
    if not _ZETA:
        _ZETA.extend(_zeta(k) for k in range(2, 60))
    # lgamma(1 + a) = -euler a + sum_{k>=2} (-1)^k zeta(k) a^k / k
    total, power = -_EULER * a, -a
    for k, zeta in enumerate(_ZETA, 2):
        power *= -a
        term = zeta * power / k
        total += term
        if abs(term) <= _EPS * abs(total):
            break
    return total


def _lower_series(a: float, x: float) -> float:
    """``sum_n x^n / (a (a+1) ... (a+n))``, so that ``P(a, x)`` is the prefactor times it."""
    term = total = 1.0 / a
    denominator = a
    for _ in range(_MAX_TERMS):
        denominator += 1.0
        term *= x / denominator
        total += term
        if term <= total * _EPS:
            return total
    raise ArithmeticError(f"chi-squared series did not converge for a={a!r}, x={x!r}")  # pragma: no cover


def _upper_fraction(a: float, x: float) -> float:
    """Legendre's continued fraction ``1/(x+1-a- 1(1-a)/(x+3-a- 2(2-a)/(x+5-a- ...)))`` (modified Lentz)."""
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, _MAX_TERMS):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        if abs(d) < _TINY:
            d = _TINY
        c = b + an / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) <= _EPS:
            return h
    raise ArithmeticError(f"chi-squared continued fraction did not converge for a={a!r}, x={x!r}")  # pragma: no cover
