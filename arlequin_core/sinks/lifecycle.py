"""Starting and stopping the sinks enabled in config (the watcher daemon calls these)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from arlequin_core.logs import get_logger
from arlequin_core.sinks.base import Sink

log = get_logger(__name__)

#: Sinks are registered on the plugin manager under ``sink:<name>``.
PLUGIN_PREFIX = "sink:"


def start_sinks(app: Any) -> list[Sink]:
    """Instantiate, register and start every sink whose table has ``enabled = true``.

    For each ``[sinks.<name>]`` table with ``enabled = true``, and each registered sink
    whose class :meth:`~arlequin_core.sinks.base.Sink.starts_by_default` (the local
    retrain sink; the metrics endpoint when ``[metrics]`` is set) unless its
    table says ``enabled = false`` or, for a sink that ``retrains``, another enabled
    sink retrains (Jenkins): look up the sink class
    ``name`` in the registry (an unknown name fails with the known ones), build it
    with the table and ``app`` (it validates the table), register it with
    ``app.host.add`` as ``sink:<name>`` (validated like an entry-point plugin) so the
    bus delivers events to its hooks, and
    call its :meth:`~arlequin_core.sinks.base.Sink.start`.

    :param app: the running :class:`arlequin_core.app.App`.
    :returns: the started sinks, in config order; pass them to :func:`stop_sinks`.
    :raises arlequin_core.errors.ConfigError: a table is invalid (names file and key).
    :raises arlequin_core.errors.UnknownComponentError: no plugin registered that sink.
    :raises arlequin_core.errors.PluginError: the sink's hooks break the contract.
    """
    started: list[Sink] = []
    configured = app.config.sinks
    names = set(app.registry.names("sink"))
    retraining_enabled = any(
        isinstance(table, dict) and table.get("enabled") is True and app.registry.get("sink", name).retrains
        for name, table in configured.items()
        if name in names
    )
    default_on = {
        item.name
        for item in app.registry.usable("sink")  # one that fails to import is logged and left out
        if item.obj.starts_by_default(app) and not (item.obj.retrains and retraining_enabled)
    }
    tables: dict[str, Any] = {name: {} for name in sorted(default_on)} | dict(configured)
    try:
        for name, table in tables.items():
            if not isinstance(table, dict) or table.get("enabled", name in default_on) is not True:
                log.info("sink_not_enabled", sink=name)
                continue
            cls = app.component("sink", name)
            sink = cls(table, app)
            app.host.add(sink, PLUGIN_PREFIX + name)  # validated like any plugin
            sink.start()
            started.append(sink)
            log.info("sink_started", sink=name)
    except BaseException:
        stop_sinks(app, started)
        raise
    return started


def stop_sinks(app: Any, sinks: Sequence[Sink]) -> None:
    """Unregister ``sinks`` from the plugin manager and close them (newest first)."""
    for sink in reversed(list(sinks)):
        app.host.remove(sink)
        try:
            sink.close()
        except Exception as exc:  # one sink's failure to close must not keep the others open
            log.error("sink_close_failed", sink=sink.name, error=f"{type(exc).__name__}: {exc}")
