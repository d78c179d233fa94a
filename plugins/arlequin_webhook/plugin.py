"""Hook implementations of the ``webhook`` plugin."""

from __future__ import annotations

from arlequin_core import hookimpl
from arlequin_core.hookspecs import Register
from arlequin_webhook.sink import WebhookSink


@hookimpl
def arlequin_register_sinks(register: Register) -> None:
    """Register the ``webhook`` sink."""
    register(WebhookSink)
