"""The sink interface.

A sink enabled in config is instantiated with its config section and the running
application, then registered on the plugin manager, so its ``arlequin_on_<event>``
methods (decorated with :data:`arlequin_core.hookimpl`) receive events from the bus
like any plugin's hooks do.
"""

from __future__ import annotations

from typing import Any, ClassVar


class Sink:
    """Base class of sinks. Subclasses set a unique ``name`` and implement event hooks."""

    name: ClassVar[str]

    def __init__(self, config: Any = None, app: Any = None) -> None:
        self.config = config
        self.app = app

    def close(self) -> None:
        """Release resources; called once when the daemon stops."""
