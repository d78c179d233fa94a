"""Drift detection: detectors' interface, profiles, the policy and reports.

The API other parts call::

    from arlequin_core.drift import Profile, build_profile, check_batch

    profile = build_profile(train_table, config, app.registry)   # fit once
    profile.save("train.profile")                                 # travels with the model
    report = check_batch(Profile.load("train.profile"), batch, config, app.registry)
    report.drifted, report.to_json()

Names are imported lazily so that ``arlequin_core.drift.base`` stays light.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ColumnResult", "DriftReport", "Profile", "build_profile", "check_batch"]

_WHERE = {
    "Profile": "arlequin_core.drift.profile",
    "build_profile": "arlequin_core.drift.profile",
    "check_batch": "arlequin_core.drift.check",
    "DriftReport": "arlequin_core.drift.report",
    "ColumnResult": "arlequin_core.drift.report",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'arlequin_core.drift' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
