"""P-value of the two-sided two-sample Kolmogorov–Smirnov statistic, as scipy computes it.

``scipy.stats.ks_2samp`` with ``method="auto"`` (scipy 1.11–1.17) works like this, and
so does :func:`ks_2samp_pvalue`:

* when both samples have at most 10 000 values, the *exact* null distribution: the
  statistic is rounded to a multiple of ``1/lcm(n1, n2)``, ``D = h/lcm``, and
  ``p = P(D_{n1,n2} >= h/lcm)`` is the share of lattice paths from (0, 0) to
  (n1, n2) that leave the band ``|x/n1 - y/n2| < h/lcm`` (Hodges 1958). For equal sizes
  the classical alternating sum of binomial ratios is used (Gnedenko–Korolyuk), in
  nested form; otherwise the probability of having left the band is carried along the
  lattice (Viehmann 2021, arXiv:2102.08037), which never overflows;
* otherwise the *asymptotic* regime: ``p = kstwo.sf(D, round(n1*n2/(n1+n2)))``,
  through :func:`arlequin_stats.smirnov.kstwo_sf` (scipy's function with its slow
  branch vectorised: same values, a second less per column on a million rows).

The exact recursion is evaluated one anti-diagonal ``x + y = s`` at a time (each cell
depends only on the previous diagonal), so it is a few numpy operations per
diagonal instead of a Python loop per cell; the arithmetic of each cell is the same
as scipy's, so the results agree to the last bits.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from arlequin_stats.smirnov import kstwo_sf

#: scipy's ``MAX_AUTO_N``: above this sample size ``method="auto"`` is asymptotic.
MAX_EXACT_N = 10_000

Method = Literal["exact", "asymp"]


def ks_2samp_pvalue(d: float, n1: int, n2: int) -> tuple[float, float, Method]:
    """The two-sided p-value of ``D = d`` for samples of sizes ``n1`` and ``n2``.

    :param d: the statistic, ``max |F1 - F2|`` in [0, 1].
    :param n1: size of the first sample (>= 1).
    :param n2: size of the second sample (>= 1).
    :returns: ``(statistic, p_value, method)``; in the exact regime the statistic is
        ``d`` rounded to the lattice (``h / lcm``), exactly as scipy reports it.
    """
    if n1 < 1 or n2 < 1:
        raise ValueError(f"sample sizes must be >= 1, got {n1} and {n2}")
    if max(n1, n2) <= MAX_EXACT_N:
        g = math.gcd(n1, n2)
        lcm = (n1 // g) * n2
        h = int(np.round(d * lcm))
        d = h * 1.0 / lcm
        if h == 0:
            return d, 1.0, "exact"
        p = _exact_equal_sizes(n1, h) if n1 == n2 else _exact_band_exit(n1, n2, g, h)
        if 0.0 <= p <= 1.0:
            return d, float(p), "exact"
        # scipy falls back to the asymptotic formula when the exact value is unusable.
    big, small = sorted([float(n1), float(n2)], reverse=True)
    en = big * small / (big + small)
    p = float(np.clip(kstwo_sf(d, np.round(en)), 0.0, 1.0))
    return float(d), p, "asymp"


def _exact_equal_sizes(n: int, h: int) -> float:
    """P(D_{n,n} >= h/n) = 2 * sum_{k>=1} (-1)^(k-1) C(2n, n-kh) / C(2n, n).

    Written as 2*A0*(1 - A1*(1 - A2*(...))) with A_k = C(2n, n-(k+1)h) / C(2n, n-kh),
    each a product of h ratios: no large binomials, no cancellation.
    """
    nested = 0.0
    for k in range(n // h, -1, -1):
        ratio = 1.0
        for j in range(h):
            ratio = (n - k * h - j) * ratio / (n + k * h + j + 1)
        nested = ratio * (1.0 - nested)
    return 2 * nested


def _exact_band_exit(m: int, n: int, g: int, h: int) -> float:
    """Share of monotone lattice paths (0,0) -> (m,n) that touch ``|x*n/g - y*m/g| >= h``.

    ``q(x, y)``, the probability that a uniformly random path to (x, y) has left the
    band, is 1 outside it and ``(x*q(x-1, y) + y*q(x, y-1)) / (x + y)`` inside. Only
    the cells inside the band are computed; their neighbours outside it are 1 (and a
    neighbour outside the rectangle has weight 0, so padding with 1 is right for both).
    """
    if m < n:
        m, n = n, m
    mg, ng = m // g, n // g
    width = mg + ng
    # Diagonal s: cells (x, s - x); inside the band iff |width*x - mg*s| < h.
    q_prev = np.zeros(1)
    prev_lo = 0
    for s in range(1, m + n + 1):
        lo = max(0, s - n, (mg * s - h) // width + 1)
        hi = min(m, s, -(-(mg * s + h) // width) - 1)
        if hi < lo:
            return 1.0  # every path crosses this diagonal outside the band
        x = np.arange(lo, hi + 1, dtype=np.float64)
        y = s - x
        # The band moves by at most one cell per diagonal, so one cell of padding suffices.
        padded = np.concatenate(([1.0], q_prev, [1.0]))
        left = padded[lo - prev_lo : hi - prev_lo + 1]  # q(x-1, y)
        down = padded[lo - prev_lo + 1 : hi - prev_lo + 2]  # q(x, y-1)
        q_prev = (left * x + down * y) / (x + y)
        prev_lo = lo
    return float(q_prev[-1])
