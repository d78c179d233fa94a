"""The ``poll`` source and the daemon on the run's real HDFS (Hadoop's MiniDFSCluster).

Batches are written the ways producers really write them: by a Spark job (its
``_temporary`` work directory, part files, then ``_SUCCESS``), by an HDFS client that
keeps a file open after flushing it, and by write-then-rename. The consumer is the
watcher tests' :class:`ReadCheck`, which reads each batch as the monitor does.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import structlog

from arlequin_core.events import BatchChecked, BatchRejected
from arlequin_core.io import filesystem, read_table, write_table_atomic
from arlequin_watch.poll import PollSource

from .conftest import journal_events, table, wait_for
from .test_local_source import Collector

pytestmark = pytest.mark.slow


def _manual(uri: str) -> tuple[PollSource, Collector]:
    """A started source whose thread never polls by itself: the test calls ``poll()``."""
    source = PollSource({"uri": uri, "interval": 3600}, instance="lake")
    emitted = Collector()
    source.start(emitted)
    return source, emitted


def _parquet_bytes(rows: int) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table(rows), sink)
    return sink.getvalue().to_pybytes()


def test_a_spark_job_s_output_is_reported_once_and_only_when_complete(spark, hdfs_dir: str) -> None:
    fs, root = filesystem(hdfs_dir)
    out = f"{hdfs_dir}/batch-spark"
    source = PollSource({"uri": hdfs_dir, "interval": 0.1}, instance="lake")
    seen_temporary = threading.Event()
    reports: list[tuple[Any, bool, bool]] = []

    def emit(landed: Any) -> None:
        path = filesystem(landed.uri)[1]
        reports.append((landed, fs.exists(f"{path}/_SUCCESS"), fs.exists(f"{path}/_temporary")))

    def watch_for_temporary() -> None:
        while not done.is_set():
            try:
                if fs.exists(f"{root}/batch-spark/_temporary"):
                    seen_temporary.set()
            except OSError:
                pass
            time.sleep(0.05)

    def slow(rows: Any) -> Any:  # every task takes a while, so the job's _temporary stage lasts
        time.sleep(1.5)
        return rows

    done = threading.Event()
    observer = threading.Thread(target=watch_for_temporary)
    observer.start()
    source.start(emit)
    try:
        df = spark.range(0, 4000, numPartitions=2).selectExpr("id AS x", "id / 2.0 AS y")
        df.rdd.mapPartitions(slow).toDF(df.schema).write.parquet(out)
        wait_for(lambda: reports, timeout=30, what="the Spark output to be reported")
        polls = source.polls
        wait_for(lambda: source.polls >= polls + 5, what="more polls")
    finally:
        source.stop()
        done.set()
        observer.join()
    assert seen_temporary.is_set(), "the job's _temporary stage was never visible: the test proved nothing"
    assert [(r[0].uri, r[0].kind) for r in reports] == [(out, "directory")]
    (_, had_success, had_temporary) = reports[0]
    assert had_success and not had_temporary
    assert read_table(out).num_rows == 4000


def test_a_file_still_open_for_writing_is_not_read_until_closed(hdfs_dir: str) -> None:
    fs, root = filesystem(hdfs_dir)
    payload = _parquet_bytes(500)
    source, emitted = _manual(hdfs_dir)
    writer = fs.open(f"{root}/open.parquet", "wb")
    try:
        writer.write(payload)
        writer.hsync()  # data on the DataNode, length visible to the NameNode: only the close is missing
        assert fs.info(f"{root}/open.parquet")["size"] == len(payload)
        for _ in range(3):
            source.poll()
        assert emitted.items == []
        writer.close()
        source.poll()
        source.poll()
        assert emitted.uris() == [f"{hdfs_dir}/open.parquet"]
        assert read_table(emitted.uris()[0]).num_rows == 500
        source.poll()
        assert len(emitted.items) == 1
    finally:
        if not writer.closed:
            writer.close()
        source.stop()


def test_a_file_renamed_into_place_is_read_once(hdfs_dir: str) -> None:
    fs, root = filesystem(hdfs_dir)
    source, emitted = _manual(hdfs_dir)
    try:
        fs.pipe_file(f"{root}/.incoming.parquet.tmp", _parquet_bytes(42))
        source.poll()
        source.poll()
        assert emitted.items == []  # hidden temporary name
        fs.mv(f"{root}/.incoming.parquet.tmp", f"{root}/incoming.parquet")
        for _ in range(4):
            source.poll()
        assert emitted.uris() == [f"{hdfs_dir}/incoming.parquet"]
        assert read_table(emitted.uris()[0]).num_rows == 42
    finally:
        source.stop()


def test_an_unreadable_directory_is_rejected_naming_the_permission_problem(app, hdfs_dir: str, start_daemon) -> None:
    fs, root = filesystem(hdfs_dir)
    write_table_atomic(table(10), f"{hdfs_dir}/locked/part-00000.parquet")
    fs.pipe_file(f"{root}/locked/_SUCCESS", b"")
    write_table_atomic(table(10), f"{hdfs_dir}/open/part-00000.parquet")
    fs.pipe_file(f"{root}/open/_SUCCESS", b"")
    fs.client.set_permission(f"{root}/locked", 0o000)
    try:
        start_daemon(app, [PollSource({"uri": hdfs_dir, "interval": 0.2}, app=app, instance="lake")])
        wait_for(lambda: len(journal_events(app.config.home, "batch-rejected")), timeout=30, what="the rejection")
        wait_for(lambda: journal_events(app.config.home, "batch-checked"), timeout=30, what="the readable batch")
        time.sleep(1.0)  # several more polls: nothing is reported twice
        (rejected,) = journal_events(app.config.home, "batch-rejected")
        assert isinstance(rejected, BatchRejected)
        assert rejected.uri == f"{hdfs_dir}/locked"
        assert "Permission denied" in rejected.reason and f"{root}/locked" in rejected.reason
        (checked,) = journal_events(app.config.home, "batch-checked")
        assert isinstance(checked, BatchChecked) and checked.uri == f"{hdfs_dir}/open" and checked.rows == 10
        # the batch stays where it is, and reads once the permission is fixed
        fs.client.set_permission(f"{root}/locked", 0o755)
        assert read_table(f"{hdfs_dir}/locked").num_rows == 10
    finally:
        fs.client.set_permission(f"{root}/locked", 0o755)


def test_namenode_down_mid_run_nothing_is_lost_and_nothing_is_read_twice(
    app, hdfs, hdfs_dir: str, start_daemon
) -> None:
    fs, root = filesystem(hdfs_dir)
    write_table_atomic(table(10), f"{hdfs_dir}/before.parquet")
    with structlog.testing.capture_logs() as logs:
        source = PollSource({"uri": hdfs_dir, "interval": 0.2}, app=app, instance="lake")
        start_daemon(app, [source])
        wait_for(lambda: journal_events(app.config.home, "batch-checked"), timeout=30, what="the first batch")
        hdfs.stop_namenode()
        try:
            failures = sum(1 for e in logs if e.get("event") == "poll_listing_failed")
            wait_for(
                lambda: sum(1 for e in logs if e.get("event") == "poll_listing_failed") >= failures + 3,
                timeout=60,
                what="polls failing while the NameNode is down",
            )
        finally:
            hdfs.start_namenode()
        write_table_atomic(table(20), f"{hdfs_dir}/after.parquet")
        fs.pipe_file(f"{root}/spark-like/part-00000.parquet", _parquet_bytes(30))
        fs.pipe_file(f"{root}/spark-like/_SUCCESS", b"")
        wait_for(
            lambda: len(journal_events(app.config.home, "batch-checked")) >= 3, timeout=60, what="the later batches"
        )
        time.sleep(1.0)  # more polls: nothing twice
    checked = journal_events(app.config.home, "batch-checked")
    assert sorted(e.uri for e in checked) == sorted(
        [f"{hdfs_dir}/before.parquet", f"{hdfs_dir}/after.parquet", f"{hdfs_dir}/spark-like"]
    )
    assert journal_events(app.config.home, "batch-rejected") == []
    failed = [e for e in logs if e.get("event") == "poll_listing_failed"]
    # While it is down the listing names the NameNode; the last failure may come from its
    # restart instead ("RetriableException: NameNode still not started"), so any one, not the last.
    assert failed and any("cannot reach the HDFS NameNode at" in e["error"] for e in failed)


def test_committed_outputs_are_not_listed_again_until_a_job_writes_into_them(hdfs, hdfs_dir: str) -> None:
    fs, root = filesystem(hdfs_dir)
    dirs = 40
    for i in range(dirs):
        fs.pipe_file(f"{root}/out-{i:02d}/part-00000.parquet", _parquet_bytes(5))
        fs.pipe_file(f"{root}/out-{i:02d}/_SUCCESS", b"")
    before = hdfs.rpc_calls()
    source, emitted = _manual(hdfs_dir)  # directories with _SUCCESS are reported at the first poll
    cold = hdfs.rpc_calls() - before
    try:
        assert len(emitted.items) == dirs
        before = hdfs.rpc_calls()
        source.poll()
        warm = hdfs.rpc_calls() - before
        # The first poll lists every directory; later ones only the root (the DataNode's
        # heartbeats share the NameNode's RPC port, hence some slack).
        assert cold > dirs and warm < 10, (cold, warm)
        # A second job commits into out-07: _SUCCESS is rewritten, the directory's mtime moves.
        fs.pipe_file(f"{root}/out-07/part-00001.parquet", _parquet_bytes(5))
        fs.rm(f"{root}/out-07/_SUCCESS")
        fs.pipe_file(f"{root}/out-07/_SUCCESS", b"")
        source.poll()
        assert [item.uri for item in emitted.items[dirs:]] == [f"{hdfs_dir}/out-07"]
        assert read_table(f"{hdfs_dir}/out-07").num_rows == 10
        source.poll()
        assert len(emitted.items) == dirs + 1
    finally:
        source.stop()


SPARK_ENGINE_CONFIG = """
[arlequin]
home = "{home}"
log_format = "json"
journal_fsync = false

[data]
label = "label"

[drift]
engine = "{engine}"
spark_min_bytes = 1
drift_share = 0.3
html = false

[spark]
master = "local[2]"

[watch]
sweep_interval = 0.1
drain_timeout = 120

[sinks.retrain]
enabled = false
"""


@pytest.mark.spark
# "auto" with [spark] master set and the batch over spark_min_bytes picks spark: the rule and
# the engine in one run (engine = "spark" by name ran the same path; one Spark run per test suite).
@pytest.mark.parametrize("engine", ["auto"])
def test_the_daemon_checks_an_hdfs_batch_on_spark_with_the_arrow_engine_s_verdict(
    spark, hdfs_dir: str, isolated, engine: str
) -> None:
    """``[drift] engine = "spark"`` (or ``auto`` with ``[spark] master`` set): the daemon's monitor
    checks batches a Spark job wrote to HDFS on Spark, and says so; the verdicts are the Arrow engine's."""
    from drift.conftest import frame

    from arlequin_core.app import App
    from arlequin_core.config import load_config
    from arlequin_core.daemon import Daemon
    from arlequin_core.drift import build_profile
    from arlequin_core.drift.engines import check_uri
    from arlequin_core.monitor import Monitor

    config_path = isolated / "arlequin.toml"
    config_path.write_text(SPARK_ENGINE_CONFIG.format(home=isolated / "state", engine=engine))
    landing = f"{hdfs_dir}/landing"
    filesystem(landing)[0].makedirs(filesystem(landing)[1], exist_ok=True)
    batches = {
        f"{landing}/day-0": frame(3000, 2),  # like the reference
        f"{landing}/day-1": frame(3000, 1, scale=1.5, shift_categories=True),  # age and colour moved
    }
    with App(load_config(config_path)) as app:
        profile = build_profile(frame(4000, 0), app.config, app.registry, source="reference")
        monitor = Monitor(app.config, app.registry, app.bus, lambda: (profile, "churn", "1"))
        source = PollSource({"uri": landing, "interval": 0.5}, instance="lake")
        daemon = Daemon(app, sources=[source], consumers=[monitor])
        daemon.start()
        try:
            for uri, data in batches.items():  # a Spark job writes each: _temporary, part files, _SUCCESS
                spark.createDataFrame(data).repartition(2).write.parquet(uri)
            checked = wait_for(
                lambda: (
                    len(journal_events(app.home, "batch-checked")) + len(journal_events(app.home, "batch-rejected"))
                    >= 2
                ),
                timeout=300,
                what="two verdicts",
            )
            assert checked
        finally:
            daemon.stop(timeout=60)
        assert journal_events(app.home, "batch-rejected") == []
        verdicts = {e.uri: e for e in journal_events(app.home, "batch-checked")}
        assert set(verdicts) == set(batches)
        for uri, event in verdicts.items():
            report = json.loads(Path(event.report_uri).read_text())
            assert report["engine"] == "spark", (uri, report["engine"])
            arrow = check_uri(profile, uri, app.config, app.registry, engine="arrow").report
            assert arrow.engine == "arrow"
            assert (event.drifted, sorted(event.drifted_columns)) == (arrow.drifted, sorted(arrow.drifted_columns))
            by_column = {c["column"]: c for c in report["columns"]}
            for column in arrow.columns:
                assert by_column[column.column]["drifted"] == column.drifted, column.column
        assert not verdicts[f"{landing}/day-0"].drifted
        assert verdicts[f"{landing}/day-1"].drifted
        assert {"age", "colour"} <= set(verdicts[f"{landing}/day-1"].drifted_columns)


def test_a_warm_poll_finds_exactly_what_a_fresh_listing_finds(hdfs_dir: str) -> None:
    """The warm path (unchanged top-level outputs taken from the cache, not listed nor replayed)
    finds the same batches, sizes and mtimes as a source that lists everything afresh."""
    fs, root = filesystem(hdfs_dir)
    part = _parquet_bytes(5)
    for i in range(5):
        fs.pipe_file(f"{root}/out-{i}/part-00000.parquet", part)
        fs.pipe_file(f"{root}/out-{i}/_SUCCESS", b"")
    for day in (1, 2):  # a partitioned output: the batch is the whole tree
        fs.pipe_file(f"{root}/partitioned/date={day}/part-00000.parquet", part)
    fs.pipe_file(f"{root}/partitioned/_SUCCESS", b"")
    fs.pipe_file(f"{root}/running/_temporary/0/part-00000.parquet", part)  # a job still writing
    fs.pipe_file(f"{root}/plain.parquet", part)

    def fresh() -> list[Any]:
        return PollSource({"uri": hdfs_dir, "interval": 3600}, instance="fresh")._list()

    source, _ = _manual(hdfs_dir)
    try:
        source.poll()
        warm = source._list()
        assert len(source._unchanged) == 6  # out-0..4 and partitioned: the shortcut was taken
        assert warm == fresh()
        assert {f.parts for f in warm} == {
            *((f"out-{i}",) for i in range(5)),
            ("partitioned",),
            ("plain.parquet",),
        }
        # A re-commit into out-3, a new output, and the running job's commit.
        fs.pipe_file(f"{root}/out-3/part-00001.parquet", part)
        fs.rm(f"{root}/out-3/_SUCCESS")
        fs.pipe_file(f"{root}/out-3/_SUCCESS", b"")
        fs.pipe_file(f"{root}/out-9/part-00000.parquet", part)
        fs.pipe_file(f"{root}/out-9/_SUCCESS", b"")
        fs.rm(f"{root}/running/_temporary", recursive=True)
        fs.pipe_file(f"{root}/running/part-00000.parquet", part)
        fs.pipe_file(f"{root}/running/_SUCCESS", b"")
        after = source._list()
        assert after == fresh()
        sizes = {f.parts: f.size for f in after}
        assert sizes[("out-3",)] == 2 * len(part) and sizes[("partitioned",)] == 2 * len(part)
        assert ("out-9",) in sizes and ("running",) in sizes
    finally:
        source.stop()
