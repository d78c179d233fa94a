"""The one delivery mechanism every external sink shares (Jenkins, webhook, yours).

A :class:`DeliveringSink` splits "an event arrived" from "deliver it":

1. The event hook (run by the bus in the sink's lane) only *records* the event in
   the ledger (:mod:`arlequin_core.sinks.store`) under its dedupe key and wakes
   the sink's worker. A second event for the same batch is refused there, also
   after a restart. Recording first means nothing is lost if the process dies.
2. The worker thread delivers, one delivery at a time. When it is free (the last
   delivery settled, e.g. its Jenkins build finished, and the cooldown is over)
   it claims *everything* pending and sends it as one delivery (``coalesce``), or
   one letter per delivery for targets that take one event at a time. A drift
   storm therefore causes one build, then one more for what arrived meanwhile.
3. :meth:`DeliveringSink.send` is one attempt; it is retried with exponential
   backoff (capped at ``backoff_max``) and jitter while the error is retryable, for
   up to ``retry_for`` seconds (and ``max_attempts``, if set). Letters that arrive
   meanwhile join the delivery at the next attempt, so an outage of the target ends
   in one delivery. Past the deadline the letters become dead letters and a
   ``sink-failed`` event is published per letter; ``arlequin sinks replay`` sends
   them again later. A restart during an outage sends them again: no request of
   theirs reached the target (``in_doubt``).
4. Once the target accepted a delivery, the acceptance (its receipt: Jenkins'
   queue item) is written to the ledger (``accepted``) before anything else; a
   restart resumes from there. :meth:`DeliveringSink.confirm` may complete the
   receipt (Jenkins: wait for the queue item to become build #N), a
   ``sink-delivered`` event is published per letter, and
   :meth:`DeliveringSink.settle` may wait until the target is done (Jenkins:
   follow the build and publish ``build-finished``) before the next delivery.

Subclasses set ``name`` and ``settings_model`` and implement :meth:`send`; they add
``@hookimpl`` event methods that call :meth:`submit`.
"""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, ClassVar

from arlequin_core.config import validate_section
from arlequin_core.events import Event, SinkDelivered, SinkFailed, new_id
from arlequin_core.logs import get_logger
from arlequin_core.sinks.base import Sink
from arlequin_core.sinks.retry import DeliveryError, DeliveryInterrupted, retry
from arlequin_core.sinks.settings import SinkSettings
from arlequin_core.sinks.store import STORE_NAME, DeliveryStore, Letter, dedupe_key

log = get_logger(__name__)


@dataclass
class Receipt:
    """What a successful delivery reached.

    :param target: where it went (a Jenkins queue item or build URL, a webhook URL).
    :param detail: JSON-ready facts for the ``sink-delivered`` event (build number, status, ...).
    """

    target: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class FlushResult:
    """What :meth:`DeliveringSink.flush` did: letters delivered, and letters now dead."""

    delivered: int = 0
    failed: int = 0
    deliveries: int = 0


class DeliveringSink(Sink):
    """Base class of sinks that deliver events to an external target.

    :param config: the ``[sinks.<name>]`` table (a dict), or validated settings.
    :param app: the running :class:`arlequin_core.app.App` (home, bus, config).
    :raises arlequin_core.errors.ConfigError: the table is invalid (names the key).
    """

    #: The pydantic model of this sink's ``[sinks.<name>]`` table.
    settings_model: ClassVar[type[SinkSettings]] = SinkSettings
    #: Whether several letters may go out as one delivery (see ``coalesce``).
    can_coalesce: ClassVar[bool] = True
    #: What :meth:`activity` says while a delivery is under way.
    busy_word: ClassVar[str] = "delivering"

    def __init__(self, config: Any = None, app: Any = None) -> None:
        if app is None:
            raise ValueError(f"sink {self.name!r} needs the running app (for its home and bus)")
        super().__init__(config, app)
        self.settings = self.validate_settings(config, app)
        self.store = DeliveryStore(app.home / STORE_NAME)
        self.backoff = self.settings.backoff()
        #: Whether :meth:`settle` runs after deliveries (replay may turn it off).
        self.settling = True
        self.log = log.bind(sink=self.name)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._busy = False
        self._recover()

    @classmethod
    def validate_settings(cls, config: Any, app: Any) -> SinkSettings:
        """Validate the ``[sinks.<name>]`` table with :func:`~arlequin_core.config.validate_section`."""
        if isinstance(config, cls.settings_model):
            return config
        source = getattr(getattr(app, "config", None), "source_path", None)
        where = str(source) if source else "(config)"
        return validate_section(cls.settings_model, dict(config or {}), where, f"sinks.{cls.name}")

    # ------------------------------------------------------------------ subclass API
    def send(self, letters: list[Letter]) -> Receipt:
        """Make one delivery attempt of ``letters`` (oldest first; the last is the newest).

        :raises DeliveryError: the attempt failed; ``retryable`` says whether to try again.
        """
        raise NotImplementedError

    def confirm(self, receipt: Receipt, letters: list[Letter]) -> Receipt:
        """Complete a successful delivery's receipt (not retried as a whole).

        :raises DeliveryError: the target accepted the delivery and then dropped it
            (a cancelled Jenkins queue item): the letters become dead letters.
        """
        return receipt

    def settle(self, receipt: Receipt, letters: list[Letter]) -> None:
        """Wait until the target is done with a delivery; the next one waits for this.

        Must return promptly once :attr:`stopping` is set.
        """

    def interrupt(self) -> None:
        """Abort the delivery in flight, if it can be (called by :meth:`close`, every 0.5 s until
        the worker ends or the timeout passes). Default: nothing, the worker finishes its request.

        A :meth:`send` that fails because of it should raise :class:`DeliveryInterrupted`
        (its letters go back to pending, for the next start), not a :class:`DeliveryError`.
        """

    def accepts(self, event: Event) -> bool:
        """Whether this sink delivers ``event`` at all (default: every event it is given)."""
        return True

    @property
    def stopping(self) -> threading.Event:
        """Set when the sink is closing: long waits in subclasses wait on it."""
        return self._stop

    # ------------------------------------------------------------------ intake
    def submit(self, event: Event) -> bool:
        """Record ``event`` for delivery; False when it is not accepted or a duplicate.

        Call this from the sink's ``arlequin_on_*`` hooks. It returns at once.
        """
        if not self.accepts(event):
            return False
        if not self.store.record(self.name, event):
            self.log.info("sink_duplicate_ignored", key=dedupe_key(event), event_id=event.event_id)
            return False
        self.log.info("sink_event_recorded", key=dedupe_key(event), event_id=event.event_id)
        self._wake.set()
        return True

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start the delivery thread (idempotent)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name=f"arlequin-sink-{self.name}", daemon=True)
        self._thread.start()

    def close(self, timeout: float | None = 10.0) -> None:
        """Stop the delivery thread: retry waits and polls end at once; pending letters stay pending.

        :param timeout: seconds to wait for an HTTP request in flight (bounded by its own timeouts).
        """
        self._stop.set()
        self._wake.set()
        if self._thread is None:
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._thread.is_alive():
            try:
                self.interrupt()
            except Exception as exc:  # closing goes on: the join below still bounds the wait
                self.log.warning("sink_interrupt_failed", error=f"{type(exc).__name__}: {exc}")
            left = 0.5 if deadline is None else min(0.5, deadline - time.monotonic())
            if left <= 0:
                break
            self._thread.join(left)
        if self._thread.is_alive():
            self.log.warning("sink_thread_still_running", seconds=timeout)

    def flush(self, ignore_cooldown: bool = False, keys: list[str] | None = None) -> FlushResult:
        """Deliver what is pending now, in the calling thread (``arlequin sinks replay``, tests).

        :param ignore_cooldown: deliver even within the cooldown (an operator asked).
        :param keys: only these letters (default: everything pending for this sink).
        """
        result = FlushResult()
        if not self._stop.is_set():
            self._resume_accepted(result)
        while not self._stop.is_set() and self.store.has_pending(self.name, keys):
            if not ignore_cooldown:
                wait = self.cooldown_remaining()
                if wait > 0 and self._stop.wait(wait):
                    break
            if not self._cycle(result, keys):
                break
        return result

    def activity(self) -> str | None:
        """What the sink is doing now, for the daemon's heartbeat; None when idle."""
        if self._busy:
            return self.busy_word
        if not self.store.has_pending(self.name):
            return None
        wait = self.cooldown_remaining()
        return f"cooldown, {wait:.0f} s left" if wait > 0 else "starting"

    def cooldown_remaining(self) -> float:
        """Seconds until the cooldown after the last settled delivery ends (0: none)."""
        if self.settings.cooldown <= 0:
            return 0.0
        settled = self.store.settled_at(self.name)
        if settled is None:
            return 0.0
        return max(0.0, settled + self.settings.cooldown - time.time())

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                wait = self.cooldown_remaining()
                if wait > 0:
                    self._stop.wait(wait)
                    continue
                self._wake.clear()
                if not self._cycle(FlushResult()):
                    self._wake.wait(self.settings.idle_poll)
            except Exception as exc:  # the worker must outlive any bug in one delivery
                self.log.error(
                    "sink_worker_error", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc()
                )
                self._stop.wait(self.settings.idle_poll)

    # ------------------------------------------------------------------ one delivery
    def _cycle(self, result: FlushResult, only: list[str] | None = None) -> bool:
        """Claim what is pending and deliver it once; False when nothing was pending."""
        if self._resume_accepted(result):
            return True
        coalescing = self.settings.coalesce and self.can_coalesce
        letters = self.store.claim(self.name, limit=None if coalescing else 1, keys=only)
        if not letters:
            return False
        self._busy = True
        try:
            return self._deliver(letters, result, coalescing, only)
        finally:
            self._busy = False

    def _deliver(self, letters: list[Letter], result: FlushResult, coalescing: bool, only: list[str] | None) -> bool:
        delivery_id = new_id()
        bound = self.log.bind(delivery_id=delivery_id)
        if len(letters) > 1:
            bound.info("sink_coalesced", letters=len(letters), keys=[letter.key for letter in letters])

        def attempt() -> Receipt:
            if coalescing and attempts[0] > 0:
                # What piled up while the target was down goes out with this attempt: one
                # delivery (one build) after the outage, not one per letter.
                more = self.store.claim(self.name, keys=only)
                if more:
                    letters.extend(more)
                    bound.info("sink_coalesced", letters=len(letters), keys=[letter.key for letter in letters])
            attempts[0] += 1
            keys = [letter.key for letter in letters]
            self.store.bump_attempts(self.name, keys)
            self.store.set_in_doubt(self.name, keys, True)
            try:
                return self.send(letters)
            except DeliveryError as exc:
                if not exc.in_doubt:
                    self.store.set_in_doubt(self.name, keys, False)
                raise

        attempts = [0]
        try:
            receipt = retry(attempt, self.backoff, self._stop, what=f"sink {self.name}")
        except DeliveryInterrupted:
            self.store.release(self.name, [letter.key for letter in letters])
            bound.info("sink_delivery_interrupted")
            return True
        except DeliveryError as exc:
            self._fail(letters, exc.message, exc.retryable, result)
            return True
        except Exception as exc:
            bound.error("sink_send_crashed", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
            error = f"internal error in sink {self.name} ({type(exc).__name__}: {exc}); it may or may not have reached"
            self._fail(letters, error + " the target", True, result)
            return True
        # Durable before following it: a crash from here on resumes following, never resends.
        self.store.mark_accepted(
            self.name, [letter.key for letter in letters], delivery_id, receipt.target, receipt.detail
        )
        self._complete(letters, receipt, delivery_id, result)
        return True

    def _resume_accepted(self, result: FlushResult) -> bool:
        """Follow the deliveries a crashed process had sent but not finished following; True if any."""
        deliveries = self.store.resume_accepted(self.name)
        for letters in deliveries:
            first = letters[0]
            receipt = Receipt(target=first.target or "", detail=dict(first.detail))
            delivery_id = first.delivery_id or new_id()
            self.log.warning(
                "sink_delivery_resumed",
                delivery_id=delivery_id,
                keys=[letter.key for letter in letters],
                target=receipt.target,
                hint="accepted by the target before the restart: followed, not sent again",
            )
            self._complete(letters, receipt, delivery_id, result)
        return bool(deliveries)

    def _complete(self, letters: list[Letter], receipt: Receipt, delivery_id: str, result: FlushResult) -> None:
        """Confirm an accepted delivery, record and announce it, then let it settle."""
        keys = [letter.key for letter in letters]
        bound = self.log.bind(delivery_id=delivery_id, keys=keys)
        try:
            receipt = self.confirm(receipt, letters)
        except DeliveryError as exc:  # the target accepted it, then dropped it
            self._fail(letters, exc.message, exc.retryable, result)
            return
        except Exception as exc:  # sent already: never re-send because confirming broke
            bound.error("sink_confirm_failed", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
        self.store.mark_delivered(self.name, keys, delivery_id, receipt.target, receipt.detail)
        result.delivered += len(letters)
        result.deliveries += 1
        bound.info("sink_delivered", target=receipt.target, detail=receipt.detail)
        batch_ids = [letter.batch_id for letter in letters if letter.batch_id]
        for letter in letters:
            detail = {**receipt.detail, "delivery_id": delivery_id}
            if len(letters) > 1:
                detail["coalesced_batch_ids"] = batch_ids
            self.publish(
                SinkDelivered(
                    sink=self.name,
                    target=receipt.target,
                    detail=detail,
                    batch_id=letter.batch_id,
                    cause_event_id=letter.event.event_id,
                )
            )
        if self.settling:
            try:
                self.settle(receipt, letters)
            except Exception as exc:
                bound.error(
                    "sink_settle_failed", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc()
                )
        self.store.set_settled(self.name)

    def _fail(self, letters: list[Letter], error: str, retryable: bool, result: FlushResult) -> None:
        keys = [letter.key for letter in letters]
        self.store.mark_dead(self.name, keys, error, retryable)
        result.failed += len(letters)
        self.log.error("sink_delivery_failed", keys=keys, error=error, retryable=retryable)
        for letter in letters:
            self.publish(
                SinkFailed(
                    sink=self.name,
                    error=error,
                    retryable=retryable,
                    batch_id=letter.batch_id,
                    cause_event_id=letter.event.event_id,
                )
            )

    def _recover(self) -> None:
        for letter in self.store.recover(self.name):
            self.log.error("sink_delivery_interrupted_by_crash", key=letter.key, error=letter.error)
            self.publish(
                SinkFailed(
                    sink=self.name,
                    error=letter.error or "interrupted",
                    retryable=True,
                    batch_id=letter.batch_id,
                    cause_event_id=letter.event.event_id,
                )
            )

    def publish(self, event: Event) -> None:
        """Publish ``event`` on the app's bus (journalled first); a closed bus is logged, not raised."""
        from arlequin_core.bus import BusClosedError

        try:
            self.app.bus.publish(event)
        except BusClosedError:
            self.log.warning("sink_event_not_published", event=event.name, event_id=event.event_id)
