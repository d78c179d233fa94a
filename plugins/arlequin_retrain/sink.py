"""The ``retrain`` sink: retrain locally when drift is detected."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from arlequin_core import hookimpl
from arlequin_core.errors import ArlequinError
from arlequin_core.events import DriftDetected, Event
from arlequin_core.ledger import QUALITY_PREFIX, open_ledger
from arlequin_core.sinks.delivering import DeliveringSink, Receipt
from arlequin_core.sinks.retry import DeliveryError, DeliveryInterrupted
from arlequin_core.sinks.settings import SinkSettings
from arlequin_core.sinks.store import Letter

#: Seconds :meth:`RetrainSink.close` waits for a retrain to unwind (a cancelled Spark job takes a few).
CLOSE_TIMEOUT = 60.0


class RetrainSettings(SinkSettings):
    """``[sinks.retrain]``: on by default; the window and cooldown come from ``[training]``."""

    enabled: bool = True
    #: Attempts per retrain; only MLflow failures are retried (the model is resumed, not retrained).
    max_attempts: int = Field(default=4, ge=1, le=100)
    backoff_initial: float = Field(default=5.0, ge=0.0)
    #: None: ``[training] cooldown``.
    cooldown: float | None = Field(default=None, ge=0.0)  # type: ignore[assignment]
    #: None: ``[training] window``. Batches to train on: the drifted ones, then the latest checked.
    window: int | None = Field(default=None, ge=1)


class RetrainSink(DeliveringSink):
    """Retrain, validate, register and promote in-process on drift (see the package docstring)."""

    name = "retrain"
    settings_model = RetrainSettings
    #: Turned on without a ``[sinks.retrain]`` table; ``enabled = false`` turns it off, and
    #: so does enabling another retraining sink (``[sinks.jenkins] enabled = true``).
    enabled_by_default: ClassVar[bool] = True
    retrains: ClassVar[bool] = True
    busy_word: ClassVar[str] = "retraining"

    def __init__(self, config: Any = None, app: Any = None) -> None:
        super().__init__(config, app)
        training = app.config.training
        if self.settings.cooldown is None:
            self.settings.cooldown = training.cooldown
        self.window = self.settings.window or training.window
        self._pending_id: str | None = None

    def accepts(self, event: Event) -> bool:
        return isinstance(event, DriftDetected)

    @hookimpl
    def arlequin_on_drift_detected(self, event: DriftDetected) -> None:
        """Record the drifted batch; the sink's worker retrains (coalescing a burst)."""
        self.submit(event)

    # ------------------------------------------------------------------ delivery
    def send(self, letters: list[Letter]) -> Receipt:
        """Retrain on the window for ``letters`` (oldest first), or say why not."""
        from arlequin_core.training.champion import champion_info

        newest: DriftDetected = letters[-1].event  # type: ignore[assignment]
        stale = self._superseded(letters, champion_info)
        if stale:
            return Receipt(target="(no retrain)", detail={"skipped": stale})
        unusable = self._failed_quality(letters)
        letters = [letter for letter in letters if letter.batch_id not in unusable]
        if not letters:
            return Receipt(
                target="(no retrain)",
                detail={"skipped": "the drifted batches failed data-quality checks: " + "; ".join(unusable.values())},
            )
        newest = letters[-1].event  # type: ignore[assignment]
        uris, batch_ids = self._window(letters)
        try:
            return self._retrain(letters, newest, uris, batch_ids)
        except DeliveryInterrupted:
            raise
        except Exception as exc:
            if self.stopping.is_set():  # close() cancelled its Spark jobs: owed, not failed
                raise DeliveryInterrupted(
                    f"sink {self.name}: stopped during the retrain ({type(exc).__name__}); it runs at the next start"
                ) from exc
            raise

    def _retrain(self, letters: list[Letter], newest: DriftDetected, uris: list[str], batch_ids: list[str]) -> Receipt:
        from arlequin_core.training.errors import TrackingError
        from arlequin_core.training.flow import resume, retrain

        try:
            if self._pending_id is not None:
                result = resume(self.app, self._pending_id)
            else:
                answers = [letter.batch_id for letter in letters if letter.batch_id]
                result = retrain(self.app, uris, cause=newest, batch_ids=batch_ids, answers=answers)
        except TrackingError as exc:
            # MLflow failed after training: keep the model and log it on the next attempt.
            self._pending_id = getattr(exc, "pending_id", None) or self._pending_id
            raise DeliveryError(str(exc), retryable=True) from exc
        except ArlequinError as exc:
            self._pending_id = None
            raise DeliveryError(str(exc), retryable=False) from exc
        self._pending_id = None
        if result.extra.get("skipped"):
            return Receipt(target="(no retrain)", detail={"skipped": result.extra["skipped"]})
        return Receipt(
            target=f"models:/{result.model_name}/{result.version}",
            detail={
                "model_version": result.version,
                "run_id": result.run_id,
                "promoted": result.promoted,
                "reason": result.reason,
                "trained_on": list(result.data_uris),
                "metrics": result.metrics,
            },
        )

    def interrupt(self) -> None:
        """Cancel the Spark jobs of a retrain in flight (a Spark trainer), so :meth:`close` returns.

        A worker thread left inside a Spark (py4j) call when the interpreter exits crashed it
        (``Fatal Python error: PyGILState_Release``); cancelled, the retrain fails at once and
        its letter goes back to pending. Other trainers are not interrupted: they finish
        within ``close``'s timeout or are abandoned, as before.
        """
        from arlequin_core.spark_session import cancel_spark_jobs

        cancel_spark_jobs()

    def close(self, timeout: float | None = CLOSE_TIMEOUT) -> None:
        """Stop the worker, cancelling a Spark retrain in flight (see :meth:`interrupt`)."""
        super().close(timeout)

    def _superseded(self, letters: list[Letter], champion_info: Any) -> str | None:
        """Why these letters need no retrain: the champion changed since their drift was measured."""
        measured = {letter.event.model_version for letter in letters}  # type: ignore[attr-defined]
        if None in measured:
            return None
        try:
            champion = champion_info(self.app.config)
        except ArlequinError:
            return None  # MLflow trouble shows up in the retrain itself
        current = champion and champion["model_version"]
        if current is None or current in measured:
            return None
        return (
            f"drift was measured against version(s) {', '.join(sorted(measured))}; "
            f"champion is now version {current}, trained since: its own checks decide"
        )

    def _failed_quality(self, letters: list[Letter]) -> dict[str, str]:
        """Batch id -> findings, for the letters whose batch failed the data-quality checks."""
        found: dict[str, str] = {}
        with open_ledger(self.app.home) as ledger:
            for letter in letters:
                batch = ledger.get(letter.batch_id) if letter.batch_id else None
                if batch is not None and (batch.reason or "").startswith(QUALITY_PREFIX):
                    found[batch.batch_id] = batch.reason or ""
        return found

    def _window(self, letters: list[Letter]) -> tuple[list[str], list[str]]:
        """The drifted batches, then the latest checked ones, up to ``window``; oldest first.

        The last batch id is the newest drifted batch: the model's lineage names it.
        """
        chosen: dict[str, str] = {}
        for letter in reversed(letters):
            event: DriftDetected = letter.event  # type: ignore[assignment]
            chosen.setdefault(event.batch_id or event.event_id, event.uri)
        with open_ledger(self.app.home) as ledger:
            for batch in ledger.batches(states=["done"], limit=self.window * 4):
                if len(chosen) >= self.window:
                    break
                if (batch.reason or "").startswith(QUALITY_PREFIX):
                    continue  # garbage never becomes training data
                chosen.setdefault(batch.batch_id, batch.uri)
        items = list(chosen.items())[: self.window]
        items.reverse()
        return [uri for _, uri in items], [batch_id for batch_id, _ in items]
