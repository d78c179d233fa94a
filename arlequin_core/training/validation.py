"""Challenger vs champion: one verdict, the same for the retrain flow and ``arlequin validate``.

:func:`judge` scores the champion (through its own trainer, the version's
``arlequin.trainer`` tag, so a Spark champion and a scikit-learn challenger compare
fairly) on the rows the challenger was scored on, row by row, and decides with the
paired test of :mod:`arlequin_core.training.paired` (DeLong for ``roc_auc``, a seeded
paired bootstrap otherwise) and the rule ``[training] promote``:

* ``non_inferior`` (default): the challenger passes unless it is significantly worse
  than the champion by more than ``[training] tolerance``;
* ``superior``: it passes only when it is significantly better.

The metric is ``[training] metric``, else ``roc_auc`` (classification) or ``rmse``
(regression). Two callers:

* the retrain flow, for a model it has just trained (``fresh=True``): both are scored
  on the new data's held-out rows;
* :func:`validate_version` (``arlequin validate``, a Jenkins stage), for a registered
  version: both are scored on recent labelled data.

:func:`record_verdict` writes the verdict on the version (``arlequin.validation`` as
JSON, ``arlequin.validation.<field>`` tags for the interval, p-value and verdict, and
``arlequin.rejected`` with its reason when it failed).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from arlequin_core.errors import InputError
from arlequin_core.training import models as reg
from arlequin_core.training.base import make_trainer
from arlequin_core.training.errors import ModelRegistryError
from arlequin_core.training.metrics import compare, promotion_metric, task_metrics
from arlequin_core.training.paired import compare_paired, decide
from arlequin_core.training.tracking import TAG_MAX, Tracking, clip, guard

if TYPE_CHECKING:
    from arlequin_core.app import App


@dataclass(frozen=True)
class Validation:
    """Challenger vs champion on the same data.

    ``passed`` is True when the challenger may become champion; ``champion_version``
    is None when there was no champion (the first model passes). ``difference`` is
    challenger minus champion with its interval ``[low, high]`` at ``confidence`` and
    the two-sided ``p_value`` of no difference (``method``: ``delong`` or
    ``bootstrap``); they are None when no paired test was run.
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
    rule: str = "non_inferior"
    task: str = "classification"
    method: str | None = None
    difference: float | None = None
    low: float | None = None
    high: float | None = None
    p_value: float | None = None
    confidence: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of every field."""
        return asdict(self)

    def summary(self) -> dict[str, Any]:
        """The verdict in a few fields (for the ``model-registered`` event; NaN as None)."""
        keys = ("metric", "rule", "method", "challenger", "champion", "champion_version", "difference", "low")
        keys += ("high", "p_value", "confidence", "passed", "rows")
        return {k: _finite(getattr(self, k)) for k in keys}


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


def judge(
    app: App,
    client: Any,
    tracking: Tracking,
    *,
    version: str,
    scored: tuple[np.ndarray, np.ndarray],
    task: str,
    data: list[str],
    fresh: bool,
) -> tuple[Validation, dict[str, float] | None]:
    """The verdict on ``version`` against the current champion, on the rows ``data``.

    :param scored: the challenger's ``(y_true, scores)`` on ``data``: labels and
        positive-class probabilities (regression: predictions), in row order.
    :param task: the challenger's task (``classification`` or ``regression``).
    :param fresh: True for a model the retrain flow has just trained: without another
        champion it is the ``"first model"``, and a champion that cannot read the new
        data is replaced by it. False for an already registered version: ``"no
        champion"``, ``"is the champion"`` when it is.
    :returns: the verdict, and the champion's metrics on ``data`` when it was scored.
    :raises UnknownComponentError: the champion's trainer is not installed here.
    :raises ConfigError: ``[training] metric`` belongs to the other task.
    """
    training = app.config.training
    metric = promotion_metric(training.metric, task)
    y, p = scored
    challenger = task_metrics(task, y, p)[metric]
    rows = len(y)

    def verdict(
        champion_version: str | None, champion: float | None, passed: bool, reason: str, **test: Any
    ) -> Validation:
        return Validation(
            metric, version, challenger, champion_version, champion, training.tolerance, passed, reason, rows,
            training.promote, task, **test,
        )  # fmt: skip

    champion = reg.alias_version(client, tracking.model_name, reg.CHAMPION)
    if champion is None or (fresh and str(champion.version) == version):
        return verdict(None, None, True, "first model" if fresh else "no champion"), None
    if str(champion.version) == version:
        return verdict(version, challenger, True, "is the champion"), None
    champion_task = (champion.tags or {}).get(reg.TAG_TASK, "classification")
    scores = _champion_scores(app, tracking, champion, data) if champion_task == task else None
    if scores is None or isinstance(scores, InputError):
        why = f"predicts {champion_task}, not {task}" if scores is None else f"cannot score the data ({scores})"
        replaced = "; the challenger replaces it" if fresh else ""
        return verdict(
            str(champion.version), None, True, f"champion version {champion.version!s} {why}{replaced}"
        ), None
    y_champion, p_champion = scores
    champion_metrics = task_metrics(task, y_champion, p_champion)
    if y_champion.shape != y.shape or not np.array_equal(y_champion, y):
        # Not the same labelled rows (should not happen: same file, same label): no paired test is possible.
        passed, reason = compare(metric, challenger, champion_metrics[metric], training.tolerance)
        reason = f"{reason} (point estimates: the two models scored different rows)"
        return verdict(str(champion.version), champion_metrics[metric], passed, reason), champion_metrics
    try:
        comparison = compare_paired(
            metric, y, p, p_champion, confidence=training.confidence, resamples=training.resamples, seed=training.seed
        )
    except ValueError as exc:  # e.g. DeLong with fewer than two rows of a class
        passed, reason = compare(metric, challenger, champion_metrics[metric], training.tolerance)
        return verdict(
            str(champion.version), champion_metrics[metric], passed, f"{reason} (no paired test: {exc})"
        ), champion_metrics
    passed, reason = decide(comparison, training.promote, training.tolerance)
    test = {
        "method": comparison.method,
        "difference": comparison.difference,
        "low": comparison.low,
        "high": comparison.high,
        "p_value": comparison.p_value,
        "confidence": comparison.confidence,
    }
    return verdict(str(champion.version), comparison.champion, passed, reason, **test), champion_metrics


def _champion_scores(app: App, tracking: Tracking, champion: Any, data: list[str]) -> tuple[Any, Any] | InputError:
    """The champion's ``(y_true, scores)`` on ``data``, or the InputError that says it cannot read them."""
    trainer = make_trainer(app, (champion.tags or {}).get(reg.TAG_TRAINER) or app.config.training.trainer)
    model = trainer.load(f"models:/{tracking.model_name}/{champion.version!s}")
    try:
        return trainer.score(model, data, where="validation data")
    except InputError as exc:
        # The champion cannot read the recent data (its columns changed): it cannot serve it either.
        return exc


def record_verdict(client: Any, name: str, validation: Validation) -> None:
    """Tag the challenger version with ``validation``; a failed one is marked rejected, a passing one cleared."""
    version = str(validation.challenger_version)
    client.set_model_version_tag(name, version, reg.TAG_VALIDATION, json.dumps(validation.to_dict()))
    verdict = "passed" if validation.passed else "rejected"
    fields = {"verdict": verdict, "rule": validation.rule, "metric": validation.metric}
    if validation.method is not None:
        fields.update(
            method=validation.method,
            difference=f"{validation.difference:.6g}",
            interval=f"[{validation.low:.6g}, {validation.high:.6g}]",
            p_value=f"{validation.p_value:.6g}",
            confidence=f"{validation.confidence:g}",
        )
    for key, value in fields.items():
        client.set_model_version_tag(name, version, f"{reg.TAG_VALIDATION}.{key}", str(value))
    if validation.passed:
        client.delete_model_version_tag(name, version, reg.TAG_REJECTED)
    else:
        client.set_model_version_tag(name, version, reg.TAG_REJECTED, "true")
        client.set_model_version_tag(name, version, reg.TAG_REJECTED_REASON, clip(validation.reason, TAG_MAX))


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
    name = tracking.model_name
    with guard(tracking, "validating") as client:
        if version is None:
            target = reg.alias_version(client, name, reg.CHALLENGER)
            if target is None:
                raise ModelRegistryError(f"model {name!r} has no challenger; pass --version")
        else:
            target = reg.get_version(client, name, version)
        trainer = make_trainer(app, (target.tags or {}).get(reg.TAG_TRAINER))
        model = trainer.load(f"models:/{name}/{target.version!s}")
        scored = trainer.score(model, data_uris, where=", ".join(data_uris))
        task = (target.tags or {}).get(reg.TAG_TASK, "classification")
        result, _ = judge(
            app, client, tracking, version=str(target.version), scored=scored, task=task, data=data_uris, fresh=False
        )
        if record:
            record_verdict(client, name, result)
    return result
