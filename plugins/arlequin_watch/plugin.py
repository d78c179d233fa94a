"""Hook implementations of the ``watch`` plugin."""

from __future__ import annotations

from arlequin_core import hookimpl
from arlequin_core.hookspecs import Register
from arlequin_watch.commands import report_cmd, retry_cmd, status_cmd, watch_cmd
from arlequin_watch.local import LocalSource
from arlequin_watch.poll import PollSource


@hookimpl
def arlequin_register_sources(register: Register) -> None:
    """``local`` (inotify on a directory tree) and ``poll`` (any fsspec URI)."""
    register(LocalSource)
    register(PollSource)


@hookimpl
def arlequin_register_commands(register: Register) -> None:
    """``watch``, ``status``, ``retry`` and ``report``."""
    register(watch_cmd)
    register(status_cmd)
    register(retry_cmd)
    register(report_cmd)
