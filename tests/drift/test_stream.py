"""The Arrow streaming engine: same report as the in-memory path, bounded reads, whole-batch rejection."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from arlequin_core.cli import main
from arlequin_core.config import ArlequinConfig
from arlequin_core.drift import stream
from arlequin_core.drift.check import check_batch
from arlequin_core.drift.engines import check_uri, choose_engine
from arlequin_core.drift.html import render_html
from arlequin_core.drift.profile import build_profile
from arlequin_core.drift.states import EngineUnsupportedError
from arlequin_core.errors import InputError

from .test_spark_check import assert_same, make_config, table


def _without_volatile(report) -> dict:
    data = report.to_dict()
    data.pop("created_at")
    data.pop("engine")
    return data


@pytest.fixture
def profile(registry):
    return build_profile(table(1500, seed=1, shift=0.0), make_config(), registry, source="reference")


@pytest.mark.parametrize("shift", [0.0, 0.4])
def test_streamed_parquet_report_equals_the_in_memory_report(tmp_path, registry, profile, shift):
    batch = table(2000, seed=2, shift=shift)
    path = tmp_path / "batch.parquet"
    pq.write_table(batch, path, row_group_size=300)
    assert pq.ParquetFile(path).num_row_groups == 7
    # The whole check, columns and the multivariate rows on the row sample, on both engines.
    expected = check_uri(profile, str(path), make_config(), registry, engine="memory").report
    checked = check_uri(profile, str(path), make_config(), registry, engine="arrow")
    assert checked.report.engine == "arrow" and expected.engine == "memory"
    assert_same(_without_volatile(checked.report), _without_volatile(expected))
    page = render_html(checked.report, profile, checked.plots)
    assert page.count("data:image/png;base64,") == len(profile.columns)


@pytest.mark.parametrize("dictionary_max", [65_536, 0])
def test_small_record_batches_and_part_files_change_nothing(tmp_path, registry, profile, monkeypatch, dictionary_max):
    """Also with every string column read plain and counted by hash (``dictionary_max`` 0), as identifiers are."""
    import arlequin_core.drift.categories as categories

    monkeypatch.setattr(stream, "DICTIONARY_MAX", dictionary_max)
    monkeypatch.setattr(categories, "DICTIONARY_MAX", dictionary_max)
    batch = table(1800, seed=3, shift=0.2)
    folder = tmp_path / "spark-out"
    folder.mkdir()
    for i, start in enumerate(range(0, 1800, 700)):
        pq.write_table(batch.slice(start, 700), folder / f"part-{i:05d}.parquet", row_group_size=256)
    (folder / "_SUCCESS").write_text("")
    monkeypatch.setattr(stream, "CHUNK_ROWS", 97)
    expected = check_batch(profile, batch, make_config(), registry, uri=str(folder))
    streamed, _ = stream.check_batch_arrow(profile, str(folder), make_config(), registry)
    assert_same(_without_volatile(streamed), _without_volatile(expected))


def test_csv_is_streamed_in_blocks(tmp_path, registry, monkeypatch):
    rng = np.random.default_rng(4)
    ref = pa.table({"x": rng.normal(0, 1, 3000), "c": rng.choice(["a", "b", "c"], 3000)})
    cur = pa.table({"x": rng.normal(0.3, 1, 4000), "c": rng.choice(["a", "b", "d"], 4000)})
    pacsv.write_csv(cur, tmp_path / "cur.csv")
    config = ArlequinConfig()
    profile = build_profile(ref, config, registry)
    monkeypatch.setattr(stream, "CSV_BLOCK_BYTES", 4096)
    streamed, _ = stream.check_batch_arrow(profile, str(tmp_path / "cur.csv"), config, registry)
    expected = check_batch(profile, cur, config, registry, uri=str(tmp_path / "cur.csv"))
    assert_same(_without_volatile(streamed), _without_volatile(expected))


def test_a_row_group_that_fails_to_decode_rejects_the_whole_batch_naming_it(tmp_path, registry, profile):
    path = tmp_path / "broken.parquet"
    pq.write_table(table(2000, seed=5, shift=0.0), path, row_group_size=400, compression="snappy")
    meta = pq.ParquetFile(path).metadata
    column = meta.row_group(2).column(0)
    raw = bytearray(path.read_bytes())
    start = column.data_page_offset + 40
    raw[start : start + column.total_compressed_size - 60] = b"\xff" * (column.total_compressed_size - 60)
    path.write_bytes(bytes(raw))
    rejected = r"broken\.parquet, row group 2 of 5: cannot decode: .*whole batch is rejected"
    with pytest.raises(InputError, match=rejected):
        check_uri(profile, str(path), make_config(), registry, engine="arrow")


def test_a_truncated_file_and_a_missing_column_are_named(tmp_path, registry, profile):
    good = tmp_path / "good.parquet"
    pq.write_table(table(500, seed=6, shift=0.0).drop(["ks_ties"]), good)
    with pytest.raises(InputError, match=r"good\.parquet: missing column 'ks_ties'"):
        check_uri(profile, str(good), make_config(), registry, engine="arrow")
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(good.read_bytes()[:-100])
    with pytest.raises(InputError, match=r"cut\.parquet: not a complete Parquet file"):
        check_uri(profile, str(cut), make_config(), registry, engine="arrow")


def test_online_detectors_are_refused_by_name_and_auto_reads_them_in_memory(tmp_path, registry):
    rng = np.random.default_rng(7)
    config = ArlequinConfig.model_validate({"drift": {"columns": {"x": {"detector": "adwin"}}}})
    profile = build_profile(pa.table({"x": rng.normal(size=500), "y": rng.normal(size=500)}), config, registry)
    pq.write_table(pa.table({"x": rng.normal(size=300), "y": rng.normal(size=300)}), tmp_path / "b.parquet")
    with pytest.raises(EngineUnsupportedError, match=r"arrow engine .*column 'x': detector 'adwin': .*online"):
        check_uri(profile, str(tmp_path / "b.parquet"), config, registry, engine="arrow")
    assert choose_engine(profile, str(tmp_path / "b.parquet"), config, registry) == "memory"
    assert check_uri(profile, str(tmp_path / "b.parquet"), config, registry).report.engine == "memory"


def test_auto_picks_spark_only_with_a_master_and_a_large_enough_batch(tmp_path, registry, profile):
    path = tmp_path / "b.parquet"
    pq.write_table(table(300, seed=8, shift=0.0), path)
    size = path.stat().st_size
    config = make_config()
    assert choose_engine(profile, str(path), config, registry) == "arrow"
    config.spark.master = "local[2]"
    config.drift.spark_min_bytes = size
    assert choose_engine(profile, str(path), config, registry) == "arrow"
    config.drift.spark_min_bytes = size - 1
    assert choose_engine(profile, str(path), config, registry) == "spark"
    config.drift.spark_min_bytes = 1 << 40
    assert choose_engine(profile, "nosuchfs://cluster/batch", config, registry) == "spark"  # size unknown here


def test_detect_engine_option_says_which_engine_computed_the_report(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(9)
    pq.write_table(pa.table({"x": rng.normal(size=2000), "c": rng.choice(["a", "b"], 2000)}), "ref.parquet")
    pq.write_table(pa.table({"x": rng.normal(1, 1, 3000), "c": rng.choice(["a", "b"], 3000)}), "cur.parquet")
    outputs = {}
    for engine in ("memory", "arrow"):
        result = CliRunner().invoke(
            main, ["detect", "-r", "ref.parquet", "-c", "cur.parquet", "--engine", engine, "--json", f"{engine}.json"]
        )
        assert result.exit_code == 3, result.output
        assert f"engine: {engine}, 3,000 rows" in result.output
        outputs[engine] = json.loads(Path(f"{engine}.json").read_text())
        assert outputs[engine]["engine"] == engine
    for data in outputs.values():
        data.pop("engine")
        data.pop("created_at")
    assert_same(outputs["arrow"], outputs["memory"])


@pytest.mark.parametrize("reader, field_mb", [("stream", 40), ("read_table", 20)])
def test_csv_with_one_huge_field_says_what_to_do(tmp_path, registry, profile, reader, field_mb):
    """pyarrow's "straddling object ... block size" becomes: which file, what is wrong, what to do.

    The streaming reader's blocks are 16 MiB (a 20 MB field still parses there), read_table's 1 MiB.
    """
    from arlequin_core.io import read_table

    frame = table(300, seed=4, shift=0.0).to_pandas()
    frame["chi2_cat"] = frame["chi2_cat"].astype(object)
    frame.loc[150, "chi2_cat"] = "x" * (field_mb << 20)  # one huge field, larger than the reader's block
    path = tmp_path / "huge.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InputError) as caught:
        if reader == "stream":
            check_uri(profile, str(path), make_config(), registry, engine="arrow")
        else:
            read_table(path)
    message = str(caught.value)[:2000]
    assert str(path) in message and "larger than the CSV reader's block size" in message, message
    assert "Parquet" in message and "straddl" not in message, message


def test_row_sample_is_taken_in_the_same_pass_and_is_the_in_memory_sample(tmp_path, registry, monkeypatch):
    reference, batch = table(1500, seed=1, shift=0.0), table(5000, seed=2, shift=0.3)
    config = make_config(sample_rows=700)
    profile = build_profile(reference, config, registry, source="reference")
    assert profile.multivariate  # on by default: the check needs rows
    path = tmp_path / "batch.parquet"
    pq.write_table(batch, path, row_group_size=600)
    passes = []
    reads = stream.iter_chunks

    def counted(*args, **kwargs):
        passes.append(args[0])
        return reads(*args, **kwargs)

    monkeypatch.setattr(stream, "iter_chunks", counted)
    monkeypatch.setattr(stream, "CHUNK_ROWS", 250)
    streamed = check_uri(profile, str(path), config, registry, engine="arrow")
    in_memory = check_uri(profile, str(path), config, registry, engine="memory")
    assert passes == [str(path)]
    assert streamed.sample.num_rows == 700
    expected = in_memory.sample.select(streamed.sample.column_names)
    assert streamed.sample.schema == expected.schema
    assert streamed.sample.to_pandas().equals(expected.to_pandas())  # NaN equal to NaN
    assert_same(_without_volatile(streamed.report), _without_volatile(in_memory.report))
