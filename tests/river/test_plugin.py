"""Registration through the entry point, and parameter validation as config would hit it."""

from __future__ import annotations

from importlib import metadata

import pytest
from river_streams import ALL_DETECTORS

import arlequin_river
from arlequin_core.plugins import PluginHost
from arlequin_river import plugin

NAMES = ["adwin", "ddm", "eddm", "hddm_a", "hddm_w", "kswin", "page_hinkley"]


def test_arlequin_register_detectors_registers_all_river_detectors() -> None:
    river_ep = [ep for ep in metadata.entry_points(group="arlequin") if ep.name == "river"]
    assert [ep.value for ep in river_ep] == ["arlequin_river.plugin"]
    host = PluginHost(entry_points=river_ep).load()
    assert not host.failures
    assert host.registry.names("detector") == NAMES
    for cls in ALL_DETECTORS:
        assert host.registry.get("detector", cls.info.name) is cls
    assert sorted(host.plugins["river"].hooks) == ["arlequin_register_detectors"]  # the reset is the monitor's


def test_arlequin_register_detectors_hands_every_detector_to_register() -> None:
    registered: list = []
    plugin.arlequin_register_detectors(registered.append)
    # By name, imported on first use (river is not imported by the entry point).
    assert [item.name for item in registered] == [cls.info.name for cls in ALL_DETECTORS]
    assert [item.load() for item in registered] == list(ALL_DETECTORS)


@pytest.mark.parametrize(
    ("cls", "params", "message"),
    [
        (arlequin_river.AdwinDetector, {"delta": 0}, r"adwin: parameter delta must be a number in \(0.0, 1.0\)"),
        (arlequin_river.AdwinDetector, {"delta": "0.1"}, "adwin: parameter delta must be a number"),
        (arlequin_river.AdwinDetector, {"clock": 0}, "adwin: parameter clock must be an integer in"),
        (arlequin_river.AdwinDetector, {"clock": True}, "adwin: parameter clock must be an integer"),
        (arlequin_river.AdwinDetector, {"max_buckets": 0}, "adwin: parameter max_buckets"),
        (arlequin_river.AdwinDetector, {"grace_period": -1}, "adwin: parameter grace_period"),
        (arlequin_river.KswinDetector, {"alpha": 1.0}, "kswin: parameter alpha"),
        (arlequin_river.KswinDetector, {"window_size": 100, "stat_size": 60}, "at least 2 \\* stat_size \\(120\\)"),
        (arlequin_river.KswinDetector, {"stat_size": 0}, "kswin: parameter stat_size"),
        (arlequin_river.KswinDetector, {"seed": -1}, "kswin: parameter seed"),
        (arlequin_river.PageHinkleyDetector, {"threshold": 0}, "page_hinkley: parameter threshold"),
        (arlequin_river.PageHinkleyDetector, {"delta": -0.1}, "page_hinkley: parameter delta"),
        (arlequin_river.PageHinkleyDetector, {"alpha": 1.5}, "page_hinkley: parameter alpha"),
        (arlequin_river.PageHinkleyDetector, {"mode": "sideways"}, "page_hinkley: parameter mode must be one of"),
        (arlequin_river.PageHinkleyDetector, {"min_instances": 0}, "page_hinkley: parameter min_instances"),
        (arlequin_river.DdmDetector, {"drift_threshold": 1.0}, "drift_threshold must be >= warning_threshold"),
        (arlequin_river.DdmDetector, {"warm_start": 0}, "ddm: parameter warm_start"),
        (arlequin_river.EddmDetector, {"alpha": 0.5, "beta": 0.6}, "eddm: parameter alpha must be >= beta"),
        (arlequin_river.EddmDetector, {"beta": 1.0}, "eddm: parameter beta"),
        (arlequin_river.HddmADetector, {"drift_confidence": 0.1}, "warning_confidence must be >= drift_confidence"),
        (arlequin_river.HddmADetector, {"two_sided_test": 1}, "hddm_a: parameter two_sided_test must be true or false"),
        (arlequin_river.HddmWDetector, {"lambda_val": 0.0}, "hddm_w: parameter lambda_val"),
        (arlequin_river.HddmWDetector, {"warning_confidence": 2}, "hddm_w: parameter warning_confidence"),
    ],
)
def test_invalid_parameters_raise_value_error_naming_detector_and_parameter(
    cls: type, params: dict, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        cls(**params)


@pytest.mark.parametrize("cls", ALL_DETECTORS, ids=lambda c: c.info.name)
def test_unknown_parameter_is_refused(cls: type) -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
        cls(bogus=1)


@pytest.mark.parametrize("cls", ALL_DETECTORS, ids=lambda c: c.info.name)
def test_parameters_round_trip_through_params(cls: type) -> None:
    detector = cls()
    assert cls(**detector.params).params == detector.params
    assert repr(detector).startswith(type(detector).__name__ + "(")
