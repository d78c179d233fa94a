"""Hook implementations of the ``jenkins`` plugin."""

from __future__ import annotations

from arlequin_core import hookimpl
from arlequin_core.hookspecs import Register
from arlequin_jenkins.sink import JenkinsSink


@hookimpl
def arlequin_register_sinks(register: Register) -> None:
    """Register the ``jenkins`` sink."""
    register(JenkinsSink)
