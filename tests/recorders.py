"""Test plugins shared by several test folders (importable as ``recorders``)."""

from __future__ import annotations

import threading

from arlequin_core import hookimpl
from arlequin_core.events import BatchChecked, BatchRejected, DriftDetected, Event


class Recorder:
    """A plugin that keeps every verdict event it receives (batch-checked, drift-detected, batch-rejected)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.lock = threading.Lock()

    def _keep(self, event: Event) -> None:
        with self.lock:
            self.events.append(event)

    @hookimpl
    def arlequin_on_batch_checked(self, event: BatchChecked) -> None:
        self._keep(event)

    @hookimpl
    def arlequin_on_drift_detected(self, event: DriftDetected) -> None:
        self._keep(event)

    @hookimpl
    def arlequin_on_batch_rejected(self, event: BatchRejected) -> None:
        self._keep(event)
