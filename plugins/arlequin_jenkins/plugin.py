"""Hook implementations of the ``jenkins`` plugin (components imported on first use)."""

from __future__ import annotations

from arlequin_core import hookimpl, lazy
from arlequin_core.hookspecs import Register


@hookimpl
def arlequin_register_sinks(register: Register) -> None:
    """Register the ``jenkins`` sink."""
    register(lazy("arlequin_jenkins.sink:JenkinsSink", name="jenkins"))
