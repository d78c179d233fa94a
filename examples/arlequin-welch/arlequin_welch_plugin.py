"""The entry point of the ``welch`` plugin: its hooks, and nothing heavy.

``arlequin`` imports this module at start-up; the detector's module
(:mod:`arlequin_welch`, numpy and scipy) is imported the first time a column uses
``welch``.
"""

from __future__ import annotations

from arlequin_core import hookimpl, lazy
from arlequin_core.hookspecs import Register


@hookimpl
def arlequin_register_detectors(register: Register) -> None:
    register(lazy("arlequin_welch:Welch", name="welch"))
