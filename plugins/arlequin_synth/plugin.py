"""Hook implementations of the ``synth`` plugin: the ``arlequin generate`` command."""

from __future__ import annotations

from arlequin_core import hookimpl
from arlequin_core.hookspecs import Register


@hookimpl
def arlequin_register_commands(register: Register) -> None:
    from arlequin_synth.cli import generate

    register(generate)
