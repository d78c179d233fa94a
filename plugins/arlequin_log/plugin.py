"""Hook implementations of the ``log`` plugin."""

from __future__ import annotations

from arlequin_core import hookimpl
from arlequin_core.events import (
    BatchChecked,
    BatchRejected,
    BuildFinished,
    DataArrived,
    DriftDetected,
    Event,
    ModelRegistered,
    PluginFailed,
    SinkDelivered,
    SinkFailed,
)
from arlequin_core.logs import get_logger

log = get_logger("arlequin.events")

# Fields that are noise on a console line; the journal keeps them all.
_QUIET = {"name", "created_at", "cause_event_id"}


def _emit(event: Event, level: str = "info") -> None:
    fields = {k: v for k, v in event.to_dict().items() if k not in _QUIET and v not in (None, "", (), [], {})}
    getattr(log, level)(event.name, **fields)


@hookimpl
def arlequin_on_data_arrived(event: DataArrived) -> None:
    _emit(event)


@hookimpl
def arlequin_on_batch_checked(event: BatchChecked) -> None:
    _emit(event)


@hookimpl
def arlequin_on_drift_detected(event: DriftDetected) -> None:
    _emit(event, "warning")


@hookimpl
def arlequin_on_batch_rejected(event: BatchRejected) -> None:
    _emit(event, "warning")


@hookimpl
def arlequin_on_model_registered(event: ModelRegistered) -> None:
    _emit(event)


@hookimpl
def arlequin_on_sink_delivered(event: SinkDelivered) -> None:
    _emit(event)


@hookimpl
def arlequin_on_sink_failed(event: SinkFailed) -> None:
    _emit(event, "error")


@hookimpl
def arlequin_on_build_finished(event: BuildFinished) -> None:
    _emit(event)


@hookimpl
def arlequin_on_plugin_failed(event: PluginFailed) -> None:
    _emit(event, "error")
