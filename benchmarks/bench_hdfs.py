"""Benchmark the watcher on a real HDFS (Hadoop's MiniDFSCluster on loopback).

1. Latency: a Spark job (local[2]) writes a 1M-row batch directory to HDFS
   (``_temporary``, part files, ``_SUCCESS``); the daemon's ``poll`` source (interval
   1 s) finds it and the real drift monitor checks it. We time from the ``_SUCCESS``
   marker's modification time (the NameNode's clock, the same machine) to the
   ``batch-checked`` event. Baseline, in the same run: reading the same directory
   alone with :func:`arlequin_core.io.read_table` (hdfs-native).
2. Listing: a landing directory holding 10,000 batch directories (an empty
   ``part-00000.parquet`` and ``_SUCCESS`` in each: a listing's cost does not depend on file
   sizes, and empty files need no DataNode, so the 10,000 are made in minutes).
   Six polls are timed (the first lists every directory; later ones list the root and
   take the committed outputs whose mtime did not change from the cache), and the
   NameNode's RPCs during each are counted from its JMX
   (``RpcActivityForPort<port>.RpcProcessingTimeNumOps`` over HTTP). Baseline: one
   ``ls`` of the landing directory alone (what it costs to see the 10,000 names).

Run: ``python benchmarks/bench_hdfs.py [--rows 1000000] [--repeat 3] [--dirs 10000]
[--skip-latency] [--skip-listing]``.
Needs java, javac and mvn (``make hadoop-jars`` fetches the jars).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # Spark on loopback, as everywhere in this project
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "cluster"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pyarrow.parquet as pq  # noqa: E402
from bench_watch import transactions  # noqa: E402
from localcluster import MiniHdfs  # noqa: E402

from arlequin_core import hookimpl  # noqa: E402
from arlequin_core.app import App  # noqa: E402
from arlequin_core.config import ArlequinConfig  # noqa: E402
from arlequin_core.daemon import Daemon  # noqa: E402
from arlequin_core.drift import build_profile  # noqa: E402
from arlequin_core.events import BatchChecked, BatchRejected  # noqa: E402
from arlequin_core.io import filesystem, read_table  # noqa: E402
from arlequin_core.logs import configure_logging  # noqa: E402
from arlequin_core.monitor import Monitor  # noqa: E402
from arlequin_watch.poll import PollSource  # noqa: E402


class WallClock:
    """A plugin noting when each verdict is delivered (``time.time()``, comparable to HDFS mtimes)."""

    def __init__(self) -> None:
        self.times: dict[str, tuple[float, Any]] = {}
        self.cond = threading.Condition()

    def _note(self, event: Any) -> None:
        with self.cond:
            self.times[event.uri] = (time.time(), event)
            self.cond.notify_all()

    @hookimpl
    def arlequin_on_batch_checked(self, event: BatchChecked) -> None:
        self._note(event)

    @hookimpl
    def arlequin_on_batch_rejected(self, event: BatchRejected) -> None:
        self._note(event)

    def wait(self, uri: str, timeout: float = 300.0) -> tuple[float, Any]:
        with self.cond:
            if not self.cond.wait_for(lambda: uri in self.times, timeout):
                raise TimeoutError(f"no verdict for {uri} within {timeout} s")
            return self.times[uri]


def bench_latency(hdfs: MiniHdfs, work: Path, rows: int, repeat: int) -> None:
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("bench-hdfs")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    landing = f"{hdfs.rpc}/bench/landing"
    fs, path = filesystem(landing)
    fs.makedirs(path, exist_ok=True)
    settings = {"arlequin": {"home": str(work / "home")}, "data": {"label": "is_fraud"}, "drift": {"html": False}}
    app = App(ArlequinConfig.model_validate(settings))
    clock = WallClock()
    app.host.register_plugin(clock, "bench-clock")
    profile = build_profile(transactions(100_000, seed=10_000), app.config, app.registry)
    monitor = Monitor(app.config, app.registry, app.bus, lambda: (profile, "bench-model", "1"))
    source = PollSource({"uri": landing, "interval": 1.0}, app, "lake")
    daemon = Daemon(app, sources=[source], consumers=[monitor])
    daemon.start()
    latencies, reads, writes = [], [], []
    try:
        for i in range(repeat):
            local = work / f"batch-{i}.parquet"
            pq.write_table(transactions(rows, seed=i), local)
            uri = f"{landing}/batch-{i:02d}"
            t0 = time.perf_counter()
            spark.read.parquet(str(local)).repartition(4).write.parquet(uri)
            writes.append(time.perf_counter() - t0)
            success = fs.info(f"{path}/batch-{i:02d}/_SUCCESS")["modification_time"] / 1000.0
            when, event = clock.wait(uri)
            if isinstance(event, BatchRejected):
                raise SystemExit(f"bench: {uri} rejected: {event.reason}")
            latencies.append(when - success)
            t0 = time.perf_counter()
            read_table(uri)
            reads.append(time.perf_counter() - t0)
    finally:
        daemon.stop()
        app.close()
        spark.stop()
    med, base = statistics.median(latencies), statistics.median(reads)
    print(f"== landing-to-verdict latency on HDFS, {rows:,}-row batch written by Spark, poll every 1 s, {repeat} runs")
    print(f"   Spark job writing the batch to HDFS: median {statistics.median(writes):.2f} s")
    print(f"   _SUCCESS -> batch-checked: median {med:.2f} s   min {min(latencies):.2f} s   max {max(latencies):.2f} s")
    print(f"   baseline: read_table of the batch alone (hdfs-native), median {base:.2f} s")
    print(f"   ratio latency / read: {med / base:.2f}x   (the poll interval adds 0 to 1 s, 0.5 s on average)")


def _make_batch_dir(client: Any, directory: str) -> None:
    """A committed output: an empty part file (no block, so no DataNode write) and ``_SUCCESS``.

    An empty file's access and modification times are equal when it is created and closed in the
    same millisecond, which the poll source reads as "still open for writing" (and then re-lists
    the directory every poll); its access time is set one second earlier, as a real part file's
    close would leave it.
    """
    client.mkdirs(directory, 0o755, True)
    part = f"{directory}/part-00000.parquet"
    client.create(part).close()
    mtime = client.get_file_info(part).modification_time
    client.set_times(part, mtime, mtime - 1000)
    client.create(f"{directory}/_SUCCESS").close()


def bench_listing(hdfs: MiniHdfs, dirs: int) -> None:
    from concurrent.futures import ThreadPoolExecutor

    landing = f"{hdfs.rpc}/bench/many"
    fs, path = filesystem(landing)
    fs.makedirs(path, exist_ok=True)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:  # the client releases the GIL while it waits for the NameNode
        list(pool.map(lambda i: _make_batch_dir(fs.client, f"{path}/batch-{i:05d}"), range(dirs)))
    made = time.perf_counter() - t0
    print(f"\n== listing a landing directory of {dirs:,} batch directories (made in {made:.0f} s)")
    source = PollSource({"uri": landing, "interval": 3600}, instance="many")
    polls, rpcs = [], []
    for _ in range(6):  # the first poll lists everything; later ones take committed outputs from the cache
        before = hdfs.rpc_calls()
        t0 = time.perf_counter()
        found = source._list()
        polls.append(time.perf_counter() - t0)
        rpcs.append(hdfs.rpc_calls() - before)
        assert len(found) == dirs, len(found)
    base, base_rpcs = [], []
    for _ in range(3):
        before = hdfs.rpc_calls()
        t0 = time.perf_counter()
        names = fs.ls(path, detail=False)
        base.append(time.perf_counter() - t0)
        base_rpcs.append(hdfs.rpc_calls() - before)
    assert len(names) == dirs
    base_s, base_rpc = statistics.median(base), statistics.median(base_rpcs)
    # The second poll computes each cached output's batch once; from the third on, the steady state.
    warm_s, warm_rpc = statistics.median(polls[2:]), statistics.median(rpcs[2:])
    print(f"   first poll (every directory listed): {polls[0]:.2f} s, {rpcs[0]:,} NameNode RPCs")
    print(f"   second poll (committed outputs' batches computed from the cache): {polls[1]:.3f} s, {rpcs[1]:,} RPCs")
    print(
        f"   steady state, polls 3-6 (root listed, unchanged outputs from the cache): median {warm_s:.3f} s "
        f"(min {min(polls[2:]):.3f}, max {max(polls[2:]):.3f}), {warm_rpc:,.0f} NameNode RPCs"
    )
    print(f"   baseline: one ls of the landing directory: {base_s:.3f} s, {base_rpc:,.0f} RPCs")
    print(
        f"   ratio to the ls: first poll {polls[0] / base_s:.0f}x time, {rpcs[0] / max(base_rpc, 1):.0f}x RPCs; "
        f"steady state {warm_s / base_s:.1f}x time, {warm_rpc / max(base_rpc, 1):.1f}x RPCs"
    )
    print("   (RPC counts include the DataNode's heartbeats, which share the NameNode's RPC port)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dirs", type=int, default=10_000)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-listing", action="store_true")
    args = parser.parse_args()
    configure_logging("json", "warning")  # one log line per event would dominate the timings
    with tempfile.TemporaryDirectory(prefix="bench-hdfs-") as tmp, MiniHdfs(Path(tmp) / "hdfs") as hdfs:
        print(f"HDFS (MiniDFSCluster): {hdfs.rpc}")
        if not args.skip_latency:
            bench_latency(hdfs, Path(tmp), args.rows, args.repeat)
        if not args.skip_listing:
            bench_listing(hdfs, args.dirs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
