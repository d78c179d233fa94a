"""Hook implementations of the ``webhook`` plugin (components imported on first use)."""

from __future__ import annotations

from arlequin_core import hookimpl, lazy
from arlequin_core.hookspecs import Register


@hookimpl
def arlequin_register_sinks(register: Register) -> None:
    """Register the ``webhook`` sink."""
    register(lazy("arlequin_webhook.sink:WebhookSink", name="webhook"))
