"""The profile file: format 2 (JSON line + Arrow IPC arrays) and the format-1 JSON file it replaces."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from arlequin_core.config import ArlequinConfig
from arlequin_core.drift import Profile, build_profile, check_batch
from arlequin_core.drift.profile import is_profile_path
from arlequin_core.drift.profile_file import ALIGNMENT, read_profile, write_profile
from arlequin_core.errors import InputError

from .conftest import frame

#: Written by arlequin before format 2 existed (main at 485c453, Profile.save of format 1):
#: build_profile(frame(400, 21), FIXTURE_CONFIG, registry, source="train.parquet").
FORMAT1_FIXTURE = Path(__file__).parent / "data" / "profile-format1.json"
FIXTURE_CONFIG = {
    "data": {"label": "label"},
    "drift": {
        "columns": {
            "income": {"detector": "wasserstein"},
            "score": {"detector": "psi"},
            "rating": {"detector": "jensen_shannon"},
        }
    },
}


def report_of(profile, config, registry, batch):
    report = check_batch(profile, batch, config, registry).to_dict()
    report.pop("created_at")
    return report


def test_format1_file_from_before_format2_loads_and_scores_like_a_fresh_profile(registry, tmp_path):
    config = ArlequinConfig.model_validate(FIXTURE_CONFIG)
    assert json.loads(FORMAT1_FIXTURE.read_text())["format_version"] == 1
    old = Profile.load(FORMAT1_FIXTURE)
    fresh = build_profile(frame(400, 21), config, registry, source="train.parquet")
    assert {n: c.detector for n, c in old.columns.items()} == {n: c.detector for n, c in fresh.columns.items()}
    fresh.save(tmp_path / "fresh.profile")
    batch = frame(300, 22, scale=1.3, shift_categories=True)
    expected = report_of(fresh, config, registry, batch)
    assert expected["drifted_columns"]  # a batch that moves, so the comparison means something
    assert report_of(old, config, registry, batch) == expected
    assert report_of(Profile.load(tmp_path / "fresh.profile"), config, registry, batch) == expected


def test_format2_layout_json_line_then_aligned_arrow_ipc(config, registry, tmp_path):
    profile = build_profile(frame(2000, 1), config, registry)
    path = tmp_path / "ref.profile"
    profile.save(path)
    raw = path.read_bytes()
    line, body = raw.split(b"\n", 1)
    header = json.loads(line)
    assert header["format_version"] == 2 and (len(line) + 1) % ALIGNMENT == 0
    ref = header["columns"][[c["name"] for c in header["columns"]].index("age")]["state"]["values"]
    assert ref == {"$array": ref["$array"], "dtype": "<f8", "shape": [2000]}
    batch = pa.ipc.open_file(pa.py_buffer(body)).get_batch(0)
    stored = batch.column(ref["$array"]).flatten().to_numpy()
    assert np.array_equal(stored, profile.detector("age", registry).values)
    assert b"zlib_b64" not in raw


def test_json_name_writes_format1_and_both_load_the_same(config, registry, tmp_path):
    profile = build_profile(frame(1500, 2), config, registry)
    profile.save(tmp_path / "p.json")
    profile.save(tmp_path / "p.profile")
    profile.save(tmp_path / "forced.json", format_version=2)
    assert json.loads((tmp_path / "p.json").read_text())["format_version"] == 1
    assert json.loads((tmp_path / "forced.json").read_bytes().split(b"\n")[0])["format_version"] == 2
    batch = frame(1000, 3, scale=1.1)
    reports = [report_of(Profile.load(tmp_path / n), config, registry, batch) for n in ("p.json", "p.profile")]
    assert reports[0] == reports[1] == report_of(profile, config, registry, batch)
    dicts = [{**Profile.load(tmp_path / n).to_dict(), "source": None} for n in ("p.profile", "p.json")]
    assert dicts[0] == dicts[1]


@pytest.mark.parametrize(
    "array",
    [
        np.array([0.1, -0.0, np.nan, np.inf, -np.inf, 5e-324, 1.7976931348623157e308]),
        np.ones(1000, dtype=np.int64),  # stored as 1-byte integers
        np.array([-5, 3, 2**40], dtype=np.int64),
        np.array([2**64 - 1, 0], dtype=np.uint64),
        np.array([], dtype=np.float64),
        np.array([[1, 2], [3, 4]], dtype=np.int32),
        np.array([True, False, True]),
        np.arange(5, dtype=np.float32),
    ],
)
@pytest.mark.parametrize("mapped", [False, True])
def test_arrays_round_trip_bit_exact_with_their_dtype(tmp_path, array, mapped):
    write_profile({"a": {"b": [array, 1]}}, tmp_path / "x.profile", 2)
    back = read_profile(tmp_path / "x.profile", mapped=mapped)["a"]["b"][0]
    assert back.dtype == array.dtype and back.shape == array.shape
    assert back.tobytes() == array.tobytes()


def test_a_mapped_profile_scores_like_a_read_one_and_survives_a_replace(config, registry, tmp_path):
    profile = build_profile(frame(3000, 3), config, registry)
    path = tmp_path / "p.profile"
    profile.save(path)
    batch = frame(1000, 4, scale=1.2, shift_categories=True)
    expected = report_of(Profile.load(path), config, registry, batch)
    mapped = Profile.load(path, mapped=True)
    # Replaced the way Profile.save writes (a new file renamed over the old): the map keeps the old file.
    build_profile(frame(3000, 9, scale=3.0), config, registry).save(path)
    assert report_of(mapped, config, registry, batch) == expected
    assert report_of(Profile.load(path, mapped=True), config, registry, batch) != expected


def test_smaller_than_the_arrays_it_holds(config, registry, tmp_path):
    profile = build_profile(frame(20_000, 4), config, registry)
    profile.save(tmp_path / "p.profile")
    held = 0

    def walk(value):  # every array the profile holds: states, effect references, multivariate
        nonlocal held
        if isinstance(value, np.ndarray):
            held += value.nbytes
        for child in value.values() if isinstance(value, dict) else value if isinstance(value, list) else ():
            walk(child)

    walk(profile._tree())
    assert (tmp_path / "p.profile").stat().st_size < held


def test_object_arrays_are_refused_on_write(tmp_path):
    with pytest.raises(ValueError, match="cannot encode dtype object"):
        write_profile({"a": np.array(["x"], dtype=object)}, tmp_path / "x.profile", 2)
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def rewrite_header(path: Path, edit) -> None:
    line, body = path.read_bytes().split(b"\n", 1)
    header = edit(json.loads(line))
    text = json.dumps(header, separators=(",", ":")).encode()
    path.write_bytes(text + b" " * (-(len(text) + 1) % ALIGNMENT) + b"\n" + body)


def test_damaged_files_are_refused_naming_the_file_and_array(tmp_path):
    path = tmp_path / "x.profile"
    write_profile({"format": "arlequin.profile", "v": np.arange(10.0)}, path, 2)
    raw = path.read_bytes()
    (tmp_path / "cut.profile").write_bytes(raw[:-40])
    for mapped in (False, True):
        with pytest.raises(InputError, match=re.escape("cut.profile: cannot read the profile's arrays")):
            read_profile(tmp_path / "cut.profile", mapped=mapped)

    rewrite_header(path, lambda h: {**h, "v": {**h["v"], "shape": [11]}})
    with pytest.raises(InputError, match=re.escape("array 'v' holds 10 values but its shape is [11]")):
        read_profile(path)
    rewrite_header(path, lambda h: {**h, "v": {**h["v"], "$array": "w", "shape": [10]}})
    with pytest.raises(InputError, match="array 'w': malformed reference or no such array"):
        read_profile(path)
    rewrite_header(path, lambda h: {**h, "v": {**h["v"], "$array": "v", "dtype": "|O"}})
    with pytest.raises(InputError, match="array 'v'"):
        read_profile(path)
    rewrite_header(path, lambda h: {**h, "v": {**h["v"], "dtype": "<i8"}})
    with pytest.raises(InputError, match="stored as double, cannot be read as int64"):
        read_profile(path)


def test_a_damaged_array_names_the_column_when_loading(config, registry, tmp_path):
    profile = build_profile(frame(500, 5), config, registry)
    path = tmp_path / "p.profile"
    profile.save(path)

    def shuffle_age(header):
        age = next(c for c in header["columns"] if c["name"] == "age")
        age["state"]["values"], age["state"]["counts"] = age["state"]["counts"], age["state"]["values"]
        return header

    rewrite_header(path, shuffle_age)
    loaded = Profile.load(path)  # arrays are read lazily by the detector
    with pytest.raises(InputError, match="column 'age': cannot load the ks state"):
        loaded.detector("age", registry)


def test_profile_paths_are_told_from_data(tmp_path, config, registry):
    build_profile(frame(200, 6), config, registry).save(tmp_path / "renamed.bin", format_version=2)
    frame(10, 7).to_parquet(tmp_path / "data.parquet")
    assert is_profile_path("x.profile") and is_profile_path("old.JSON")
    assert is_profile_path(str(tmp_path / "renamed.bin"))
    assert not is_profile_path(str(tmp_path / "data.parquet"))
    assert not is_profile_path("hdfs://nn/data/batch.parquet")


#: Written by arlequin before the KS counts were declared in their smallest dtype (int64 then):
#: build_profile(frame(400, 21), FIXTURE_CONFIG, registry, source="train.parquet").save(...).
FORMAT2_INT64_FIXTURE = Path(__file__).parent / "data" / "profile-format2-ks-counts.profile"


def test_format2_file_with_int64_ks_counts_loads_and_scores_like_a_fresh_profile(registry, tmp_path):
    config = ArlequinConfig.model_validate(FIXTURE_CONFIG)
    header = json.loads(FORMAT2_INT64_FIXTURE.read_bytes().split(b"\n", 1)[0])
    age = next(c for c in header["columns"] if c["name"] == "age")
    assert age["detector"] == "ks" and age["state"]["counts"]["dtype"] == "<i8"
    old = Profile.load(FORMAT2_INT64_FIXTURE)
    fresh = build_profile(frame(400, 21), config, registry, source="train.parquet")
    fresh.save(tmp_path / "fresh.profile")
    again = Profile.load(tmp_path / "fresh.profile")
    assert again.columns["age"].state["counts"].dtype == np.uint8  # counts of 400 rows: 1 byte each
    assert np.array_equal(old.columns["age"].state["counts"], again.columns["age"].state["counts"])
    batch = frame(300, 22, scale=1.3, shift_categories=True)
    expected = report_of(fresh, config, registry, batch)
    assert expected["drifted_columns"]
    assert report_of(old, config, registry, batch) == expected
    assert report_of(again, config, registry, batch) == expected


def test_ks_state_refuses_unsorted_nan_or_non_integer_counts(registry):
    ks = registry.get("detector", "ks")
    good = ks().fit(np.array([3.0, 1.0, 2.0, 2.0])).to_profile()
    assert good["counts"].dtype == np.uint8 and ks.from_profile(good).n == 4
    for broken in (
        {**good, "values": np.array([1.0, np.nan, 3.0])},
        {**good, "values": np.array([1.0, 1.0, 3.0])},
        {**good, "counts": np.array([1.0, 2.0, 1.0])},
        {**good, "counts": np.array([1, 0, 3], dtype=np.uint8)},
    ):
        with pytest.raises(ValueError, match="ks profile"):
            ks.from_profile(broken)
