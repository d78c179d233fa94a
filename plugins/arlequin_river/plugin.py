"""Hook implementations of the ``river`` plugin: its detectors, and a state reset on promotion."""

from __future__ import annotations

from arlequin_core import hookimpl
from arlequin_core.drift.online_state import open_stores
from arlequin_core.events import ModelRegistered
from arlequin_core.hookspecs import Register
from arlequin_core.logs import get_logger
from arlequin_river.error_rate import DdmDetector, EddmDetector, HddmADetector, HddmWDetector
from arlequin_river.value import AdwinDetector, KswinDetector, PageHinkleyDetector

log = get_logger(__name__)

#: Every detector this plugin registers, in documentation order.
DETECTORS = (
    AdwinDetector,
    KswinDetector,
    PageHinkleyDetector,
    DdmDetector,
    EddmDetector,
    HddmADetector,
    HddmWDetector,
)


@hookimpl
def arlequin_register_detectors(register: Register) -> None:
    for detector in DETECTORS:
        register(detector)


@hookimpl
def arlequin_on_model_registered(event: ModelRegistered) -> None:
    # A new champion has a new reference: online state learnt under the old one must
    # not carry over. States in other processes are skipped on load (champion differs).
    if not event.promoted:
        return
    for store in open_stores():
        removed = store.reset()
        log.info(
            "online_state_reset_on_promotion",
            model_name=event.model_name,
            model_version=event.model_version,
            directory=str(store.directory),
            removed=removed,
        )
