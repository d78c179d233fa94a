"""Benchmark: how often the default dataset verdict says "drift" when nothing changed.

No-change pairs: reference and batch drawn independently from the same population of
seven columns (normal, lognormal, integer counts, a bounded integer, and three
categorical columns with 3, 40 and 2 categories), at 1e3, 1e4, 1e5 and 1e6 rows each.
Each pair goes through ``build_profile`` and ``check_batch`` with the default policy
(KS / chi-squared, Holm over the batch's tests at 0.05, ``min_effect`` 0.05, drift when
any column drifts). Printed per size: pairs, false alarms, the rate with its 95 %
Clopper–Pearson interval, and ("p only") the rate at which some column had a corrected
p-value below 0.05 (the verdict without the effect floor), for comparison. The verdict's level is
alpha = 0.05: the rate must not exceed it.

Run: ``python benchmarks/bench_false_alarm.py [--pairs 400,200,100,20]``
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pyarrow as pa
from scipy import stats

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from arlequin_core.config import ArlequinConfig
from arlequin_core.drift import build_profile, check_batch
from arlequin_core.plugins import PluginHost

SIZES = (1_000, 10_000, 100_000, 1_000_000)
ALPHA = 0.05


def sample(rows: int, rng: np.random.Generator) -> pa.Table:
    return pa.table(
        {
            "normal": rng.normal(50.0, 10.0, rows),
            "lognormal": rng.lognormal(3.0, 1.0, rows),
            "counts": rng.poisson(4.0, rows).astype(np.int64) + rng.integers(0, 25, rows),
            "age": np.clip(np.round(rng.normal(44, 15, rows)), 18, 95).astype(np.int64),
            "few": rng.choice(["a", "b", "c"], rows, p=[0.6, 0.3, 0.1]),
            "many": rng.choice([f"k{i:02d}" for i in range(40)], rows),
            "flag": rng.random(rows) < 0.2,
        }
    )


def interval(k: int, n: int) -> tuple[float, float]:
    lo = 0.0 if k == 0 else stats.beta.ppf(0.025, k, n - k + 1)
    hi = 1.0 if k == n else stats.beta.ppf(0.975, k + 1, n - k)
    return float(lo), float(hi)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", default="400,200,100,20", help="pairs per size, for 1e3,1e4,1e5,1e6 rows")
    args = parser.parse_args()
    pairs = [int(p) for p in args.pairs.split(",")]
    registry = PluginHost().load().registry
    config = ArlequinConfig()
    print(f"{'rows':>9} {'pairs':>6} {'alarms':>7} {'rate':>7} {'95% CI':>16} {'p only':>9} {'seconds':>8}")
    for rows, count in zip(SIZES, pairs, strict=True):
        if count == 0:
            continue
        alarms = old = 0
        start = time.perf_counter()
        for seed in range(count):
            rng = np.random.default_rng([rows, seed])
            reference, batch = sample(rows, rng), sample(rows, rng)
            report = check_batch(build_profile(reference, config, registry), batch, config, registry)
            alarms += report.drifted
            old += any(
                (c.p_value_adjusted is not None and c.p_value_adjusted < ALPHA)
                or (c.missing_p_value_adjusted is not None and c.missing_p_value_adjusted < ALPHA)
                for c in report.columns
            )
        lo, hi = interval(alarms, count)
        rate = alarms / count
        print(
            f"{rows:>9,} {count:>6} {alarms:>7} {rate:>7.3f} {f'[{lo:.3f}, {hi:.3f}]':>16} {old / count:>9.3f} "
            f"{time.perf_counter() - start:>8.1f}"
        )
    print(f"level alpha = {ALPHA}: the rate must be at most alpha (within sampling error)")


if __name__ == "__main__":
    main()
