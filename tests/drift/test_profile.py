"""The profile API: build, save, load, check."""

from __future__ import annotations

import json
import re

import numpy as np
import pyarrow as pa
import pytest

from arlequin_core.config import ArlequinConfig
from arlequin_core.drift import Profile, build_profile, check_batch
from arlequin_core.drift.encoding import to_json_tree
from arlequin_core.drift.profile import PROFILE_FORMAT, PROFILE_FORMAT_VERSION
from arlequin_core.errors import ConfigError, InputError


def test_build_profile_infers_kinds_and_excludes_label(config, registry, make_frame):
    profile = build_profile(make_frame(2000, 0), config, registry, source="train.parquet")
    kinds = {name: (c.kind, c.detector) for name, c in profile.columns.items()}
    assert kinds == {
        "income": ("numeric", "ks"),
        "age": ("numeric", "ks"),
        "score": ("numeric", "ks"),
        "colour": ("categorical", "chi2"),
        "rating": ("categorical", "chi2"),  # 5 distinct integers
        "member": ("categorical", "chi2"),  # boolean
    }
    assert profile.skipped == {"label": "not a feature: label column"}
    assert profile.rows == 2000 and profile.source == "train.parquet"


@pytest.mark.parametrize(("name", "version"), [("ref.profile", PROFILE_FORMAT_VERSION), ("profile.json", 1)])
def test_profile_save_load_round_trip_gives_identical_reports(config, registry, tmp_path, make_frame, name, version):
    profile = build_profile(make_frame(1500, 1), config, registry)
    path = tmp_path / name
    profile.save(path)
    data = json.loads(path.read_bytes().split(b"\n", 1)[0])  # format 2: the first line is the JSON metadata
    assert data["format"] == PROFILE_FORMAT and data["format_version"] == version
    loaded = Profile.load(path)
    batch = make_frame(800, 2, scale=1.2)
    a = check_batch(profile, batch, config, registry).to_dict()
    b = check_batch(loaded, batch, config, registry).to_dict()
    for report in (a, b):
        report.pop("created_at")
    assert a == b


def test_check_batch_flags_scaled_and_shifted_columns_only(registry, make_frame):
    config = ArlequinConfig.model_validate({"data": {"label": "label"}, "drift": {"drift_share": 0.3}})
    profile = build_profile(make_frame(4000, 3), config, registry)
    report = check_batch(profile, make_frame(4000, 4, scale=1.5, shift_categories=True), config, registry)
    assert report.drifted_columns == ["age", "colour"]
    assert report.drifted and report.drift_share == pytest.approx(2 / 6)
    same = check_batch(profile, make_frame(4000, 5), config, registry)
    assert not same.drifted and same.drifted_columns == []


def test_check_batch_rejects_missing_columns_naming_them(config, registry, make_frame):
    profile = build_profile(make_frame(500, 6), config, registry)
    batch = make_frame(500, 7).drop(columns=["age", "colour"])
    with pytest.raises(InputError, match=r"b\.parquet: missing columns 'age', 'colour'"):
        check_batch(profile, batch, config, registry, uri="b.parquet")


def test_check_batch_rejects_empty_batch(config, registry, make_frame):
    profile = build_profile(make_frame(500, 8), config, registry)
    with pytest.raises(InputError, match="no rows"):
        check_batch(profile, make_frame(500, 9).iloc[:0], config, registry, uri="empty.parquet")


def test_build_profile_rejects_empty_reference(config, registry, make_frame):
    with pytest.raises(InputError, match=re.escape("train.csv: the reference has no rows")):
        build_profile(make_frame(10, 0).iloc[:0], config, registry, source="train.csv")


def test_profile_load_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match=re.escape("bad.json: not valid JSON")):
        Profile.load(bad)
    other = tmp_path / "other.json"
    other.write_text('{"format": "something-else"}')
    with pytest.raises(InputError, match=re.escape("other.json: not an arlequin profile")):
        Profile.load(other)
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps({"format": PROFILE_FORMAT, "format_version": PROFILE_FORMAT_VERSION + 1}))
    newest = PROFILE_FORMAT_VERSION + 1
    with pytest.raises(InputError, match=re.escape(f"newer.json: profile format version {newest} is not supported")):
        Profile.load(newer)
    with pytest.raises(InputError, match=re.escape("absent.json: no such file")):
        Profile.load(tmp_path / "absent.json")


def test_config_columns_choose_detector_threshold_and_params(registry, make_frame):
    config = ArlequinConfig.model_validate(
        {
            "data": {"label": "label", "categorical": ["score"]},
            "drift": {
                "columns": {
                    "income": {"detector": "psi", "threshold": 0.3, "params": {"bins": 5}},
                    "colour": {"detector": "jensen_shannon"},
                }
            },
        }
    )
    profile = build_profile(make_frame(1000, 10).assign(score=lambda f: (f.score * 3).round()), config, registry)
    income = profile.columns["income"]
    assert (income.detector, income.threshold, income.params, income.state["bins"]) == ("psi", 0.3, {"bins": 5}, 5)
    assert profile.columns["colour"].detector == "jensen_shannon"
    assert profile.columns["colour"].threshold == 0.1
    assert profile.columns["score"].kind == "categorical"


@pytest.mark.parametrize(
    ("drift", "message"),
    [
        ({"columns": {"colour": {"detector": "ks"}}}, "detector 'ks' does not test categorical columns"),
        ({"columns": {"colr": {"threshold": 0.1}}}, "key drift.columns: 'colr' is not a tested column"),
        ({"critical": ["label"]}, "key drift.critical: 'label' is not a tested column"),
        ({"columns": {"age": {"params": {"nope": 1}}}}, "key drift.columns.age.params"),
    ],
)
def test_build_profile_config_errors_name_the_key(registry, drift, message, make_frame):
    config = ArlequinConfig.model_validate({"data": {"label": "label"}, "drift": drift})
    with pytest.raises(ConfigError, match=message):
        build_profile(make_frame(200, 11), config, registry)


def test_unknown_detector_lists_known_ones(registry, make_frame):
    config = ArlequinConfig.model_validate({"data": {"label": "label"}, "drift": {"numeric_detector": "kss"}})
    with pytest.raises(Exception, match=r"unknown detector 'kss'; known detectors: .*chi2, .*ks"):
        build_profile(make_frame(200, 12), config, registry)


def test_build_profile_accepts_arrow_tables(config, registry, make_frame):
    table = pa.Table.from_pandas(make_frame(300, 13), preserve_index=False)
    profile = build_profile(table, config, registry)
    assert set(profile.columns) == {"income", "age", "score", "colour", "rating", "member"}
    report = check_batch(profile, table, config, registry)
    assert not report.drifted
    assert all(np.isclose(c.p_value, 1.0) for c in report.columns)


def test_reference_sample_bounds_the_fitted_rows(registry, make_frame):
    config = ArlequinConfig.model_validate({"data": {"label": "label"}, "drift": {"reference_sample": 700}})
    profile = build_profile(make_frame(5000, 14), config, registry)
    assert (profile.rows, profile.sampled_from) == (700, 5000)
    assert profile.columns["age"].state["n"] == 700
    again = build_profile(make_frame(5000, 14), config, registry)  # seeded: the same sample
    assert to_json_tree(again.columns["age"].state) == to_json_tree(profile.columns["age"].state)
    assert Profile.from_dict(json.loads(json.dumps(profile.to_dict()))).sampled_from == 5000
    assert build_profile(make_frame(500, 15), config, registry).sampled_from is None


def test_text_columns_read_as_dictionaries_give_the_same_profile_and_report(config, registry, tmp_path, make_frame):
    """``read_table(dictionary=True)`` (what ``arlequin detect`` reads) changes no number, and the
    profile keeps the type the file holds."""
    import pyarrow.parquet as pq

    from arlequin_core.drift.engines import check_uri
    from arlequin_core.io import read_table

    frame = make_frame(3000, 3)
    frame["city"] = np.random.default_rng(3).choice(["paris", "lyon", "lille", None], 3000)
    paths = []
    for name, data in (("ref", frame), ("cur", make_frame(2000, 4, shift_categories=True))):
        data = data.assign(city=np.random.default_rng(4).choice(["lyon", "nice", None], len(data)))
        paths.append(tmp_path / f"{name}.parquet")
        pq.write_table(pa.Table.from_pandas(data, preserve_index=False), paths[-1])
    plain_ref, dict_ref = read_table(paths[0]), read_table(paths[0], dictionary=True)
    assert pa.types.is_dictionary(dict_ref.schema.field("colour").type)
    plain, encoded = (build_profile(t, config, registry) for t in (plain_ref, dict_ref))
    fitted = [p.to_dict() for p in (plain, encoded)]
    for d in fitted:
        d.pop("created_at")
    assert fitted[0] == fitted[1]
    assert encoded.columns["colour"].dtype == "string"
    reports = []
    for profile, dictionary in ((plain, False), (encoded, True)):
        table = read_table(paths[1], dictionary=dictionary)
        checked = check_uri(profile, str(paths[1]), config, registry, engine="memory", table=table)
        assert checked.sample.schema.field("colour").type == pa.string()
        report = checked.report.to_dict()
        report.pop("created_at")
        reports.append(report)
    assert reports[0] == reports[1]
    assert any(c["column"] == "colour" and c["p_value"] < 1e-6 for c in reports[0]["columns"])
