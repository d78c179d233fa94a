"""Logging: structlog, configured in one place.

Human console output when stderr is a terminal (short lines, see
:mod:`arlequin_core.console`); JSON lines otherwise (the daemon under a supervisor, CI,
pipes) or with ``--log-format json``. Every record passes through
:func:`arlequin_core.secrets.redact`.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Any

from arlequin_core.secrets import redact
from arlequin_core.text import terminal_safe

__all__ = ["LOG_FORMATS", "configure_logging", "get_logger", "resolve_format", "terminal_safe"]

LOG_FORMATS = ("auto", "console", "json")


def _redact_processor(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    return redact(event_dict)


class _Stderr:
    """Whatever ``sys.stderr`` is at each write, so that a progress display redirecting it
    (:mod:`arlequin_core.progress`) prints log lines above itself instead of through it."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def resolve_format(fmt: str = "auto") -> str:
    """``console`` or ``json``: ``auto`` picks console on a terminal outside CI."""
    if fmt not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, got {fmt!r}")
    if fmt != "auto":
        return fmt
    interactive = sys.stderr.isatty() and not os.environ.get("CI")
    return "console" if interactive else "json"


def configure_logging(fmt: str = "auto", level: str = "info", *, lazy: bool = False) -> None:
    """Configure structlog (and the stdlib root logger) for the whole process.

    :param fmt: ``auto``, ``console`` or ``json``.
    :param level: ``debug``, ``info``, ``warning`` or ``error``.
    :param lazy: check the arguments and route the stdlib's records now, but import and
        configure structlog when the first record is logged (the CLI: a one-off command
        that logs nothing never pays the tenth of a second structlog's import costs).
        The records are the same either way.
    :raises ValueError: an unknown format or level (at once, lazy or not).
    """
    global _pending
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"log level must be debug, info, warning or error, got {level!r}")
    resolved = resolve_format(fmt)
    with _lock:
        _pending = (resolved, numeric)
        # Quiet chatty libraries (py4j, urllib3, alembic) unless debugging. Records of the stdlib
        # (libraries, and Python warnings such as numpy's RuntimeWarning through
        # logging.captureWarnings) are rendered like ours: one JSON line each in JSON mode.
        handler = logging.StreamHandler(_Stderr())  # type: ignore[arg-type]
        handler.setFormatter(_Formatter())
        logging.basicConfig(level=max(numeric, logging.WARNING), handlers=[handler], force=True)
        logging.captureWarnings(True)
        if not lazy:
            _apply_pending()


#: ``(format, numeric level)`` of the last :func:`configure_logging` not applied to structlog yet.
_pending: tuple[str, int] | None = None
_lock = threading.RLock()


def _apply_pending() -> None:
    """Configure structlog as the last :func:`configure_logging` asked, if not done yet."""
    global _pending
    if _pending is None:
        return
    with _lock:
        if _pending is None:
            return
        fmt, numeric = _pending
        _pending = None
        import structlog

        renderer: Any
        foreign_renderer: Any
        if fmt == "console":
            from arlequin_core.console import ConsoleLines, use_colors

            colors = use_colors(sys.stderr)
            renderer = ConsoleLines(colors=colors, verbose=numeric <= logging.DEBUG)
            foreign_renderer = ConsoleLines(colors=colors, verbose=True)  # never drops a library's record
        else:
            renderer = foreign_renderer = structlog.processors.JSONRenderer()
        shared: list[Any] = [
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ]
        structlog.configure(
            processors=[*shared, _redact_processor, renderer],
            wrapper_class=structlog.make_filtering_bound_logger(numeric),
            logger_factory=structlog.PrintLoggerFactory(file=_Stderr()),  # type: ignore[arg-type]
            cache_logger_on_first_use=False,
        )
        _Formatter.current = structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                _redact_processor,
                foreign_renderer,
            ],
        )


class _Formatter(logging.Formatter):
    """The root handler's formatter: structlog's ProcessorFormatter of the last configuration,
    made (structlog imported) when the first stdlib record is formatted."""

    current: logging.Formatter | None = None

    def format(self, record: logging.LogRecord) -> str:
        _apply_pending()
        formatter = _Formatter.current
        return formatter.format(record) if formatter is not None else super().format(record)


class _Logger:
    """A structlog logger made on first use, so that importing a module that logs
    (``log = get_logger(__name__)``) does not import structlog: ``arlequin --help`` never logs."""

    __slots__ = ("_name", "_proxy")

    def __init__(self, name: str | None) -> None:
        self._name = name
        self._proxy: Any = None

    def __getattr__(self, attr: str) -> Any:
        _apply_pending()  # a lazy configure_logging: structlog is configured before its first record
        if self._proxy is None:
            import structlog

            self._proxy = structlog.get_logger() if self._name is None else structlog.get_logger(logger_name=self._name)
        return getattr(self._proxy, attr)


def get_logger(name: str | None = None) -> Any:
    """A structlog logger bound to ``name`` (usually ``__name__``).

    The logger stays lazy: it follows :func:`configure_logging` calls made after import,
    and structlog itself is imported when it first logs.
    """
    return _Logger(name)
