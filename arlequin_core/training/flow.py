"""The retraining flow: train -> log -> register -> validate vs champion -> promote or reject -> publish.

Public API (the watcher daemon's retrain sink and the CLI call these)::

    retrain(app, data_uris, cause=None, drift_report=None) -> RetrainResult
    resume(app, pending_id) -> RetrainResult
    validate_version(app, data_uris, version=None) -> Validation
    promote_version(app, version=None, force=False) -> (version, previous champion | None)
    rollback_champion(app) -> Rollback
    champion_profile(config) -> (Profile, model_name, version) | None

Order of work, and why: the model is trained and everything MLflow needs is saved
under ``<home>/pending/<id>/`` first (see :mod:`arlequin_core.training.pending`);
only then is MLflow contacted, step by step, each step recorded as done. If MLflow
is unreachable or fails, :class:`~arlequin_core.training.errors.TrackingError` says
so and names the pending id; ``resume`` continues where it stopped, reusing the
same run and never registering a second version for it.

Validation scores the new version (the challenger) and the current champion on the
same rows: the held-out split of the new data, which neither model was fitted on.
The champion is loaded through its own trainer (the ``arlequin.trainer`` tag), so a
Spark champion and a scikit-learn challenger compare fairly. See
:func:`arlequin_core.training.metrics.compare` for the rule.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arlequin_core.config import _SECRET_KEY, ArlequinConfig
from arlequin_core.errors import ArlequinError, InputError
from arlequin_core.events import DriftDetected, ModelRegistered, event_from_dict
from arlequin_core.logs import get_logger
from arlequin_core.secrets import redact
from arlequin_core.training import models as reg
from arlequin_core.training.base import Trainer
from arlequin_core.training.errors import ModelRegistryError, TrackingError, TrainingError
from arlequin_core.training.metrics import compare, compute_metrics
from arlequin_core.training.model_errors import heldout_errors
from arlequin_core.training.pending import Pending
from arlequin_core.training.profiles import PROFILE_ARTIFACT, build_profile_file, load_profile
from arlequin_core.training.tracking import Tracking, safe_uri

if TYPE_CHECKING:
    from arlequin_core.app import App

log = get_logger(__name__)

#: One retrain at a time per process: they share MLflow's process-wide state and the CPU.
_RETRAIN_LOCK = threading.Lock()
#: MLflow param values are limited to 6000 characters.
_PARAM_MAX = 6000
_TAG_MAX = 5000

LINEAGE_ARTIFACT = "arlequin/lineage.json"
REPORT_ARTIFACT = "arlequin/drift_report.json"


@dataclass(frozen=True)
class Validation:
    """Challenger vs champion on the same data.

    ``passed`` is True when the challenger may become champion; ``champion_version``
    is None when there was no champion (the first model passes).
    """

    metric: str
    challenger_version: str | None
    challenger: float
    champion_version: str | None
    champion: float | None
    tolerance: float
    passed: bool
    reason: str
    rows: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of every field."""
        return asdict(self)


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


# --------------------------------------------------------------------------- #
# Trainers
# --------------------------------------------------------------------------- #


def make_trainer(app: App, name: str | None = None, **options: Any) -> Trainer:
    """An instance of the trainer ``name`` (default ``[training] trainer``).

    :param options: passed to the trainer, e.g. ``spark=`` an existing SparkSession.
    :raises UnknownComponentError: no such trainer (the message lists the known ones).
    """
    cls = app.component("trainer", name or app.config.training.trainer)
    return cls(app.config, **options)


def _normalize_uri(uri: str) -> str:
    # Lineage must survive a change of working directory: make local paths absolute.
    if "://" in uri or uri.startswith("file:"):
        return uri
    return str(Path(uri).expanduser().resolve())


# --------------------------------------------------------------------------- #
# retrain
# --------------------------------------------------------------------------- #


def retrain(
    app: App,
    data_uris: list[str],
    cause: DriftDetected | None = None,
    drift_report: dict[str, Any] | None = None,
    *,
    batch_ids: list[str] | None = None,
    trainer: Trainer | None = None,
    promote: bool = True,
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
    :raises InputError: unreadable data or a bad label column.
    :raises TrainingError: nothing to learn from (one class, no features, ...).
    :raises TrackingError: MLflow failed; the model waits in ``<home>/pending/<id>``.
    """
    if not data_uris:
        raise InputError("--data", "no training data given")
    if drift_report is None and cause is not None and cause.report_uri:
        drift_report = _read_report(cause.report_uri)
    with _RETRAIN_LOCK:
        trainer = trainer or make_trainer(app)
        pending = _train_to_pending(app, trainer, [str(u) for u in data_uris], cause, drift_report, batch_ids)
        return _finish(app, pending, trainer, promote=promote)


def _read_report(uri: str) -> dict[str, Any] | None:
    """The drift report the monitor wrote at ``uri`` (None, logged, when it cannot be read)."""
    import fsspec

    try:
        with fsspec.open(uri, "r", encoding="utf-8") as f:
            report = json.load(f)
    except (OSError, ValueError) as exc:
        log.warning("drift_report_unreadable", uri=safe_uri(uri), error=f"{type(exc).__name__}: {exc}")
        return None
    return report if isinstance(report, dict) else None


def resume(app: App, pending_id: str, *, trainer: Trainer | None = None) -> RetrainResult:
    """Log, register and validate a model left in ``<home>/pending/<pending_id>`` by a failed retrain.

    :raises TrainingError: unknown pending id.
    :raises TrackingError: MLflow failed again (the pending directory stays).
    """
    with _RETRAIN_LOCK:
        pending = Pending.open(app.config.home, pending_id)
        trainer = trainer or make_trainer(app, pending.state["trainer"])
        return _finish(app, pending, trainer, promote=pending.state.get("promote", True))


def pending_ids(config: ArlequinConfig) -> list[str]:
    """Ids of trainings waiting to be logged (oldest first)."""
    return [p.id for p in Pending.all(config.home)]


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
    pending = Pending.create(app.home)
    try:
        trained = trainer.train(data_uris, heldout_uri=str(pending.heldout))
        source = safe_uri(_normalize_uri(data_uris[0]))
        errors = None
        if app.config.drift.error_detector is not None:
            errors = heldout_errors(trainer, trained.model, str(pending.heldout))
        # The profile (numpy/Arrow, releases the GIL) is built while the model is serialised.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="arlequin-profile") as pool:
            profiling = pool.submit(
                build_profile_file, trained.reference, app.config, app.registry, pending.profile, source, errors
            )
            trainer.save(trained.model, str(pending.model_dir), trained.example)
            # Parquet keeps the example's dtypes exactly (JSON would turn 1.0 into 1 and change the signature).
            trained.example.to_parquet(pending.example, index=False)
            has_profile = profiling.result()
        if drift_report is not None:
            pending.drift_report.write_text(json.dumps(redact(drift_report), indent=2, default=str), encoding="utf-8")
    except BaseException:
        pending.remove()
        raise
    ids = list(batch_ids) if batch_ids else ([cause.batch_id] if cause is not None and cause.batch_id else [])
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
        has_profile=has_profile,
        has_drift_report=drift_report is not None,
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


# --------------------------------------------------------------------------- #
# The MLflow part, step by step
# --------------------------------------------------------------------------- #


def _finish(app: App, pending: Pending, trainer: Trainer, promote: bool) -> RetrainResult:
    config = app.config
    tracking = Tracking.from_config(config)
    pending.state["promote"] = promote
    step = "connect"
    with contextlib.ExitStack() as stack:
        try:
            client = stack.enter_context(tracking.scope())
            experiment_id = tracking.experiment_id(client)
            step = "run"
            run_id = _ensure_run(client, experiment_id, pending)
            step = "params"
            _log_params(client, run_id, pending)
            step = "artifacts"
            _log_artifacts(client, run_id, pending)
            step = "model"
            if not pending.done("model"):
                model = trainer.load(str(pending.model_dir))
                _log_model(run_id, trainer, model, pending)
            step = "register"
            version = _register(client, tracking, pending, trainer)
            step = "validate"
            validation = _validate_pending(app, client, tracking, pending)
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
            _mark_failed(pending)
            log.error("mlflow_failed", step=step, pending_id=pending.id, error=f"{type(exc).__name__}: {exc}")
            raise TrackingError(
                f"MLflow at {tracking.shown} failed while {_STEP_WORDS.get(step, step)}: "
                f"{type(exc).__name__}: {_short(exc)}; {_resume_hint(pending)}",
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


def _short(exc: BaseException) -> str:
    text = str(redact(str(exc))).strip().splitlines()
    return text[0][:400] if text else type(exc).__name__


def _resume_hint(pending: Pending) -> str:
    return f"the trained model is kept in {pending.path}; run `arlequin train --resume {pending.id}` to retry"


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


def _ensure_run(client: Any, experiment_id: str, pending: Pending) -> str:
    state = pending.state
    run_id = state.get("run_id")
    if run_id:
        client.update_run(run_id, status="RUNNING")
        return run_id
    cause = state.get("cause") or {}
    tags = {
        "arlequin.trainer": state["trainer"],
        reg.TAG_PENDING: pending.id,
        "arlequin.batch_uris": _clip(json.dumps(state["data_uris"]), _TAG_MAX),
        "arlequin.batch_ids": _clip(json.dumps(state["batch_ids"]), _TAG_MAX),
        "arlequin.label": _clip(state["label"], _TAG_MAX),
        "mlflow.source.name": "arlequin",
    }
    if cause:
        tags["arlequin.cause_event_id"] = cause.get("event_id", "")
        tags["arlequin.cause"] = cause.get("name", "")
        if cause.get("report_uri"):
            tags["arlequin.drift_report_uri"] = safe_uri(cause["report_uri"])
    run = client.create_run(experiment_id, tags=redact(tags), run_name=f"arlequin-{pending.id}")
    pending.mark("run", run_id=run.info.run_id)
    return run.info.run_id


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 15] + "...(truncated)"


def training_params(state: dict[str, Any]) -> dict[str, str]:
    """The MLflow params of a training: no secrets (secret-looking keys dropped, known secrets masked)."""
    features = state["features"]
    params: dict[str, Any] = {
        "trainer": state["trainer"],
        "label": state["label"],
        "features.numeric": ",".join(features["numeric"]),
        "features.categorical": ",".join(features["categorical"]),
        "rows.train": state["rows"].get("train"),
        "rows.heldout": state["rows"].get("heldout"),
        "rows.unlabelled": state["rows"].get("unlabelled"),
        "batch_count": len(state["data_uris"]),
        "data_uris": json.dumps(state["data_uris"]),
    }
    cause = state.get("cause") or {}
    if cause:
        params["drift.cause_event_id"] = cause.get("event_id")
    for key, value in state["params"].items():
        if not _SECRET_KEY.search(str(key)):
            params[f"model.{key}"] = value
    return {k: _clip(str(redact(str(v))), _PARAM_MAX) for k, v in params.items() if v is not None}


def _log_params(client: Any, run_id: str, pending: Pending) -> None:
    from mlflow.entities import Metric, Param

    if pending.done("params"):
        return
    now = int(time.time() * 1000)
    params = [Param(k, v) for k, v in training_params(pending.state).items()]
    metrics = [Metric(k, float(v), now, 0) for k, v in pending.state["metrics"].items()]
    metrics.append(Metric("train_seconds", float(pending.state["train_seconds"]), now, 0))
    client.log_batch(run_id, metrics=metrics, params=params)
    pending.mark("params")


def _log_artifacts(client: Any, run_id: str, pending: Pending) -> None:
    if pending.done("artifacts"):
        return
    state = pending.state
    lineage = {
        "pending_id": pending.id,
        "trainer": state["trainer"],
        "label": state["label"],
        "data_uris": state["data_uris"],
        "batch_ids": state["batch_ids"],
        "cause": state.get("cause"),
        "features": state["features"],
        "rows": state["rows"],
        "trained_at": state["created_at"],
    }
    with tempfile.TemporaryDirectory(prefix="arlequin-") as tmp:
        path = Path(tmp) / "lineage.json"
        path.write_text(json.dumps(redact(lineage), indent=2, default=str), encoding="utf-8")
        client.log_artifact(run_id, str(path), "arlequin")
    if state.get("has_profile"):
        client.log_artifact(run_id, str(pending.profile), "arlequin")
        client.set_tag(run_id, "arlequin.profile", PROFILE_ARTIFACT)
    if state.get("has_drift_report"):
        client.log_artifact(run_id, str(pending.drift_report), "arlequin")
        client.set_tag(run_id, "arlequin.drift_report", REPORT_ARTIFACT)
    pending.mark("artifacts")


def _log_model(run_id: str, trainer: Trainer, model: Any, pending: Pending) -> None:
    import mlflow
    import pandas as pd

    example = pd.read_parquet(pending.example)
    with mlflow.start_run(run_id=run_id):
        model_uri = trainer.log_model(model, example)
    pending.mark("model", model_uri=model_uri)


def _register(client: Any, tracking: Tracking, pending: Pending, trainer: Trainer) -> str:
    import mlflow

    if pending.done("register"):
        return str(pending.state["version"])
    name = tracking.model_name
    run_id = pending.state["run_id"]
    existing = reg.versions_of_run(client, name, run_id)
    if existing:
        version = existing[0]
    else:
        # mlflow.register_model prints progress straight to stderr; keep it out of the daemon's JSON log.
        chatter = io.StringIO()
        with contextlib.redirect_stderr(chatter):
            version = mlflow.register_model(pending.state["model_uri"], name, await_registration_for=60)
        log.debug("mlflow_register_model", output=chatter.getvalue().strip())
    tags = {reg.TAG_TRAINER: trainer.name, reg.TAG_PENDING: pending.id}
    for key, value in tags.items():
        client.set_model_version_tag(name, version.version, key, value)
    metric = tracking.config.training.metric
    client.set_model_version_tag(
        name, version.version, f"arlequin.heldout.{metric}", str(pending.state["metrics"][metric])
    )
    client.set_registered_model_alias(name, reg.CHALLENGER, version.version)
    pending.mark("register", version=str(version.version))
    return str(version.version)


# --------------------------------------------------------------------------- #
# Validation and promotion
# --------------------------------------------------------------------------- #


def _champion_scores(app: App, client: Any, tracking: Tracking, data: list[str], exclude: str | None) -> Any:
    """(champion version, its metrics on ``data``) or (None, None) when there is no other champion."""
    champion = reg.alias_version(client, tracking.model_name, reg.CHAMPION)
    if champion is None or str(champion.version) == exclude:
        return champion, None
    trainer_name = (champion.tags or {}).get(reg.TAG_TRAINER) or app.config.training.trainer
    trainer = make_trainer(app, trainer_name)
    model = trainer.load(f"models:/{tracking.model_name}/{champion.version!s}")
    try:
        y, p = trainer.score(model, data, where="validation data")
    except InputError as exc:
        # The champion cannot read the recent data (its columns changed): it cannot serve it either.
        return champion, exc
    return champion, compute_metrics(y, p)


def _validate_pending(app: App, client: Any, tracking: Tracking, pending: Pending) -> Validation:
    if pending.done("validate"):
        return Validation(**pending.state["validation"])
    metric = app.config.training.metric
    tolerance = app.config.training.tolerance
    version = str(pending.state["version"])
    challenger = float(pending.state["metrics"][metric])
    heldout = [str(pending.heldout)]
    champion, scores = _champion_scores(app, client, tracking, heldout, exclude=version)
    rows = int(pending.state["rows"].get("heldout", 0))
    if champion is None or str(champion.version) == version:
        validation = Validation(metric, version, challenger, None, None, tolerance, True, "first model", rows)
    elif isinstance(scores, InputError):
        validation = Validation(
            metric,
            version,
            challenger,
            str(champion.version),
            None,
            tolerance,
            True,
            f"champion version {champion.version} cannot score the new data ({scores}); the challenger replaces it",
            rows,
        )
    else:
        passed, reason = compare(metric, challenger, scores[metric], tolerance)
        validation = Validation(
            metric, version, challenger, str(champion.version), scores[metric], tolerance, passed, reason, rows
        )
        client.log_batch(
            pending.state["run_id"],
            metrics=_metrics_of("validation.champion", scores),
        )
    pending.mark("validate", validation=validation.to_dict())
    return validation


def _metrics_of(prefix: str, scores: dict[str, float]) -> list[Any]:
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    return [Metric(f"{prefix}.{k}", float(v), now, 0) for k, v in scores.items()]


def _decide(
    client: Any, tracking: Tracking, pending: Pending, validation: Validation, promote: bool
) -> tuple[bool, str | None, str]:
    if pending.done("promote"):
        s = pending.state
        return bool(s["promoted"]), s.get("previous_champion"), str(s["decision"])
    name = tracking.model_name
    version = str(pending.state["version"])
    client.set_model_version_tag(name, version, reg.TAG_VALIDATION, json.dumps(validation.to_dict()))
    previous = None
    if not validation.passed:
        client.set_model_version_tag(name, version, reg.TAG_REJECTED, "true")
        client.set_model_version_tag(name, version, reg.TAG_REJECTED_REASON, _clip(validation.reason, _TAG_MAX))
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
        batch_ids=batch_ids,
        batch_id=batch_ids[-1] if batch_ids else None,
        cause_event_id=event_from_dict(cause).event_id if cause else None,
    )
    return _publish_event(app, event)


def _publish_event(app: App, event: ModelRegistered) -> ModelRegistered | None:
    try:
        app.bus.publish(event)
    except Exception as exc:  # the model is registered; a closed bus must not undo that
        log.error("publish_failed", event=event.name, error=f"{type(exc).__name__}: {exc}")
        return None
    return event


# --------------------------------------------------------------------------- #
# validate / promote / rollback on the registry (CLI and Jenkins stages)
# --------------------------------------------------------------------------- #


def _guard(tracking: Tracking, what: str) -> Any:
    """Context for a registry operation: MLflow failures become a clear TrackingError."""
    return _Guard(tracking, what)


class _Guard:
    def __init__(self, tracking: Tracking, what: str) -> None:
        self.tracking = tracking
        self.what = what
        self._scope: Any = None

    def __enter__(self) -> Any:
        self._scope = self.tracking.scope()
        return self._scope.__enter__()

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self._scope.__exit__(exc_type, exc, tb)
        if exc is None or isinstance(exc, ArlequinError):
            return
        if isinstance(exc, Exception):
            raise TrackingError(
                f"MLflow at {self.tracking.shown} failed while {self.what}: {type(exc).__name__}: {_short(exc)}"
            ) from exc


def validate_version(app: App, data_uris: list[str], version: str | None = None, *, record: bool = True) -> Validation:
    """Score ``version`` (default: the ``challenger``) and the champion on the same data; compare.

    Does not move any alias. With ``record``, tags the version with the verdict
    (``arlequin.validation``, and ``arlequin.rejected`` when it fails, cleared when it passes).

    :param data_uris: recent labelled data (every labelled row is scored).
    :raises ModelRegistryError: no such version, or no challenger to validate.
    """
    if not data_uris:
        raise InputError("--data", "no validation data given")
    tracking = Tracking.from_config(app.config)
    metric, tolerance = app.config.training.metric, app.config.training.tolerance
    name = tracking.model_name
    with _guard(tracking, "validating") as client:
        if version is None:
            target = reg.alias_version(client, name, reg.CHALLENGER)
            if target is None:
                raise ModelRegistryError(f"model {name!r} has no challenger; pass --version")
        else:
            target = reg.get_version(client, name, version)
        trainer = make_trainer(app, (target.tags or {}).get(reg.TAG_TRAINER))
        model = trainer.load(f"models:/{name}/{target.version!s}")
        y, p = trainer.score(model, data_uris, where=", ".join(data_uris))
        challenger = compute_metrics(y, p)[metric]
        champion, scores = _champion_scores(app, client, tracking, data_uris, exclude=str(target.version))
        if champion is None:
            result = Validation(
                metric, str(target.version), challenger, None, None, tolerance, True, "no champion", len(y)
            )
        elif str(champion.version) == str(target.version):
            result = Validation(
                metric,
                str(target.version),
                challenger,
                str(champion.version),
                challenger,
                tolerance,
                True,
                "is the champion",
                len(y),
            )
        elif isinstance(scores, InputError):
            reason = f"champion version {champion.version!s} cannot score this data ({scores})"
            result = Validation(
                metric, str(target.version), challenger, str(champion.version), None, tolerance, True, reason, len(y)
            )
        else:
            passed, reason = compare(metric, challenger, scores[metric], tolerance)
            result = Validation(
                metric,
                str(target.version),
                challenger,
                str(champion.version),
                scores[metric],
                tolerance,
                passed,
                reason,
                len(y),
            )
        if record:
            client.set_model_version_tag(name, str(target.version), reg.TAG_VALIDATION, json.dumps(result.to_dict()))
            if result.passed:
                client.delete_model_version_tag(name, str(target.version), reg.TAG_REJECTED)
            else:
                client.set_model_version_tag(name, str(target.version), reg.TAG_REJECTED, "true")
                client.set_model_version_tag(
                    name, str(target.version), reg.TAG_REJECTED_REASON, _clip(result.reason, _TAG_MAX)
                )
    return result


def promote_version(app: App, version: str | None = None, *, force: bool = False) -> tuple[str, str | None]:
    """Make ``version`` (default: the ``challenger``) the champion.

    A version tagged rejected needs ``force`` (recorded as ``arlequin.forced``).
    Publishes ``model-registered`` with ``promoted=True``.

    :returns: ``(promoted version, the version it replaced or None)``.
    :raises ModelRegistryError: unknown version, no challenger, or rejected without ``force``.
    """
    tracking = Tracking.from_config(app.config)
    name = tracking.model_name
    with _guard(tracking, "promoting") as client:
        if version is None:
            target = reg.alias_version(client, name, reg.CHALLENGER)
            if target is None:
                raise ModelRegistryError(f"model {name!r} has no challenger to promote; pass --version")
        else:
            target = reg.get_version(client, name, version)
        if reg.is_rejected(target) and not force:
            why = (target.tags or {}).get(reg.TAG_REJECTED_REASON, "")
            raise ModelRegistryError(
                f"version {target.version!s} of {name!r} was rejected by validation ({why}); "
                "use --force to promote it anyway"
            )
        if force and reg.is_rejected(target):
            client.set_model_version_tag(name, str(target.version), reg.TAG_FORCED, "true")
        reason = "promoted by hand" + (" (forced)" if force else "")
        previous = reg.set_champion(client, name, str(target.version), reason)
    _publish_event(
        app,
        ModelRegistered(
            model_name=name, model_version=str(target.version), run_id=target.run_id or "", promoted=True, reason=reason
        ),
    )
    return str(target.version), previous


def rollback_champion(app: App) -> reg.Rollback:
    """Move ``champion`` back to the previous champion (see :func:`arlequin_core.training.models.rollback`).

    Publishes ``model-registered`` with ``promoted=True`` for the restored version.
    """
    tracking = Tracking.from_config(app.config)
    with _guard(tracking, "rolling back") as client:
        done = reg.rollback(client, tracking.model_name)
        restored = reg.get_version(client, tracking.model_name, done.to_version)
    _publish_event(
        app,
        ModelRegistered(
            model_name=done.model_name,
            model_version=done.to_version,
            run_id=restored.run_id or "",
            promoted=True,
            reason=f"rollback from version {done.from_version}",
        ),
    )
    return done


def list_models(config: ArlequinConfig) -> list[dict[str, Any]]:
    """Every version of the configured model with its aliases, status and held-out metrics, oldest first."""
    tracking = Tracking.from_config(config)
    name = tracking.model_name
    with _guard(tracking, "listing models") as client:
        model = reg.registered_model(client, name)
        if model is None:
            return []
        by_version: dict[str, list[str]] = {}
        for alias, v in (model.aliases or {}).items():
            by_version.setdefault(str(v), []).append(alias)
        rows = []
        for v in reg.list_versions(client, name):
            tags = v.tags or {}
            metrics: dict[str, float] = {}
            if v.run_id:
                try:
                    metrics = dict(client.get_run(v.run_id).data.metrics)
                except Exception:  # a deleted run must not hide the version
                    metrics = {}
            flags = [
                ("rejected", reg.is_rejected(v)),
                ("forced", tags.get(reg.TAG_FORCED) == "true"),
                ("rolled-back", tags.get(reg.TAG_ROLLED_BACK) == "true"),
            ]
            status = ",".join(word for word, on in flags if on)
            rows.append(
                {
                    "version": str(v.version),
                    "aliases": sorted(by_version.get(str(v.version), [])),
                    "status": status,
                    "created": v.creation_timestamp,
                    "run_id": v.run_id,
                    "trainer": tags.get(reg.TAG_TRAINER, ""),
                    "metrics": {k: metrics[k] for k in sorted(metrics) if "." not in k},
                    "reason": tags.get(reg.TAG_REJECTED_REASON, ""),
                }
            )
    return rows


def champion_info(config: ArlequinConfig) -> dict[str, Any] | None:
    """The serving model: ``model_name``, ``model_version``, ``run_id``, ``trainer``; None without a champion.

    For status displays (``arlequin status``). :raises TrackingError: MLflow failed.
    """
    tracking = Tracking.from_config(config)
    with _guard(tracking, "reading the champion") as client:
        champion = reg.alias_version(client, tracking.model_name, reg.CHAMPION)
        if champion is None:
            return None
        return {
            "model_name": tracking.model_name,
            "model_version": str(champion.version),
            "run_id": champion.run_id,
            "trainer": (champion.tags or {}).get(reg.TAG_TRAINER, ""),
        }


# --------------------------------------------------------------------------- #
# The champion's profile, for the drift monitor
# --------------------------------------------------------------------------- #

_profile_cache: dict[tuple[str, str, str], Any] = {}
_profile_lock = threading.Lock()


def champion_profile(config: ArlequinConfig) -> tuple[Any, str, str] | None:
    """The drift profile of the champion's training data, with the model name and version.

    The alias is looked up on every call (cheap), so a new champion changes the
    reference at once; the profile itself is downloaded once per version.

    :returns: ``(profile, model_name, version)``, or None when there is no champion yet.
    :raises TrackingError: MLflow failed, or the champion's run has no profile artifact.
    """
    tracking = Tracking.from_config(config)
    name = tracking.model_name
    with _guard(tracking, "reading the champion's profile") as client:
        champion = reg.alias_version(client, name, reg.CHAMPION)
        if champion is None:
            return None
        key = (tracking.uri, name, str(champion.version))
        with _profile_lock:
            if key in _profile_cache:
                return _profile_cache[key], name, str(champion.version)
        try:
            with tempfile.TemporaryDirectory(prefix="arlequin-profile-") as tmp:
                path = client.download_artifacts(champion.run_id, PROFILE_ARTIFACT, tmp)
                profile = load_profile(Path(path))
        except ArlequinError:
            raise
        except Exception as exc:
            raise TrackingError(
                f"champion {name!r} version {champion.version!s} (run {champion.run_id}) has no readable "
                f"{PROFILE_ARTIFACT}: {type(exc).__name__}: {_short(exc)}; retrain to log one"
            ) from exc
    with _profile_lock:
        _profile_cache[key] = profile
    return profile, name, str(champion.version)
