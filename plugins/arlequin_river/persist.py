"""Carry online detectors' state across batches and restarts of the drift monitor.

The monitor checks a batch with :func:`arlequin_core.drift.check.check_batch`
against the champion's :class:`~arlequin_core.drift.profile.Profile`; the profile
caches one fitted detector per column, so within one process an online detector
simply goes on from batch to batch. Across a restart that cache is gone: these two
calls, around ``check_batch``, keep the stream going::

    restore_online_state(profile, registry, store, model_name, model_version)
    report = check_batch(profile, batch, config, registry, uri=uri)
    save_online_state(profile, registry, store, batch_id, model_name, model_version)

``store`` is an :class:`~arlequin_river.store.OnlineStateStore` on
``state_dir(config.home)``. Columns tested by batch detectors are left alone.
"""

from __future__ import annotations

from pathlib import Path

from arlequin_core.drift.profile import Profile
from arlequin_core.logs import get_logger
from arlequin_core.registry import ComponentRegistry
from arlequin_river.store import OnlineStateStore

__all__ = ["online_columns", "restore_online_state", "save_online_state"]

log = get_logger(__name__)


def online_columns(profile: Profile, registry: ComponentRegistry) -> list[str]:
    """The profile's columns whose detector is an online one (``info.online``), in profile order."""
    return [name for name, cp in profile.columns.items() if registry.get("detector", cp.detector).info.online]


def restore_online_state(
    profile: Profile,
    registry: ComponentRegistry,
    store: OnlineStateStore,
    model_name: str | None = None,
    model_version: str | None = None,
) -> list[str]:
    """Before a batch is checked: continue each online column from its saved state.

    A column whose state was saved for this champion has its entry in ``profile``
    (in memory only; the saved profile is not changed) replaced by the saved state,
    so the detector ``check_batch`` builds continues the stream. A column without a
    saved state starts from the champion's warm-up. Call it before the profile's
    detectors are first used; later calls change nothing for columns already built.

    :return: the columns restored.
    :raises StateError: a state file is unreadable (its path is named).
    """
    restored = []
    for column in online_columns(profile, registry):
        cp = profile.columns[column]
        record = store.load(column, cp.detector, model_name, model_version)
        if record is None:
            continue
        cp.state = record["profile"]
        restored.append(column)
    if restored:
        log.info("online_state_restored", columns=restored, directory=str(store.directory))
    return restored


def save_online_state(
    profile: Profile,
    registry: ComponentRegistry,
    store: OnlineStateStore,
    batch_id: str | None = None,
    model_name: str | None = None,
    model_version: str | None = None,
) -> list[Path]:
    """After a batch was checked: save the state of every online column's detector.

    :return: the files written (one per online column).
    """
    return [
        store.save(
            column,
            profile.columns[column].detector,
            profile.detector(column, registry).to_profile(),
            batch_id=batch_id,
            model_name=model_name,
            model_version=model_version,
        )
        for column in online_columns(profile, registry)
    ]
