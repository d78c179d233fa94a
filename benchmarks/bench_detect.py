"""Benchmark: scoring a batch for drift, against a per-column scipy baseline.

Reference and batch of N rows x 10 columns (6 numeric float64, 4 categorical strings
with 5, 20, 100 and 1000 categories), for N = 10k, 100k and 1M. The reference is
fitted beforehand (``build_profile``); what is timed is ``check_batch`` on the batch
as an Arrow table: every column's test, the missing-rate tests, the correction and
the verdict.

Baseline, in the same process on the same data: per column ``scipy.stats.ks_2samp(ref,
cur)`` for numeric columns (on numpy arrays prepared beforehand) and
``scipy.stats.chi2_contingency`` on reference and batch category counts (counted with
pyarrow's ``value_counts``, the fastest counting available) for categorical columns.
That is what one writes without fit-once: the reference is sorted/counted every time.

Effect sizes (issue 14): the check is also timed, alternating in the same run, on the
same profile without its effect summaries (what a profile written before them does:
no effect is computed); the ratio after / before is printed.

Memory: while scoring, Python/numpy allocations are traced with ``tracemalloc`` and
Arrow allocations with a proxy memory pool; their peaks are added up (an upper bound:
the two peaks need not coincide). The batch held as Arrow is ``table.nbytes``; the
ratio printed is ``(batch + peak working memory) / batch``.

A second, moderately drifted batch (numeric columns shifted by 3/sqrt(N) standard
deviations: the p-values where scipy's ``kstwo.sf`` is slowest) is timed the same way.

Targets (2-core machine, 1M rows): scoring <= 0.4 s, >= 3x faster than the baseline,
memory ratio <= 1.2. Figures on a shared machine are provisional.

Run: ``python benchmarks/bench_detect.py [--rows 10000,100000,1000000] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import os
import statistics
import time
import tracemalloc

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import stats

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from arlequin_core.config import ArlequinConfig
from arlequin_core.drift import build_profile, check_batch
from arlequin_core.plugins import PluginHost

NUMERIC = 6
CATEGORY_SIZES = (5, 20, 100, 1000)


def make_table(rows: int, seed: int, drift: float = 0.0) -> pa.Table:
    """``drift`` shifts every numeric column by that many standard deviations."""
    rng = np.random.default_rng(seed)
    columns: dict[str, pa.Array] = {}
    for i in range(NUMERIC):
        scale = 1.0 + i / 10
        columns[f"num{i}"] = pa.array(rng.normal(i + drift * scale, scale, rows))
    for size in CATEGORY_SIZES:
        labels = np.array([f"cat-{j}" for j in range(size)])
        weights = np.random.default_rng(size).dirichlet(np.ones(size))  # same in reference and batch
        columns[f"cat{size}"] = pa.array(labels[rng.choice(size, rows, p=weights)])
    return pa.table(columns)


def baseline(reference: dict[str, np.ndarray | pa.ChunkedArray], batch: dict[str, np.ndarray | pa.ChunkedArray]):
    """Per-column scipy tests, nothing kept between batches."""
    results = {}
    for name, ref in reference.items():
        cur = batch[name]
        if isinstance(ref, np.ndarray):
            results[name] = stats.ks_2samp(ref, cur).pvalue
        else:
            rc, cc = (pc.value_counts(x) for x in (ref, cur))
            ref_counts = dict(zip(rc.field("values").to_pylist(), rc.field("counts").to_pylist(), strict=True))
            cur_counts = dict(zip(cc.field("values").to_pylist(), cc.field("counts").to_pylist(), strict=True))
            keys = sorted(set(ref_counts) | set(cur_counts))
            table = [[ref_counts.get(k, 0) for k in keys], [cur_counts.get(k, 0) for k in keys]]
            results[name] = stats.chi2_contingency(table).pvalue
    return results


def timed(fn, repeat: int) -> tuple[float, float]:
    """Median and best wall time of ``repeat`` calls, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def peak_working_memory(fn) -> int:
    """Peak bytes allocated while ``fn`` runs: Python/numpy (tracemalloc) + Arrow (proxy pool)."""
    default = pa.default_memory_pool()
    proxy = pa.proxy_memory_pool(default)
    pa.set_memory_pool(proxy)
    tracemalloc.start()
    try:
        fn()
        _, numpy_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        pa.set_memory_pool(default)
    return numpy_peak + proxy.max_memory()


def run(rows: int, repeat: int, registry, config: ArlequinConfig) -> None:
    reference, batch = make_table(rows, 0), make_table(rows, 1)
    start = time.perf_counter()
    profile = build_profile(reference, config, registry)
    fit_time = time.perf_counter() - start

    def ours():
        return check_batch(profile, batch, config, registry)

    ours()  # warm-up: detectors are rebuilt from the profile once, then cached
    prepared_ref = {
        n: reference.column(n).to_numpy() if n.startswith("num") else reference.column(n) for n in batch.column_names
    }
    prepared_cur = {
        n: batch.column(n).to_numpy() if n.startswith("num") else batch.column(n) for n in batch.column_names
    }
    our_median, our_best = timed(ours, repeat)
    # Before/after effect sizes (issue 14), alternated in the same run: the same profile
    # without its effect summaries (as profiles written before them) skips every effect.
    plain = copy.copy(profile)
    plain.columns = {n: dataclasses.replace(cp, effect={}) for n, cp in profile.columns.items()}
    plain._fitted = dict(profile._fitted)
    before, after = [], []
    for _ in range(repeat):
        before.append(timed(lambda: check_batch(plain, batch, config, registry), 1)[0])
        after.append(timed(ours, 1)[0])
    base_median, base_best = timed(lambda: baseline(prepared_ref, prepared_cur), repeat)
    working = peak_working_memory(ours)
    batch_bytes = batch.nbytes
    report = ours()
    # Moderate drift: p-values between 1e-160 and 0.02, where scipy's kstwo.sf is slowest.
    drifted = make_table(rows, 2, drift=3.0 / np.sqrt(rows))
    drifted_cur = {
        n: drifted.column(n).to_numpy() if n.startswith("num") else drifted.column(n) for n in drifted.column_names
    }
    drift_median, _ = timed(lambda: check_batch(profile, drifted, config, registry), repeat)
    drift_base, _ = timed(lambda: baseline(prepared_ref, drifted_cur), max(1, repeat // 3))
    drift_report = check_batch(profile, drifted, config, registry)
    print(f"\n{rows:>9,} rows x 10 columns (batch as Arrow: {batch_bytes / 2**20:.1f} MiB)")
    print(f"  fit reference (build_profile, once): {fit_time:8.3f} s")
    print(f"  ours  check_batch  median {our_median:8.3f} s   best {our_best:8.3f} s")
    print(f"  scipy baseline     median {base_median:8.3f} s   best {base_best:8.3f} s")
    print(f"  speed-up (baseline / ours, medians): {base_median / our_median:6.1f}x")
    b, a = statistics.median(before), statistics.median(after)
    print(f"  effect sizes: before (none) median {b:8.3f} s   after (with effects) {a:8.3f} s   ratio {a / b:5.2f}")
    print(
        f"  peak working memory while scoring: {working / 2**20:.1f} MiB  ->  "
        f"(batch + working) / batch = {(batch_bytes + working) / batch_bytes:.2f}"
    )
    print(f"  verdict: {report.reason}")
    print(
        f"  moderately drifted batch: ours {drift_median:.3f} s, scipy {drift_base:.3f} s "
        f"({drift_base / drift_median:.1f}x); {drift_report.reason}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="10000,100000,1000000", help="comma-separated batch sizes")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per measurement")
    args = parser.parse_args()
    registry = PluginHost().load().registry
    config = ArlequinConfig()
    print(f"cores: {os.cpu_count()}  numpy {np.__version__}  pyarrow {pa.__version__}")
    for rows in (int(r) for r in args.rows.split(",")):
        run(rows, args.repeat, registry, config)


if __name__ == "__main__":
    main()
