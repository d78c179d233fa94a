"""Benchmark: what the HTML report's plot state and pages cost.

1. **Outside-bins state** (:mod:`arlequin_core.drift.plotbins`): the streaming engines
   now count a numeric column's batch values beyond the reference's plot bins, so
   the plot covers both samples. Timed: ``Plan.column_state`` on one 1M-row numeric
   chunk (KS cut counts, plot bins, effect state, outside cells), against the same
   call with the outside cells left out (the baseline, measured in the same run), for
   a batch like the reference (0.2 % of values outside) and one moved 50 sd away
   (every value outside), and one spread over 10^8 reference bins (the cells coarsened).
2. **Pages**: ``render_html`` of a 10-column report (6 numeric, 4 categorical, 50 000
   rows each side): seconds and bytes, plus seconds per plot.

Run: ``python benchmarks/bench_html.py [--rows 1000000] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import pyarrow as pa

from arlequin_core.config import ArlequinConfig
from arlequin_core.drift import build_profile, check_batch, plotbins, states
from arlequin_core.drift.html import render_html
from arlequin_core.drift.states import Plan
from arlequin_core.plugins import PluginHost


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_state(rows: int, repeat: int, registry) -> None:
    rng = np.random.default_rng(0)
    profile = build_profile(pa.table({"x": rng.normal(0, 1, 200_000)}), ArlequinConfig(), registry)
    plan = Plan(profile, registry, "arrow", bounded=True)
    batches = {
        "like the reference": rng.normal(0, 1, rows),
        "moved 50 sd": rng.normal(50, 1, rows),
        "spread over 1e8 bins": rng.uniform(-1e6, 1e6, rows),
    }
    print(f"outside-bins state, one numeric column, {rows:,} rows (best of {repeat})")
    print(f"{'batch':<22} {'with (ms)':>10} {'without (ms)':>13} {'ratio':>7} {'cells':>6} {'level':>6}")
    real = plotbins.Outside.of_sorted
    for name, values in batches.items():
        table = pa.table({"x": values})
        with_cells = _best(lambda t=table: plan.column_state(t, "x", "bench"), repeat)
        states.Outside.of_sorted = classmethod(lambda cls, ordered, summary: cls())  # type: ignore[method-assign]
        try:
            without = _best(lambda t=table: plan.column_state(t, "x", "bench"), repeat)
        finally:
            states.Outside.of_sorted = real  # type: ignore[method-assign]
        outside = plan.column_state(table, "x", "bench").outside
        print(
            f"{name:<22} {1e3 * with_cells:>10.1f} {1e3 * without:>13.1f} {with_cells / without:>7.2f} "
            f"{len(outside.cells):>6} {outside.level:>6}"
        )


def bench_page(registry) -> None:
    rng = np.random.default_rng(1)

    def frame(shift: float) -> pd.DataFrame:
        columns = {f"num{i}": rng.normal(i + (shift if i == 0 else 0), 1, 50_000) for i in range(6)}
        columns.update({f"cat{i}": rng.choice([f"v{j}" for j in range(3 + 10 * i)], 50_000) for i in range(4)})
        return pd.DataFrame(columns)

    config = ArlequinConfig()
    reference, batch = frame(0.0), frame(30.0)
    profile = build_profile(reference, config, registry)
    report = check_batch(profile, batch, config, registry)
    page = render_html(report, profile, batch)  # warm matplotlib's caches
    seconds = _best(lambda: render_html(report, profile, batch), 3)
    without = _best(lambda: render_html(report, profile, None), 3)
    print(f"\nrender_html, 10 columns x 50,000 rows: {seconds:.2f} s with plots ({len(page) / 1e3:.0f} kB)")
    print(
        f"without plots (the tables alone, the baseline): {without * 1e3:.1f} ms; "
        f"so about {(seconds - without) / 10 * 1e3:.0f} ms a plot"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    registry = PluginHost().load().registry
    bench_state(args.rows, args.repeat, registry)
    bench_page(registry)


if __name__ == "__main__":
    main()
