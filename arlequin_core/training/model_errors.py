"""A model's per-row errors, the stream ``[drift] error_detector`` watches.

Two places need them, computed the same way through the model's own trainer (so a
Spark champion and a scikit-learn one are treated alike):

* training: the new model's errors on its held-out rows, fitted into its profile as
  the column :data:`~arlequin_core.drift.error_stream.ERROR_COLUMN` (:func:`heldout_errors`);
* the drift monitor: the champion's errors on each batch that carries labels
  (:func:`batch_errors`, with the model from :func:`champion_model`, loaded once per
  version into the App's model cache).

A row is wrong when the predicted class (positive-class probability at or above
:data:`~arlequin_core.training.metrics.THRESHOLD`, as the metrics count it) differs
from its label; the stream is :func:`~arlequin_core.drift.error_stream.error_stream` of the two:
1.0 wrong, 0.0 right, NaN where the row has no label yet.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from arlequin_core.cache import VersionCache
from arlequin_core.config import ArlequinConfig
from arlequin_core.drift.error_stream import error_stream
from arlequin_core.logs import get_logger
from arlequin_core.registry import ComponentRegistry
from arlequin_core.training.base import Trainer
from arlequin_core.training.metrics import THRESHOLD

log = get_logger(__name__)


def heldout_errors(trainer: Trainer, model: Any, heldout_uri: str) -> np.ndarray:
    """The errors of ``model`` on the held-out rows ``trainer`` wrote at ``heldout_uri``.

    :returns: float64 array of shape ``(n_labelled_heldout,)``, values 0.0/1.0.
    :raises InputError: the held-out rows cannot be read or have no label.
    """
    y, proba = trainer.score(model, [heldout_uri], where="held-out rows")
    return error_stream(pa.array(y.astype(np.int64)), pa.array((proba >= THRESHOLD).astype(np.int64)))


def batch_errors(trainer: Trainer, model: Any, table: pa.Table, where: str) -> np.ndarray | str:
    """The errors of ``model`` on every row of ``table``, or why they cannot be computed.

    :param trainer: the model's trainer; its label (``[data] label`` or
        ``[training] label_rule``) says what the truth is.
    :param where: the batch's URI, for errors.
    :returns: float64 array of shape ``(table.num_rows,)`` (NaN where the label is
        missing), or a reason (str) when the batch has no label at all: the label
        column is absent, or every row's label is missing.
    :raises InputError: the label is not binary, or the model cannot read the batch.
    """
    label = trainer.label
    absent = [c for c in label.source_columns if c not in table.column_names]
    if absent:
        source = "[data] label" if label.rule is None else "read by [training] label_rule"
        return (
            f"the batch has no label column {', '.join(map(repr, absent))} ({source}), "
            "so the champion's errors are unknown"
        )
    y, missing = label.labels(table, where)
    if missing.all():
        return "no row of the batch has a label yet, so the champion's errors are unknown"
    labelled = table.filter(pa.array(~missing)) if missing.any() else table
    _, proba = trainer.score(model, labelled, where=where)
    predicted = np.zeros(table.num_rows, dtype=np.int64)
    predicted[~missing] = proba >= THRESHOLD
    mask = np.asarray(missing, dtype=bool)
    return error_stream(pa.array(y.astype(np.int64), mask=mask), pa.array(predicted, mask=mask))


def champion_model(
    config: ArlequinConfig,
    registry: ComponentRegistry,
    name: str,
    version: str,
    cache: VersionCache | None = None,
) -> tuple[Trainer, Any]:
    """The trainer and the model of version ``version`` of ``name``.

    Loaded once per version into ``cache`` (e.g. :attr:`App.model_cache
    <arlequin_core.app.App.model_cache>`, which keeps one version per model name:
    asking for another replaces it), or on every call without one.

    The trainer is the one that trained it (the version's ``arlequin.trainer`` tag),
    else ``[training] trainer``.

    :raises TrackingError: MLflow failed or the version cannot be loaded.
    :raises UnknownComponentError: its trainer is not installed here.
    """
    from arlequin_core.training import models as reg
    from arlequin_core.training.tracking import Tracking, guard

    tracking = Tracking.from_config(config)
    key = (tracking.uri, name, str(version))
    cached = cache.get(key) if cache is not None else None
    if cached is not None:
        return cached
    with guard(tracking, f"loading model {name!r} version {version}") as client:
        tags = client.get_model_version(name, str(version)).tags or {}
        cls = registry.get("trainer", tags.get(reg.TAG_TRAINER) or config.training.trainer)
        trainer = cls(config)
        model = trainer.load(f"models:/{name}/{version}")
    log.info("champion_model_loaded", model_name=name, model_version=str(version), trainer=trainer.name)
    if cache is not None:
        cache.put(key, (trainer, model))
    return trainer, model
