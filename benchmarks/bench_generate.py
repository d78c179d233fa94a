"""Benchmark: 1M synthetic transactions to Parquet (target: <= 3 s on 2 cores).

Prints, for the end-to-end ``generate_batches`` call (generate, write atomically,
compute the ground truth, write the manifest):

* wall time (best of ``--repeat``) and rows/s;
* the baseline measured in the same process: ``pyarrow.parquet.write_table`` of
  the very same table to a local file, i.e. the cost of the write alone;
* the ratio generate / baseline, and the split between drawing and writing.

Run: ``.venv/bin/python benchmarks/bench_generate.py [--rows N] [--repeat K]``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq

from arlequin_synth import TransactionGenerator, generate_batches

TARGET_SECONDS = 3.0
SCENARIOS = {
    "none": "none",
    "gradual (2 populations mixed)": "gradual:amount_scale=1.5,missing=channel,start=0,duration=2",
}


def best_of(repeat: int, run: Callable[[int], None]) -> float:
    """Best wall time over ``repeat`` calls of ``run(i)`` (seconds)."""
    times = []
    for i in range(repeat):
        start = time.perf_counter()
        run(i)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows, repeat = args.rows, args.repeat
    print(f"rows={rows:,} repeat={repeat} (best of); python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for label, spec in SCENARIOS.items():
            out = root / "stream"

            def generate(_: int, spec: str = spec, out: Path = out) -> None:
                generate_batches(str(out), rows=rows, batches=1, scenario=spec, seed=1, overwrite=True, progress=False)

            total = best_of(repeat, generate)
            generator = TransactionGenerator(spec, seed=1)
            generator.draw(0, 1_000)  # warm the exact-truth cache as generate_batches does within a run
            table = None

            def draw(_: int, generator: TransactionGenerator = generator) -> None:
                nonlocal table
                table = generator.draw(0, rows).table

            drawing = best_of(repeat, draw)
            drawn = table
            baseline = best_of(repeat, lambda i, drawn=drawn: pq.write_table(drawn, root / f"baseline-{i}.parquet"))
            size = (out / "batch-00000.parquet").stat().st_size
            print(f"\n== scenario: {label}  [{spec}]")
            print(f"generate_batches (draw, truth, atomic write, manifest): {total:.3f} s, {rows / total:,.0f} rows/s")
            print(f"  of which drawing the table: {drawing:.3f} s")
            print(f"baseline pq.write_table of the same table: {baseline:.3f} s, {rows / baseline:,.0f} rows/s")
            print(f"ratio generate / baseline write: {total / baseline:.2f}x")
            print(f"file size: {size / 1e6:.1f} MB ({size / rows:.1f} bytes/row)")
            verdict = "met" if total <= TARGET_SECONDS * rows / 1_000_000 else "NOT met"
            print(f"target <= {TARGET_SECONDS:.0f} s per 1M rows: {verdict}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of this process: {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
