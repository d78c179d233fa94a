"""The champion on the registry: promote, roll back, list versions, read the serving model and its profile.

What the CLI (``arlequin promote``, ``arlequin models``), Jenkins stages and the drift
monitor call outside a retrain::

    promote_version(app, version=None, force=False) -> (version, previous champion | None)
    rollback_champion(app) -> Rollback
    list_models(config) -> [row, ...]
    champion_info(config) -> {model_name, model_version, run_id, trainer} | None
    champion_profile(config, cache=None) -> (Profile, model_name, version) | None

Moves of the ``champion`` alias publish ``model-registered`` (``promoted=True``) so a
running daemon follows them. Every MLflow call goes through
:func:`~arlequin_core.training.tracking.guard`: failures are one
:class:`~arlequin_core.training.errors.TrackingError` naming the store.
"""

from __future__ import annotations

import json
import tempfile
from typing import TYPE_CHECKING, Any

from arlequin_core.cache import VersionCache
from arlequin_core.config import ArlequinConfig
from arlequin_core.errors import ArlequinError
from arlequin_core.events import ModelRegistered
from arlequin_core.logs import get_logger
from arlequin_core.training import models as reg
from arlequin_core.training.errors import ModelRegistryError, TrackingError
from arlequin_core.training.profiles import PROFILE_ARTIFACT, download_profile, load_profile
from arlequin_core.training.tracking import Tracking, guard, short_error

if TYPE_CHECKING:
    from arlequin_core.app import App

log = get_logger(__name__)


def publish_registered(app: App, event: ModelRegistered) -> ModelRegistered | None:
    """Publish ``event`` on ``app.bus``; a failure is logged, never raised (the registry already changed).

    :returns: the event, or None when it could not be published.
    """
    try:
        app.bus.publish(event)
    except Exception as exc:  # the model is registered; a closed bus must not undo that
        log.error("publish_failed", event=event.name, error=f"{type(exc).__name__}: {exc}")
        return None
    return event


def promote_version(app: App, version: str | None = None, *, force: bool = False) -> tuple[str, str | None]:
    """Make ``version`` (default: the ``challenger``) the champion.

    A version tagged rejected needs ``force`` (recorded as ``arlequin.forced``).
    Publishes ``model-registered`` with ``promoted=True``.

    :returns: ``(promoted version, the version it replaced or None)``.
    :raises ModelRegistryError: unknown version, no challenger, or rejected without ``force``.
    """
    tracking = Tracking.from_config(app.config)
    name = tracking.model_name
    with guard(tracking, "promoting") as client:
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
    publish_registered(
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
    with guard(tracking, "rolling back") as client:
        done = reg.rollback(client, tracking.model_name)
        restored = reg.get_version(client, tracking.model_name, done.to_version)
    publish_registered(
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
    with guard(tracking, "listing models") as client:
        model = reg.registered_model(client, name)
        if model is None:
            return []
        by_version: dict[str, list[str]] = {}
        for alias, v in (model.aliases or {}).items():
            by_version.setdefault(str(v), []).append(alias)
        return [_version_row(client, v, by_version.get(str(v.version), [])) for v in reg.list_versions(client, name)]


def _version_row(client: Any, v: Any, aliases: list[str]) -> dict[str, Any]:
    tags = v.tags or {}
    metrics: dict[str, float] = {}
    heldout: dict[str, Any] = {}
    if v.run_id:
        try:
            run = client.get_run(v.run_id)
            metrics = dict(run.data.metrics)
            heldout = heldout_of(run.data.params or {}, run.data.tags or {})
        except Exception:  # a deleted run must not hide the version
            metrics = {}
    flags = [
        ("rejected", reg.is_rejected(v)),
        ("forced", tags.get(reg.TAG_FORCED) == "true"),
        ("rolled-back", tags.get(reg.TAG_ROLLED_BACK) == "true"),
    ]
    return {
        "version": str(v.version),
        "aliases": sorted(aliases),
        "status": ",".join(word for word, on in flags if on),
        "created": v.creation_timestamp,
        "run_id": v.run_id,
        "trainer": tags.get(reg.TAG_TRAINER, ""),
        "metrics": {k: metrics[k] for k in sorted(metrics) if "." not in k},
        "reason": tags.get(reg.TAG_REJECTED_REASON, ""),
        "task": tags.get(reg.TAG_TASK, "classification"),
        "validation": _validation_of(tags),
        "heldout": heldout,
    }


def heldout_of(params: dict[str, str], tags: dict[str, str]) -> dict[str, Any]:
    """The rows a version's metrics were measured on: its own held-out split of its training batches.

    :returns: ``rows``, ``batch_ids``, ``uris`` and ``description`` (``800 held-out rows of
        batches b-0001, b-0002``); {} for a run that did not record them.
    """
    try:
        rows = int(params["rows.heldout"])
    except (KeyError, ValueError):
        return {}
    try:
        batch_ids = [str(b) for b in json.loads(tags.get("arlequin.batch_ids") or "[]")]
        uris = [str(u) for u in json.loads(params.get("data_uris") or "[]")]
    except ValueError:  # clipped or hand-edited: the row count still says something
        batch_ids, uris = [], []
    if batch_ids:
        source = f"batch{'es' if len(batch_ids) > 1 else ''} {', '.join(batch_ids)}"
    elif uris:
        names = [u.rstrip("/").rsplit("/", 1)[-1] for u in uris]
        source = ", ".join(names[:2]) + (f" (+{len(names) - 2} more)" if len(names) > 2 else "")
    else:
        source = "its training data"
    return {"rows": rows, "batch_ids": batch_ids, "uris": uris, "description": f"{rows:,} held-out rows of {source}"}


def _validation_of(tags: dict[str, str]) -> dict[str, Any]:
    """The version's verdict against the champion it was compared with ({} when never validated)."""
    try:
        recorded = json.loads(tags.get(reg.TAG_VALIDATION, "{}"))
    except ValueError:
        return {}
    keys = ("metric", "rule", "method", "champion_version", "difference", "low", "high", "p_value", "passed")
    return {k: recorded.get(k) for k in keys} if recorded else {}


def champion_info(config: ArlequinConfig) -> dict[str, Any] | None:
    """The serving model: ``model_name``, ``model_version``, ``run_id``, ``trainer``; None without a champion.

    For status displays (``arlequin status``). :raises TrackingError: MLflow failed.
    """
    tracking = Tracking.from_config(config)
    with guard(tracking, "reading the champion") as client:
        champion = reg.alias_version(client, tracking.model_name, reg.CHAMPION)
        if champion is None:
            return None
        return {
            "model_name": tracking.model_name,
            "model_version": str(champion.version),
            "run_id": champion.run_id,
            "trainer": (champion.tags or {}).get(reg.TAG_TRAINER, ""),
        }


def champion_profile(config: ArlequinConfig, cache: VersionCache | None = None) -> tuple[Any, str, str] | None:
    """The drift profile of the champion's training data, with the model name and version.

    The alias is looked up on every call (cheap), so a new champion changes the
    reference at once; the profile itself is downloaded once per version into
    ``cache`` (e.g. :attr:`App.profile_cache <arlequin_core.app.App.profile_cache>`),
    or on every call without one.

    :returns: ``(profile, model_name, version)``, or None when there is no champion yet.
    :raises TrackingError: MLflow failed, or the champion's run has no profile artifact.
    """
    tracking = Tracking.from_config(config)
    name = tracking.model_name
    with guard(tracking, "reading the champion's profile") as client:
        champion = reg.alias_version(client, name, reg.CHAMPION)
        if champion is None:
            return None
        key = (tracking.uri, name, str(champion.version))
        cached = cache.get(key) if cache is not None else None
        if cached is not None:
            return cached, name, str(champion.version)
        try:
            with tempfile.TemporaryDirectory(prefix="arlequin-profile-") as tmp:
                profile = load_profile(download_profile(client, champion.run_id, tmp))
        except ArlequinError:
            raise
        except Exception as exc:
            raise TrackingError(
                f"champion {name!r} version {champion.version!s} (run {champion.run_id}) has no readable "
                f"{PROFILE_ARTIFACT}: {type(exc).__name__}: {short_error(exc)}; retrain to log one"
            ) from exc
    if cache is not None:
        cache.put(key, profile)
    return profile, name, str(champion.version)
