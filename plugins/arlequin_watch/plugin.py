"""Hook implementations of the ``watch`` plugin.

The sources are imported on first use (watchdog, fsspec); the commands are click
objects whose modules import the daemon's machinery inside the commands.
"""

from __future__ import annotations

from arlequin_core import hookimpl, lazy
from arlequin_core.hookspecs import Register


@hookimpl
def arlequin_register_sources(register: Register) -> None:
    """``local`` (inotify on a directory tree) and ``poll`` (any fsspec URI)."""
    register(lazy("arlequin_watch.local:LocalSource", name="local"))
    register(lazy("arlequin_watch.poll:PollSource", name="poll"))


@hookimpl
def arlequin_register_commands(register: Register) -> None:
    """``watch``, ``status``, ``retry`` and ``report``."""
    from arlequin_watch.commands import report_cmd, retry_cmd, status_cmd, watch_cmd

    register(watch_cmd)
    register(status_cmd)
    register(retry_cmd)
    register(report_cmd)
