"""Online drift detectors built on river, as an Arlequin plugin (entry point ``river``).

Select one per column in config::

    [drift.columns.amount]
    detector = "adwin"              # or "kswin", "page_hinkley"
    params = { delta = 0.002 }

    [drift.columns.__error__]       # the champion's 0/1 error stream, when labels are present
    detector = "ddm"                # or "eddm", "hddm_a", "hddm_w"

A detector is fitted (warmed up) on the reference column, then fed batch after batch;
the drift monitor saves its state per column under ``<home>/online/``
(:mod:`arlequin_core.drift.online_state`, re-exported here) and resets it when a new
champion is promoted. See docs/online.md for the contract, the state
format and the measured quality of each detector.
"""

from __future__ import annotations

from arlequin_core.drift.online_state import (
    OnlineStateStore,
    StateError,
    restore_online_state,
    save_online_state,
    state_dir,
)
from arlequin_river.error_rate import (
    ERROR_COLUMN,
    DdmDetector,
    EddmDetector,
    HddmADetector,
    HddmWDetector,
    error_stream,
)
from arlequin_river.online import OnlineDetector, as_float_array
from arlequin_river.value import AdwinDetector, KswinDetector, PageHinkleyDetector

__all__ = [
    "ERROR_COLUMN",
    "AdwinDetector",
    "DdmDetector",
    "EddmDetector",
    "HddmADetector",
    "HddmWDetector",
    "KswinDetector",
    "OnlineDetector",
    "OnlineStateStore",
    "PageHinkleyDetector",
    "StateError",
    "as_float_array",
    "error_stream",
    "restore_online_state",
    "save_online_state",
    "state_dir",
]
