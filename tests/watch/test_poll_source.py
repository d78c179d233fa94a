"""The ``poll`` source on ``memory://`` and on a local directory through ``file://``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import fsspec
import pyarrow.parquet as pq
import pytest
import structlog

from arlequin_core.errors import ConfigError
from arlequin_core.io import read_table, write_table_atomic
from arlequin_watch.poll import PollSource, info_mtime

from .conftest import table, wait_for
from .test_local_source import Collector
from .webhdfs_server import WebHDFSServer


@pytest.fixture
def memory_root() -> Iterator[str]:
    """A fresh directory on fsspec's in-process memory filesystem."""
    root = f"memory://landing-{uuid.uuid4().hex[:8]}"
    fs = fsspec.filesystem("memory")
    fs.makedirs(root, exist_ok=True)
    yield root
    fs.rm(root, recursive=True)


def _manual(uri: str) -> tuple[PollSource, Collector]:
    """A started source whose thread never polls by itself: the test calls ``poll()``."""
    source = PollSource({"uri": uri, "interval": 3600}, instance="remote")
    emitted = Collector()
    source.start(emitted)  # the first poll
    return source, emitted


def test_poll_memory_reports_a_file_once_stable_across_two_polls(memory_root: str) -> None:
    write_table_atomic(table(7), f"{memory_root}/b1.parquet")
    source, emitted = _manual(memory_root)
    try:
        assert emitted.items == []  # seen once: could still be growing
        source.poll()
        assert emitted.uris() == [f"{memory_root}/b1.parquet"]
        (landed,) = emitted.items
        assert landed.source == "remote" and landed.kind == "file" and landed.size > 0 and landed.mtime
        assert read_table(landed.uri).num_rows == 7  # consumers can open what was reported
        source.poll()
        assert len(emitted.items) == 1  # reported once
    finally:
        source.stop()


def test_poll_waits_while_a_file_grows_and_reports_a_rewrite_as_a_new_batch(memory_root: str) -> None:
    fs = fsspec.filesystem("memory")
    path = f"{memory_root}/growing.csv"
    source, emitted = _manual(memory_root)
    try:
        fs.pipe(path, b"x,y\n1,2\n")
        source.poll()
        fs.pipe(path, b"x,y\n1,2\n3,4\n")  # the writer appended between polls
        source.poll()
        assert emitted.items == []
        source.poll()
        assert [item.size for item in emitted.items] == [12]
        fs.pipe(path, b"x,y\n5,6\n7,8\n9,0\n")  # re-written in place: a new version
        source.poll()
        source.poll()
        assert [item.size for item in emitted.items] == [12, 16]
        assert emitted.items[0].batch_id != emitted.items[1].batch_id
    finally:
        source.stop()


def test_poll_reports_a_spark_directory_when_success_appears_and_ignores_temporaries(memory_root: str) -> None:
    fs = fsspec.filesystem("memory")
    out = f"{memory_root}/out"
    source, emitted = _manual(memory_root)
    try:
        for i in range(2):
            write_table_atomic(table(5, 5 * i), f"{out}/part-{i:05d}.parquet")
        fs.pipe(f"{out}/_temporary/0/part-00009.parquet", b"half")
        fs.pipe(f"{memory_root}/b.parquet._COPYING_", b"half")
        source.poll()
        source.poll()
        assert emitted.items == []
        fs.rm(f"{out}/_temporary", recursive=True)
        fs.pipe(f"{out}/_SUCCESS", b"")
        source.poll()  # no second look needed: the marker says complete
        assert emitted.uris() == [out]
        assert emitted.items[0].kind == "directory"
        assert read_table(out).num_rows == 10
    finally:
        source.stop()


def test_poll_file_uri_on_a_local_directory_in_its_own_thread(landing: Path) -> None:
    source = PollSource({"uri": landing.as_uri(), "interval": 0.05}, instance="remote")
    emitted = Collector()
    source.start(emitted)
    try:
        pq.write_table(table(3), landing / "a.parquet")
        wait_for(lambda: emitted.uris(), what="a poll to report the file")
        assert emitted.uris() == [f"{landing.as_uri()}/a.parquet"]
        assert read_table(emitted.uris()[0]).num_rows == 3
        polls = source.polls
        wait_for(lambda: source.polls >= polls + 3, what="more polls")
        assert len(emitted.items) == 1
    finally:
        source.stop()


def test_poll_listing_failure_is_logged_and_polling_goes_on(memory_root: str) -> None:
    missing = f"{memory_root}/not-yet"
    with structlog.testing.capture_logs() as logs:
        source, emitted = _manual(missing)
    try:
        assert any(entry["event"] == "poll_listing_failed" and "not-yet" in entry["error"] for entry in logs)
        write_table_atomic(table(2), f"{missing}/b.parquet")  # the location comes back
        source.poll()
        source.poll()
        assert emitted.uris() == [f"{missing}/b.parquet"]
    finally:
        source.stop()


def test_info_mtime_normalises_what_filesystems_report() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert info_mtime({"mtime": 1767323045.5}) == 1767323045.5  # local: seconds
    assert info_mtime({"modificationTime": 1767323045500}) == 1767323045.5  # WebHDFS: milliseconds
    assert info_mtime({"created": moment}) == moment.timestamp()  # memory: datetime
    assert info_mtime({"LastModified": "2026-01-02T03:04:05Z"}) == moment.timestamp()  # S3-like strings
    assert info_mtime({"size": 3}) is None


def test_poll_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"sources\.remote\.uri: required key is missing"):
        PollSource({}, instance="remote")
    with pytest.raises(ConfigError, match=r"sources\.remote\.interval"):
        PollSource({"uri": "memory://x", "interval": 0}, instance="remote")
    with pytest.raises(ConfigError, match=r"sources\.remote\.uri: cannot open"):
        PollSource({"uri": "nosuchproto://x"}, instance="remote")


def test_poll_webhdfs_against_the_documented_rest_api(isolated: Path) -> None:
    served = isolated / "hdfs"
    (served / "landing").mkdir(parents=True)
    with WebHDFSServer(served) as namenode:
        source = PollSource({"uri": f"{namenode.uri}/landing", "interval": 3600}, instance="hdfs")
        emitted = Collector()
        source.start(emitted)
        try:
            write_table_atomic(table(7), str(served / "landing" / "b1.parquet"))
            out = served / "landing" / "spark-out"
            write_table_atomic(table(3), str(out / "part-00000.parquet"))
            (out / "_temporary").mkdir()
            source.poll()
            source.poll()
            assert emitted.uris() == [f"{namenode.uri}/landing/b1.parquet"]
            (out / "_temporary").rmdir()
            (out / "_SUCCESS").touch()
            source.poll()
            assert emitted.uris()[1:] == [f"{namenode.uri}/landing/spark-out"]
            first = emitted.items[0]
            assert first.mtime == int((served / "landing" / "b1.parquet").stat().st_mtime * 1000) / 1000
            assert read_table(first.uri).num_rows == 7  # OPEN through the data-node redirect
            assert read_table(emitted.items[1].uri).num_rows == 3
            roles = {(op, role) for op, _, role in namenode.requests}
            assert {("LISTSTATUS", "namenode"), ("OPEN", "namenode"), ("OPEN", "datanode")} <= roles
        finally:
            source.stop()
        namenode.stop()  # the name node goes away: polls fail, are logged, and go on
        with structlog.testing.capture_logs() as logs:
            source.poll()
        assert [entry["event"] for entry in logs] == ["poll_listing_failed"]
