"""The registered model: versions, the ``champion`` and ``challenger`` aliases, history tags.

* A new version gets the alias ``challenger``; it loses it when it becomes ``champion``
  (one version never carries both: ``challenger`` names a candidate, not the server).
* ``champion`` is the serving model. When it moves, the new champion's version gets
  the tag ``arlequin.previous_champion`` = the version it replaced, so
  :func:`rollback` can walk back one step at a time, and the registered model keeps
  the list of every champion in ``arlequin.champion_history`` (JSON).
* A version that failed validation carries ``arlequin.rejected=true`` and
  ``arlequin.rejected_reason``; one rolled back carries ``arlequin.rolled_back``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from arlequin_core.training.errors import ModelRegistryError

CHAMPION = "champion"
CHALLENGER = "challenger"

TAG_TRAINER = "arlequin.trainer"
TAG_REJECTED = "arlequin.rejected"
TAG_REJECTED_REASON = "arlequin.rejected_reason"
TAG_VALIDATION = "arlequin.validation"
TAG_PREVIOUS = "arlequin.previous_champion"
TAG_HISTORY = "arlequin.champion_history"
TAG_ROLLED_BACK = "arlequin.rolled_back"
TAG_FORCED = "arlequin.forced"
TAG_PENDING = "arlequin.pending_id"
#: ``classification`` or ``regression``: what the version predicts (decides the metric and the paired test).
TAG_TASK = "arlequin.task"

#: MLflow tag values are limited (5000 characters for registry tags); keep the tail of long histories.
_MAX_HISTORY = 200


def _not_found(exc: Exception) -> bool:
    return getattr(exc, "error_code", "") == "RESOURCE_DOES_NOT_EXIST"


def registered_model(client: Any, name: str) -> Any | None:
    """The registered model ``name``, or None when it does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_registered_model(name)
    except MlflowException as exc:
        if _not_found(exc):
            return None
        raise


def alias_version(client: Any, name: str, alias: str) -> Any | None:
    """The model version behind ``alias``, or None."""
    model = registered_model(client, name)
    if model is None or alias not in (model.aliases or {}):
        return None
    return client.get_model_version(name, str(model.aliases[alias]))


def get_version(client: Any, name: str, version: str) -> Any:
    """Model version ``version`` of ``name``.

    :raises ModelRegistryError: no such model or version (the message lists the versions).
    """
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version(name, str(version))
    except MlflowException as exc:
        if not _not_found(exc):
            raise
    known = ", ".join(str(v.version) for v in list_versions(client, name)) or "none"
    raise ModelRegistryError(f"model {name!r} has no version {version!r}; versions: {known}")


def list_versions(client: Any, name: str) -> list[Any]:
    """Every version of ``name``, oldest first (empty when the model does not exist)."""
    escaped = name.replace("'", "\\'")
    versions = client.search_model_versions(f"name = '{escaped}'")
    return sorted(versions, key=lambda v: int(v.version))


def versions_of_run(client: Any, name: str, run_id: str) -> list[Any]:
    """Versions of ``name`` created from run ``run_id`` (to make registration idempotent)."""
    escaped = name.replace("'", "\\'")
    return list(client.search_model_versions(f"name = '{escaped}' and run_id = '{run_id}'"))


def set_champion(client: Any, name: str, version: str, reason: str) -> str | None:
    """Move ``champion`` to ``version``; return the version it replaced (None: first champion).

    Records ``arlequin.previous_champion`` on ``version`` and appends to the model's
    ``arlequin.champion_history``.
    """
    version = str(version)
    current = alias_version(client, name, CHAMPION)
    previous = str(current.version) if current is not None else None
    if previous == version:
        _drop_challenger(client, name, version)
        return previous
    client.set_registered_model_alias(name, CHAMPION, version)
    _drop_challenger(client, name, version)
    if previous is not None:
        client.set_model_version_tag(name, version, TAG_PREVIOUS, previous)
    _append_history(client, name, {"version": version, "replaced": previous, "reason": reason[:300]})
    return previous


def _drop_challenger(client: Any, name: str, version: str) -> None:
    """Remove ``challenger`` from ``version`` (it is the champion now); no-op when it points elsewhere."""
    model = registered_model(client, name)
    if model is not None and str((model.aliases or {}).get(CHALLENGER)) == str(version):
        client.delete_registered_model_alias(name, CHALLENGER)


def _append_history(client: Any, name: str, entry: dict[str, Any]) -> None:
    model = registered_model(client, name)
    history: list[dict[str, Any]] = []
    if model is not None and TAG_HISTORY in (model.tags or {}):
        try:
            history = json.loads(model.tags[TAG_HISTORY])
        except json.JSONDecodeError:
            history = []
    entry = {"at": datetime.now(timezone.utc).isoformat(timespec="seconds"), **entry}
    history.append(entry)
    text = json.dumps(history[-_MAX_HISTORY:], separators=(",", ":"))
    while len(text) > 4900 and len(history) > 1:
        history = history[1:]
        text = json.dumps(history, separators=(",", ":"))
    client.set_registered_model_tag(name, TAG_HISTORY, text)


@dataclass
class Rollback:
    """What :func:`rollback` did."""

    model_name: str
    from_version: str
    to_version: str
    history: list[str] = field(default_factory=list)


def rollback(client: Any, name: str) -> Rollback:
    """Move ``champion`` back to the champion it replaced.

    The version rolled away from is tagged ``arlequin.rolled_back``. Calling it again
    walks one more step back, following ``arlequin.previous_champion`` tags.

    :raises ModelRegistryError: no champion, or the champion replaced nobody.
    """
    current = alias_version(client, name, CHAMPION)
    if current is None:
        raise ModelRegistryError(f"model {name!r} has no champion; nothing to roll back")
    previous = (current.tags or {}).get(TAG_PREVIOUS)
    if not previous:
        raise ModelRegistryError(
            f"champion {name!r} version {current.version!s} was the first champion; there is no previous one. "
            "Promote another version with `arlequin promote --version V` instead"
        )
    get_version(client, name, previous)  # fails clearly if it was deleted
    client.set_registered_model_alias(name, CHAMPION, previous)
    _drop_challenger(client, name, str(previous))
    client.set_model_version_tag(name, str(current.version), TAG_ROLLED_BACK, "true")
    _append_history(client, name, {"version": previous, "replaced": str(current.version), "reason": "rollback"})
    return Rollback(model_name=name, from_version=str(current.version), to_version=str(previous))


def is_rejected(version: Any) -> bool:
    """Whether ``version`` failed validation."""
    return (version.tags or {}).get(TAG_REJECTED) == "true"
