"""What a training leaves in MLflow: its run (tags, params, metrics, artifacts, model) and its model version.

Each step reads what it logs from the pending directory
(:class:`~arlequin_core.training.pending.Pending`) and marks itself done there, so a
step that already ran is skipped on resume and nothing is logged or registered twice.
Nothing here logs a secret: secret-looking param keys are dropped, known secrets and
passwords in URIs are masked.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from arlequin_core.config import _SECRET_KEY
from arlequin_core.logs import get_logger
from arlequin_core.secrets import redact
from arlequin_core.training import models as reg
from arlequin_core.training.base import Trainer
from arlequin_core.training.metrics import promotion_metric
from arlequin_core.training.pending import Pending
from arlequin_core.training.profiles import PROFILE_ARTIFACT
from arlequin_core.training.tracking import PARAM_MAX, TAG_MAX, Tracking, clip, safe_uri

log = get_logger(__name__)

LINEAGE_ARTIFACT = "arlequin/lineage.json"
REPORT_ARTIFACT = "arlequin/drift_report.json"


def ensure_run(client: Any, experiment_id: str, pending: Pending) -> str:
    """The pending training's run id: created (with its lineage tags) the first time, set RUNNING again after."""
    state = pending.state
    run_id = state.get("run_id")
    if run_id:
        client.update_run(run_id, status="RUNNING")
        return run_id
    cause = state.get("cause") or {}
    tags = {
        "arlequin.trainer": state["trainer"],
        reg.TAG_PENDING: pending.id,
        "arlequin.batch_uris": clip(json.dumps(state["data_uris"]), TAG_MAX),
        "arlequin.batch_ids": clip(json.dumps(state["batch_ids"]), TAG_MAX),
        "arlequin.label": clip(state["label"], TAG_MAX),
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
    return {k: clip(str(redact(str(v))), PARAM_MAX) for k, v in params.items() if v is not None}


def log_params(client: Any, run_id: str, pending: Pending) -> None:
    """Params (:func:`training_params`), the held-out metrics and ``train_seconds``, in one batch."""
    from mlflow.entities import Param

    if pending.done("params"):
        return
    params = [Param(k, v) for k, v in training_params(pending.state).items()]
    metrics = metrics_of(None, {**pending.state["metrics"], "train_seconds": pending.state["train_seconds"]})
    client.log_batch(run_id, metrics=metrics, params=params)
    pending.mark("params")


def metrics_of(prefix: str | None, scores: dict[str, float]) -> list[Any]:
    """MLflow ``Metric`` entities of ``scores`` (named ``<prefix>.<key>`` with a prefix), stamped now."""
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    return [Metric(f"{prefix}.{k}" if prefix else k, float(v), now, 0) for k, v in scores.items()]


def log_artifacts(client: Any, run_id: str, pending: Pending) -> None:
    """``arlequin/lineage.json``, and the profile and drift report when the training has them."""
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
        client.set_tag(run_id, "arlequin.profile", f"{PROFILE_ARTIFACT.rsplit('/', 1)[0]}/{pending.profile.name}")
    if state.get("has_drift_report"):
        client.log_artifact(run_id, str(pending.drift_report), "arlequin")
        client.set_tag(run_id, "arlequin.drift_report", REPORT_ARTIFACT)
    pending.mark("artifacts")


def log_model(run_id: str, trainer: Trainer, pending: Pending) -> None:
    """Log the saved model to the run through its trainer (signature and input example from the pending dir)."""
    import mlflow
    import pandas as pd

    if pending.done("model"):
        return
    model = trainer.load(str(pending.model_dir))
    example = pd.read_parquet(pending.example)
    with mlflow.start_run(run_id=run_id):
        model_uri = trainer.log_model(model, example)
    pending.mark("model", model_uri=model_uri)


def register_version(client: Any, tracking: Tracking, pending: Pending, trainer: Trainer) -> str:
    """The run's model version (registered once per run, even across crashes), tagged and made ``challenger``."""
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
    task = pending.state.get("task", "classification")
    tags = {reg.TAG_TRAINER: trainer.name, reg.TAG_PENDING: pending.id, reg.TAG_TASK: task}
    for key, value in tags.items():
        client.set_model_version_tag(name, version.version, key, value)
    metric = promotion_metric(tracking.config.training.metric, task)
    client.set_model_version_tag(
        name, version.version, f"arlequin.heldout.{metric}", str(pending.state["metrics"][metric])
    )
    client.set_registered_model_alias(name, reg.CHALLENGER, version.version)
    pending.mark("register", version=str(version.version))
    return str(version.version)
