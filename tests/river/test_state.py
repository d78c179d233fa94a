"""State: JSON profiles, restart from a file, the store, and the reset on promotion."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from river_streams import ALL_DETECTORS, changed, reference

import arlequin_river
from arlequin_core.app import App
from arlequin_core.config import ArlequinConfig
from arlequin_core.drift.online_state import OnlineStateStore, StateError, state_dir
from arlequin_core.events import ModelRegistered
from arlequin_core.monitor import Monitor
from arlequin_core.plugins import PluginHost
from arlequin_river.codec import decode_state, encode_state


def _batches(cls: type, n: int = 6, size: int = 400) -> list[np.ndarray]:
    """Stationary batches, a change in the middle of batch 3, more changed batches."""
    stream = np.concatenate([changed(cls, seed=11, before=1300, after=n * size - 1300)])
    return [stream[i * size : (i + 1) * size] for i in range(n)]


def _found(details: dict) -> tuple[list[int], list[int] | None]:
    """The detections of a batch and, for value detectors, the change starts."""
    return details["detections"], details.get("change_starts")


def _detections(detector, batches) -> list[tuple[list[int], list[int] | None]]:
    return [_found(detector.score(b).details) for b in batches]


@pytest.mark.parametrize("cls", ALL_DETECTORS, ids=lambda c: c.info.name)
def test_profile_is_plain_json_and_round_trip_gives_identical_scores(cls: type) -> None:
    detector = cls().fit(reference(cls))
    batches = _batches(cls)
    for batch in batches[:2]:
        detector.score(batch)
    text = json.dumps(detector.to_profile(), allow_nan=False)
    restored = cls.from_profile(json.loads(text))
    for batch in batches[2:]:
        original, copy = detector.score(batch), restored.score(batch)
        assert copy == original
    assert restored.to_profile() == detector.to_profile()


@pytest.mark.parametrize("cls", ALL_DETECTORS, ids=lambda c: c.info.name)
def test_state_survives_a_restart_same_detections_as_uninterrupted(cls: type, tmp_path: Path) -> None:
    batches = _batches(cls)
    uninterrupted = _detections(cls().fit(reference(cls)), batches)
    assert any(hits for hits, _ in uninterrupted), "the stream must contain a change for this test to mean anything"

    states = OnlineStateStore(state_dir(tmp_path))
    seen: list[tuple[list[int], list[int] | None]] = []
    detector = cls().fit(reference(cls))
    for i, batch in enumerate(batches):
        seen.append(_found(detector.score(batch).details))
        states.save("amount", cls.info.name, detector.to_profile(), batch_id=f"b{i}", model_name="m", model_version="1")
        # A "restart": the next batch is scored by a new instance read back from the file.
        record = OnlineStateStore(state_dir(tmp_path)).load("amount", cls.info.name, "m", "1")
        detector = cls.from_profile(record["profile"])
    assert seen == uninterrupted


def test_state_file_format_is_documented_json(tmp_path: Path) -> None:
    cls = arlequin_river.AdwinDetector
    detector = cls(delta=0.01).fit(reference(cls))
    states = OnlineStateStore(tmp_path / "online")
    file = states.save("price / EUR", "adwin", detector.to_profile(), batch_id="b1", model_name="m", model_version="3")
    assert file == tmp_path / "online" / "price%20%2F%20EUR.adwin.json"
    record = json.loads(file.read_text())
    assert record["format"] == "arlequin-online-state" and record["version"] == 1
    assert record["column"] == "price / EUR" and record["detector"] == "adwin"
    assert record["champion"] == {"model_name": "m", "model_version": "3"}
    assert record["batches"] == ["b1"]
    profile = record["profile"]
    assert profile["format"] == "arlequin-river-detector" and profile["params"]["delta"] == 0.01
    window = profile["state"]["_helper"]["adwin"]
    assert window["width"] == 1000.0 and len(window["bucket_list"]) >= 1
    assert list(states.entries()) == [("price / EUR", "adwin", file)]
    assert states.has_fed("price / EUR", "adwin", "b1") and not states.has_fed("price / EUR", "adwin", "b2")


def test_state_of_another_champion_is_ignored(tmp_path: Path) -> None:
    cls = arlequin_river.KswinDetector
    states = OnlineStateStore(tmp_path)
    states.save("x", "kswin", cls().fit(reference(cls)).to_profile(), model_name="m", model_version="1")
    assert states.load("x", "kswin", "m", "1") is not None
    assert states.load("x", "kswin", "m", "2") is None
    assert states.load("x", "kswin") is not None  # no champion asked: whatever is there
    assert states.load("y", "kswin") is None


def test_unreadable_state_file_is_an_error_naming_the_file(tmp_path: Path) -> None:
    states = OnlineStateStore(tmp_path)
    states.path("x", "adwin").write_text("{not json")
    with pytest.raises(StateError, match=r"x\.adwin\.json: not valid JSON"):
        states.load("x", "adwin")
    states.path("x", "adwin").write_text('{"format": "something-else"}')
    with pytest.raises(StateError, match="not an arlequin-online-state file"):
        states.load("x", "adwin")


def test_profile_of_another_detector_or_version_is_refused() -> None:
    profile = arlequin_river.AdwinDetector().fit(reference(arlequin_river.AdwinDetector)).to_profile()
    with pytest.raises(StateError, match="profile is for detector 'adwin', not 'kswin'"):
        arlequin_river.KswinDetector.from_profile(profile)
    with pytest.raises(StateError, match="format version 99"):
        arlequin_river.AdwinDetector.from_profile({**profile, "version": 99})
    with pytest.raises(StateError, match="unknown to river"):
        arlequin_river.AdwinDetector.from_profile({**profile, "state": {**profile["state"], "_evil": 1}})
    with pytest.raises(StateError, match="unknown state entry"):
        decode_state({"object_path": "os.system"})
    with pytest.raises(StateError, match="cannot write a"):
        encode_state(object())


def test_non_finite_floats_are_written_as_strict_json() -> None:
    cls = arlequin_river.DdmDetector
    profile = cls().fit([0.0, 1.0, 0.0]).to_profile()  # _ps_min is +inf until warm_start values
    assert profile["state"]["_ps_min"] == {"float": "inf"}
    json.dumps(profile, allow_nan=False)
    assert cls.from_profile(profile).river._ps_min == float("inf")


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    cls = arlequin_river.HddmWDetector
    states = OnlineStateStore(tmp_path)
    detector = cls().fit(reference(cls))
    for i in range(3):
        detector.score(changed(cls, seed=i))
        states.save("__error__", "hddm_w", detector.to_profile(), batch_id=str(i))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["__error__.hddm_w.json"]
    assert states.load("__error__", "hddm_w")["batches"] == ["0", "1", "2"]


def _saved_store(directory: Path) -> OnlineStateStore:
    cls = arlequin_river.AdwinDetector
    states = OnlineStateStore(directory)
    states.save("amount", "adwin", cls().fit(reference(cls)).to_profile(), model_name="m", model_version="1")
    return states


def _monitor(home: Path, app: App | None = None) -> Monitor:
    """A drift monitor on ``home`` with its online store opened (as after its first batch)."""
    if app is not None:
        monitor = Monitor.attach(app, lambda: (None, "m", "1"))
    else:
        config = ArlequinConfig.model_validate({"arlequin": {"home": str(home)}})
        monitor = Monitor(config, PluginHost().load().registry, None, None)
    assert monitor.online_store.directory == home / "online"
    return monitor


def test_arlequin_on_model_registered_resets_state_when_promoted(tmp_path: Path) -> None:
    states = _saved_store(tmp_path / "online")
    monitor = _monitor(tmp_path)
    monitor.arlequin_on_model_registered(
        ModelRegistered(model_name="m", model_version="2", run_id="r2", promoted=False)
    )
    assert states.load("amount", "adwin") is not None, "a version that was not promoted changes nothing"
    monitor.arlequin_on_model_registered(ModelRegistered(model_name="m", model_version="2", run_id="r2", promoted=True))
    assert states.load("amount", "adwin") is None
    assert list(states.entries()) == []


def test_arlequin_on_model_registered_through_the_bus_resets_state(tmp_path: Path) -> None:
    states = _saved_store(tmp_path / "online")
    river_ep = [ep for ep in metadata.entry_points(group="arlequin") if ep.name == "river"]
    host = PluginHost(entry_points=river_ep).load()
    assert "river" in host.plugins and not host.failures
    config = ArlequinConfig.model_validate({"arlequin": {"home": str(tmp_path), "journal_fsync": False}})
    with App(config, host=host) as app:
        _monitor(tmp_path, app)
        app.bus.publish(ModelRegistered(model_name="m", model_version="2", run_id="r2", promoted=True))
        app.bus.join()
    assert states.load("amount", "adwin") is None


def test_a_promotion_resets_only_the_state_of_its_own_app(tmp_path: Path) -> None:
    # Two apps in one process (two homes): a promotion on one bus leaves the other's stream alone.
    mine, other = _saved_store(tmp_path / "a" / "online"), _saved_store(tmp_path / "b" / "online")
    apps = [
        App(ArlequinConfig.model_validate({"arlequin": {"home": str(tmp_path / h), "journal_fsync": False}}))
        for h in "ab"
    ]
    with apps[0] as a, apps[1] as b:
        _monitor(tmp_path / "a", a)
        _monitor(tmp_path / "b", b)
        a.bus.publish(ModelRegistered(model_name="m", model_version="2", run_id="r2", promoted=True))
        a.bus.join()
    assert mine.load("amount", "adwin") is None
    assert other.load("amount", "adwin") is not None


class _SmallBuffer(arlequin_river.PageHinkleyDetector):
    buffer_cap = 300


def test_the_change_start_buffer_is_bounded_and_cut_at_each_change() -> None:
    # A long quiet stream: the buffer keeps only the newest buffer_cap values.
    cls = arlequin_river.AdwinDetector
    rng = np.random.default_rng(4)
    detector = cls().fit(rng.normal(0.0, 1.0, 1000))
    for _ in range(5):
        assert detector.score(rng.normal(0.0, 1.0, 4000)).details["detections"] == []
    assert len(detector.to_profile()["buffer"]) == cls.buffer_cap == 2000
    # After a change it holds the values from the estimated start on, then grows again.
    small = _SmallBuffer().fit(rng.normal(0.0, 1.0, 1000))
    assert len(small.to_profile()["buffer"]) == 300
    batch = np.concatenate([rng.normal(0.0, 1.0, 500), rng.normal(3.0, 1.0, 100)])
    details = small.score(batch).details
    (hit,), (start,) = details["detections"], details["change_starts"]
    assert 495 <= start <= 505 < hit
    buffer = small.to_profile()["buffer"]
    assert len(buffer) == batch.size - start
    np.testing.assert_allclose(buffer, (batch[start:] - small._location) / small._scale)
    # A change detected more than buffer_cap values after it began is placed within the buffer.
    late = _SmallBuffer().fit(rng.normal(0.0, 1.0, 1000))
    details = late.score(rng.normal(0.45, 1.0, 2000)).details
    hit, start = details["detections"][0], details["change_starts"][0]
    assert hit > 300 and hit - 300 < start <= hit


def test_a_profile_without_a_buffer_still_loads_and_starts_it_empty() -> None:
    # Profiles written before the localiser existed (and Page-Hinkley's old "extremes_at").
    cls = arlequin_river.PageHinkleyDetector
    detector = cls().fit(reference(cls))
    profile = detector.to_profile()
    del profile["buffer"]
    profile["extremes_at"] = [12, None]
    restored = cls.from_profile(json.loads(json.dumps(profile)))
    assert restored.to_profile()["buffer"] == []
    details = restored.score(changed(cls)).details
    assert details["detections"] and 0 <= details["change_starts"][0] < details["detections"][0]
    with pytest.raises(StateError, match="buffer"):
        cls.from_profile({**detector.to_profile(), "buffer": [1.0, None]})
    with pytest.raises(StateError, match="buffer"):
        cls.from_profile({**detector.to_profile(), "buffer": ["x"]})


def test_error_rate_profiles_carry_no_buffer() -> None:
    cls = arlequin_river.DdmDetector
    assert "buffer" not in cls().fit(reference(cls)).to_profile()


def test_a_growing_kswin_restarts_with_the_same_detections() -> None:
    # grow=True tests a window that is not full yet (after each detection): the saved
    # window, its generator and the ``grow`` flag must carry that over a restart.
    make = lambda: arlequin_river.KswinDetector(alpha=1e-4, window_size=400, stat_size=50, grow=True)  # noqa: E731
    cls = arlequin_river.KswinDetector
    batches = _batches(cls)
    uninterrupted = _detections(make().fit(reference(cls)), batches)
    assert sum(len(hits) for hits, _ in uninterrupted) >= 1
    seen = []
    detector = make().fit(reference(cls))
    for batch in batches:
        seen.append(_found(detector.score(batch).details))
        detector = cls.from_profile(json.loads(json.dumps(detector.to_profile(), allow_nan=False)))
        assert detector.params["grow"] is True
    assert seen == uninterrupted
