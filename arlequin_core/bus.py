"""The event bus: journal first, then deliver through bounded queues.

:meth:`Bus.publish` appends the event to the journal (so nothing is lost) and puts
it on one bounded queue per plugin that implements the event's hook
(``arlequin_on_<name>``) or the every-event hook (:data:`EVERY_EVENT_HOOK`): a *lane*. Each
lane has its own worker thread, so a slow consumer (training) holds back neither the
producers nor the other plugins. When a lane's queue is full, ``publish`` blocks
until there is room: back-pressure, never a dropped event.

A hook that raises is logged and journalled as a ``plugin-failed`` event (which is
itself delivered); the other plugins still receive the event.
"""

from __future__ import annotations

import queue
import threading
import traceback
from typing import Any

import pluggy

from arlequin_core.events import Event, PluginFailed
from arlequin_core.journal import Journal
from arlequin_core.logs import get_logger
from arlequin_core.plugins import call_impl

log = get_logger(__name__)

_STOP = object()

#: The hook that receives every event, whatever its name.
EVERY_EVENT_HOOK = "arlequin_on_event"


class BusClosedError(RuntimeError):
    """The bus was closed; nothing more can be published."""


class _Lane:
    """One plugin's bounded queue and the worker thread that drains it."""

    def __init__(self, bus: Bus, plugin_name: str, maxsize: int) -> None:
        self.bus = bus
        self.plugin_name = plugin_name
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=maxsize)
        self.thread = threading.Thread(target=self._run, name=f"arlequin-lane-{plugin_name}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            try:
                if item is _STOP:
                    return
                hook, impl, event = item
                self.bus._deliver(hook, impl, event)
            finally:
                self.queue.task_done()


class Bus:
    """Deliver events to the ``arlequin_on_*`` hooks of every registered plugin.

    :param pm: the plugin manager whose hooks receive events.
    :param journal: where every published event is appended first (optional).
    :param maxsize: capacity of each plugin's queue; ``publish`` blocks when full.
    """

    def __init__(self, pm: pluggy.PluginManager, journal: Journal | None = None, maxsize: int = 1000) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be >= 1, got {maxsize}")
        self.pm = pm
        self.journal = journal
        self.maxsize = maxsize
        self._lanes: dict[str, _Lane] = {}
        self._lock = threading.Lock()
        self._closed = False

    def publish(self, event: Event, timeout: float | None = None) -> None:
        """Journal ``event`` and queue it for every plugin implementing its hook.

        :param timeout: seconds to wait for room in a full queue (None: wait forever).
        :raises queue.Full: no room after ``timeout``; the event is journalled already.
        :raises BusClosedError: after :meth:`close`.
        """
        if self._closed:
            raise BusClosedError(f"bus is closed; cannot publish {event.name} {event.event_id}")
        if self.journal is not None:
            self.journal.append(event)
        self._dispatch(event, timeout=timeout)

    def _dispatch(self, event: Event, timeout: float | None = None) -> None:
        typed = getattr(self.pm.hook, event.hook_name(), None)
        if typed is None:  # no typed hookspec for this event: only arlequin_on_event gets it
            log.debug("event_without_typed_hook", event_name=event.name)
        # The typed hook first, then the every-event hook; pluggy calls the last
        # registered first, keep that order across lanes.
        for caller in (typed, getattr(self.pm.hook, EVERY_EVENT_HOOK, None)):
            if caller is None:
                continue
            for impl in reversed(caller.get_hookimpls()):
                self._lane(impl.plugin_name).queue.put((caller.name, impl, event), timeout=timeout)

    def _lane(self, plugin_name: str) -> _Lane:
        with self._lock:
            lane = self._lanes.get(plugin_name)
            if lane is None:
                lane = self._lanes[plugin_name] = _Lane(self, plugin_name, self.maxsize)
            return lane

    def _deliver(self, hook: str, impl: Any, event: Event) -> None:
        try:
            call_impl(self.pm, hook, impl, event=event)
        except Exception as exc:
            log.error(
                "plugin_hook_failed",
                plugin=impl.plugin_name,
                hook=hook,
                event_id=event.event_id,
                error=f"{type(exc).__name__}: {exc}",
                traceback=traceback.format_exc(),
            )
            if isinstance(event, PluginFailed) or self._closed:
                return  # never loop on failures of failure handlers
            failure = PluginFailed(
                plugin=impl.plugin_name,
                hook=hook,
                error=f"{type(exc).__name__}: {exc}",
                failed_event_id=event.event_id,
                batch_id=event.batch_id,
            )
            try:
                self.publish(failure, timeout=0)
            except queue.Full:
                # The failure is journalled already; a full lane must not deadlock a worker.
                log.warning("plugin_failed_not_delivered", plugin=impl.plugin_name, event_id=failure.event_id)

    def join(self) -> None:
        """Wait until every queued event has been delivered (including events they cause)."""
        while True:
            with self._lock:
                lanes = list(self._lanes.values())
            for lane in lanes:
                lane.queue.join()
            if all(lane.queue.unfinished_tasks == 0 for lane in lanes) and len(self._lanes) == len(lanes):
                return

    def close(self, timeout: float | None = 30.0) -> None:
        """Deliver what is queued, stop the workers, and refuse further events."""
        if self._closed:
            return
        self.join()
        self._closed = True
        with self._lock:
            lanes = list(self._lanes.values())
        for lane in lanes:
            lane.queue.put(_STOP)
        for lane in lanes:
            lane.thread.join(timeout)

    def __enter__(self) -> Bus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
