"""Events: small frozen dataclasses, each with a stable ``name``.

Every event carries an ``event_id`` and a UTC ``created_at`` timestamp, plus the ids
that tie it to the rest of the story (``batch_id``, ``run_id``, ``model_name`` and
``model_version``, ``cause_event_id``). Events are JSON-serialisable and round-trip::

    >>> e = DataArrived(batch_id="b1", uri="file:///data/b1.parquet", source="local")
    >>> event_from_json(e.to_json()) == e
    True

Each event is delivered to the hook ``arlequin_on_<name with - as _>``: a
``drift-detected`` event goes to ``arlequin_on_drift_detected``.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from dataclasses import dataclass, field
from typing import Any, ClassVar

from arlequin_core.clock import utc_now

__all__ = [
    "EVENT_TYPES",
    "BatchChecked",
    "BatchRejected",
    "BuildFinished",
    "DataArrived",
    "DataQualityFailed",
    "DriftDetected",
    "Event",
    "ModelRegistered",
    "PluginFailed",
    "SinkDelivered",
    "SinkFailed",
    "event_from_dict",
    "event_from_json",
    "new_id",
    "utc_now",
]


def new_id() -> str:
    """A fresh random id (32 hex characters)."""
    return uuid.uuid4().hex


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of all events. Subclasses set the class attribute ``name``."""

    name: ClassVar[str] = ""

    event_id: str = field(default_factory=new_id)
    created_at: str = field(default_factory=utc_now)
    batch_id: str | None = None
    #: The event that caused this one (a drift-detected event for a retrain, ...).
    cause_event_id: str | None = None

    @classmethod
    def hook_name(cls) -> str:
        """Name of the hook this event is delivered to."""
        return "arlequin_on_" + cls.name.replace("-", "_")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``name`` comes first so journal lines read well."""
        return {"name": self.name, **dataclasses.asdict(self)}

    def to_json(self) -> str:
        """One line of JSON (no newline inside)."""
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=False, default=str)


@dataclass(frozen=True, kw_only=True)
class DataArrived(Event):
    """A complete batch landed and is ready to be read."""

    name: ClassVar[str] = "data-arrived"
    uri: str
    source: str = ""
    size_bytes: int | None = None


@dataclass(frozen=True, kw_only=True)
class BatchChecked(Event):
    """A batch was tested for drift; emitted for every checked batch, drifted or not."""

    name: ClassVar[str] = "batch-checked"
    uri: str
    drifted: bool
    drift_share: float = 0.0
    drifted_columns: tuple[str, ...] = ()
    report_uri: str | None = None
    model_name: str | None = None
    model_version: str | None = None
    rows: int | None = None
    #: Data-quality findings (one sentence each); a batch with any is never trained on.
    quality: tuple[str, ...] = ()
    #: The column tests' verdict alone (``drifted`` also weighs the estimated performance).
    columns_drifted: bool | None = None
    #: The champion's estimated metrics on the batch (CBPE), when computed.
    estimated_performance: dict[str, float] | None = None
    #: Whether ``[drift] performance_drop`` says the performance dropped (None: not judged).
    performance_dropped: bool | None = None


@dataclass(frozen=True, kw_only=True)
class DriftDetected(Event):
    """The drift policy judged a batch drifted; sinks react to this one."""

    name: ClassVar[str] = "drift-detected"
    uri: str
    reason: str
    drift_share: float
    drifted_columns: tuple[str, ...] = ()
    report_uri: str | None = None
    model_name: str | None = None
    model_version: str | None = None


@dataclass(frozen=True, kw_only=True)
class DataQualityFailed(Event):
    """A batch failed basic data-quality checks (a column all missing or non-finite, a
    constant where the reference varies, far fewer rows than usual).

    Published before its ``batch-checked``. The batch is never used for training;
    ``counts_as_drift`` says whether ``[drift] quality_is_drift`` lets it count as drift.
    """

    name: ClassVar[str] = "data-quality-failed"
    uri: str
    findings: tuple[str, ...]
    rules: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    counts_as_drift: bool = False
    report_uri: str | None = None
    model_name: str | None = None
    model_version: str | None = None


@dataclass(frozen=True, kw_only=True)
class BatchRejected(Event):
    """A batch could not be processed (unreadable, truncated, wrong schema, empty).

    The batch stays where it is; ``arlequin retry BATCH`` processes it again.
    """

    name: ClassVar[str] = "batch-rejected"
    uri: str
    reason: str
    error_type: str = ""


@dataclass(frozen=True, kw_only=True)
class ModelRegistered(Event):
    """A model version was registered; ``promoted`` says whether it became champion."""

    name: ClassVar[str] = "model-registered"
    model_name: str
    model_version: str
    run_id: str
    promoted: bool
    reason: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    #: The challenger/champion verdict: metric, rule, method, difference, interval
    #: (``low``, ``high``), ``p_value``, ``passed`` (empty for hand promotions and rollbacks).
    validation: dict[str, Any] = field(default_factory=dict)
    batch_ids: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class SinkDelivered(Event):
    """A sink delivered an event to its target (a Jenkins build, a webhook, ...)."""

    name: ClassVar[str] = "sink-delivered"
    sink: str
    target: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class SinkFailed(Event):
    """A sink gave up on a delivery after its retries; it sits in the dead-letter store."""

    name: ClassVar[str] = "sink-failed"
    sink: str
    error: str
    retryable: bool = True


@dataclass(frozen=True, kw_only=True)
class BuildFinished(Event):
    """An external build (a Jenkins retraining job) finished with ``result``."""

    name: ClassVar[str] = "build-finished"
    sink: str
    build_url: str
    result: str
    build_number: int | None = None


@dataclass(frozen=True, kw_only=True)
class PluginFailed(Event):
    """A plugin raised while handling an event; the others still received it."""

    name: ClassVar[str] = "plugin-failed"
    plugin: str
    hook: str
    error: str
    failed_event_id: str | None = None


EVENT_TYPES: dict[str, type[Event]] = {
    cls.name: cls
    for cls in (
        DataArrived,
        BatchChecked,
        DriftDetected,
        DataQualityFailed,
        BatchRejected,
        ModelRegistered,
        SinkDelivered,
        SinkFailed,
        BuildFinished,
        PluginFailed,
    )
}


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from :meth:`Event.to_dict` output.

    :raises ValueError: the ``name`` is unknown or a field is missing or unexpected.
    """
    data = dict(data)
    name = data.pop("name", None)
    cls = EVENT_TYPES.get(name)  # type: ignore[arg-type]
    if cls is None:
        raise ValueError(f"unknown event name {name!r}; known: {', '.join(sorted(EVENT_TYPES))}")
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            value = data.pop(f.name)
            # JSON has no tuples: restore the declared tuple fields.
            if isinstance(value, list) and str(f.type).startswith("tuple"):
                value = tuple(value)
            kwargs[f.name] = value
    if data:
        raise ValueError(f"event {name!r} has unexpected fields: {', '.join(sorted(data))}")
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ValueError(f"event {name!r}: {exc}") from None


def event_from_json(line: str) -> Event:
    """Rebuild an event from one JSON line."""
    return event_from_dict(json.loads(line))
