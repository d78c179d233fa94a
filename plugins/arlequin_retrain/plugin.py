"""Hook implementations of the ``retrain`` plugin (components imported on first use)."""

from __future__ import annotations

from arlequin_core import hookimpl, lazy
from arlequin_core.hookspecs import Register


@hookimpl
def arlequin_register_sinks(register: Register) -> None:
    """Register the local retrain sink."""
    register(lazy("arlequin_retrain.sink:RetrainSink", name="retrain"))
