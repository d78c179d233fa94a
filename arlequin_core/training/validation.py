"""Challenger vs champion: one verdict, the same for the retrain flow and ``arlequin validate``.

:func:`judge` scores the champion (through its own trainer, the version's
``arlequin.trainer`` tag, so a Spark champion and a scikit-learn challenger compare
fairly) on the rows the challenger was scored on, and applies
:func:`arlequin_core.training.metrics.compare`. Two callers:

* the retrain flow, for a model it has just trained (``fresh=True``): the challenger's
  score is its held-out metric, and the champion is scored on the same held-out rows;
* :func:`validate_version` (``arlequin validate``, a Jenkins stage), for a registered
  version: both are scored on recent labelled data.

:func:`record_verdict` writes the verdict on the version (``arlequin.validation``, and
``arlequin.rejected`` with its reason when it failed).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from arlequin_core.errors import InputError
from arlequin_core.training import models as reg
from arlequin_core.training.base import make_trainer
from arlequin_core.training.errors import ModelRegistryError
from arlequin_core.training.metrics import compare, compute_metrics
from arlequin_core.training.tracking import TAG_MAX, Tracking, clip, guard

if TYPE_CHECKING:
    from arlequin_core.app import App


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


def judge(
    app: App,
    client: Any,
    tracking: Tracking,
    *,
    version: str,
    challenger: float,
    data: list[str],
    rows: int,
    fresh: bool,
) -> tuple[Validation, dict[str, float] | None]:
    """The verdict on ``version`` (score ``challenger`` on ``data``) against the current champion.

    :param challenger: the challenger's ``[training] metric`` on ``data``.
    :param rows: how many rows the scores are over (reported only).
    :param fresh: True for a model the retrain flow has just trained: without another
        champion it is the ``"first model"``, and a champion that cannot read the new
        data is replaced by it. False for an already registered version: ``"no
        champion"``, ``"is the champion"`` when it is.
    :returns: the verdict, and the champion's metrics on ``data`` when it was scored.
    :raises UnknownComponentError: the champion's trainer is not installed here.
    """
    metric, tolerance = app.config.training.metric, app.config.training.tolerance

    def verdict(champion_version: str | None, champion: float | None, passed: bool, reason: str) -> Validation:
        return Validation(metric, version, challenger, champion_version, champion, tolerance, passed, reason, rows)

    champion = reg.alias_version(client, tracking.model_name, reg.CHAMPION)
    if champion is None or (fresh and str(champion.version) == version):
        return verdict(None, None, True, "first model" if fresh else "no champion"), None
    if str(champion.version) == version:
        return verdict(version, challenger, True, "is the champion"), None
    scores = _champion_scores(app, tracking, champion, data)
    if isinstance(scores, InputError):
        if fresh:
            why = f"cannot score the new data ({scores}); the challenger replaces it"
        else:
            why = f"cannot score this data ({scores})"
        return verdict(str(champion.version), None, True, f"champion version {champion.version!s} {why}"), None
    passed, reason = compare(metric, challenger, scores[metric], tolerance)
    return verdict(str(champion.version), scores[metric], passed, reason), scores


def _champion_scores(app: App, tracking: Tracking, champion: Any, data: list[str]) -> dict[str, float] | InputError:
    """The champion's metrics on ``data``, or the InputError that says it cannot read them."""
    trainer = make_trainer(app, (champion.tags or {}).get(reg.TAG_TRAINER) or app.config.training.trainer)
    model = trainer.load(f"models:/{tracking.model_name}/{champion.version!s}")
    try:
        y, p = trainer.score(model, data, where="validation data")
    except InputError as exc:
        # The champion cannot read the recent data (its columns changed): it cannot serve it either.
        return exc
    return compute_metrics(y, p)


def record_verdict(client: Any, name: str, validation: Validation) -> None:
    """Tag the challenger version with ``validation``; a failed one is marked rejected, a passing one cleared."""
    version = str(validation.challenger_version)
    client.set_model_version_tag(name, version, reg.TAG_VALIDATION, json.dumps(validation.to_dict()))
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
        y, p = trainer.score(model, data_uris, where=", ".join(data_uris))
        challenger = compute_metrics(y, p)[app.config.training.metric]
        result, _ = judge(
            app,
            client,
            tracking,
            version=str(target.version),
            challenger=challenger,
            data=data_uris,
            rows=len(y),
            fresh=False,
        )
        if record:
            record_verdict(client, name, result)
    return result
