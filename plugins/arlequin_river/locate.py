"""Where a detected change began: the least-squares split of the values since the last change.

An online detector fires some values *after* a change (it needs evidence first), and the
row where it fires says little about where the change happened. :func:`change_start`
estimates that from the values seen since the previous change: it assumes they hold
**one change of the mean** (a step from one level to another; noise of the same spread
on both sides) and returns the split that a least-squares fit of two constant segments
puts there. This is the classic single change-point estimate (Hinkley, *Inference
about the change-point in a sequence of random variables*, Biometrika 57, 1970; the
step binary segmentation repeats): for values ``x_1 .. x_n`` with partial sums
``S_k``, the new segment starts after the ``k`` maximising

    |S_k - (k / n) * S_n| / sqrt(k * (n - k) / n),        k = 1 .. n - 1,

whose square is the drop in the residual sum of squares from one mean to two, so the
maximiser is exactly the best two-segment least-squares split.

The value detectors (:mod:`arlequin_river.value`) call it at each detection over a
bounded buffer of the standardised values since their last change, then cut the buffer
there (see :class:`arlequin_river.online.OnlineDetector`). It runs only at detections,
in ``O(n)`` numpy.

When the assumption does not hold the estimate is still the best step fit, not a
change point: on a trend it splits the ramp somewhere in the middle, and a change of
spread alone (no change of the mean) gives an arbitrary split.
"""

from __future__ import annotations

import numpy as np

__all__ = ["change_start", "split_statistic"]


def split_statistic(values: np.ndarray) -> np.ndarray:
    """The statistic above for ``k = 1 .. n - 1`` (element ``k - 1``); empty when ``n < 2``.

    Computed on the values less their mean (same statistic, less cancellation in the sums).
    """
    x = np.asarray(values, dtype=np.float64)
    n = x.size
    if n < 2:
        return np.empty(0)
    k = np.arange(1, n, dtype=np.float64)
    partial = np.cumsum(x - x.mean())[:-1]  # S_k - (k / n) S_n, k = 1 .. n - 1
    return np.abs(partial) / np.sqrt(k * (n - k) / n)


def change_start(values: np.ndarray) -> int:
    """Index of the first value of the new segment in ``values`` (oldest first).

    :param values: the values since the last change, oldest first, the value the
        detector fired on last; finite floats.
    :return: the ``k`` (``1 <= k <= n - 1``) of the best two-segment least-squares fit:
        ``values[:k]`` is the old level, ``values[k:]`` the new. Ties go to the earliest
        ``k``. With nothing to split on (fewer than two values, or all values equal) it
        is ``n - 1``: the change is taken to start at the newest value, where the
        detector fired.
    :raises ValueError: no value at all.
    """
    x = np.asarray(values, dtype=np.float64)
    n = x.size
    if n == 0:
        raise ValueError("change_start needs at least one value")
    if n < 2 or x.min() == x.max():
        return n - 1
    return int(np.argmax(split_statistic(x))) + 1
