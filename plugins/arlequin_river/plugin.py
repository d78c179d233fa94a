"""Hook implementations of the ``river`` plugin: its detectors.

Registered by name; river itself is imported when one of them is first used (a
config that names none never imports it).

Their state between batches is kept, and reset when a new champion is promoted, by
the core's drift monitor (:mod:`arlequin_core.drift.online_state`), the same for any
plugin's online detectors.
"""

from __future__ import annotations

from arlequin_core import hookimpl, lazy
from arlequin_core.hookspecs import Register

#: name -> ``module:class`` of every detector this plugin registers, in documentation order.
DETECTORS = {
    "adwin": "arlequin_river.value:AdwinDetector",
    "kswin": "arlequin_river.value:KswinDetector",
    "page_hinkley": "arlequin_river.value:PageHinkleyDetector",
    "ddm": "arlequin_river.error_rate:DdmDetector",
    "eddm": "arlequin_river.error_rate:EddmDetector",
    "hddm_a": "arlequin_river.error_rate:HddmADetector",
    "hddm_w": "arlequin_river.error_rate:HddmWDetector",
}


@hookimpl
def arlequin_register_detectors(register: Register) -> None:
    for name, target in DETECTORS.items():
        register(lazy(target, name=name))
