"""Completion rules and batch ids, shared by every source."""

from __future__ import annotations

import pytest

from arlequin_core.sources import rules
from arlequin_core.sources.base import Landed, batch_id


def test_batch_id_is_deterministic_and_a_rewrite_is_a_new_batch() -> None:
    uri = "/data/landing/b1.parquet"
    assert batch_id(uri, 100, 1700000000.123456) == batch_id(uri, 100, 1700000000.123456)
    # Millisecond precision: what HDFS reports, so local and remote listings agree.
    assert batch_id(uri, 100, 1700000000.1234) == batch_id(uri, 100, 1700000000.1236)
    others = {
        batch_id(uri, 100, 1700000001.0),  # re-written in place: new mtime
        batch_id(uri, 101, 1700000000.123),  # new size
        batch_id("/data/landing/b2.parquet", 100, 1700000000.123),
        batch_id(uri, 100, None),
    }
    assert batch_id(uri, 100, 1700000000.123) not in others and len(others) == 4
    assert len(batch_id(uri, 1, None)) == 16
    assert Landed(uri, 100, 1700000000.123).batch_id == batch_id(uri, 100, 1700000000.123)


@pytest.mark.parametrize(
    ("path", "candidate"),
    [
        ("b.parquet", True),
        ("2024/01/b.PARQUET", True),
        ("b.csv", True),
        ("b.csv.gz", True),
        ("b.pq", True),
        (".b.parquet.tmp", False),  # write_table_atomic's temporary name
        ("b.parquet._COPYING_", False),  # hdfs dfs -put
        ("b.parquet.tmp", False),
        ("_b.parquet", False),
        ("out/_temporary/0/task/b.parquet", False),
        (".staging/b.parquet", False),
        ("out/part-00000-abc.snappy.parquet", False),  # part of an output directory
        ("manifest.json", False),
        ("README", False),
        ("out/_SUCCESS", False),
    ],
)
def test_file_candidates(path: str, candidate: bool) -> None:
    assert rules.is_file_candidate(tuple(path.split("/"))) is candidate


def test_success_markers() -> None:
    assert rules.is_success_marker(("out", "_SUCCESS"))
    assert rules.is_success_marker(("2024", "out", "_SUCCESS"))
    assert not rules.is_success_marker(("_SUCCESS",))  # the root itself is not a batch
    assert not rules.is_success_marker(("_temporary", "out", "_SUCCESS"))


def test_split_relative_and_join() -> None:
    assert rules.split_relative("/a/b", "/a/b/c/d.parquet") == ("c", "d.parquet")
    assert rules.split_relative("/a/b/", "/a/b") == ()
    with pytest.raises(ValueError, match="not below"):
        rules.split_relative("/a/b", "/a/bc/d")
    assert rules.join("memory://landing", ("x", "y.parquet")) == "memory://landing/x/y.parquet"
    assert rules.join("/a", ()) == "/a"


def test_in_output_dir_looks_for_markers_between_file_and_root() -> None:
    tree = {("out",): {"_SUCCESS"}, ("run",): {"_temporary"}}

    def has_child(directory: tuple[str, ...], name: str) -> bool:
        return name in tree.get(directory, set())

    assert rules.in_output_dir(("out", "sub", "x.parquet"), has_child)
    assert rules.in_output_dir(("run", "x.parquet"), has_child)
    assert not rules.in_output_dir(("other", "x.parquet"), has_child)
    assert not rules.in_output_dir(("x.parquet",), has_child)


def _walk(tree: dict[tuple[str, ...], tuple[list[str], dict[str, tuple[int, float]]]]):
    """A top-down walk over a dict tree, honouring pruning like os.walk."""
    stack = [()]
    while stack:
        parts = stack.pop(0)
        subdirs, files = tree[parts]
        subdirs = list(subdirs)
        yield parts, subdirs, dict(files)
        stack[0:0] = [(*parts, d) for d in subdirs]


def test_find_batches_files_spark_outputs_partitions_and_unfinished_outputs() -> None:
    tree = {
        (): (["out", "run", "day", "_temporary", ".hidden"], {"a.parquet": (10, 1.0), "m.json": (5, 1.0)}),
        ("out",): (["country=FR"], {"_SUCCESS": (0, 7.0), "part-0.parquet": (100, 5.0), ".part-0.crc": (8, 5.0)}),
        ("out", "country=FR"): ([], {"part-1.parquet": (50, 5.0), "extra.parquet": (1, 5.0)}),
        ("run",): (["_temporary"], {"part-0.parquet": (100, 5.0), "x.parquet": (3, 5.0)}),
        ("run", "_temporary"): ([], {"x.parquet": (1, 1.0)}),
        ("day",): ([], {"b.csv": (20, 2.0), "part-9.csv": (20, 2.0)}),
        ("_temporary",): ([], {"z.parquet": (1, 1.0)}),
        (".hidden",): ([], {"z.parquet": (1, 1.0)}),
    }
    found = rules.find_batches(_walk(tree))
    assert [(f.parts, f.kind, f.size, f.mtime) for f in found] == [
        (("a.parquet",), "file", 10, 1.0),
        (("day", "b.csv"), "file", 20, 2.0),
        (("out",), "directory", 151, 7.0),  # whole subtree, markers and checksums excluded
    ]
