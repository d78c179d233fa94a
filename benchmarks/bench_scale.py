"""Benchmark: batches of any size. The streaming Arrow engine and the one-pass Spark engine.

Data: N rows x 10 columns, Parquet on local disk in row groups of 1M rows: 6 numeric
(normal, lognormal, exponential, uniform, integer ties, normal shifted by 0.05 sd) and
4 categorical strings (5, 100 and 1000 categories, and ``uid``, id-like: N/5 distinct
values, 10M at 50M rows). The reference is 200 000 rows of the same generator; the
detectors are the defaults (``ks`` numeric, ``chi2`` categorical). Files are written
once under ``benchmarks/out/scale/`` (git-ignored) and reused.

Every figure comes from its own child process, so its peak RSS (``ru_maxrss``) is its own:

* ``read``: baseline, pyarrow alone reading the file's 10 columns
  (``ParquetFile.iter_batches`` in record batches of the engine's size, nothing computed);
* ``read-dict``: the same, with the low-cardinality string columns read as dictionaries
  (``read_dictionary``), as the engine reads them: the cheapest read of the same data;
* ``arrow``: ``check_uri(engine="arrow")``: streamed, states merged;
* ``memory``: today's in-memory path (``read_table`` + ``check_batch``), at the sizes
  it fits (default up to 10M rows);
* ``spark``: ``check_uri(engine="spark")`` on ``local[2]`` with ``spark.driver.memory=1g``;
  driver RSS is the JVM's peak resident set (``VmHWM``) plus the Python driver's.

Printed: the machine's load average before each size (the machine is shared: compare
ratios within one run), time and peak RSS per run and size, the ratios arrow/read,
arrow/read-dict and arrow/memory, and whether the arrow and memory (and spark) verdicts agree.

Run: ``python benchmarks/bench_scale.py [--rows 1000000,10000000,50000000] [--memory-max 10000000]
[--spark-rows 10000000,50000000]`` (``--spark-rows ""`` skips Spark).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

OUT = Path(__file__).resolve().parent / "out" / "scale"
GROUP = 1_000_000
REFERENCE_ROWS = 200_000


def chunk(n: int, seed: int, uid_space: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    names = {k: np.array([f"c{i}" for i in range(k)]) for k in (5, 100, 1000)}
    return pa.table(
        {
            "normal": rng.normal(0, 1, n),
            "lognormal": rng.lognormal(0, 1, n),
            "exponential": rng.exponential(2, n),
            "uniform": rng.uniform(0, 10, n),
            "ties": rng.integers(0, 500, n).astype(np.float64),
            "shifted": rng.normal(0.05, 1, n),
            "k5": pa.array(names[5][rng.integers(0, 5, n)]).dictionary_encode().cast(pa.string()),
            "k100": pa.array(names[100][rng.integers(0, 100, n)]),
            "k1000": pa.array(names[1000][rng.integers(0, 1000, n)]),
            "uid": pa.array(np.char.add("u", rng.integers(0, uid_space, n).astype(str))),
        }
    )


def batch_file(rows: int) -> Path:
    """The N-row batch, written once in row groups of 1M rows (never whole in memory)."""
    path = OUT / f"batch-{rows}.parquet"
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    space = max(rows // 5, 1)
    writer = None
    for i, start in enumerate(range(0, rows, GROUP)):
        part = chunk(min(GROUP, rows - start), 1000 + i, space)
        writer = writer or pq.ParquetWriter(tmp, part.schema)
        writer.write_table(part, row_group_size=GROUP)
    assert writer is not None
    writer.close()
    tmp.rename(path)
    return path


def profile_file() -> Path:
    path = OUT / "profile.json"
    if not path.exists():
        from arlequin_core.config import ArlequinConfig
        from arlequin_core.drift.profile import build_profile
        from arlequin_core.plugins import PluginHost

        OUT.mkdir(parents=True, exist_ok=True)
        reference = chunk(REFERENCE_ROWS, 7, 10_000_000)
        build_profile(reference, ArlequinConfig(), PluginHost().load().registry, source="reference").save(path)
    return path


# --------------------------------------------------------------------------- #
# Child processes: one measurement each
# --------------------------------------------------------------------------- #


def child(mode: str, path: str) -> dict:
    from arlequin_core.config import ArlequinConfig
    from arlequin_core.drift.profile import Profile
    from arlequin_core.plugins import PluginHost

    registry = PluginHost().load().registry
    # Imports are not timed (the plugins' are not either): scipy.stats is imported lazily by
    # the first p-value of some branches, seconds of wall time on a loaded machine.
    import scipy.stats  # noqa: F401

    profile = Profile.load(profile_file())
    config = ArlequinConfig()
    result: dict = {"mode": mode}
    start, cpu = time.perf_counter(), _cpu()
    if mode in ("read", "read-dict"):
        from arlequin_core.drift.states import Plan
        from arlequin_core.drift.stream import CHUNK_ROWS, _dictionary_columns

        rows, columns = 0, list(profile.columns)
        dictionaries = []
        if mode == "read-dict":
            plan = Plan(profile, registry, "arrow", bounded=False)
            dictionaries = _dictionary_columns(plan, pq.read_schema(path))
        start, cpu = time.perf_counter(), _cpu()
        parquet = pq.ParquetFile(path, read_dictionary=dictionaries or None)
        for batch in parquet.iter_batches(batch_size=CHUNK_ROWS, columns=columns):
            rows += batch.num_rows
        result.update(rows=rows, dictionaries=dictionaries)
    elif mode in ("arrow", "memory"):
        from arlequin_core.drift.engines import check_uri

        report = check_uri(profile, path, config, registry, engine=mode).report
        result.update(rows=report.rows_cur, drifted=report.drifted_columns, engine=report.engine)
    elif mode == "spark":
        from pyspark.sql import SparkSession

        from arlequin_core.drift.engines import check_uri

        config.spark.master = "local[2]"
        config.spark.conf = {"spark.driver.memory": "1g", "spark.ui.enabled": "false"}
        session = (
            SparkSession.builder.master("local[2]")
            .config("spark.driver.memory", "1g")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .getOrCreate()
        )
        setup = time.perf_counter() - start
        start, cpu = time.perf_counter(), _cpu()
        report = check_uri(profile, path, config, registry, engine="spark").report
        result.update(rows=report.rows_cur, drifted=report.drifted_columns, engine=report.engine, setup_s=setup)
        result["jvm_peak_mb"] = _vm_hwm_mb(session.sparkContext._gateway.proc.pid)
        session.stop()
    result["seconds"] = time.perf_counter() - start
    result["cpu_s"] = _cpu() - cpu
    result["python_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def _cpu() -> float:
    """CPU seconds of this process so far, all threads (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _vm_hwm_mb(pid: int) -> float:
    """Peak resident set of ``pid`` and its descendants that are Java (the driver JVM)."""
    peaks = []
    for candidate in [pid, *_children(pid)]:
        try:
            status = Path(f"/proc/{candidate}/status").read_text()
            cmd = Path(f"/proc/{candidate}/cmdline").read_bytes()
        except OSError:
            continue
        if b"java" in cmd:
            peaks += [int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmHWM")]
    return max(peaks, default=float("nan"))


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = [int(k) for k in (task / "children").read_text().split()]
        except OSError:
            continue
        for kid in kids:
            out += [kid, *_children(kid)]
    return out


def run(mode: str, path: Path) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        return {"mode": mode, "error": done.stderr.strip().splitlines()[-1:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", default="1000000,10000000,50000000")
    parser.add_argument("--memory-max", type=int, default=10_000_000, help="largest N for the in-memory path")
    parser.add_argument("--spark-rows", default="10000000,50000000")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    profile_file()
    spark_rows = {int(r) for r in args.spark_rows.split(",") if r}
    print(f"{'rows':>11} {'mode':>9} {'seconds':>9} {'cpu s':>7} {'peak MB':>9}  notes")
    verdicts: dict[str, tuple[int, list, float]] = {}
    for rows in (int(r) for r in args.rows.split(",")):
        path = batch_file(rows)
        size = path.stat().st_size / 2**20
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"{rows:>11,} load average (1, 5, 15 min) before this size: {load} on {os.cpu_count()} cores")
        results = {"read": run("read", path), "read-dict": run("read-dict", path), "arrow": run("arrow", path)}
        if rows <= args.memory_max:
            results["memory"] = run("memory", path)
        if rows in spark_rows:
            results["spark"] = run("spark", path)
        for mode, r in results.items():
            if "error" in r:
                print(f"{rows:>11,} {mode:>7}  failed: {r['error']}")
                continue
            peak = r["python_peak_mb"] + r.get("jvm_peak_mb", 0.0)
            note = f"file {size:,.0f} MB" if mode == "read" else f"drifted {r.get('drifted')}"
            if mode == "read-dict":
                note = f"as dictionaries: {', '.join(r['dictionaries']) or 'none'}"
            if mode == "spark":
                note += f"; driver JVM peak {r['jvm_peak_mb']:,.0f} MB + Python {r['python_peak_mb']:,.0f} MB"
                note += f"; session start {r['setup_s']:.1f} s (not counted)"
            print(f"{rows:>11,} {mode:>9} {r['seconds']:>9.2f} {r['cpu_s']:>7.1f} {peak:>9,.0f}  {note}")
        arrow = results["arrow"]
        if "error" not in arrow and "error" not in results["read"]:
            read = results["read"]
            line = f"{'':>11} ratio arrow/read time {arrow['seconds'] / read['seconds']:.2f}"
            if "error" not in results["read-dict"]:
                line += f", arrow/read-dict time {arrow['seconds'] / results['read-dict']['seconds']:.2f}"
            line += f"; CPU arrow/read {arrow['cpu_s'] / read['cpu_s']:.2f}"
            print(line)
        memory = results.get("memory")
        if memory and "error" not in memory and "error" not in arrow:
            print(
                f"{'':>11} ratio arrow/memory time {arrow['seconds'] / memory['seconds']:.2f}, "
                f"peak RSS {arrow['python_peak_mb'] / memory['python_peak_mb']:.2f}; "
                f"same drifted columns: {arrow['drifted'] == memory['drifted']}"
            )
        for mode in ("arrow", "memory"):
            if mode in results and "error" not in results[mode]:
                verdicts[mode] = (rows, results[mode]["drifted"], results[mode]["python_peak_mb"])
        spark = results.get("spark")
        if spark and "error" not in spark and "error" not in arrow:
            print(f"{'':>11} spark vs arrow: same drifted columns: {spark['drifted'] == arrow['drifted']}")
        sys.stdout.flush()
    if "arrow" in verdicts and "memory" in verdicts and verdicts["arrow"][0] > verdicts["memory"][0]:
        (big, arrow, peak), (small, memory, _) = verdicts["arrow"], verdicts["memory"]
        print(
            f"arrow on {big:,} rows (peak {peak:,.0f} MB) vs memory on {small:,} rows of the same generator: "
            f"same drifted columns: {arrow == memory}"
        )


if __name__ == "__main__":
    main()
