"""Benchmark the watcher: landing-to-verdict latency, and a burst of small files.

1. Latency: a 100k-row Parquet file is renamed into the watched directory (after
   being written under a hidden temporary name there, as producers should); we
   time from the rename to the delivery of its ``batch-checked`` event to a plugin.
   Baseline, in the same process: the time to just read that file with
   :func:`arlequin_core.io.read_table`. Target: latency <= 0.5 s.
2. Burst: 1,000 small files land in one go; we print the time to the last verdict,
   the RSS after each 250 verdicts and the peak RSS during the burst (target: flat
   memory). Three figures, in the same run: the real drift monitor with HTML reports
   on (the default), the real monitor with ``html = false``, and a consumer that only
   reads the files (the watcher's own cost, the baseline of the ratios). With HTML on
   we also print how many pages got plots and how many were left to render on
   demand, and when the renderer was done.

The pipeline is the real one (inotify, ledger, bus, journal with fsync). Latency is
measured with the real drift monitor (a profile fitted on a reference of the same
shape; JSON report, with and without the HTML report), and with a consumer that only
reads the batch, to show what the watcher itself costs.

Run: ``python benchmarks/bench_watch.py [--repeat 10] [--files 1000] [--burst-only]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.parquet as pq

from arlequin_core import hookimpl
from arlequin_core.app import App
from arlequin_core.config import ArlequinConfig
from arlequin_core.daemon import Daemon
from arlequin_core.drift import build_profile
from arlequin_core.errors import InputError
from arlequin_core.events import BatchChecked, BatchRejected, DataArrived
from arlequin_core.io import read_table
from arlequin_core.logs import configure_logging
from arlequin_core.monitor import Monitor
from arlequin_watch.local import LocalSource

MB = 1024 * 1024


class ReadingConsumer:
    """Reads each batch and publishes ``batch-checked`` (or ``batch-rejected``); keeps nothing."""

    name = "bench-reader"

    def __init__(self, app: App) -> None:
        self.app = app

    @hookimpl
    def arlequin_on_data_arrived(self, event: DataArrived) -> None:
        try:
            rows = read_table(event.uri).num_rows
        except InputError as exc:
            self.app.bus.publish(BatchRejected(batch_id=event.batch_id, uri=event.uri, reason=str(exc)))
            return
        checked = BatchChecked(batch_id=event.batch_id, uri=event.uri, drifted=False, rows=rows)
        self.app.bus.publish(checked)


class VerdictClock:
    """A plugin noting when each ``batch-checked`` event is delivered (perf_counter seconds)."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self.cond = threading.Condition()

    @hookimpl
    def arlequin_on_batch_checked(self, event: BatchChecked) -> None:
        with self.cond:
            self.times[event.uri] = time.perf_counter()
            self.cond.notify_all()

    def wait(self, uri: str, timeout: float = 30.0) -> float:
        with self.cond:
            if not self.cond.wait_for(lambda: uri in self.times, timeout):
                raise TimeoutError(f"no verdict for {uri} within {timeout} s")
            return self.times[uri]


def transactions(rows: int, seed: int = 0) -> pa.Table:
    """A table shaped like the demo's transactions (8 columns)."""
    rng = np.random.default_rng(seed)
    categories = np.array(["grocery", "travel", "online", "fuel", "restaurant", "electronics"])
    countries = np.array(["FR", "DE", "ES", "IT", "US", "GB"])
    return pa.table(
        {
            "amount": rng.lognormal(3.0, 1.0, rows),
            "merchant_category": pa.array(categories[rng.integers(0, len(categories), rows)]).dictionary_encode(),
            "country": pa.array(countries[rng.integers(0, len(countries), rows)]).dictionary_encode(),
            "hour": rng.integers(0, 24, rows).astype(np.int8),
            "customer_age": rng.integers(18, 90, rows).astype(np.int16),
            "account_balance": rng.normal(2500, 800, rows),
            "is_foreign": rng.random(rows) < 0.1,
            "is_fraud": rng.random(rows) < 0.02,
        }
    )


def start(root: Path, monitor: bool = False, html: bool = False) -> tuple[App, Daemon, VerdictClock]:
    landing = root / "landing"
    landing.mkdir(parents=True, exist_ok=True)
    settings = {"arlequin": {"home": str(root / "home")}, "data": {"label": "is_fraud"}, "drift": {"html": html}}
    app = App(ArlequinConfig.model_validate(settings))
    clock = VerdictClock()
    app.host.register_plugin(clock, "bench-clock")
    consumer: Any = ReadingConsumer(app)
    if monitor:
        profile = build_profile(transactions(100_000, seed=10_000), app.config, app.registry)
        consumer = Monitor(app.config, app.registry, app.bus, lambda: (profile, "bench-model", "1"))
    daemon = Daemon(app, sources=[LocalSource({"path": str(landing)}, app, "bench")], consumers=[consumer])
    daemon.start()
    return app, daemon, clock


def stop(app: App, daemon: Daemon) -> None:
    leftover = daemon.stop()
    assert not leftover, leftover
    app.close()


def bench_latency(root: Path, repeat: int, rows: int, monitor: bool, html: bool) -> None:
    app, daemon, clock = start(root, monitor, html)
    landing = root / "landing"
    latencies, reads = [], []
    try:
        for i in range(repeat):
            table = transactions(rows, seed=i)
            tmp, final = landing / f".batch-{i:03d}.parquet.tmp", landing / f"batch-{i:03d}.parquet"
            pq.write_table(table, tmp)
            time.sleep(0.05)  # let the temp file's own events pass; we time the rename only
            t0 = time.perf_counter()
            os.rename(tmp, final)
            latencies.append(clock.wait(str(final)) - t0)
            if html:  # the plots are rendered after the verdict: land the next file once they are done
                reports = root / "home" / "reports"
                deadline = time.monotonic() + 30
                while len(list(reports.glob("*.html"))) <= i and time.monotonic() < deadline:
                    time.sleep(0.01)
            t0 = time.perf_counter()
            read_table(str(final))
            reads.append(time.perf_counter() - t0)
        size = (landing / "batch-000.parquet").stat().st_size
    finally:
        stop(app, daemon)
    med, base = statistics.median(latencies), statistics.median(reads)
    p90 = sorted(latencies)[max(0, round(0.9 * len(latencies)) - 1)]
    what = ("drift monitor, JSON + HTML report" if html else "drift monitor, JSON report") if monitor else "read only"
    print(f"== landing-to-verdict latency ({what}), {rows:,}-row Parquet file ({size / MB:.1f} MB), {repeat} runs")
    print(f"   watcher:  median {med * 1000:7.1f} ms   p90 {p90 * 1000:7.1f} ms   max {max(latencies) * 1000:7.1f} ms")
    print(f"   baseline: read_table alone, median {base * 1000:7.1f} ms")
    print(
        f"   ratio watcher / read: {med / base:.2f}x   overhead {1000 * (med - base):.1f} ms   target <= 500 ms: ",
        end="",
    )
    print("met" if med <= 0.5 else "MISSED")


def bench_burst(root: Path, files: int, rows: int, monitor: bool = False, html: bool = False) -> float:
    """Land ``files`` small files at once; print the figures; return seconds to the last verdict."""
    process = psutil.Process()
    app, daemon, _ = start(root, monitor, html)
    landing = root / "landing"
    # A few distinct payloads, cycled: the burst is about the number of files, and
    # holding 1,000 different tables in memory beforehand would blur the RSS figures.
    payloads = []
    for i in range(10):
        sink = pa.BufferOutputStream()
        pq.write_table(transactions(rows, seed=1000 + i), sink)
        payloads.append(sink.getvalue().to_pybytes())
    peak = [process.memory_info().rss]
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.wait(0.01):
            peak[0] = max(peak[0], process.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    before = process.memory_info().rss
    marks: list[tuple[int, int, float]] = []
    step = max(1, files // 4)
    rendered = ""
    try:
        sampler.start()
        t0 = time.perf_counter()
        for i in range(files):
            tmp = landing / f".small-{i:05d}.parquet.tmp"
            tmp.write_bytes(payloads[i % len(payloads)])
            os.rename(tmp, landing / f"small-{i:05d}.parquet")
        landed = time.perf_counter() - t0
        next_mark = step
        deadline = time.monotonic() + 1800
        while next_mark <= files and time.monotonic() < deadline:
            counts = daemon.ledger.counts()  # type: ignore[union-attr]
            finished = counts["done"] + counts["rejected"]
            while next_mark <= files and finished >= next_mark:
                marks.append((next_mark, process.memory_info().rss, time.perf_counter() - t0))
                next_mark += step
            time.sleep(0.005)
        elapsed = time.perf_counter() - t0
        counts = daemon.ledger.counts()  # type: ignore[union-attr]
        consumer = daemon.consumers[0]
        if html and isinstance(consumer, Monitor):
            consumer.renderer.wait_idle(1800)
            done = time.perf_counter() - t0
            r = consumer.renderer
            rendered = (
                f"   HTML: {r.rendered} pages with plots, {r.deferred} left to `arlequin report` on demand; "
                f"renderer idle after {done:.2f} s"
            )
    finally:
        sampling.set()
        sampler.join()
        stop(app, daemon)
    what = ("real drift monitor, HTML on" if html else "real drift monitor, html = false") if monitor else "read only"
    print(f"== burst ({what}): {files:,} files of {rows} rows landed in {landed:.2f} s")
    print(f"   all verdicts after {elapsed:.2f} s ({files / elapsed:.1f} files/s); ledger: {counts}")
    if rendered:
        print(rendered)
    print(f"   RSS before the burst: {before / MB:.1f} MB")
    for n, rss, t in marks:
        print(f"   RSS after {n:>5} verdicts: {rss / MB:7.1f} MB   ({t:6.2f} s)")
    if len(marks) >= 2:
        growth = (marks[-1][1] - marks[0][1]) / MB
        print(f"   growth from {marks[0][0]} to {marks[-1][0]} verdicts: {growth:+.1f} MB")
    print(f"   peak RSS during the burst: {peak[0] / MB:.1f} MB")
    return elapsed


def main(argv: Any = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=10, help="latency runs")
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the latency file")
    parser.add_argument("--files", type=int, default=1000, help="files in the burst")
    parser.add_argument("--burst-rows", type=int, default=200, help="rows per burst file")
    parser.add_argument("--burst-only", action="store_true", help="skip the latency runs")
    args = parser.parse_args(argv)
    configure_logging("json", "warning")  # one log line per event would dominate the timings
    print(f"bench_watch: {os.cpu_count()} CPUs, journal fsync on, pid {os.getpid()}")
    with tempfile.TemporaryDirectory(prefix="arlequin-bench-") as tmp:
        if not args.burst_only:
            bench_latency(Path(tmp) / "monitor-html", args.repeat, args.rows, monitor=True, html=True)
            bench_latency(Path(tmp) / "monitor", args.repeat, args.rows, monitor=True, html=False)
            bench_latency(Path(tmp) / "read", args.repeat, args.rows, monitor=False, html=False)
        with_html = bench_burst(Path(tmp) / "burst-html", args.files, args.burst_rows, monitor=True, html=True)
        without = bench_burst(Path(tmp) / "burst-monitor", args.files, args.burst_rows, monitor=True, html=False)
        read = bench_burst(Path(tmp) / "burst-read", args.files, args.burst_rows)
        print(
            f"== burst, seconds to the last verdict: monitor + HTML {with_html:.2f}, monitor {without:.2f}, "
            f"read only {read:.2f}; ratios to read only: {with_html / read:.1f}x, {without / read:.1f}x; "
            f"HTML on / off: {with_html / without:.2f}x"
        )


if __name__ == "__main__":
    main()
