"""Hook implementations of the ``metrics`` plugin (components imported on first use)."""

from __future__ import annotations

from arlequin_core import hookimpl, lazy
from arlequin_core.hookspecs import Register


@hookimpl
def arlequin_register_sinks(register: Register) -> None:
    """Register the ``metrics`` sink (started with the daemon; serves only when ``[metrics] port`` is set)."""
    register(lazy("arlequin_metrics.exporter:MetricsSink", name="metrics"))
