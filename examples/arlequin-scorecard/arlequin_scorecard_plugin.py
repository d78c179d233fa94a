"""The entry point of the ``scorecard`` plugin: its hook, and nothing heavy.

The trainer's module (:mod:`arlequin_scorecard`: numpy, pandas, MLflow at use) is
imported the first time ``[training] trainer = "scorecard"`` is used.
"""

from __future__ import annotations

from arlequin_core import hookimpl, lazy
from arlequin_core.hookspecs import Register


@hookimpl
def arlequin_register_trainers(register: Register) -> None:
    """Register ``scorecard``."""
    register(lazy("arlequin_scorecard:ScorecardTrainer", name="scorecard"))
