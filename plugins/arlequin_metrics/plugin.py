"""Hook implementations of the ``metrics`` plugin."""

from __future__ import annotations

from arlequin_core import hookimpl
from arlequin_core.hookspecs import Register
from arlequin_metrics.exporter import MetricsSink


@hookimpl
def arlequin_register_sinks(register: Register) -> None:
    """Register the ``metrics`` sink (started with the daemon; serves only when ``[metrics] port`` is set)."""
    register(MetricsSink)
