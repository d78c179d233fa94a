"""Hook implementations of the ``log`` plugin: one log line per event, on ``arlequin_on_event``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from arlequin_core import hookimpl
from arlequin_core.logs import get_logger

if TYPE_CHECKING:  # events are handed in; importing their module would cost every command's start-up
    from arlequin_core.events import Event

log = get_logger("arlequin.events")

# Fields that are noise on a console line; the journal keeps them all.
_QUIET = {"name", "created_at", "cause_event_id"}

#: Event name -> log level; every other event logs at ``info``.
LEVELS = {
    "drift-detected": "warning",
    "batch-rejected": "warning",
    "data-quality-failed": "warning",
    "sink-failed": "error",
    "plugin-failed": "error",
}


@hookimpl
def arlequin_on_event(event: Event) -> None:
    """Log ``event`` under its name with its non-empty fields (level by :data:`LEVELS`)."""
    fields = {k: v for k, v in event.to_dict().items() if k not in _QUIET and v not in (None, "", (), [], {})}
    getattr(log, LEVELS.get(event.name, "info"))(event.name, **fields)
