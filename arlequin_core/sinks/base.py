"""The sink interface.

A sink enabled in config is instantiated with its config section and the running
application, then registered on the plugin manager, so its ``arlequin_on_<event>``
methods (decorated with :data:`arlequin_core.hookimpl`) receive events from the bus
like any plugin's hooks do. :func:`arlequin_core.sinks.start_sinks` does all of
that for every ``[sinks.<name>]`` table with ``enabled = true``, then calls
:meth:`Sink.start`.

Sinks that deliver to an external target (Jenkins, a webhook) should subclass
:class:`arlequin_core.sinks.delivering.DeliveringSink`, which brings the shared
retry, dedupe, dead-letter and cooldown mechanism.
"""

from __future__ import annotations

from typing import Any, ClassVar


class Sink:
    """Base class of sinks. Subclasses set a unique ``name`` and implement event hooks."""

    name: ClassVar[str]
    #: Started without a ``[sinks.<name>]`` table (``enabled = false`` turns it off).
    enabled_by_default: ClassVar[bool] = False
    #: This sink retrains models (locally or by triggering a pipeline). A default-on
    #: retraining sink stays off when another retraining sink is enabled in config, so
    #: enabling Jenkins moves retraining to Jenkins instead of training twice.
    retrains: ClassVar[bool] = False

    def __init__(self, config: Any = None, app: Any = None) -> None:
        self.config = config
        self.app = app

    @classmethod
    def starts_by_default(cls, app: Any) -> bool:
        """Whether this sink starts without a ``[sinks.<name>]`` table, given the running ``app``.

        Default: :attr:`enabled_by_default`. A sink configured elsewhere (the metrics
        endpoint by ``[metrics]``) says here whether that configuration asks for it.
        """
        return cls.enabled_by_default

    def start(self) -> None:
        """Start background work (a delivery thread); called once after registration."""

    def close(self) -> None:
        """Release resources and stop background work promptly; called once when the daemon stops."""
