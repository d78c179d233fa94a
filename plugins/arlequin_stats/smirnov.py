"""``scipy.stats.kstwo.sf`` with its one slow branch replaced by a vectorised equivalent.

For ``n > 140`` and ``2.2 <= n*d**2 < 370`` (p-values from about 1e-160 to 0.02: a
batch that is drifting moderately), scipy computes ``kstwo.sf(d, n)`` as
``2 * scipy.special.smirnov(n, d)``, and ``smirnov`` sums the Birnbaum–Tingey series

    P(D+_n >= d) = d * sum_{v=0}^{floor(n(1-d))} C(n, v) (d + v/n)^(v-1) (1 - d - v/n)^(n-v)

term by term in double-double arithmetic: about a second for n = 500 000 (two
samples of a million rows). :func:`smirnov_sf` sums the same series with numpy. Each
term is evaluated as ``exp(L_v)`` with

    L_v = log d - log(d + v/n) + v log1p(nd/v) + (n-v) log1p(-nd/(n-v))
          + 1/2 log(n / (2 pi v (n-v))) + s(n) - s(v) - s(n-v)

(Stirling's formula with ``s(m) = log m! - (m log m - m + 1/2 log(2 pi m))``), an
arrangement in which every part is of the size of ``n*d`` rather than ``n log n``, so
rounding errors stay near 1e-13 instead of the 1e-9 that ``gammaln(n)`` differences
would cost. All terms are positive: no cancellation. Every other branch is left to
scipy itself. ``tests/drift/test_scipy_equivalence.py`` compares the two on a grid.

``scipy.stats`` (about a second to import) is imported only when one of those other
branches is taken; the vectorised branch needs ``math`` and numpy alone.
"""

from __future__ import annotations

import math

import numpy as np

#: scipy's limits (scipy/stats/_ksstats.py and xsf's kolmogorov.h).
_EXACT_MAX_N = 140  # at or below: scipy's own small-n algorithms
_SMIRNOV_MAX_N = 1_000_000  # above: scipy uses a closed-form approximation (fast)
_BLOCK = 1 << 15  # terms per block: bounds memory to about 2 MB


def kstwo_sf(d: float, n: float) -> float:
    """``scipy.stats.kstwo.sf(d, n)``: P(D_n >= d) for the two-sided one-sample KS statistic.

    :param d: the statistic, in [0, 1].
    :param n: the (effective) sample size, a positive integer (may be given as a float).
    """
    if n == int(n) and _EXACT_MAX_N < n <= _SMIRNOV_MAX_N and 0.0 < d < 0.5:
        size = int(n)
        t = size * d
        squared = t * d
        if 1.0 < t < size - 1 and 2.2 <= squared < 370.0:
            return float(np.clip(2.0 * smirnov_sf(size, d), 0.0, 1.0))
    from scipy import stats  # the other branches: scipy's own algorithms

    return float(stats.kstwo.sf(d, n))


def smirnov_sf(n: int, d: float) -> float:
    """P(D+_n >= d), the one-sided KS survival function, for ``1/n < d < 1 - 1/n``.

    Equal to ``scipy.special.smirnov(n, d)`` to about 1e-12 relative. The terms are
    summed in blocks (a running log-sum-exp), so memory stays small for any ``n``.
    """
    if not (0.0 < d < 1.0) or n < 2:
        from scipy import special

        return float(special.smirnov(n, d))
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
