"""Arlequin: keep machine-learning models accurate when production data drifts.

Plugin authors need one import::

    from arlequin_core import hookimpl

    @hookimpl
    def arlequin_register_detectors(register):
        register(MyDetector)

See ``docs/plugins.md`` for every hook.
"""

from __future__ import annotations

import pluggy

__version__ = "0.1.0"

#: Marker for hook implementations in plugins.
hookimpl = pluggy.HookimplMarker("arlequin")
#: Marker for hook specifications (used by :mod:`arlequin_core.hookspecs` only).
hookspec = pluggy.HookspecMarker("arlequin")

__all__ = ["__version__", "hookimpl", "hookspec"]
