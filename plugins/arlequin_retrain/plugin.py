"""Hook implementations of the ``retrain`` plugin."""

from __future__ import annotations

from typing import Any

from arlequin_core import hookimpl


@hookimpl
def arlequin_register_sinks(register: Any) -> None:
    """Register the local retrain sink."""
    from arlequin_retrain.sink import RetrainSink

    register(RetrainSink)
