"""The retraining flow: train -> log -> register -> validate vs champion -> promote or reject -> publish.

Public API (the watcher daemon's retrain sink and the CLI call these)::

    retrain(app, data_uris, cause=None, drift_report=None) -> RetrainResult
    resume(app, pending_id) -> RetrainResult
    pending_ids(config) -> [pending id, ...]

Order of work, and why: the model is trained and everything MLflow needs is saved
under ``<home>/pending/<id>/`` first (see :mod:`arlequin_core.training.pending`);
only then is MLflow contacted, step by step (:mod:`arlequin_core.training.run_log`),
each step recorded as done. If MLflow is unreachable or fails,
:class:`~arlequin_core.training.errors.TrackingError` says so and names the pending
id; ``resume`` continues where it stopped, reusing the same run and never
registering a second version for it.

Validation scores the new version (the challenger) and the current champion on the
same rows: the held-out split of the new data, which neither model was fitted on
(:func:`arlequin_core.training.validation.judge`, the same verdict ``arlequin
validate`` gives). Operations on the registry outside a retrain (promote, rollback,
listings, the champion's profile) are in :mod:`arlequin_core.training.champion`.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arlequin_core.config import ArlequinConfig
from arlequin_core.errors import ArlequinError, InputError
from arlequin_core.events import DriftDetected, ModelRegistered, event_from_dict
from arlequin_core.logs import get_logger
from arlequin_core.performance.harm import fit_performance
from arlequin_core.progress import phase
from arlequin_core.secrets import redact
from arlequin_core.training import answers as answer_claims
from arlequin_core.training import models as reg
from arlequin_core.training import run_log
from arlequin_core.training.base import Trainer, make_trainer
from arlequin_core.training.champion import publish_registered
from arlequin_core.training.data_errors import data_error, is_data_error
from arlequin_core.training.errors import TrackingError, TrainingError
from arlequin_core.training.model_errors import heldout_errors
from arlequin_core.training.pending import Pending
from arlequin_core.training.profiles import build_profile_file
from arlequin_core.training.tracking import TAG_MAX, Tracking, clip, guard, safe_uri, short_error
from arlequin_core.training.validation import Validation, judge, record_verdict

if TYPE_CHECKING:
    from arlequin_core.app import App

log = get_logger(__name__)

#: One retrain at a time per process: they share MLflow's process-wide state and the CPU.
_RETRAIN_LOCK = threading.Lock()


@dataclass(frozen=True)
class RetrainResult:
    """What :func:`retrain` did.

    :param promoted: the new version is now ``champion``.
    :param reason: why it was (or was not) promoted.
    :param metrics: held-out metrics of the new model.
    :param event_id: id of the published ``model-registered`` event.
    """

    model_name: str
    version: str
    run_id: str
    promoted: bool
    reason: str
    metrics: dict[str, float]
    validation: dict[str, Any]
    data_uris: tuple[str, ...]
    previous_champion: str | None = None
    event_id: str | None = None
    pending_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of every field."""
        return asdict(self)


def retrain(
    app: App,
    data_uris: list[str],
    cause: DriftDetected | None = None,
    drift_report: dict[str, Any] | None = None,
    *,
    batch_ids: list[str] | None = None,
    trainer: Trainer | None = None,
    promote: bool = True,
    answers: list[str] | None = None,
) -> RetrainResult:
    """Train on ``data_uris``, log and register the model, validate it against the champion, promote or reject.

    Publishes ``model-registered`` (promoted or not) on ``app.bus``.

    :param data_uris: the batches to train on (files or Spark directories, any fsspec URI).
    :param cause: the drift event that triggered this retrain (its id is logged).
    :param drift_report: the drift report (JSON-able dict), logged as an artifact; by
        default read from ``cause.report_uri`` when the cause has one.
    :param batch_ids: ids of the batches, for lineage (default: the cause's batch id).
    :param trainer: a trainer instance to use (default: ``[training] trainer``).
    :param promote: False to register and validate only (``champion`` does not move).
    :param answers: ids of the drifted batches this retrain answers (default: the
        cause's batch). When the registry has a version answering one of them already,
        or another process sharing the registry is training for it (see
        :mod:`arlequin_core.training.answers`), nothing is trained: the result has
        ``extra["skipped"]`` saying why, and no event is published.
    :raises InputError: unreadable data or a bad label column.
    :raises TrainingError: nothing to learn from (one class, no features, ...).
    :raises TrackingError: MLflow failed; the model waits in ``<home>/pending/<id>``.
    """
    if not data_uris:
        raise InputError("--data", "no training data given")
    if drift_report is None and cause is not None and cause.report_uri:
        drift_report = _read_report(cause.report_uri)
    answering = list(answers) if answers is not None else ([cause.batch_id] if cause and cause.batch_id else [])
    with _RETRAIN_LOCK:
        tracking = Tracking.from_config(app.config)
        if answering:
            try:
                with guard(tracking, "checking who answers the drifted batches") as client:
                    other = answer_claims.claim(client, tracking.model_name, answering)
            except TrackingError as exc:
                # MLflow is down: train anyway (the model waits in pending/); the registry is
                # asked again before the model is registered.
                log.warning("retrain_claim_unchecked", batch_ids=answering, error=str(exc))
                other = None
            if other is not None:
                return _skipped(tracking, other, data_uris, answering)
        kept = False
        try:
            trainer = trainer or make_trainer(app)
            pending = _train_to_pending(app, trainer, [str(u) for u in data_uris], cause, drift_report, batch_ids)
            pending.state["answers"] = answering
            pending.save()
            try:
                return _finish(app, pending, trainer, promote=promote)
            except TrackingError:
                kept = True  # the model waits in pending/ and is resumed: keep the claim
                raise
        finally:
            if answering and not kept:
                _release_claims(tracking, answering)


def resume(app: App, pending_id: str, *, trainer: Trainer | None = None) -> RetrainResult:
    """Log, register and validate a model left in ``<home>/pending/<pending_id>`` by a failed retrain.

    :raises TrainingError: unknown pending id.
    :raises TrackingError: MLflow failed again (the pending directory stays).
    """
    with _RETRAIN_LOCK:
        pending = Pending.open(app.config.home, pending_id)
        trainer = trainer or make_trainer(app, pending.state["trainer"])
        result = _finish(app, pending, trainer, promote=pending.state.get("promote", True))
        if pending.state.get("answers"):
            _release_claims(Tracking.from_config(app.config), list(pending.state["answers"]))
        return result


def pending_ids(config: ArlequinConfig) -> list[str]:
    """Ids of trainings waiting to be logged (oldest first)."""
    return [p.id for p in Pending.all(config.home)]


def _read_report(uri: str) -> dict[str, Any] | None:
    """The drift report the monitor wrote at ``uri`` (None, logged, when it cannot be read)."""
    from arlequin_core.io import load_fsspec

    fsspec = load_fsspec()  # hdfs:// registered
    try:
        with fsspec.open(uri, "r", encoding="utf-8") as f:
            report = json.load(f)
    except (OSError, ValueError) as exc:
        log.warning("drift_report_unreadable", uri=safe_uri(uri), error=f"{type(exc).__name__}: {exc}")
        return None
    return report if isinstance(report, dict) else None


def _normalize_uri(uri: str) -> str:
    # Lineage must survive a change of working directory: make local paths absolute.
    if "://" in uri or uri.startswith("file:"):
        return uri
    return str(Path(uri).expanduser().resolve())


# --------------------------------------------------------------------------- #
# 1. Train, and keep everything MLflow will need under <home>/pending/<id>
# --------------------------------------------------------------------------- #


def _train_to_pending(
    app: App,
    trainer: Trainer,
    data_uris: list[str],
    cause: DriftDetected | None,
    drift_report: dict[str, Any] | None,
    batch_ids: list[str] | None,
) -> Pending:
    started = time.perf_counter()
    label = trainer.label  # config errors before any work
    log.info(
        "retrain_started",
        trainer=trainer.name,
        data_uris=[safe_uri(u) for u in data_uris],
        batch_ids=list(batch_ids or ()),
        cause_batch=cause.batch_id if cause is not None else None,
    )
    config, carried_from = champion_kinds(app)
    pending = Pending.create(app.config.home)  # not app.home: it would create the home before a failure
    own_config = trainer.config
    try:
        try:
            trainer.config = config  # the champion's kinds: the model and its profile keep them
            trained = trainer.train(data_uris, heldout_uri=str(pending.heldout))
        except (ValueError, TypeError) as exc:
            if not is_data_error(exc):
                raise
            # Refused before the held-out rows were written: the (local) batch itself is inspected.
            heldout = str(pending.heldout) if pending.heldout.is_file() else _local_file(data_uris)
            raise data_error(exc, [safe_uri(u) for u in data_uris], heldout, "training") from exc
        source = safe_uri(_normalize_uri(data_uris[0]))
        errors = None
        if app.config.drift.error_detector is not None:
            errors = heldout_errors(trainer, trained.model, str(pending.heldout))
        performance = None
        if app.config.drift.performance:  # calibrated on the held-out rows, to estimate it on unlabelled batches
            performance = fit_performance(
                trainer, trained.model, str(pending.heldout), seed=app.config.training.seed, task=trained.task
            )
        trained_on = {
            "batch_ids": _batch_ids(batch_ids, cause),
            "uris": [safe_uri(_normalize_uri(u)) for u in data_uris],
            "train_rows": trained.rows.get("train"),
            "heldout_rows": trained.rows.get("heldout"),
        }
        # The profile (numpy/Arrow, releases the GIL) is built while the model is serialised.
        with (
            phase("profiling the training rows, saving the model"),
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="arlequin-profile") as pool,
        ):
            profiling = pool.submit(
                build_profile_file,
                trained.reference,
                config,
                app.registry,
                pending.profile,
                source,
                errors,
                performance,
                trained_on,
            )
            trainer.save(trained.model, str(pending.model_dir), trained.example)
            # Parquet keeps the example's dtypes exactly (JSON would turn 1.0 into 1 and change the signature).
            trained.example.to_parquet(pending.example, index=False)
            has_profile = profiling.result()
        if drift_report is not None:
            pending.drift_report.write_text(json.dumps(redact(drift_report), indent=2, default=str), encoding="utf-8")
    except BaseException:
        pending.discard()
        raise
    finally:
        trainer.config = own_config
    ids = _batch_ids(batch_ids, cause)
    pending.state.update(
        trainer=trainer.name,
        flavor=trainer.flavor,
        label=label.describe(),
        data_uris=[safe_uri(_normalize_uri(u)) for u in data_uris],
        batch_ids=ids,
        cause=cause.to_dict() if cause is not None else None,
        features=trained.features.to_dict(),
        metrics=trained.metrics,
        params=trained.params,
        rows=trained.rows,
        task=trained.task,
        has_profile=has_profile,
        has_drift_report=drift_report is not None,
        kinds_from=carried_from,
        train_seconds=round(time.perf_counter() - started, 3),
    )
    pending.save()
    log.info(
        "model_trained",
        trainer=trainer.name,
        pending_id=pending.id,
        rows=trained.rows,
        metrics=trained.metrics,
        seconds=pending.state["train_seconds"],
    )
    return pending


def _batch_ids(batch_ids: list[str] | None, cause: DriftDetected | None) -> list[str]:
    return list(batch_ids) if batch_ids else ([cause.batch_id] if cause is not None and cause.batch_id else [])


def champion_kinds(app: App) -> tuple[ArlequinConfig, str | None]:
    """``app.config`` carrying the champion's column kinds (``[training] keep_kinds``), and where they came from.

    Kind inference on a new training set can decide differently (a count column with
    fewer distinct values this time becomes categorical): the champion's kinds are
    kept for the columns it tested, ``[data] numeric``/``categorical`` still win.
    Without a champion, with ``keep_kinds = false``, or when its profile cannot be
    read (logged), the kinds are inferred from the new rows.
    """
    from arlequin_core.drift.error_stream import ERROR_COLUMN
    from arlequin_core.drift.kinds import carry_kinds
    from arlequin_core.training.champion import champion_profile

    config = app.config
    if not config.training.keep_kinds:
        return config, None
    uri = Tracking.from_config(config).uri
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
        return config, None  # no store yet, so no champion: do not create one (a failed train leaves no home)
    try:
        found = champion_profile(config, getattr(app, "profile_cache", None))
    except ArlequinError as exc:
        log.warning("champion_kinds_unread", error=str(exc), hint="column kinds are inferred from the new rows")
        return config, None
    if found is None:
        return config, None
    profile, name, version = found
    kinds = {c: cp.kind for c, cp in profile.columns.items() if cp.kind in ("numeric", "categorical")}
    kinds.pop(ERROR_COLUMN, None)
    origin = f"model {name!r} version {version}"
    return carry_kinds(config, kinds, origin), origin


# --------------------------------------------------------------------------- #
# 2. MLflow, step by step: each step is skipped when the pending state says it is done
# --------------------------------------------------------------------------- #


def _finish(app: App, pending: Pending, trainer: Trainer, promote: bool) -> RetrainResult:
    config = app.config
    tracking = Tracking.from_config(config)
    pending.state["promote"] = promote
    step = "connect"
    client: Any = None
    with contextlib.ExitStack() as stack:
        try:
            with phase("connecting to MLflow"):
                client = stack.enter_context(tracking.scope())
                experiment_id = tracking.experiment_id(client)
            with phase("logging to MLflow, registering"):
                step = "run"
                run_id = run_log.ensure_run(client, experiment_id, pending)
                step = "params"
                run_log.log_params(client, run_id, pending)
                step = "artifacts"
                run_log.log_artifacts(client, run_id, pending)
                step = "model"
                run_log.log_model(run_id, trainer, pending)
                step = "register"
                if not pending.done("register"):
                    other = answer_claims.answered_by(client, tracking.model_name, pending.state.get("answers") or ())
                    if other is not None:  # answered meanwhile by a process sharing the registry
                        client.set_terminated(run_id, "KILLED")
                        pending.remove()
                        return _skipped(tracking, other, pending.state["data_uris"], pending.state["answers"])
                version = run_log.register_version(client, tracking, pending, trainer)
                answer_claims.tag_answers(client, tracking.model_name, version, pending.state.get("answers") or ())
            step = "validate"
            with phase("validating against the champion"):
                validation = _validate_pending(app, client, tracking, pending, trainer)
            log.info(
                "model_validated",
                version=str(pending.state["version"]),
                metric=validation.metric,
                challenger=validation.challenger,
                champion=validation.champion,
                champion_version=validation.champion_version,
                rows=validation.rows,
                passed=validation.passed,
            )
            step = "promote"
            promoted, previous, reason = _decide(client, tracking, pending, validation, promote)
            client.set_terminated(run_id, "FINISHED")
        except TrackingError as exc:
            _mark_failed(pending)
            raise TrackingError(f"{exc}; {_resume_hint(pending)}", pending.id) from None
        except ArlequinError as exc:
            # Not MLflow's fault (e.g. the champion's trainer is not installed): fix it, then resume.
            _mark_failed(pending)
            raise TrainingError(f"{exc}; {_resume_hint(pending)}") from exc
        except Exception as exc:
            if is_data_error(exc):
                # The data's fault (an estimator refused it): no resume can help.
                uris = pending.state.get("data_uris") or ()
                error = data_error(exc, uris, str(pending.heldout), _DATA_STEP.get(step, ""))
                _reject_for_data(client, tracking, pending, str(error))
                log.error("retrain_data_error", step=step, pending_id=pending.id, error=str(error))
                pending.remove()
                raise error from exc
            _mark_failed(pending)
            log.error("mlflow_failed", step=step, pending_id=pending.id, error=f"{type(exc).__name__}: {exc}")
            raise TrackingError(
                f"MLflow at {tracking.shown} failed while {_STEP_WORDS.get(step, step)}: "
                f"{type(exc).__name__}: {short_error(exc)}; {_resume_hint(pending)}",
                pending.id,
            ) from exc
    result = RetrainResult(
        model_name=tracking.model_name,
        version=version,
        run_id=run_id,
        promoted=promoted,
        reason=reason,
        metrics=dict(pending.state["metrics"]),
        validation=validation.to_dict(),
        data_uris=tuple(pending.state["data_uris"]),
        previous_champion=previous,
        pending_id=pending.id,
    )
    event = _publish(app, result, pending)
    pending.remove()
    log.info(
        "model_registered",
        model=result.model_name,
        version=version,
        run_id=run_id,
        promoted=promoted,
        reason=reason,
    )
    return RetrainResult(**{**result.to_dict(), "event_id": event.event_id if event else None})


# --------------------------------------------------------------------------- #
# 3. Validate against the champion, decide, publish
# --------------------------------------------------------------------------- #


def _validate_pending(app: App, client: Any, tracking: Tracking, pending: Pending, trainer: Trainer) -> Validation:
    """The new version against the champion, both scored row by row on the new data's held-out rows."""
    if pending.done("validate"):
        return Validation(**pending.state["validation"])
    heldout = [str(pending.heldout)]
    scored = trainer.score(trainer.load(str(pending.model_dir)), heldout, where="held-out rows")
    validation, scores = judge(
        app,
        client,
        tracking,
        version=str(pending.state["version"]),
        scored=scored,
        task=pending.state.get("task", "classification"),
        data=heldout,
        fresh=True,
    )
    if scores is not None:
        test = {k: getattr(validation, k) for k in ("difference", "low", "high", "p_value")}
        tested = {f"validation.{k}": v for k, v in test.items() if v is not None}
        client.log_batch(
            pending.state["run_id"],
            metrics=run_log.metrics_of("validation.champion", scores) + run_log.metrics_of(None, tested),
        )
    pending.mark("validate", validation=validation.to_dict())
    return validation


def _decide(
    client: Any, tracking: Tracking, pending: Pending, validation: Validation, promote: bool
) -> tuple[bool, str | None, str]:
    if pending.done("promote"):
        s = pending.state
        return bool(s["promoted"]), s.get("previous_champion"), str(s["decision"])
    name = tracking.model_name
    version = str(pending.state["version"])
    record_verdict(client, name, validation)
    previous = None
    if not validation.passed:
        promoted, decision = False, validation.reason
    elif promote:
        previous = reg.set_champion(client, name, version, validation.reason)
        promoted, decision = True, validation.reason
    else:
        promoted, decision = False, f"passed validation; not promoted (--no-promote): {validation.reason}"
    pending.mark("promote", promoted=promoted, previous_champion=previous, decision=decision)
    return promoted, previous, decision


def _publish(app: App, result: RetrainResult, pending: Pending) -> ModelRegistered | None:
    cause = pending.state.get("cause")
    batch_ids = tuple(pending.state.get("batch_ids") or ())
    event = ModelRegistered(
        model_name=result.model_name,
        model_version=result.version,
        run_id=result.run_id,
        promoted=result.promoted,
        reason=result.reason,
        metrics={k: float(v) for k, v in result.metrics.items() if not math.isnan(float(v))},
        validation=Validation(**result.validation).summary(),
        batch_ids=batch_ids,
        batch_id=batch_ids[-1] if batch_ids else None,
        cause_event_id=event_from_dict(cause).event_id if cause else None,
    )
    return publish_registered(app, event)


# --------------------------------------------------------------------------- #
# When MLflow fails: the run is marked FAILED and the error says how to resume
# --------------------------------------------------------------------------- #

_STEP_WORDS = {
    "connect": "connecting",
    "run": "creating the run",
    "params": "logging params and metrics",
    "artifacts": "logging the profile and lineage",
    "model": "logging the model",
    "register": "registering the model version",
    "validate": "validating against the champion",
    "promote": "moving the champion alias",
}


#: What a data error interrupted, by step (other steps: just "the data cannot be used").
_DATA_STEP = {"validate": "scoring the champion on the new data's held-out rows"}


def _reject_for_data(client: Any | None, tracking: Tracking, pending: Pending, reason: str) -> None:
    """Mark what MLflow got of a retrain the data broke: the run FAILED, a registered version rejected."""
    version = pending.state.get("version")
    if client is None:
        return
    try:
        if version is not None:
            client.set_model_version_tag(tracking.model_name, str(version), reg.TAG_REJECTED, "true")
            client.set_model_version_tag(
                tracking.model_name, str(version), reg.TAG_REJECTED_REASON, clip(reason, TAG_MAX)
            )
        if pending.state.get("run_id"):
            client.set_terminated(pending.state["run_id"], "FAILED")
    except Exception as exc:  # best effort: the error to the user is what matters
        log.warning("reject_version_failed", version=version, error=f"{type(exc).__name__}: {exc}")


def _skipped(tracking: Tracking, other: Any, data_uris: Any, answering: list[str]) -> RetrainResult:
    """The result of a retrain not done: another version answers (or is answering) the drift."""
    why = other.describe(tracking.model_name)
    log.warning("retrain_skipped", batch_ids=answering, reason=why)
    return RetrainResult(
        model_name=tracking.model_name,
        version=other.version or "",
        run_id="",
        promoted=False,
        reason=why,
        metrics={},
        validation={},
        data_uris=tuple(str(u) for u in data_uris),
        extra={"skipped": why},
    )


def _release_claims(tracking: Tracking, batch_ids: list[str]) -> None:
    try:
        with tracking.scope() as client:
            answer_claims.release(client, tracking.model_name, batch_ids)
    except Exception as exc:  # a claim left behind goes stale after answers.CLAIM_TTL
        log.warning("retrain_claim_not_released", batch_ids=batch_ids, error=f"{type(exc).__name__}: {exc}")


def _resume_hint(pending: Pending) -> str:
    return f"the trained model is kept in {pending.path}; run `arlequin train --resume {pending.id}` to retry"


def _local_file(uris: Sequence[str]) -> str | None:
    """The first of ``uris`` that is a file or directory on this machine, else None."""
    for uri in uris:
        local = uri.removeprefix("file://")
        if "://" not in local and Path(local).exists():
            return local
    return None


def _mark_failed(pending: Pending) -> None:
    run_id = pending.state.get("run_id")
    pending.save()
    if not run_id:
        return
    try:
        from mlflow import MlflowClient

        MlflowClient().set_terminated(run_id, "FAILED")
    except Exception:  # MLflow is likely what failed; the pending state is what matters
        log.debug("mark_run_failed_skipped", run_id=run_id)
