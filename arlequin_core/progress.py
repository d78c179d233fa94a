"""Progress of long work, on stderr: one line per phase with its elapsed time.

``arlequin train`` on a million rows spends seconds in each of reading, fitting,
profiling, logging to MLflow and validating; ``arlequin detect`` in reading the
reference, fitting it and checking the batch. Library code names its phases::

    with phase("fitting"):
        pipeline.fit(x, y)

and they show only while a command displays them (:func:`shown`): on a terminal, or
when asked (``--progress``); never on stdout, so ``--json -`` stays parseable. Without
a display :func:`phase` costs nothing, so the daemon and library callers see no change.

The display is rich's :class:`~rich.progress.Progress` (a spinner and a clock that
tick in rich's own refresh thread while a phase runs, each finished phase left as a
line); it redirects what the log prints to stderr meanwhile above itself. rich is
imported only when a display starts.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

_lock = threading.Lock()
_display: _Display | None = None


#: The ``--progress/--no-progress`` option of the commands that show phases (``show_progress``).
option = click.option(
    "--progress/--no-progress",
    "show_progress",
    default=None,
    help="Phases with elapsed time on stderr (default: on a terminal).",
)


def wanted(option: bool | None, stream: Any = None) -> bool:
    """Whether to show progress: ``--progress``/``--no-progress`` if given, else whether stderr is a terminal."""
    if option is not None:
        return option
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    return bool(callable(isatty) and isatty())


class _Display:
    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            SpinnerColumn(finished_text="[green]✓[/]"),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=False,
        )

    def phase(self, name: str) -> Any:
        from rich.markup import escape

        return self.progress.add_task(escape(name), total=1)

    def done(self, task: Any) -> None:
        self.progress.update(task, completed=1)

    def failed(self, task: Any) -> None:
        description = self.progress.tasks[[t.id for t in self.progress.tasks].index(task)].description
        self.progress.update(task, completed=1, description=f"{description} [red]failed[/]")


@contextmanager
def shown(enabled: bool = True) -> Iterator[None]:
    """Display the phases started inside this block (by any thread) on stderr, when ``enabled``."""
    global _display
    if not enabled:
        yield
        return
    display = _Display()
    with _lock:
        previous, _display = _display, display
    try:
        with display.progress:
            yield
    finally:
        with _lock:
            _display = previous


@contextmanager
def phase(name: str) -> Iterator[None]:
    """Mark a phase of long work; shown (with its elapsed time) while :func:`shown` is active."""
    display = _display
    if display is None:
        yield
        return
    task = display.phase(name)
    try:
        yield
    except BaseException:
        display.failed(task)
        raise
    display.done(task)
