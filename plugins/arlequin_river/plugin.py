"""Hook implementations of the ``river`` plugin: its detectors.

Their state between batches is kept, and reset when a new champion is promoted, by
the core's drift monitor (:mod:`arlequin_core.drift.online_state`), the same for any
plugin's online detectors.
"""

from __future__ import annotations

from arlequin_core import hookimpl
from arlequin_core.hookspecs import Register
from arlequin_river.error_rate import DdmDetector, EddmDetector, HddmADetector, HddmWDetector
from arlequin_river.value import AdwinDetector, KswinDetector, PageHinkleyDetector

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
