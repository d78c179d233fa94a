"""``scipy.stats.kstwo.sf`` for ``n > 140`` in numpy and ``math``, without ``scipy.stats``.

``kstwo.sf(d, n)`` (scipy/stats/_ksstats.py) picks one of several algorithms by ``n``
and ``n*d**2``. For ``n > 140`` every one of them is reproduced here, from the papers
rather than from scipy's code, so that a cold ``arlequin detect`` never pays the
second or so that importing ``scipy.stats`` costs (issue 18). With ``t = n*d``:

* ``d <= 0`` → 1; ``d >= 1`` → 0; ``t <= 1/2`` → 1;
  ``1/2 < t <= 1`` → ``1 - n!/n^n (2t - 1)^n`` and ``t >= n - 1`` → ``2 (1 - d)^n``
  (Ruben & Gambino 1982, the exact values at the two ends).
* ``d >= 1/2`` (the two one-sided events are then disjoint) and, for ``d < 1/2``,
  ``2.2 <= n*d**2 < 370``: ``2 * P(D+_n >= d)`` (Miller 1956), the one-sided
  probability from :func:`smirnov_sf` — the Birnbaum–Tingey series — for
  ``n <= 1 000 000``, and above that from the closed form
  ``P(D+_n >= d) ~ exp(-(6 n d + 1)^2 / (18 n))`` (as ``scipy.special.smirnov`` does).
* ``n*d**2 >= 370`` (and ``d < 1/2``): 0 (the true value is below 1e-320).
* ``n*d**2 < 2.2``: ``1 - P(D_n < d)`` with the CDF from Durbin's matrix
  (:func:`durbin_cdf`, Marsaglia, Tsang & Wang 2003) when ``n <= 100 000`` and
  ``n*d**1.5 <= 1.4``, otherwise from the Pelz–Good asymptotic expansion
  (:func:`pelz_good_cdf`; Pelz & Good 1976 as written in Simard & L'Ecuyer 2011,
  J. Stat. Softw. 39(11), section 2.4).

Only ``n <= 140`` and a non-integer ``n`` are left to ``scipy.stats.kstwo``, imported
then. ``tests/drift/test_scipy_equivalence.py`` compares every branch with scipy.

The Birnbaum–Tingey series, for the Smirnov branch:

    P(D+_n >= d) = d * sum_{v=0}^{floor(n(1-d))} C(n, v) (d + v/n)^(v-1) (1 - d - v/n)^(n-v)

scipy sums it term by term in double-double arithmetic: about a second for n = 500 000
(two samples of a million rows). :func:`smirnov_sf` sums the same series with numpy. Each
term is evaluated as ``exp(L_v)`` with

    L_v = log d - log(d + v/n) + v log1p(nd/v) + (n-v) log1p(-nd/(n-v))
          + 1/2 log(n / (2 pi v (n-v))) + s(n) - s(v) - s(n-v)

(Stirling's formula with ``s(m) = log m! - (m log m - m + 1/2 log(2 pi m))``), an
arrangement in which every part is of the size of ``n*d`` rather than ``n log n``, so
rounding errors stay near 1e-13 instead of the 1e-9 that ``gammaln(n)`` differences
would cost. All terms are positive: no cancellation.

Summed term by term (:func:`_smirnov_sf_direct`) that is still about 20-40 ms for
n = 500 000, most of a detect's KS time. From 20 000 terms on, :func:`smirnov_sf`
instead takes the sum by the trapezoid rule on an even grid of 513 points over
``[1, last]`` (``last`` the last nonzero term; the v = 0 term ``(1 - d)^n`` is added
exactly): :func:`_smirnov_sf_trapezoid`, about 0.3 ms. Why that is the same number:

* ``L`` is analytic in real ``v`` on ``(0, n - n d)`` (``s(m)``, the remainder of
  ``log Gamma(m + 1)``, is analytic; its asymptotic series is exact to 1e-17 there), and
  ``exp(L)`` is a smooth unimodal bump, thousands of terms wide for large ``n`` (its
  log behaves like ``-(nd)^2 / (2 v (1 - v/n))``), negligible at both ends of
  ``[1, last]`` in this branch.
* The sum over the integers is the trapezoid rule at step 1, and by Euler–Maclaurin
  (the end corrections vanish with the tails) or Poisson summation both it and the
  rule at step ``h`` equal the integral up to the Fourier transform of the bump at
  ``2 pi / h``; for such smooth, fast-decaying integrands this error falls
  exponentially as ``h`` shrinks (Trefethen & Weideman, "The exponentially
  convergent trapezoidal rule", SIAM Review 56(3), 2014), e.g. like
  ``exp(-2 pi^2 sigma^2 / h^2)`` for a Gaussian of width ``sigma``.
* So the rule on the grid agrees with the integer sum once it has converged, which is
  checked, not assumed: the method is used only if every grid value is finite, the
  peak is strictly inside, ``L`` rises strictly to it and falls strictly after it (so
  the tails beyond the grid's ends hold at most ``n e^-60`` of the peak term: the ends
  must be 60 below the peak), the width ``1/sqrt(-L'')`` at the peak is at least 20
  terms, and the rule on every other grid point (step ``2h``) agrees with the full
  grid to 1e-11 relative (with exponential convergence the error at step ``h`` is then
  far smaller still). Otherwise (small ``n``, ``n d^2`` well below 0.5, a bump too
  narrow for the grid as for ``d`` near 1/2) the sum is taken term by term.
* On the grid ``L`` is evaluated with ``v log1p(nd/v) + (n-v) log1p(-nd/(n-v))``
  rewritten so that the two ``n d`` cancel exactly (:func:`_log_term_accurate`): with
  513 points instead of 500 000 rounding errors average out less, and the plain form
  loses about ``n d * 1e-16`` (1e-12 at ``n d^2 = 150``, n = 1e6) per point.

Measured against the direct sum, ``n`` from 20 000 to 1 000 000 and ``n d^2`` from 0.4
to 369: at most 1.8e-13 relative, the direct sum's own error (1.6e-13 from
``scipy.special.smirnov`` at n = 1e6, ``n d^2`` = 150, where the rule is 2e-14 off).
"""

from __future__ import annotations

import math

import numpy as np

#: scipy's limits (scipy/stats/_ksstats.py and xsf's kolmogorov.h).
_EXACT_MAX_N = 140  # at or below: scipy's own small-n algorithms
_SMIRNOV_MAX_N = 1_000_000  # above: the one-sided probability from a closed form
_DURBIN_MAX_N = 100_000  # at or below (and n d^1.5 <= 1.4): Durbin's matrix
_BLOCK = 1 << 15  # terms per block: bounds memory to about 2 MB
#: The Smirnov series by the trapezoid rule (see the module docstring).
_QUADRATURE_MIN_TERMS = 20_000  # fewer terms: summed one by one (at most ~1 ms)
_QUADRATURE_INTERVALS = 512  # grid of 513 points over [1, last term]; must be even
_QUADRATURE_MARGIN = 60.0  # both grid ends at least this far below the peak, in log
_QUADRATURE_MIN_WIDTH = 20.0  # 1/sqrt(-L'') at the peak, in terms
_QUADRATURE_AGREEMENT = 1e-11  # relative: the rule on every other point vs all points


def kstwo_sf(d: float, n: float) -> float:
    """``scipy.stats.kstwo.sf(d, n)``: P(D_n >= d) for the two-sided one-sample KS statistic.

    :param d: the statistic, in [0, 1].
    :param n: the (effective) sample size, a positive integer (may be given as a float).
    """
    if not (n == int(n) and n > _EXACT_MAX_N and not math.isnan(d)):
        from scipy import stats  # small or non-integer n: scipy's own algorithms

        return float(stats.kstwo.sf(d, n))
    size = int(n)
    if d <= 0.0:
        return 1.0
    if d >= 1.0:
        return 0.0
    t = size * d
    if t <= 1.0:
        if t <= 0.5:
            return 1.0
        return float(np.clip(-math.expm1(_log_factorial_over_power(size) + size * math.log(2.0 * t - 1.0)), 0.0, 1.0))
    if t >= size - 1:
        return float(np.clip(2.0 * math.exp(size * math.log1p(-d)), 0.0, 1.0))
    if d >= 0.5:
        return float(np.clip(2.0 * _one_sided_sf(size, d), 0.0, 1.0))
    squared = t * d
    if squared >= 370.0:
        return 0.0
    if squared >= 2.2:
        return float(np.clip(2.0 * _one_sided_sf(size, d), 0.0, 1.0))
    durbin = size <= _DURBIN_MAX_N and size * d**1.5 <= 1.4
    cdf = durbin_cdf(size, d) if durbin else pelz_good_cdf(size, d)
    return float(np.clip(1.0 - cdf, 0.0, 1.0))


def _one_sided_sf(n: int, d: float) -> float:
    """P(D+_n >= d): the series up to 1e6, then Smirnov's closed form, as scipy does."""
    if n > _SMIRNOV_MAX_N:
        return math.exp(-((6.0 * n * d + 1.0) ** 2) / (18.0 * n))
    return smirnov_sf(n, d)


def _log_factorial_over_power(n: int) -> float:
    """``log(n! / n^n)`` without the cancellation of ``lgamma(n + 1) - n log n``."""
    return -n + 0.5 * math.log(2.0 * math.pi * n) + float(_stirling_remainder(np.array([float(n)]))[0])


def pelz_good_cdf(n: int, d: float) -> float:
    """P(D_n <= d) by the Pelz–Good expansion ``K0(z) + K1(z)/sqrt(n) + K2(z)/n + K3(z)/n^1.5``.

    ``z = d sqrt(n)``; each ``K_i`` in its small-z (theta-transformed) form, Simard &
    L'Ecuyer (2011), eqs. for K0..K3. With ``w = pi^2 / (2 z^2)``, ``u = k - 1/2``:

        K0 = sqrt(2 pi)/z                 sum_k exp(-u^2 w)
        K1 = sqrt(pi/2)/(3 z^4)           sum_k (pi^2 u^2 - z^2) exp(-u^2 w)
        K2 = sqrt(pi/2)/(36 z^7)          sum_k (6z^6 + 2z^4 + pi^2 (2z^4 - 5z^2) u^2
                                                 + pi^4 (1 - 2z^2) u^4) exp(-u^2 w)
             - sqrt(pi/2)/(18 z^3)        sum_k pi^2 k^2 exp(-k^2 w)
        K3 = sqrt(pi/2)/(3240 z^10)       sum_k (pi^6 (5 - 30z^2) u^6 + pi^4 (212z^4 - 60z^2) u^4
                                                 + pi^2 (135z^4 - 96z^6) u^2 - 30z^6 - 90z^8) exp(-u^2 w)
             + sqrt(pi/2)/(108 z^6)       sum_k (3 pi^2 k^2 z^2 - pi^4 k^4) exp(-k^2 w)
    """
    z = d * math.sqrt(n)
    z2 = z * z
    w = math.pi**2 / (2.0 * z2)
    if w / 4.0 > 708.0:  # exp(-w/4), the largest term, underflows: P = 0
        return 0.0
    # Terms fall as exp(-u^2 w); beyond u^2 w = 745 they are zero in double precision.
    kmax = int(math.sqrt(745.0 / w)) + 2
    k = np.arange(1, kmax + 1, dtype=np.float64)
    u2 = (k - 0.5) ** 2
    odd = np.exp(-u2 * w)
    even = np.exp(-k * k * w)
    pi2, pi4, pi6 = math.pi**2, math.pi**4, math.pi**6
    z4, z6, z8 = z2 * z2, z2**3, z2**4
    c = math.sqrt(math.pi / 2.0)
    k0 = math.sqrt(2.0 * math.pi) / z * float(np.sum(odd))
    k1 = c / (3.0 * z4) * float(np.sum((pi2 * u2 - z2) * odd))
    k2 = c / (36.0 * z**7) * float(
        np.sum((6.0 * z6 + 2.0 * z4 + pi2 * (2.0 * z4 - 5.0 * z2) * u2 + pi4 * (1.0 - 2.0 * z2) * u2 * u2) * odd)
    ) - c / (18.0 * z**3) * float(np.sum(pi2 * k * k * even))
    k3 = c / (3240.0 * z**10) * float(
        np.sum(
            (
                pi6 * (5.0 - 30.0 * z2) * u2**3
                + pi4 * (212.0 * z4 - 60.0 * z2) * u2 * u2
                + pi2 * (135.0 * z4 - 96.0 * z6) * u2
                - 30.0 * z6
                - 90.0 * z8
            )
            * odd
        )
    ) + c / (108.0 * z6) * float(np.sum((3.0 * pi2 * k * k * z2 - pi4 * k**4) * even))
    root = math.sqrt(n)
    return k0 + k1 / root + k2 / n + k3 / (n * root)


def durbin_cdf(n: int, d: float) -> float:
    """P(D_n < d) by Durbin's matrix formula (Marsaglia, Tsang & Wang 2003).

    With ``k = floor(n d) + 1``, ``m = 2k - 1`` and ``h = k - n d``, ``H`` is the
    ``m x m`` matrix with ``H[i, j] = 1/(i - j + 1)!`` for ``i - j + 1 >= 0`` (else 0),
    its first column and last row reduced by ``h^(i+1)/(i+1)!`` and ``h^(m-j)/(m-j)!``,
    and ``H[m-1, 0]`` increased by ``(2h - 1)^m / m!`` when ``2h > 1``. Then
    ``P(D_n < d) = n!/n^n (H^n)[k-1, k-1]``; the power is taken by repeated squaring,
    rescaling as it goes (the scale kept in log) so that nothing overflows.
    """
    nd = n * d
    k = math.floor(nd) + 1
    m = 2 * k - 1
    h = k - nd
    idx = np.arange(m)
    diff = idx[:, None] - idx[None, :] + 1  # i - j + 1
    log_fact = np.array([math.lgamma(x + 1.0) for x in range(m + 1)])
    H = np.where(diff >= 0, np.exp(-log_fact[np.clip(diff, 0, m)]), 0.0)
    powers = h ** np.arange(1, m + 1, dtype=np.float64) / np.exp(log_fact[1 : m + 1])  # h^r / r!, r = 1..m
    H[:, 0] -= powers  # h^(i+1)/(i+1)!
    H[m - 1, :] -= powers[::-1]  # h^(m-j)/(m-j)!
    if 2.0 * h - 1.0 > 0.0:
        H[m - 1, 0] += (2.0 * h - 1.0) ** m / math.exp(log_fact[m])
    result = None
    result_log = 0.0
    base, base_log = H, 0.0
    e = n
    while True:
        if e & 1:
            if result is None:
                result, result_log = base.copy(), base_log
            else:
                result = result @ base
                result_log += base_log
                top = float(np.abs(result).max())
                if top > 0.0:
                    result /= top
                    result_log += math.log(top)
        e >>= 1
        if not e:
            break
        base = base @ base
        base_log *= 2.0
        top = float(np.abs(base).max())
        if top > 0.0:
            base /= top
            base_log += math.log(top)
    entry = float(result[k - 1, k - 1])
    if entry <= 0.0:
        return 0.0
    return math.exp(_log_factorial_over_power(n) + result_log + math.log(entry))


def smirnov_sf(n: int, d: float) -> float:
    """P(D+_n >= d), the one-sided KS survival function, for ``1/n < d < 1 - 1/n``.

    Equal to ``scipy.special.smirnov(n, d)`` to about 1e-12 relative. From 20 000 terms
    on, the sum is taken by the trapezoid rule on a grid of 513 points
    (:func:`_smirnov_sf_trapezoid`, see the module docstring); when that method's
    conditions do not hold, and below 20 000 terms, term by term
    (:func:`_smirnov_sf_direct`).
    """
    if not (0.0 < d < 1.0) or n < 2:
        from scipy import special

        return float(special.smirnov(n, d))
    if _last_term(n, d) >= _QUADRATURE_MIN_TERMS:
        quadrature = _smirnov_sf_trapezoid(n, d)
        if quadrature is not None:
            return quadrature
    return _smirnov_sf_direct(n, d)


def _last_term(n: int, d: float) -> int:
    """The largest ``v`` with a nonzero term: ``v <= n - 1`` and ``n - v > n d``."""
    nd = n * d
    last = min(n - 1, math.ceil(n - nd))
    while last >= 1 and not (n - last > nd):
        last -= 1
    return last


def _smirnov_sf_trapezoid(n: int, d: float, intervals: int | None = None) -> float | None:
    """The series by the trapezoid rule on ``intervals + 1`` points, or None if not applicable.

    ``intervals`` (even) defaults to ``_QUADRATURE_INTERVALS``.

    The summand ``exp(L(v))`` (:func:`_log_term_accurate`) is evaluated on an even
    grid from ``v = 1`` to the last nonzero term; the v = 0 term is added exactly.
    None (the caller then sums term by term) unless: every grid value is finite, the
    largest is strictly inside the grid, ``L`` rises strictly up to it and falls strictly
    after it, both ends are more than ``_QUADRATURE_MARGIN`` below it, the width at the
    peak (from the grid's second difference) is at least ``_QUADRATURE_MIN_WIDTH``, and
    the rule on every other point agrees with the full grid to ``_QUADRATURE_AGREEMENT``.
    """
    intervals = _QUADRATURE_INTERVALS if intervals is None else intervals
    last = _last_term(n, d)
    if last < 2:
        return None
    v = np.linspace(1.0, float(last), intervals + 1)
    step = (last - 1.0) / intervals
    log_terms = _log_term_accurate(n, d, v)
    if not np.all(np.isfinite(log_terms)):
        return None
    peak = int(np.argmax(log_terms))
    top = float(log_terms[peak])
    if not (0 < peak < intervals):
        return None
    if log_terms[0] > top - _QUADRATURE_MARGIN or log_terms[-1] > top - _QUADRATURE_MARGIN:
        return None
    if not (np.all(np.diff(log_terms[: peak + 1]) > 0.0) and np.all(np.diff(log_terms[peak:]) < 0.0)):
        return None
    curvature = (log_terms[peak - 1] - 2.0 * top + log_terms[peak + 1]) / (step * step)
    if not (curvature < 0.0 and 1.0 / math.sqrt(-curvature) >= _QUADRATURE_MIN_WIDTH):
        return None
    terms = np.exp(log_terms - top)
    full = step * (float(np.sum(terms)) - 0.5 * float(terms[0] + terms[-1]))
    half = 2.0 * step * (float(np.sum(terms[::2])) - 0.5 * float(terms[0] + terms[-1]))  # intervals is even
    if not abs(full - half) <= _QUADRATURE_AGREEMENT * full:
        return None
    zero = n * math.log1p(-d)  # the v = 0 term, (1 - d)^n, in log
    if zero > top:
        return math.exp(zero) * (1.0 + full * math.exp(top - zero))
    return math.exp(top) * (full + math.exp(zero - top))


def _log_term_accurate(n: int, d: float, v: np.ndarray) -> np.ndarray:
    """``L(v)`` of the module docstring for real ``v`` in [1, n - n d), with less rounding.

    ``v log1p(nd/v) + (n-v) log1p(-nd/(n-v))`` is written ``-v g(nd/v) - (n-v) g(-nd/(n-v))``
    with ``g(x) = x - log1p(x)`` (the two ``n d`` cancel exactly), each part of the size
    of ``L`` (about ``2 n d^2``) instead of ``n d``; see :func:`_x_minus_log1p`.
    """
    nd = n * d
    rest = n - v
    return (
        math.log(d)
        - np.log(d + v / n)
        - v * _x_minus_log1p(nd / v)
        - rest * _x_minus_log1p(-nd / rest)
        + 0.5 * np.log(n / (2.0 * math.pi * v * rest))
        + float(_stirling_remainder(np.array([float(n)]))[0])
        - _stirling_remainder(v)
        - _stirling_remainder(rest)
    )


def _x_minus_log1p(x: np.ndarray) -> np.ndarray:
    """``x - log1p(x)`` for x > -1, to a few ulps also where it is about ``x^2 / 2``.

    For ``|x| <= 1/2``, with ``u = x / (2 + x)`` (so ``log1p(x) = 2 atanh(u)`` and
    ``x - 2u = x u``): ``x u - 2 u^3 (1/3 + u^2/5 + u^4/7 + ...)``, 18 terms
    (``|u| <= 1/3``); elsewhere ``x - log1p(x)`` directly (no worse than 6 ulps there).
    """
    u = x / (2.0 + x)
    u2 = u * u
    series = np.full_like(u, 1.0 / 37.0)
    for k in range(17, 0, -1):
        series = 1.0 / (2 * k + 1) + u2 * series
    small = x * u - 2.0 * u * u2 * series
    return np.where(np.abs(x) <= 0.5, small, x - np.log1p(x))


def _smirnov_sf_direct(n: int, d: float) -> float:
    """P(D+_n >= d) summed term by term (numpy, in blocks with a running log-sum-exp)."""
    nd = n * d
    log_d = math.log(d)
    log_n_factorial_rest = float(_stirling_remainder(np.array([float(n)]))[0])
    top = n * math.log1p(-d)  # the v = 0 term, (1 - d)^n, in log
    total = 1.0  # sum of exp(L_v - top) so far
    last = min(n - 1, math.ceil(n - nd))  # beyond it (1 - d - v/n) <= 0: zero terms
    for start in range(1, last + 1, _BLOCK):
        v = np.arange(start, min(start + _BLOCK, last + 1), dtype=np.float64)
        rest = n - v
        v, rest = v[rest > nd], rest[rest > nd]
        if v.size == 0:
            continue
        log_terms = (
            log_d
            - np.log(d + v / n)
            + v * np.log1p(nd / v)
            + rest * np.log1p(-nd / rest)
            + 0.5 * np.log(n / (2.0 * math.pi * v * rest))
            + log_n_factorial_rest
            - _stirling_remainder(v)
            - _stirling_remainder(rest)
        )
        block_top = float(log_terms.max())
        if block_top > top:
            total *= math.exp(top - block_top)
            top = block_top
        total += float(np.sum(np.exp(log_terms - top)))
    return math.exp(top) * total


def _stirling_remainder(m: np.ndarray) -> np.ndarray:
    """``log m! - (m log m - m + log(2 pi m) / 2)`` for m >= 1."""
    out = np.empty_like(m)
    small = m < 12
    ms = m[small]
    log_factorials = np.array([math.lgamma(x + 1.0) for x in ms.tolist()], dtype=np.float64)
    out[small] = log_factorials - (ms * np.log(ms) - ms + 0.5 * np.log(2 * math.pi * ms))
    ml = m[~small]
    inv = 1.0 / ml
    inv2 = inv * inv
    # Asymptotic series; the first omitted term is below 1e-17 for m >= 12.
    out[~small] = inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 * (1 / 1680 - inv2 / 1188))))
    return out
