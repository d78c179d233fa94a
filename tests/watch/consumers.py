"""A small real consumer of ``data-arrived`` for the watcher's tests.

It stands in for the drift monitor: it reads the batch with
:func:`arlequin_core.io.read_table` (so truncated, empty, unreadable and wrong-schema
batches fail exactly as they will for the monitor) and publishes ``batch-rejected``
with the reason, or ``batch-checked`` with the row count. It tests no drift, so its
verdict is always "not drifted"; the watcher does not look at the verdict anyway.

For subprocess tests, :func:`factory` reads its settings from the environment:
``ARLEQUIN_TEST_COLUMNS`` (comma-separated required columns) and
``ARLEQUIN_TEST_SLOW`` (``name-fragment=seconds``: sleep before reading matching batches).
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from arlequin_core import hookimpl
from arlequin_core.errors import InputError
from arlequin_core.events import BatchChecked, BatchRejected, DataArrived
from arlequin_core.io import read_table


class ReadCheck:
    """Read each arriving batch; publish its verdict on ``app.bus``.

    :param columns: required columns (a batch without one is rejected).
    :param slow: ``{name fragment: seconds}``: sleep that long before reading a
        batch whose URI contains the fragment (a consumer that is busy).
    :param gate: when set, batches whose URI contains ``"gate"`` wait until it is set.
    """

    name = "readcheck"

    def __init__(
        self,
        app: Any,
        columns: list[str] | None = None,
        slow: dict[str, float] | None = None,
        gate: threading.Event | None = None,
    ) -> None:
        self.app = app
        self.columns = columns
        self.slow = slow or {}
        self.gate = gate
        self.read: list[tuple[str, int, float]] = []  # (uri, rows, monotonic time of the read)
        self.arrived: list[DataArrived] = []

    @hookimpl
    def arlequin_on_data_arrived(self, event: DataArrived) -> None:
        self.arrived.append(event)
        for fragment, seconds in self.slow.items():
            if fragment in event.uri:
                time.sleep(seconds)
        if self.gate is not None and "gate" in event.uri:
            self.gate.wait(30)
        try:
            table = read_table(event.uri, self.app.config.data.format, self.columns)
            if table.num_rows == 0:
                raise InputError(event.uri, "batch has no rows")
        except InputError as exc:
            rejected = BatchRejected(
                batch_id=event.batch_id,
                uri=event.uri,
                reason=str(exc),
                error_type=type(exc).__name__,
                cause_event_id=event.event_id,
            )
            self.app.bus.publish(rejected)
            return
        self.read.append((event.uri, table.num_rows, time.monotonic()))
        checked = BatchChecked(
            batch_id=event.batch_id,
            uri=event.uri,
            drifted=False,
            rows=table.num_rows,
            cause_event_id=event.event_id,
        )
        self.app.bus.publish(checked)


def factory(app: Any) -> ReadCheck:
    """Build a :class:`ReadCheck` from ``ARLEQUIN_TEST_COLUMNS`` and ``ARLEQUIN_TEST_SLOW``."""
    columns = [c for c in os.environ.get("ARLEQUIN_TEST_COLUMNS", "").split(",") if c] or None
    slow = {}
    for item in os.environ.get("ARLEQUIN_TEST_SLOW", "").split(","):
        if "=" in item:
            fragment, seconds = item.split("=", 1)
            slow[fragment] = float(seconds)
    return ReadCheck(app, columns=columns, slow=slow)
