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

import importlib
from typing import Any

# Resolved on first access (PEP 562), so that importing the plugin's entry point
# (``arlequin_river.plugin``) does not import river.
_EXPORTS = {
    "OnlineStateStore": "arlequin_core.drift.online_state",
    "StateError": "arlequin_core.drift.online_state",
    "restore_online_state": "arlequin_core.drift.online_state",
    "save_online_state": "arlequin_core.drift.online_state",
    "state_dir": "arlequin_core.drift.online_state",
    "ERROR_COLUMN": "arlequin_river.error_rate",
    "DdmDetector": "arlequin_river.error_rate",
    "EddmDetector": "arlequin_river.error_rate",
    "HddmADetector": "arlequin_river.error_rate",
    "HddmWDetector": "arlequin_river.error_rate",
    "error_stream": "arlequin_river.error_rate",
    "OnlineDetector": "arlequin_river.online",
    "as_float_array": "arlequin_river.online",
    "AdwinDetector": "arlequin_river.value",
    "KswinDetector": "arlequin_river.value",
    "PageHinkleyDetector": "arlequin_river.value",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'arlequin_river' has no attribute {name!r}")


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
