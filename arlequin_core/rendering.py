"""HTML reports off the monitor's lane: bounded, coalescing, and on demand under backlog.

The verdict of a batch is out (JSON report, ``batch-checked``, ``drift-detected``)
before any plot is drawn, and the next batch must not wait for plots either: they cost
far more than the statistics (about 2 s a batch against milliseconds). So the monitor
hands each report to a :class:`ReportRenderer`, which renders in its own thread:

* **bounded**: at most ``backlog`` reports wait for plots. When a burst brings more,
  the oldest waiting one is not rendered: its page becomes a short placeholder with
  the verdict and the command that renders it on demand (``arlequin report BATCH``,
  :func:`render_on_demand`); the waiting batch data is released;
* **coalescing**: the drift-over-time page (``reports/index.html``) is rebuilt once
  when the queue runs empty, not after every batch;
* stopping renders nothing more: what still waits gets its placeholder.
"""

from __future__ import annotations

import html
import json
import os
import tempfile
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arlequin_core.drift.report import DriftReport
from arlequin_core.errors import ArlequinError, InputError
from arlequin_core.logs import get_logger

if TYPE_CHECKING:
    from arlequin_core.config import ArlequinConfig
    from arlequin_core.drift.profile import Profile
    from arlequin_core.registry import ComponentRegistry

log = get_logger(__name__)

#: Reports that may wait for their plots by default.
DEFAULT_BACKLOG = 4


@dataclass
class _Job:
    batch_id: str
    report: DriftReport
    profile: Profile
    current: Any
    path: Path


class ReportRenderer:
    """Render HTML reports in one background thread (see the module docstring).

    :param backlog: how many reports may wait; more make the oldest one a placeholder.
    """

    def __init__(self, backlog: int = DEFAULT_BACKLOG) -> None:
        if backlog < 1:
            raise ValueError(f"backlog must be >= 1, got {backlog}")
        self.backlog = backlog
        self._queue: deque[_Job] = deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._busy = False
        self._closed = False
        self._history_dirty: set[Path] = set()
        #: Reports rendered with plots, and reports left to render on demand.
        self.rendered = 0
        self.deferred = 0

    def submit(self, batch_id: str, report: DriftReport, profile: Profile, current: Any, path: Path) -> None:
        """Queue the HTML report of a batch; returns at once."""
        dropped: list[_Job] = []
        with self._cond:
            if self._closed:
                dropped.append(_Job(batch_id, report, profile, None, path))
            else:
                while len(self._queue) >= self.backlog:
                    dropped.append(self._queue.popleft())
                self._queue.append(_Job(batch_id, report, profile, current, path))
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="arlequin-html", daemon=True)
                    self._thread.start()
                self._cond.notify_all()
        for job in dropped:
            self._defer(job)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until nothing waits and nothing renders (the index included); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Stop: the report being rendered is finished, the waiting ones become placeholders."""
        with self._cond:
            self._closed = True
            left = list(self._queue)
            self._queue.clear()
            self._cond.notify_all()
            thread = self._thread
        for job in left:
            self._defer(job)
        if thread is not None:
            thread.join(timeout)
        self._write_histories()

    # ------------------------------------------------------------------ worker
    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._closed)
                if not self._queue:
                    return
                job = self._queue.popleft()
                self._busy = True
            try:
                self._render(job)
                with self._cond:
                    drained = not self._queue
                if drained:
                    self._write_histories()  # once per burst, not once per batch
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _render(self, job: _Job) -> None:
        from arlequin_core.drift.html import write_html

        try:
            write_html(job.report, job.profile, job.current, job.path)
            self.rendered += 1
        except Exception as exc:  # a plot must never cost the verdict
            log.error("html_report_failed", batch_id=job.batch_id, error=f"{type(exc).__name__}: {exc}")
        with self._cond:
            self._history_dirty.add(job.path.parent)

    def _defer(self, job: _Job) -> None:
        try:
            write_placeholder(job.report, job.batch_id, job.path)
            self.deferred += 1
            log.info("html_report_deferred", batch_id=job.batch_id, hint=f"arlequin report {job.batch_id}")
        except OSError as exc:
            log.error("html_report_failed", batch_id=job.batch_id, error=f"{type(exc).__name__}: {exc}")
        with self._cond:
            self._history_dirty.add(job.path.parent)

    def _write_histories(self) -> None:
        from arlequin_core.drift.history import write_history

        with self._cond:
            dirty, self._history_dirty = self._history_dirty, set()
        for directory in dirty:
            try:
                write_history(directory)
            except Exception as exc:
                log.error("html_history_failed", directory=str(directory), error=f"{type(exc).__name__}: {exc}")


def write_placeholder(report: DriftReport, batch_id: str, path: Path) -> Path:
    """A page with the verdict and the command that renders the plots (no plots: the daemon was busy)."""
    verdict = "DRIFT" if report.drifted else "no drift"
    columns = ", ".join(report.drifted_columns) or "none"
    body = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>Drift report: {html.escape(report.uri or batch_id)}</title></head><body>"
        f"<h1>{html.escape(verdict)}: {html.escape(report.uri or batch_id)}</h1>"
        f"<p>Drift share {report.drift_share:.0%}; drifted columns: {html.escape(columns)}.</p>"
        "<p>The plots of this report were not drawn: the watcher had more reports waiting for plots than "
        "its backlog allows, and a verdict never waits for plots. The verdict is in "
        f"<code>{html.escape(path.with_suffix('.json').name)}</code>. Draw the plots with "
        f"<code>arlequin report {html.escape(batch_id)}</code>.</p></body></html>\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(body)
    os.replace(tmp, path)
    return path


def render_on_demand(config: ArlequinConfig, registry: ComponentRegistry, batch_id: str) -> Path:
    """Render the full HTML report of a checked batch now (``arlequin report BATCH``).

    Reads the JSON report, the profile of the model version it was measured against
    (from MLflow) and the batch itself again.

    :raises ArlequinError: no report for that batch, the version or the batch is gone.
    """
    from arlequin_core.drift.html import write_html
    from arlequin_core.io import read_table

    reports = config.home / "reports"
    path = reports / f"{batch_id}.json"
    if not path.is_file():
        raise ArlequinError(f"no report {path}: check the batch id (`arlequin status` lists them)")
    report = DriftReport.from_dict(json.loads(path.read_text(encoding="utf-8")))
    profile = _profile_of(config, report)
    try:
        table = read_table(report.uri, config.data.format) if report.uri else None
    except InputError as exc:
        log.warning("report_batch_unreadable", batch_id=batch_id, error=str(exc))
        table = None  # the page without plots still has every number
    return write_html(report, profile, table, path.with_suffix(".html"))


def _profile_of(config: ArlequinConfig, report: DriftReport) -> Profile:
    from arlequin_core.training.profiles import load_profile
    from arlequin_core.training.tracking import Tracking, guard

    if report.model_version is None:
        raise ArlequinError(f"report of batch {report.batch_id} names no model version to take the profile from")
    tracking = Tracking.from_config(config)
    name = report.model_name or tracking.model_name
    with guard(tracking, "reading the profile of the report's model version") as client:
        version = client.get_model_version(name, report.model_version)
        with tempfile.TemporaryDirectory(prefix="arlequin-profile-") as tmp:
            from arlequin_core.training.profiles import download_profile

            return load_profile(download_profile(client, version.run_id, tmp))
