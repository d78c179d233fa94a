"""Writing streams: byte-identical reruns, atomic files, manifest, any fsspec URI."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import posixpath
import subprocess
import sys
from pathlib import Path

import fsspec
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from arlequin_core.io import read_table
from arlequin_synth import MANIFEST_NAME, OutputError, TransactionGenerator, generate_batches

SPEC = "sudden:amount_scale=1.5,start=2+gradual:missing=channel,missing_rate=0.2,start=1,duration=2"


def _hashes(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_same_seed_gives_byte_identical_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    runs = {}
    for name, seed in (("a", 9), ("b", 9), ("c", 10)):
        (tmp_path / name).mkdir()
        monkeypatch.chdir(tmp_path / name)  # same relative URIs, so the manifests may match too
        generate_batches("stream", rows=2_000, batches=4, scenario=SPEC, seed=seed, fmt=fmt, reference=f"ref.{fmt}")
        reference = hashlib.sha256(Path(f"ref.{fmt}").read_bytes()).hexdigest()
        runs[name] = {**_hashes(Path("stream")), "reference": reference}
    assert sorted(runs["a"]) == [f"batch-0000{i}.{fmt}" for i in range(4)] + [MANIFEST_NAME, "reference"]
    assert runs["a"] == runs["b"]
    assert all(runs["c"][name] != runs["a"][name] for name in runs["a"])


def test_a_separate_process_writes_the_same_bytes(tmp_path: Path) -> None:
    """No state of this process (hash seeds, caches, imports) leaks into the files."""
    generate_batches(str(tmp_path / "here"), rows=1_500, batches=3, scenario=SPEC, seed=4)
    env = {**os.environ, "PYTHONHASHSEED": "123"}
    command = [sys.executable, "-m", "arlequin_core.cli", "generate", "--out", str(tmp_path / "there")]
    command += ["--rows", "1500", "--batches", "3", "--scenario", SPEC, "--seed", "4", "--no-progress"]
    subprocess.run(command, check=True, env=env, capture_output=True)
    assert _hashes(tmp_path / "here") == _hashes(tmp_path / "there")


def test_parquet_metadata_embeds_no_time(tmp_path: Path) -> None:
    generate_batches(str(tmp_path), rows=100, batches=1)
    meta = pq.ParquetFile(tmp_path / "batch-00000.parquet").metadata
    assert meta.created_by.startswith("parquet-cpp-arrow version")
    assert set(meta.metadata) == {b"ARROW:schema"}


def test_batches_are_only_visible_when_complete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While a batch is being written, only its temporary hidden name exists, and every
    visible file is complete and readable."""
    out = tmp_path / "stream"
    real_write = pq.write_table
    observed = []

    def spying_write(table: pa.Table, where, **kwargs) -> None:
        path = Path(where.path)
        visible = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
        for name in visible:
            if name.endswith(".parquet"):
                assert read_table(str(out / name)).num_rows == 500
            else:
                assert json.loads((out / name).read_text())["batches"]
        real_write(table, where, **kwargs)
        final = path.parent / path.name[1:].removesuffix(".tmp")
        assert path.name.startswith(".") and path.name.endswith(".tmp") and not final.exists()
        observed.append((path.name, visible))

    monkeypatch.setattr(pq, "write_table", spying_write)
    generate_batches(str(out), rows=500, batches=3)
    assert observed == [
        (".batch-00000.parquet.tmp", []),
        (".batch-00001.parquet.tmp", ["batch-00000.parquet", MANIFEST_NAME]),
        (".batch-00002.parquet.tmp", ["batch-00000.parquet", "batch-00001.parquet", MANIFEST_NAME]),
    ]
    assert sorted(p.name for p in out.iterdir()) == [f"batch-0000{i}.parquet" for i in range(3)] + [MANIFEST_NAME]


def test_manifest_always_lists_exactly_the_batches_present(tmp_path: Path) -> None:
    out = tmp_path / "stream"

    def check(entry: dict) -> None:
        manifest = json.loads((out / MANIFEST_NAME).read_text())
        listed = [b["file"] for b in manifest["batches"]]
        assert listed == sorted(p.name for p in out.glob("batch-*"))
        assert listed[-1] == entry["file"]
        assert manifest["complete"] == (entry["index"] == 2)

    manifest = generate_batches(str(out), rows=300, batches=3, scenario=SPEC, on_batch=check)
    assert json.loads((out / MANIFEST_NAME).read_text()) == manifest


def test_manifest_is_the_ground_truth_of_each_file(tmp_path: Path) -> None:
    manifest = generate_batches(
        str(tmp_path),
        rows=3_000,
        batches=4,
        scenario=SPEC,
        seed=2,
        reference=str(tmp_path / "ref" / "reference.parquet"),
        reference_rows=6_000,
    )
    assert (
        manifest["scenario"]
        == "sudden:amount_scale=1.5,start=2+gradual:missing=channel,missing_rate=0.2,start=1,duration=2"
    )
    assert manifest["columns"]["label"] == "is_fraud" and manifest["columns"]["id"] == ["transaction_id", "timestamp"]
    assert manifest["reference"]["rows"] == 6_000
    assert [b["drifted_columns"] for b in manifest["batches"]] == [
        [],
        ["channel"],
        ["amount", "channel"],
        ["amount", "channel"],
    ]
    assert [b["missing_rate"] for b in manifest["batches"]] == [
        {},
        {"channel": 0.1},
        {"channel": 0.2},
        {"channel": 0.2},
    ]
    gen = TransactionGenerator(manifest["scenario"], seed=manifest["seed"])
    for entry in manifest["batches"]:
        table = read_table(str(tmp_path / entry["file"]))
        assert table.equals(gen.batch(entry["index"], entry["rows"]))
        assert entry["detectable_effect"] == pytest.approx(3 * (1 / 3_000 + 1 / 6_000) ** 0.5)
    reference = read_table(str(tmp_path / "ref" / "reference.parquet"))
    assert reference.equals(gen.reference(6_000))


def test_csv_batches_read_back_with_the_same_values(tmp_path: Path) -> None:
    spec = "sudden:missing=amount|channel,start=1"
    generate_batches(str(tmp_path), rows=1_000, batches=2, scenario=spec, fmt="csv")
    expected = TransactionGenerator(spec).batch(1, 1_000)
    table = read_table(str(tmp_path / "batch-00001.csv"))
    assert table.column_names == expected.column_names
    for column in ("amount", "customer_age", "is_fraud", "is_foreign"):
        assert table.column(column).to_pylist() == expected.column(column).to_pylist(), column
    assert table.column("timestamp").cast(pa.timestamp("us", tz="UTC")).equals(expected.column("timestamp"))
    # A null category is an unquoted empty field, a category a quoted string: a reader
    # that lets unquoted empty strings be null gets the nulls back.
    options = pacsv.ConvertOptions(strings_can_be_null=True, quoted_strings_can_be_null=False)
    channel = pacsv.read_csv(tmp_path / "batch-00001.csv", convert_options=options).column("channel")
    assert channel.to_pylist() == expected.column("channel").cast(pa.string()).to_pylist()
    assert channel.null_count > 100


def test_memory_filesystem(tmp_path: Path) -> None:
    fs = fsspec.filesystem("memory")
    try:
        manifest = generate_batches(
            "memory://synth-test/stream",
            rows=800,
            batches=2,
            scenario="sudden:amount_scale=2,start=1",
            reference="memory://synth-test/reference.parquet",
        )
        assert sorted(posixpath.basename(p) for p in fs.ls("/synth-test/stream", detail=False)) == [
            "batch-00000.parquet",
            "batch-00001.parquet",
            MANIFEST_NAME,
        ]
        table = read_table("memory://synth-test/stream/batch-00001.parquet")
        assert table.equals(TransactionGenerator("sudden:amount_scale=2,start=1").batch(1, 800))
        with fs.open("/synth-test/stream/manifest.json") as f:
            assert json.load(f) == manifest
        assert read_table("memory://synth-test/reference.parquet").num_rows == 800
    finally:
        if fs.exists("/synth-test"):
            fs.rm("/synth-test", recursive=True)


def test_file_uri(tmp_path: Path) -> None:
    generate_batches(f"file://{tmp_path}/stream", rows=100, batches=1)
    assert (tmp_path / "stream" / "batch-00000.parquet").exists()


def test_refuses_to_mix_with_an_earlier_run_unless_overwrite(tmp_path: Path) -> None:
    generate_batches(str(tmp_path), rows=100, batches=3)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match=r"already holds 4 batch or manifest file\(s\).*--overwrite"):
        generate_batches(str(tmp_path), rows=100, batches=2)
    generate_batches(str(tmp_path), rows=100, batches=2, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "batch-00000.parquet",
        "batch-00001.parquet",
        MANIFEST_NAME,
        "notes.txt",
    ]


def test_out_must_be_a_directory(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="exists and is not a directory"):
        generate_batches(str(tmp_path / "file"), rows=10, batches=1)


def test_interval_spaces_the_batches(tmp_path: Path) -> None:
    generate_batches(str(tmp_path), rows=50, batches=3, interval=0.3)
    times = [os.stat(tmp_path / f"batch-0000{i}.parquet").st_mtime_ns for i in range(3)]
    assert all(later - earlier >= 0.28e9 for earlier, later in itertools.pairwise(times))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rows": 0}, "rows must be >= 1"),
        ({"batches": 0}, "batches must be >= 1"),
        ({"fmt": "orc"}, "format must be parquet or csv"),
        ({"interval": -1}, "interval must be >= 0"),
        ({"reference_rows": 10}, "reference_rows needs reference"),
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate_batches(str(tmp_path), **kwargs)
    assert not list(tmp_path.iterdir())
