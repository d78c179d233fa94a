"""The drift monitor: checks every batch that arrives and says what it found.

:class:`Monitor` is registered on the plugin manager like a plugin; the bus hands it
each ``data-arrived`` event on its own lane (one thread, so batches are checked one
at a time, in order). For each batch it

1. asks ``profile_provider`` for the profile to compare against and the model it
   belongs to (the daemon returns the champion's profile from MLflow);
2. reads the batch (:func:`arlequin_core.io.read_table`) and runs
   :func:`arlequin_core.drift.check.check_batch`;
3. writes ``<home>/reports/<batch id>.json`` and, when ``[drift] html`` is true,
   ``<home>/reports/<batch id>.html``;
4. publishes ``batch-checked`` always, then ``drift-detected`` when the policy says
   so, both caused by the ``data-arrived`` event (``cause_event_id``).

A batch that cannot be checked (unreadable, empty, missing columns, no profile yet)
is answered with ``batch-rejected`` carrying the reason; the batch stays where it is
and nothing is raised out of the hook. Unexpected errors do propagate, so the bus
journals them as ``plugin-failed``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from arlequin_core import hookimpl
from arlequin_core.config import ArlequinConfig
from arlequin_core.drift.check import check_batch
from arlequin_core.drift.profile import Profile
from arlequin_core.drift.report import DriftReport
from arlequin_core.errors import ArlequinError
from arlequin_core.events import BatchChecked, BatchRejected, DataArrived, DriftDetected
from arlequin_core.io import read_table
from arlequin_core.logs import get_logger
from arlequin_core.registry import ComponentRegistry

if TYPE_CHECKING:
    from arlequin_core.app import App
    from arlequin_core.bus import Bus

log = get_logger(__name__)

#: Returns ``(profile, model name, model version)``; raises an ArlequinError when there is none yet.
ProfileProvider = Callable[[], tuple[Profile, "str | None", "str | None"]]

REPORTS_DIR = "reports"


class Monitor:
    """Checks each arriving batch against the profile of the serving model.

    :param config: ``[data] format`` and ``[drift]`` are used; reports go under ``config.home``.
    :param registry: where the profiles' detectors are looked up.
    :param bus: where the verdicts are published.
    :param profile_provider: called once per batch.
    """

    #: The name it is registered under on the plugin manager.
    name = "monitor"

    def __init__(
        self,
        config: ArlequinConfig,
        registry: ComponentRegistry,
        bus: Bus,
        profile_provider: ProfileProvider,
    ) -> None:
        self.config = config
        self.registry = registry
        self.bus = bus
        self.profile_provider = profile_provider

    @classmethod
    def attach(cls, app: App, profile_provider: ProfileProvider) -> Monitor:
        """Make a monitor for ``app`` and register it on the app's plugin manager."""
        monitor = cls(app.config, app.registry, app.bus, profile_provider)
        if not app.host.register_plugin(monitor, cls.name, module_name=__name__):
            failure = app.host.failures.get(cls.name)
            raise ArlequinError(f"cannot register the drift monitor: {failure.error if failure else 'unknown error'}")
        return monitor

    @property
    def reports_dir(self) -> Path:
        """Where reports are written: ``<home>/reports``."""
        return self.config.home / REPORTS_DIR

    @hookimpl
    def arlequin_on_data_arrived(self, event: DataArrived) -> None:
        """Check the batch of ``event`` and publish the verdict (see the module docstring)."""
        batch_id = event.batch_id or event.event_id
        try:
            profile, model_name, model_version = self.profile_provider()
            table = read_table(event.uri, self.config.data.format)
            report = check_batch(profile, table, self.config, self.registry, uri=event.uri)
        except ArlequinError as exc:
            log.warning("batch_rejected", batch_id=batch_id, uri=event.uri, reason=str(exc))
            self.bus.publish(
                BatchRejected(
                    uri=event.uri,
                    reason=str(exc),
                    error_type=type(exc).__name__,
                    batch_id=batch_id,
                    cause_event_id=event.event_id,
                )
            )
            return
        report.batch_id, report.model_name, report.model_version = batch_id, model_name, model_version
        report_path = self._write_reports(batch_id, report, profile, table)
        common = {
            "uri": event.uri,
            "drift_share": report.drift_share,
            "drifted_columns": tuple(report.drifted_columns),
            "report_uri": str(report_path),
            "model_name": model_name,
            "model_version": model_version,
            "batch_id": batch_id,
            "cause_event_id": event.event_id,
        }
        self.bus.publish(BatchChecked(drifted=report.drifted, rows=table.num_rows, **common))
        if report.drifted:
            self.bus.publish(DriftDetected(reason=report.reason, **common))

    def _write_reports(self, batch_id: str, report: DriftReport, profile: Profile, table: pa.Table) -> Path:
        self.reports_dir.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^A-Za-z0-9._-]", "_", batch_id)
        path = self.reports_dir / f"{stem}.json"
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(report.to_json() + "\n", encoding="utf-8")
        tmp.replace(path)
        if self.config.drift.html:
            from arlequin_core.drift.html import write_html

            try:
                write_html(report, profile, table, path.with_suffix(".html"))
            except Exception as exc:  # a plot must never cost the verdict
                log.error("html_report_failed", batch_id=batch_id, error=f"{type(exc).__name__}: {exc}")
        return path
