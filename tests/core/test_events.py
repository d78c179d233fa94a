"""Events: names, JSON round trip, ids and UTC timestamps."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone

import pytest

from arlequin_core.events import (
    EVENT_TYPES,
    DataArrived,
    DriftDetected,
    ModelRegistered,
    event_from_dict,
    event_from_json,
)

SAMPLES = {
    "data-arrived": {"uri": "hdfs://nn/data/b1", "source": "poll", "size_bytes": 123},
    "batch-checked": {
        "uri": "u",
        "drifted": True,
        "drift_share": 0.5,
        "drifted_columns": ("a",),
        "rows": 10,
        "quality": ("column 'b': 3 infinite",),
    },
    "drift-detected": {"uri": "u", "reason": "r", "drift_share": 0.5, "drifted_columns": ("a", "b")},
    "data-quality-failed": {
        "uri": "u",
        "findings": ("column 'a': all 10 values are missing",),
        "rules": ("missing",),
        "columns": ("a",),
        "counts_as_drift": False,
    },
    "batch-rejected": {"uri": "u", "reason": "truncated", "error_type": "InputError"},
    "model-registered": {
        "model_name": "m",
        "model_version": "3",
        "run_id": "abc",
        "promoted": False,
        "metrics": {"roc_auc": 0.91},
        "batch_ids": ("b1", "b2"),
    },
    "sink-delivered": {"sink": "jenkins", "target": "http://ci/job/retrain/12/", "detail": {"number": 12}},
    "sink-failed": {"sink": "webhook", "error": "503", "retryable": True},
    "build-finished": {"sink": "jenkins", "build_url": "http://ci/job/retrain/12/", "result": "SUCCESS"},
    "plugin-failed": {"plugin": "p", "hook": "h", "error": "e", "failed_event_id": "x"},
}


def test_every_event_type_has_a_sample() -> None:
    assert set(SAMPLES) == set(EVENT_TYPES)


@pytest.mark.parametrize("name", sorted(EVENT_TYPES))
def test_json_round_trip(name: str) -> None:
    event = EVENT_TYPES[name](batch_id="b1", cause_event_id="c1", **SAMPLES[name])
    line = event.to_json()
    assert "\n" not in line
    data = json.loads(line)
    assert data["name"] == name and next(iter(data)) == "name"
    assert event_from_json(line) == event


def test_events_are_frozen_with_fresh_ids_and_utc_times() -> None:
    a, b = DataArrived(uri="u"), DataArrived(uri="u")
    assert a.event_id != b.event_id and len(a.event_id) == 32
    created = datetime.fromisoformat(a.created_at)
    assert created.tzinfo is not None and created.utcoffset() == timezone.utc.utcoffset(None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.uri = "v"  # type: ignore[misc]


def test_hook_names() -> None:
    assert DriftDetected.hook_name() == "arlequin_on_drift_detected"
    assert ModelRegistered.hook_name() == "arlequin_on_model_registered"


def test_unknown_and_malformed_events_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="unknown event name 'drift-found'; known: batch-checked"):
        event_from_dict({"name": "drift-found"})
    with pytest.raises(ValueError, match="unexpected fields: colour"):
        event_from_dict({"name": "data-arrived", "uri": "u", "colour": "red"})
    with pytest.raises(ValueError, match="event 'data-arrived'"):
        event_from_dict({"name": "data-arrived"})  # uri missing
