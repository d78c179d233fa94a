"""Benchmark: ``smirnov_sf`` (the Smirnov series of kstwo.sf) term by term vs by the trapezoid rule.

For n = 500 000 (the effective size of two 1M-row samples) and d in {0.0022, 0.0048,
0.01, 0.02} (n d^2 from 2.4 to 200, the Smirnov branch of ``kstwo.sf``), prints in the
same process the best-of-``--repeat`` time per call of ``_smirnov_sf_direct`` (the
series summed term by term, what ``smirnov_sf`` did before issue 18) and of
``smirnov_sf`` (the trapezoid rule on 513 points), their ratio, and the relative
difference of the two values.

Run: ``python benchmarks/bench_smirnov.py [--n 500000] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import time

from arlequin_stats.smirnov import _smirnov_sf_direct, smirnov_sf


def best_time(fn, n: int, d: float, repeat: int, number: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn(n, d)
        best = min(best, (time.perf_counter() - start) / number)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"n = {args.n}: seconds per call, best of {args.repeat}")
    print(f"{'d':>8} {'n d^2':>8} {'direct ms':>10} {'trapezoid ms':>13} {'ratio':>7} {'rel diff':>9}")
    for d in (0.0022, 0.0048, 0.01, 0.02):
        direct = best_time(_smirnov_sf_direct, args.n, d, args.repeat, 3)
        trapezoid = best_time(smirnov_sf, args.n, d, args.repeat, 50)
        a, b = _smirnov_sf_direct(args.n, d), smirnov_sf(args.n, d)
        print(
            f"{d:8.4f} {args.n * d * d:8.2f} {direct * 1e3:10.2f} {trapezoid * 1e3:13.3f} "
            f"{direct / trapezoid:7.0f} {abs(b / a - 1):9.1e}"
        )


if __name__ == "__main__":
    main()
