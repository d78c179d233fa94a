"""The ``local`` source on real directories with real inotify."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from arlequin_core.errors import ConfigError
from arlequin_core.io import read_table
from arlequin_core.sources.base import Landed
from arlequin_watch.local import LocalSource, open_for_writing, take_read_lease

from .conftest import land, table, wait_for, write_parquet_slowly

# pytest resets warning filters per test; the source silences this one in production (see local.py).
pytestmark = pytest.mark.filterwarnings("ignore:Callback with id .* already exists:RuntimeWarning")


class Collector:
    """The ``emit`` callback: records what the source reported, thread-safely."""

    def __init__(self) -> None:
        self.items: list[Landed] = []
        self._lock = threading.Lock()

    def __call__(self, landed: Landed) -> None:
        with self._lock:
            self.items.append(landed)

    def uris(self) -> list[str]:
        with self._lock:
            return [item.uri for item in self.items]


@pytest.fixture
def watch(landing: Path) -> Iterator[tuple[LocalSource, Collector]]:
    source = LocalSource({"path": str(landing), "settle": 0.2}, instance="test")
    emitted = Collector()
    source.start(emitted)
    yield source, emitted
    source.stop()


def test_partial_write_under_final_name_is_never_reported_before_close(landing: Path, watch) -> None:
    _, emitted = watch
    target = landing / "slow.parquet"
    seen_while_writing: list[list[str]] = []
    size = write_parquet_slowly(
        target, chunks=5, pause=0.15, on_chunk=lambda _: seen_while_writing.append(emitted.uris())
    )
    assert seen_while_writing == [[]] * 5  # created, written, modified: nothing reported yet
    wait_for(lambda: emitted.uris() == [str(target)], what="close-write to report the file")
    (landed,) = emitted.items
    assert (landed.size, landed.kind, landed.source) == (size, "file", "test")
    assert read_table(landed.uri).num_rows == 5000  # what was reported is the whole file


def test_temp_name_then_rename_reports_only_the_final_name(landing: Path, watch) -> None:
    _, emitted = watch
    land(landing / "b1.parquet")
    land(landing / "2024" / "b2.parquet")  # a new subdirectory: watched too
    wait_for(lambda: len(emitted.items) >= 2, what="two batches")
    assert sorted(emitted.uris()) == [str(landing / "2024" / "b2.parquet"), str(landing / "b1.parquet")]
    assert all(not Path(u).name.startswith(".") for u in emitted.uris())


def test_file_moved_in_from_outside_the_tree_is_reported(landing: Path, watch, isolated: Path) -> None:
    _, emitted = watch
    outside = land(isolated / "elsewhere.parquet")
    os.rename(outside, landing / "moved.parquet")
    wait_for(lambda: emitted.uris() == [str(landing / "moved.parquet")], what="moved-in file")


def test_ignored_names_and_non_data_files_are_not_reported(landing: Path, watch) -> None:
    _, emitted = watch
    (landing / "b.parquet._COPYING_").write_bytes(b"x")
    (landing / "_b.parquet").write_bytes(b"x")
    (landing / "manifest.json").write_text("{}")
    land(landing / "sentinel.parquet")  # reported after the others, so they had their chance
    wait_for(lambda: emitted.uris(), what="the sentinel")
    assert emitted.uris() == [str(landing / "sentinel.parquet")]


def test_spark_style_directory_is_one_batch_when_success_appears(landing: Path, watch) -> None:
    _, emitted = watch
    out = landing / "batch-7"
    work = out / "_temporary" / "0" / "task_0"
    work.mkdir(parents=True)
    for i in range(2):  # tasks write under _temporary, the job commit moves them up
        land(work / f"part-0000{i}.parquet", rows=10, start=10 * i)
        os.rename(work / f"part-0000{i}.parquet", out / f"part-0000{i}.parquet")
    shutil.rmtree(out / "_temporary")
    time.sleep(0.3)
    assert emitted.uris() == []  # part files alone are not a batch
    (out / "_SUCCESS").touch()
    wait_for(lambda: emitted.uris(), what="the directory batch")
    (landed,) = emitted.items
    assert (landed.uri, landed.kind) == (str(out), "directory")
    assert landed.size == sum(p.stat().st_size for p in out.glob("part-*"))
    assert read_table(landed.uri).num_rows == 20


@pytest.mark.spark
def test_real_spark_output_directory_is_one_batch(landing: Path, watch, spark) -> None:
    _, emitted = watch
    out = landing / "from-spark"
    spark.createDataFrame(table(100).to_pandas()).repartition(3).write.parquet(str(out))
    wait_for(lambda: emitted.uris(), timeout=20, what="the Spark output")
    assert emitted.uris() == [str(out)]
    assert read_table(emitted.items[0].uri).num_rows == 100


def test_backlog_scan_reports_complete_batches_but_not_a_file_being_written(landing: Path) -> None:
    land(landing / "old.parquet")
    done = landing / "out"
    land(done / "part-0.parquet")
    (done / "_SUCCESS").touch()
    writing = open(landing / "writing.parquet", "wb")  # noqa: SIM115 - a writer that has not finished
    writing.write(b"PAR1 half a file")
    writing.flush()
    source = LocalSource({"path": str(landing), "settle": 0.2}, instance="test")
    emitted = Collector()
    try:
        source.start(emitted)
        assert sorted(emitted.uris()) == [str(landing / "old.parquet"), str(done)]  # reported during start
        time.sleep(0.5)  # several settle periods
        assert len(emitted.items) == 2
        writing.write(table().to_pandas().to_csv().encode())
        writing.close()
        wait_for(lambda: len(emitted.items) == 3, what="the writer's close")
        assert emitted.uris()[-1] == str(landing / "writing.parquet")
    finally:
        if not writing.closed:
            writing.close()
        source.stop()


def test_open_for_writing_asks_the_kernel(isolated: Path) -> None:
    path = isolated / "f.bin"
    path.write_bytes(b"abc")
    assert open_for_writing(str(path)) is False
    with open(path, "ab"):
        assert open_for_writing(str(path)) is True
    with open(path, "rb"):
        assert open_for_writing(str(path)) is False  # readers do not count
    assert open_for_writing(str(isolated / "missing")) is None


def test_a_writer_breaking_our_lease_does_not_kill_the_watcher(isolated: Path) -> None:
    path = isolated / "f.bin"
    path.write_bytes(b"abc")
    fd = os.open(path, os.O_RDONLY)
    try:
        take_read_lease(fd)
        # The writer's open() waits for the lease; the kernel signals us meanwhile.
        writer = subprocess.Popen([sys.executable, "-c", f"open({str(path)!r}, 'ab').write(b'more')"])
        time.sleep(0.3)
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
        assert writer.wait(timeout=30) == 0
    finally:
        os.close(fd)
    assert path.read_bytes() == b"abcmore"  # and this process is still alive to check it


def test_missing_directory_is_a_config_error_naming_the_key(isolated: Path) -> None:
    source = LocalSource({"path": str(isolated / "nope")}, instance="landing")
    with pytest.raises(ConfigError, match=r"sources\.landing\.path: .*nope does not exist"):
        source.start(Collector())
    with pytest.raises(ConfigError, match=r"sources\.landing\.settle"):
        LocalSource({"path": ".", "settle": -1}, instance="landing")
    with pytest.raises(ConfigError, match=r"sources\.landing\.paht: unknown key"):
        LocalSource({"paht": "."}, instance="landing")
