"""Arlequin: keep machine-learning models accurate when production data drifts.

Plugin authors need one import::

    from arlequin_core import hookimpl

    from arlequin_core import hookimpl, lazy

    @hookimpl
    def arlequin_register_detectors(register):
        register(lazy("my_plugin.detector:MyDetector", name="mine"))

``lazy`` names a component now and imports its module on first use, so that
``arlequin --help`` does not pay for the plugin's dependencies; ``register(MyDetector)``
works too. See ``docs/plugins.md`` for every hook.
"""

from __future__ import annotations

import pluggy

from arlequin_core.registry import Lazy, lazy

__version__ = "0.1.0"

#: Marker for hook implementations in plugins.
hookimpl = pluggy.HookimplMarker("arlequin")
#: Marker for hook specifications (used by :mod:`arlequin_core.hookspecs` only).
hookspec = pluggy.HookspecMarker("arlequin")

__all__ = ["Lazy", "__version__", "hookimpl", "hookspec", "lazy"]
