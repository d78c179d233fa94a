"""Hook implementations of the ``synth`` plugin: the ``arlequin generate`` command."""

from __future__ import annotations

from arlequin_core import hookimpl, lazy
from arlequin_core.hookspecs import Register


@hookimpl
def arlequin_register_commands(register: Register) -> None:
    # Named with its help: `arlequin --help` lists it without importing it.
    register(
        lazy(
            "arlequin_synth.cli:generate",
            name="generate",
            help="Write synthetic bank transactions with known drift: batches plus manifest.json.",
        )
    )
