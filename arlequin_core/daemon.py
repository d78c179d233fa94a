"""The watcher daemon: sources -> ledger -> bus (``data-arrived``) -> consumers.

::

    source threads --emit(Landed)--> ledger (seen, durable)
                                        │ dispatcher: claim -> processing
                                        v   (at most max_in_flight at a time)
                                   bus.publish(DataArrived) --> consumers (monitor)
                                        ^                          │
    LedgerPlugin: done | rejected <-----└── BatchChecked | BatchRejected

The queue between sources and consumers is the ledger's pending set: sources never
block (an inotify reader that blocks loses events when the kernel queue overflows),
nothing waits in memory, and the backlog survives a restart. (Except when the ledger
cannot write, e.g. a full disk: then a reported batch is held in memory and recorded
again every second until the ledger takes it.) Back-pressure is the
in-flight window: the dispatcher hands out at most ``[watch] max_in_flight`` batches
and waits for verdicts before handing out more; behind it, the bus's bounded lanes
make ``publish`` wait when a consumer is slow.

Consumers are plugin objects with an ``arlequin_on_data_arrived`` hook that publish
exactly one ``batch-checked`` or ``batch-rejected`` event per batch on ``app.bus``
(the drift monitor does). A consumer that raises gets its batch rejected with the
error (see :class:`arlequin_core.ledger.LedgerPlugin`).

Stopping (SIGINT/SIGTERM): sources stop, nothing new is handed out, batches in flight
get up to ``[watch] drain_timeout`` seconds for their verdicts, then the events they
caused are delivered. A batch still in flight after that stays ``processing`` on disk
and is processed again at the next start (at-least-once). A second signal stops
without waiting.
"""

from __future__ import annotations

import fcntl
import importlib
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from arlequin_core.app import App
from arlequin_core.bus import BusClosedError
from arlequin_core.errors import ArlequinError, ConfigError, UnknownComponentError
from arlequin_core.events import BatchRejected, DataArrived, utc_now
from arlequin_core.ledger import Batch, Ledger, LedgerPlugin, open_ledger
from arlequin_core.logs import get_logger
from arlequin_core.sources.base import Landed, Source, name_problem, printable_uri

log = get_logger(__name__)

LOCK_NAME = "watch.lock"
#: Seconds between attempts to record batches the ledger refused (a full disk).
_UNRECORDED_RETRY = 1.0
#: At most this many refused batches wait in memory; more are left to the next rescan.
_UNRECORDED_MAX = 100_000
LEDGER_PLUGIN = "ledger"
#: Starts the sinks of ``app`` (registered on its plugin manager) and returns them.
SinkStarter = Callable[[App], Sequence[Any]]
#: Unregisters and closes what a :data:`SinkStarter` returned.
SinkStopper = Callable[[App, Sequence[Any]], None]


class DaemonError(ArlequinError):
    """The daemon cannot start (another one runs on the same home, a source failed)."""


# --------------------------------------------------------------------------- #
# What the daemon feeds (consumers) and starts (sinks), unless told otherwise
# --------------------------------------------------------------------------- #


def default_consumers(app: App) -> list[Any]:
    """The ``data-arrived`` consumers of ``arlequin watch``.

    By default, the drift monitor, measuring each batch against the champion model's
    profile (:func:`arlequin_core.monitor.champion_profile_provider`). ``[watch]
    consumers = ["package.module:factory"]`` replaces it: ``factory(app)`` returns a
    plugin object with an ``arlequin_on_data_arrived`` hook.

    :raises ConfigError: an entry does not import.
    """
    if app.config.watch.consumers:
        return [_load_factory(spec)(app) for spec in app.config.watch.consumers]
    from arlequin_core.monitor import Monitor, champion_profile_provider

    provider = champion_profile_provider(app.config, app.profile_cache)
    return [Monitor(app.config, app.registry, app.bus, provider, model_cache=app.model_cache)]


def default_start_sinks(app: App) -> list[Any]:
    """Start the sinks enabled in config: :func:`arlequin_core.sinks.start_sinks`."""
    from arlequin_core.sinks import start_sinks

    return list(start_sinks(app))


def default_stop_sinks(app: App, sinks: Sequence[Any]) -> None:
    """Stop what :func:`default_start_sinks` started: :func:`arlequin_core.sinks.stop_sinks`."""
    from arlequin_core.sinks import stop_sinks

    stop_sinks(app, sinks)


def _load_factory(spec: str) -> Callable[[App], Any]:
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"[watch] consumers: {spec!r} is not 'package.module:factory'")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"[watch] consumers: cannot load {spec!r}: {type(exc).__name__}: {exc}") from None
    if not callable(obj):
        raise ConfigError(f"[watch] consumers: {spec!r} is not callable")
    return obj


# --------------------------------------------------------------------------- #
# Sources from config or command line
# --------------------------------------------------------------------------- #


def build_sources(app: App, targets: Sequence[str] = (), interval: float | None = None) -> list[Source]:
    """The sources to run: one per target given, else one per ``[sources.<instance>]`` table.

    A target goes to the one registered source whose
    :meth:`~arlequin_core.sources.base.Source.table_for_target` accepts it (with the
    built-in watch plugin: a URI with a scheme is polled, a plain path is watched
    with inotify). A table names its source with ``type`` (default: the instance
    name) and may set ``enabled = false``; the other keys are the source's own
    (validated by it).

    :param interval: poll interval in seconds, for sources that poll.
    :raises ConfigError: nothing to watch, a target no source (or more than one)
        handles, an unknown source type, a bad table.
    """
    sources: list[Source] = []
    if targets:
        for n, target in enumerate(targets, start=1):
            cls, table = _source_for_target(app, target, interval)
            instance = cls.name if len(targets) == 1 else f"{cls.name}-{n}"
            sources.append(cls(table, app, instance))
        return sources
    where = app.config.source_path or "(no config file)"
    for instance, raw in app.config.sources.items():
        table = dict(raw)
        kind = str(table.pop("type", instance))
        if not table.pop("enabled", True):
            continue
        try:
            cls = app.component("source", kind)
        except UnknownComponentError as exc:
            raise ConfigError(f"{where}: key sources.{instance}.type: {exc}") from None
        sources.append(cls(table, app, instance))
    if not sources:
        raise ConfigError(
            f"{where}: nothing to watch; run `arlequin watch DIR_OR_URI` or add a [sources.<name>] table "
            "(see docs/watching.md)"
        )
    return sources


def _source_for_target(app: App, target: str, interval: float | None) -> tuple[type[Source], dict[str, Any]]:
    """The registered source that handles ``target``, and its table; exactly one must."""
    claims: list[tuple[type[Source], dict[str, Any]]] = []
    for entry in app.registry.entries("source"):
        try:
            table = entry.obj.table_for_target(target, interval=interval)
        except Exception as exc:  # one broken source plugin must not hide the others
            log.error("source_target_check_failed", source=entry.name, plugin=entry.origin, error=str(exc))
            continue
        if table is not None:
            claims.append((entry.obj, dict(table)))
    if len(claims) == 1:
        return claims[0]
    hint = "name the source in a [sources.<name>] table with type = ... (see docs/watching.md)"
    if not claims:
        known = ", ".join(app.registry.names("source")) or "none"
        raise ConfigError(f"no installed source handles {target!r} (sources: {known}); {hint}")
    names = ", ".join(cls.name for cls, _ in claims)
    raise ConfigError(f"{target!r} is handled by several sources ({names}); {hint}")


# --------------------------------------------------------------------------- #
# The single-daemon lock
# --------------------------------------------------------------------------- #


class DaemonLock:
    """An exclusive ``flock`` on ``<home>/watch.lock`` holding the owner's pid.

    The kernel drops the lock when the process dies, so a crash never leaves a stale lock.
    """

    def __init__(self, home: Path) -> None:
        self.path = Path(home) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`DaemonError` naming the pid that holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            pid = self.holder()
            raise DaemonError(
                f"another arlequin watcher{f' (pid {pid})' if pid else ''} is running on {self.path.parent}; "
                "stop it first, or use another [arlequin] home"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        """Drop the lock (idempotent)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def holder(self) -> int | None:
        """The pid of the process holding the lock, or None when nobody holds it."""
        if self._fd is not None:
            return os.getpid()
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                text = os.read(fd, 32).decode(errors="replace").strip()
                return int(text) if text.isdigit() else -1
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)


# --------------------------------------------------------------------------- #
# The daemon
# --------------------------------------------------------------------------- #


class Daemon:
    """Watch sources and hand every complete batch to the consumers, once.

    :param app: the application (its bus, plugin manager, home and ``[watch]`` config).
    :param sources: sources to start (may be empty: :meth:`process` needs none).
    :param consumers: plugin objects consuming ``data-arrived``; default
        :func:`default_consumers`.
    :param start_sinks: starts the sinks at :meth:`start`; default :func:`default_start_sinks`.
    :param stop_sinks: stops them at :meth:`stop`; default :func:`default_stop_sinks`.
    :param max_in_flight: overrides ``[watch] max_in_flight``.
    :raises ConfigError: a source cannot start (see :meth:`start`).
    """

    def __init__(
        self,
        app: App,
        sources: Sequence[Source] = (),
        consumers: Sequence[Any] | None = None,
        start_sinks: SinkStarter | None = None,
        stop_sinks: SinkStopper | None = None,
        max_in_flight: int | None = None,
    ) -> None:
        self.app = app
        self.sources = list(sources)
        for source in self.sources:  # before the consumers open the bus (and its journal, in the home)
            source.check()
        self.consumers = list(consumers) if consumers is not None else default_consumers(app)
        self._start_sinks = start_sinks or default_start_sinks
        self._stop_sinks = stop_sinks or default_stop_sinks
        settings = app.config.watch
        self.max_in_flight = max_in_flight or settings.max_in_flight
        self.sweep_interval = settings.sweep_interval
        self.lock = DaemonLock(app.home)
        self.ledger: Ledger | None = None
        self._sinks: list[Any] = []
        self._plugins: list[Any] = []
        self._slots = threading.BoundedSemaphore(self.max_in_flight)
        #: batch id -> (monotonic time handed out, whether it holds a dispatcher slot)
        self._in_flight: dict[str, tuple[float, bool]] = {}
        #: Batches a source reported that the ledger could not record (disk full), by id.
        self._unrecorded: dict[str, Landed] = {}
        self._cond = threading.Condition()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._force = threading.Event()
        self._dispatcher: threading.Thread | None = None
        self._started = False
        #: Set by :meth:`stop`: every batch got its verdict and every event was delivered.
        self.drained = False
        self.heartbeat_interval = settings.heartbeat
        #: When the last batch got its verdict (ISO UTC; None: none since the ledger began).
        self.last_verdict_at: str | None = None
        self._last_activity = time.monotonic()

    # ---------------------------------------------------------------- lifecycle
    def start(self, dispatch: bool = True) -> None:
        """Lock the home, recover crashed batches, register plugins, start sinks, dispatcher, sources.

        :param dispatch: run the dispatcher (False: only :meth:`process` hands out batches).
        :raises DaemonError: another daemon holds the home, or a plugin cannot be registered.
        :raises ConfigError: a source cannot start (:meth:`Source.check
            <arlequin_core.sources.base.Source.check>`); raised before anything is created or started.
        """
        for source in self.sources:
            source.check()
        self.lock.acquire()
        try:
            self.ledger = open_ledger(self.app.home)
            done = self.ledger.batches(["done", "rejected"], limit=1)
            self.last_verdict_at = done[0].updated_at if done else None
            recovered = self.ledger.recover()
            if recovered:
                log.warning("batches_recovered", count=len(recovered), batch_ids=recovered[:20])
            self._register_plugins()
            self._sinks = list(self._start_sinks(self.app))
            self._started = True
            if dispatch:
                self._dispatcher = threading.Thread(target=self._dispatch_loop, name="arlequin-dispatcher", daemon=True)
                self._dispatcher.start()
            for source in self.sources:
                source.start(self.submit)
                log.info("watching", source=source.describe())
        except BaseException:
            self.stop(timeout=0)
            raise

    def _register_plugins(self) -> None:
        names = []
        for n, consumer in enumerate(self.consumers, start=1):
            label = getattr(consumer, "name", None) or type(consumer).__name__
            names.append(f"consumer:{label}" if len(self.consumers) == 1 else f"consumer:{label}:{n}")
        keeper = LedgerPlugin(self.ledger, consumers=names, on_finished=self._finished)  # type: ignore[arg-type]
        for name, plugin in [(LEDGER_PLUGIN, keeper), *zip(names, self.consumers, strict=True)]:
            self._plugins.append(self.app.host.add(plugin, name))

    def stop(self, timeout: float | None = None) -> list[str]:
        """Stop sources and dispatching, wait for batches in flight, stop sinks, release the home.

        Sets :attr:`drained`: True when every batch in flight got its verdict and every
        event published so far (verdicts, what they caused) was delivered in time.

        :param timeout: seconds to wait (default ``[watch] drain_timeout``).
        :returns: ids of batches still in flight: left ``processing``, so the next
            start processes them again.
        """
        if timeout is None:
            timeout = self.app.config.watch.drain_timeout
        deadline = time.monotonic() + timeout
        self._stopping.set()
        self._wake.set()
        for source in self.sources:
            try:
                source.stop()
            except Exception as exc:
                log.exception("source_stop_failed", source=source.describe(), error=str(exc))
        if self._dispatcher is not None:
            self._dispatcher.join()
            self._dispatcher = None
        leftover = self._drain(deadline)
        self.drained = not leftover and (not self._started or self._join_bus(deadline))
        try:
            self._stop_sinks(self.app, self._sinks)
        except Exception as exc:
            log.exception("sinks_stop_failed", error=str(exc))
        for consumer in self.consumers:  # e.g. the monitor's HTML renderer
            close = getattr(consumer, "close", None)
            if callable(close):
                try:
                    close()
                except Exception as exc:
                    log.exception(
                        "consumer_close_failed", consumer=getattr(consumer, "name", repr(consumer)), error=str(exc)
                    )
        self._sinks = []
        if leftover:
            log.warning("batches_left_in_flight", count=len(leftover), batch_ids=leftover)
        if self.drained:
            for plugin in self._plugins:
                self.app.host.remove(plugin)
            self._plugins = []
            if self.ledger is not None:
                self.ledger.close()
                self.ledger = None
        # else: a verdict may still come from a busy consumer; keep recording it.
        self.lock.release()
        self._started = False
        return leftover

    def _drain(self, deadline: float) -> list[str]:
        with self._cond:
            while self._in_flight and not self._force.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(min(remaining, 0.2))
            return list(self._in_flight)

    def _join_bus(self, deadline: float) -> bool:
        # Verdicts cause further events (drift -> sinks); deliver them too, within the deadline.
        joiner = threading.Thread(target=self.app.bus.join, name="arlequin-bus-join", daemon=True)
        joiner.start()
        joiner.join(max(0.0, min(deadline - time.monotonic(), 0.5)))  # a quiet bus joins at once
        while joiner.is_alive() and not self._force.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            joiner.join(min(remaining, 0.2))
        if joiner.is_alive():
            log.warning("events_left_undelivered", hint="they are in the journal; sinks can replay them")
            return False
        return True

    def run(self) -> list[str]:
        """Start, wait for SIGINT or SIGTERM, stop; a second signal stops without waiting.

        Must be called from the main thread (signal handlers).

        :returns: what :meth:`stop` returns.
        """
        stop_requested = threading.Event()
        received: list[str] = []

        def handler(signum: int, _frame: Any) -> None:
            # No logging here: the handler runs in the main thread, which may be inside a log
            # call (the heartbeat) holding the output's lock; logging again would deadlock.
            received.append(signal.Signals(signum).name)
            if stop_requested.is_set():
                self._force.set()
                with self._cond:
                    self._cond.notify_all()
                threading.Thread(target=log.warning, args=("forced_stop",), kwargs={"signal": received[-1]}).start()
                return
            stop_requested.set()

        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.start()
            log.info("watcher_started", pid=os.getpid(), home=str(self.app.home), max_in_flight=self.max_in_flight)
            self._last_activity = time.monotonic()
            while not stop_requested.wait(0.5):
                if self.heartbeat_interval and time.monotonic() - self._last_activity >= self.heartbeat_interval:
                    self.heartbeat()
            log.info("stopping", signal=received[0] if received else None, in_flight=len(self._in_flight))
            return self.stop()
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)

    def heartbeat(self) -> dict[str, Any]:
        """Log (and return) what the daemon is doing: ``[watch] heartbeat`` seconds after the last news.

        Fields: ``watching`` (the sources' targets), ``batches`` (with a verdict so far),
        ``drifted``, ``rejected``, ``pending``, ``in_flight``, ``last_batch_at`` (ISO UTC),
        and ``sinks``: what each busy sink is doing (``retraining``, ``cooldown, 12 s left``).
        """
        self._last_activity = time.monotonic()
        counts = self.ledger.counts() if self.ledger is not None else {}
        sinks: dict[str, str] = {}
        for sink in self._sinks:
            activity = getattr(sink, "activity", None)
            try:
                doing = activity() if callable(activity) else None
            except Exception as exc:  # a heartbeat must never take the daemon down
                doing = f"unknown ({type(exc).__name__})"
            if doing:
                sinks[str(getattr(sink, "name", type(sink).__name__))] = doing
        fields = {
            "watching": [str(getattr(s, "root", None) or s.describe()) for s in self.sources],
            "batches": counts.get("done", 0) + counts.get("rejected", 0),
            "drifted": counts.get("drifted", 0),
            "rejected": counts.get("rejected", 0),
            "pending": counts.get("seen", 0),
            "in_flight": self.in_flight,
            "last_batch_at": self.last_verdict_at,
            "sinks": sinks,
        }
        log.info("heartbeat", **fields)
        return fields

    # ---------------------------------------------------------------- batches
    def submit(self, landed: Landed) -> bool:
        """Record a batch a source reported (the sources' ``emit``); True when it is new."""
        ledger = self.ledger
        if ledger is None or self._stopping.is_set():
            return False
        refused = landed.refused or name_problem(landed.uri)
        try:
            new = ledger.observe(landed, refused=refused)
        except sqlite3.OperationalError as exc:  # disk full, ledger locked for too long
            self._keep_unrecorded(landed, exc)
            return False
        if new and refused is not None:
            self._refuse(landed, refused)
        elif new:
            log.debug("batch_seen", batch_id=landed.batch_id, uri=landed.uri, source=landed.source)
            self._wake.set()
        return new

    def _keep_unrecorded(self, landed: Landed, exc: Exception) -> None:
        """Hold a batch the ledger could not record; the dispatcher records it once the ledger can write."""
        with self._cond:
            first = landed.batch_id not in self._unrecorded
            if first and len(self._unrecorded) >= _UNRECORDED_MAX:
                log.error(
                    "ledger_write_failed",
                    uri=printable_uri(landed.uri),
                    error=str(exc),
                    hint=f"{_UNRECORDED_MAX} batches wait already; this one is found again by the next rescan",
                )
                return
            self._unrecorded[landed.batch_id] = landed
            waiting = len(self._unrecorded)
        if first:
            log.error(
                "ledger_write_failed",
                batch_id=landed.batch_id,
                uri=printable_uri(landed.uri),
                ledger=str(self.ledger.path) if self.ledger is not None else None,
                error=str(exc),
                waiting=waiting,
                hint=f"kept in memory and recorded again every {_UNRECORDED_RETRY:g} s (free disk space)",
            )

    def _record_unrecorded(self) -> None:
        """Try again to record the batches the ledger refused (see :meth:`_keep_unrecorded`)."""
        with self._cond:
            waiting = list(self._unrecorded.values())
        if not waiting or self.ledger is None:
            return
        recorded = 0
        for landed in waiting:
            try:
                self.ledger.observe(landed, refused=landed.refused or name_problem(landed.uri))
            except sqlite3.OperationalError:
                break  # still full: try again later, in order
            with self._cond:
                self._unrecorded.pop(landed.batch_id, None)
            recorded += 1
        if recorded:
            with self._cond:
                left = len(self._unrecorded)
            log.warning("ledger_write_recovered", recorded=recorded, still_waiting=left)
            self._wake.set()

    @property
    def unrecorded(self) -> int:
        """Batches reported by a source that the ledger could not record yet (a full disk)."""
        with self._cond:
            return len(self._unrecorded)

    def _refuse(self, landed: Landed, reason: str) -> None:
        """A batch nobody may read (its name, a link out of the tree): rejected now, with the reason."""
        uri = printable_uri(landed.uri)
        log.warning("batch_refused", batch_id=landed.batch_id, uri=uri, source=landed.source, reason=reason)
        event = BatchRejected(batch_id=landed.batch_id, uri=uri, reason=reason, error_type="InputError")
        try:
            self.app.bus.publish(event)
        except BusClosedError:
            pass  # stopping: the ledger has the rejection and its reason

    def _dispatch_loop(self) -> None:
        last_retry = 0.0
        while not self._stopping.is_set():
            if self._unrecorded and time.monotonic() - last_retry >= _UNRECORDED_RETRY:
                last_retry = time.monotonic()
                self._record_unrecorded()
            if not self._slots.acquire(timeout=0.2):
                continue  # back-pressure: max_in_flight batches await their verdicts
            self._wake.clear()
            try:
                batch = self.ledger.claim() if self.ledger is not None else None  # type: ignore[union-attr]
            except Exception as exc:
                log.exception("ledger_claim_failed", error=str(exc))
                batch = None
            if batch is None:
                self._slots.release()
                self._wake.wait(self.sweep_interval)
                continue
            try:
                self._publish(batch, slot=True)
            except Exception as exc:  # the dispatcher must outlive any one batch
                log.exception("dispatch_failed", batch_id=batch.batch_id, error=str(exc))

    def _publish(self, batch: Batch, slot: bool) -> None:
        event = DataArrived(batch_id=batch.batch_id, uri=batch.uri, source=batch.source, size_bytes=batch.size)
        with self._cond:
            self._in_flight[batch.batch_id] = (time.monotonic(), slot)
        assert self.ledger is not None
        try:
            self.ledger.note_event(batch.batch_id, event.event_id)
        except sqlite3.OperationalError as exc:  # bookkeeping only: the batch goes out all the same
            log.warning("ledger_write_failed", batch_id=batch.batch_id, error=str(exc), what="data-arrived event id")
        try:
            self.app.bus.publish(event)
        except BusClosedError:
            # Stopping under us: the batch stays processing and is recovered at the next start.
            with self._cond:
                self._in_flight.pop(batch.batch_id, None)
                self._cond.notify_all()
            if slot:
                self._slots.release()

    def _finished(self, batch_id: str, state: str) -> None:
        with self._cond:
            entry = self._in_flight.pop(batch_id, None)
            self._cond.notify_all()
        self.last_verdict_at = utc_now()
        self._last_activity = time.monotonic()
        if entry is not None:
            started, slot = entry
            log.debug("batch_finished", batch_id=batch_id, state=state, seconds=round(time.monotonic() - started, 4))
            if slot:
                self._slots.release()
            self._wake.set()

    def process(self, batch_ids: Sequence[str], timeout: float | None = None) -> list[Batch]:
        """Hand these pending batches to the consumers now and wait for their verdicts.

        Used by ``arlequin retry`` when no daemon is running. Batches that are not
        pending (``seen``) are skipped.

        :param timeout: seconds to wait (None: forever).
        :returns: the batches as the ledger has them afterwards.
        """
        if self.ledger is None:
            raise DaemonError("the daemon is not started")
        claimed = []
        for batch_id in batch_ids:
            batch = self.ledger.claim(batch_id)
            if batch is not None:
                self._publish(batch, slot=False)
                claimed.append(batch_id)
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while any(b in self._in_flight for b in claimed):
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                self._cond.wait(0.2 if remaining is None else min(remaining, 0.2))
        return [b for b in (self.ledger.get(i) for i in batch_ids) if b is not None]

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until no batch is pending or in flight; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._cond:
                busy = bool(self._in_flight)
            if not busy and self.ledger is not None:
                counts = self.ledger.counts()
                if counts["seen"] == 0 and counts["processing"] == 0:
                    return True
            time.sleep(0.02)
        return False

    @property
    def in_flight(self) -> int:
        """How many batches await their verdict."""
        with self._cond:
            return len(self._in_flight)
