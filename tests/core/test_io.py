"""Reading batches: formats, Spark directories, fsspec URIs, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from arlequin_core.errors import InputError
from arlequin_core.io import is_hidden, read_frame, read_table, write_table_atomic

TABLE = pa.table({"amount": [1.5, 2.5, None], "channel": ["web", "pos", "web"]})


def test_parquet_and_csv_roundtrip(tmp_path: Path) -> None:
    write_table_atomic(TABLE, str(tmp_path / "b.parquet"))
    write_table_atomic(TABLE, str(tmp_path / "b.csv"))
    assert read_table(tmp_path / "b.parquet").equals(TABLE)
    frame = read_frame(str(tmp_path / "b.csv"))
    assert list(frame.columns) == ["amount", "channel"] and frame["amount"].isna().sum() == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left


def test_spark_directory_reads_part_files_and_skips_markers(tmp_path: Path) -> None:
    out = tmp_path / "batch"
    out.mkdir()
    pq.write_table(TABLE.slice(0, 2), out / "part-00000.parquet")
    pq.write_table(TABLE.slice(2), out / "part-00001.parquet")
    (out / "_SUCCESS").write_text("")
    (out / ".part-00000.parquet.crc").write_bytes(b"crc")
    assert read_table(f"file://{out}").num_rows == 3


def test_memory_filesystem() -> None:
    write_table_atomic(TABLE, "memory://arlequin-test/b.parquet")
    assert read_table("memory://arlequin-test/b.parquet", columns=["channel"]).column_names == ["channel"]


@pytest.mark.parametrize(
    ("setup", "problem"),
    [
        (lambda p: None, "no such file or directory"),
        (lambda p: p.write_bytes(b""), "file is empty (0 bytes)"),
        (lambda p: p.write_bytes(b"PAR1" + b"\0" * 100), "not a complete Parquet file"),
    ],
)
def test_bad_parquet_names_the_file(tmp_path: Path, setup, problem: str) -> None:
    path = tmp_path / "bad.parquet"
    setup(path)
    with pytest.raises(InputError) as info:
        read_table(path)
    assert str(info.value).startswith(f"{path}: ") and problem in str(info.value)


def test_truncated_parquet(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(TABLE, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="not a complete Parquet file"):
        read_table(path)


def test_missing_column_is_named(tmp_path: Path) -> None:
    pq.write_table(TABLE, tmp_path / "b.parquet")
    with pytest.raises(InputError, match=r"missing column.*merchant"):
        read_table(tmp_path / "b.parquet", columns=["merchant"])


def test_malformed_csv(tmp_path: Path) -> None:
    (tmp_path / "b.csv").write_text("a,b\n1,2\n3,4,5\n")
    with pytest.raises(InputError, match="cannot parse as csv"):
        read_table(tmp_path / "b.csv")


def test_directory_with_only_markers(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "_SUCCESS").write_text("")
    with pytest.raises(InputError, match="holds no data files"):
        read_table(tmp_path / "d")


@pytest.mark.parametrize(
    ("name", "hidden"),
    [
        ("_SUCCESS", True),
        (".b.parquet.tmp", True),
        ("b.parquet._COPYING_", True),
        ("part-0.crc", True),
        ("b.parquet", False),
        ("data/b.csv", False),
    ],
)
def test_is_hidden(name: str, hidden: bool) -> None:
    assert is_hidden(name) is hidden


def test_csv_missing_values_are_null_and_quoted_empty_strings_are_not(tmp_path: Path) -> None:
    (tmp_path / "b.csv").write_text('amount,channel,note\n1.5,"web",""\n,,"x"\n')
    table = read_table(tmp_path / "b.csv")
    assert table.column("amount").null_count == 1
    assert table.column("channel").to_pylist() == ["web", None]
    assert table.column("note").to_pylist() == ["", "x"]


def test_dictionary_read_keeps_ids_plain_and_decodes_back(tmp_path: Path) -> None:
    import numpy as np

    from arlequin_core.io import as_stored, dictionary_columns, read_as_dictionary

    rows = 20_000
    rng = np.random.default_rng(0)
    table = pa.table(
        {
            "amount": rng.normal(size=rows),
            "channel": pa.array(rng.choice(["web", "pos", None], rows).tolist()),
            "id": pa.array([f"id-{i:08d}" for i in rng.permutation(rows)]),  # the dictionary falls back to plain pages
        }
    )
    path = tmp_path / "b.parquet"
    pq.write_table(table, path, dictionary_pagesize_limit=4096, row_group_size=5_000)
    parquet = pq.ParquetFile(path)
    assert dictionary_columns(parquet.metadata, parquet.schema_arrow) == ["channel"]
    read = read_table(path, dictionary=True)
    assert pa.types.is_dictionary(read.schema.field("channel").type)
    assert read.schema.field("id").type == pa.string() and read_as_dictionary(read) == ["channel"]
    assert as_stored(read).equals(table) and read_table(path).equals(table)
    assert read_as_dictionary(as_stored(read)) == []
    # Part files share the first file's choice, so their tables concatenate.
    out = tmp_path / "parts"
    out.mkdir()
    pq.write_table(table.slice(0, 10), out / "part-0.parquet")
    pq.write_table(table.slice(10), out / "part-1.parquet", dictionary_pagesize_limit=4096)
    assert as_stored(read_table(out, dictionary=True)).equals(table)
    assert read_table(path, columns=["id"], dictionary=True).column_names == ["id"]
    with pytest.raises(InputError, match=r"missing column: 'nope'"):
        read_table(path, columns=["nope", "id"], dictionary=True)


def test_a_plain_local_file_reads_as_through_fsspec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import arlequin_core.io as io

    table = pa.table({"x": [1.0, 2.0, None], "c": ["a", "b", "a"]})
    pq.write_table(table, tmp_path / "b.parquet")
    native = read_table(str(tmp_path / "b.parquet"), dictionary=True)
    # The same file as a file:// URI goes through fsspec: same table, same metadata.
    assert native.equals(read_table(f"file://{tmp_path / 'b.parquet'}", dictionary=True), check_metadata=True)
    monkeypatch.chdir(tmp_path)
    calls: list[str] = []
    monkeypatch.setattr(io, "filesystem", lambda uri: calls.append(uri) or (_ for _ in ()).throw(AssertionError(uri)))
    assert read_table("b.parquet", dictionary=True).equals(native, check_metadata=True)
    assert calls == []  # the plain file was opened natively, never through fsspec


def test_paths_that_are_not_a_plain_file_keep_fsspec_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or directory") as missing:
        read_table(str(tmp_path / "nope.parquet"))
    assert "nope.parquet" in str(missing.value)
    (tmp_path / "empty.parquet").write_bytes(b"")
    with pytest.raises(InputError, match=r"empty\.parquet.*empty \(0 bytes\)"):
        read_table(str(tmp_path / "empty.parquet"))


def test_fsspec_is_loaded_with_hdfs_native_registered() -> None:
    from arlequin_core.hdfs import HdfsFileSystem
    from arlequin_core.io import load_fsspec

    assert load_fsspec().get_filesystem_class("hdfs") is HdfsFileSystem
