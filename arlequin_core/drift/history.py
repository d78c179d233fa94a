"""Drift over time: one HTML page over the per-batch reports of a deployment.

The monitor writes ``<home>/reports/<batch>.json`` for every checked batch; this page
reads the most recent ones and shows, in order of checking:

* the drift share of each batch against the policy's threshold, drifted batches
  marked, and where the champion (the reference) changed;
* which columns drifted in which batch (a columns x batches grid);
* a table of the verdicts, each linking to the batch's own report.

It is rebuilt by the monitor after each batch (when ``[drift] html`` is on) and by
``arlequin history``.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from arlequin_core.drift.plots import DPI, FONT_PT, WIDTH_PX
from arlequin_core.drift.report import DriftReport
from arlequin_core.logs import get_logger

log = get_logger(__name__)

INDEX_NAME = "index.html"
#: The page shows at most this many of the latest batches (its cost stays flat).
DEFAULT_LAST = 200
_DRIFT = "#d95f02"
_CALM = "#8c8c8c"


def load_reports(reports_dir: str | os.PathLike[str], last: int | None = DEFAULT_LAST) -> list[DriftReport]:
    """The batch reports in ``reports_dir``, oldest first (by check time), at most the ``last`` ones.

    A file that is not a drift report (half-written, foreign) is skipped with a warning.
    """
    reports = []
    for path in Path(reports_dir).glob("*.json"):
        try:
            reports.append(DriftReport.from_dict(json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("report_skipped", file=str(path), error=f"{type(exc).__name__}: {exc}")
    reports.sort(key=lambda r: r.created_at)
    return reports[-last:] if last else reports


def render_history(reports: list[DriftReport], title: str = "Drift over time") -> str:
    """The history page for ``reports`` (oldest first) as one HTML document."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{_e(title)}</title>{_STYLE}</head><body>"]
    parts.append(f"<h1>{_e(title)}</h1>")
    if not reports:
        parts.append("<p>No batch has been checked yet.</p></body></html>\n")
        return "\n".join(parts)
    drifted = sum(r.drifted for r in reports)
    parts.append(
        f"<p>{len(reports)} batches, {drifted} drifted, from {_e(reports[0].created_at[:19])} "
        f"to {_e(reports[-1].created_at[:19])} (UTC).</p>"
    )
    parts.append(f"<img alt='drift share per batch' src='data:image/png;base64,{_share_plot(reports)}'>")
    parts.append(f"<img alt='drifted columns per batch' src='data:image/png;base64,{_grid_plot(reports)}'>")
    performance = _performance_plot(reports)
    if performance:
        parts.append(f"<img alt='estimated performance per batch' src='data:image/png;base64,{performance}'>")
    parts.append(_table(reports))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_history(reports_dir: str | os.PathLike[str], path: str | os.PathLike[str] | None = None) -> Path:
    """Render the history of ``reports_dir`` to ``path`` (default ``<reports_dir>/index.html``), atomically."""
    target = Path(path) if path else Path(reports_dir) / INDEX_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(render_history(load_reports(reports_dir)), encoding="utf-8")
    tmp.replace(target)
    return target


def _figure(height: float) -> Figure:
    figure = Figure(figsize=(WIDTH_PX / DPI, height), dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


#: At most this many batches are named on a time axis (every k-th one past that).
AXIS_LABELS = 10


def batch_label(report: DriftReport) -> str:
    """How a batch is named on the time axis: its id (else its file name) over its check time (UTC)."""
    name = report.batch_id or (report.uri or "").rstrip("/").rsplit("/", 1)[-1]
    when = report.created_at[5:16].replace("T", " ")  # MM-DD HH:MM
    if len(name) > 22:
        name = name[:21] + "…"
    return f"{name}\n{when}" if name and when else (name or when or "?")


def _batch_axis(axes: Any, reports: list[DriftReport]) -> None:
    """Name the batches on the x axis (ids and times), every k-th one when there are many."""
    step = max(1, -(-len(reports) // AXIS_LABELS))
    ticks = list(range(0, len(reports), step))
    if ticks[-1] != len(reports) - 1 and len(reports) - 1 - ticks[-1] >= step / 2:
        ticks.append(len(reports) - 1)  # the latest batch is always named
    axes.set_xticks(ticks, [batch_label(reports[i]) for i in ticks], rotation=30, ha="right", fontsize=FONT_PT - 1)
    axes.set_xlim(-0.5, len(reports) - 0.5)


def _png(figure: Figure) -> str:
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _share_plot(reports: list[DriftReport]) -> str:
    figure = _figure(3.8)
    axes = figure.add_subplot()
    x = np.arange(len(reports))
    shares = np.array([r.drift_share for r in reports])
    axes.plot(x, shares, color=_CALM, linewidth=1.2, zorder=1)
    flags = np.array([r.drifted for r in reports])
    axes.scatter(x[~flags], shares[~flags], color=_CALM, s=18, label="no drift", zorder=2)
    axes.scatter(x[flags], shares[flags], color=_DRIFT, s=24, label="drifted", zorder=3)
    if reports[-1].drift_share_threshold is not None:  # None: any drifted column is drift
        axes.axhline(reports[-1].drift_share_threshold, color=_DRIFT, linestyle=":", linewidth=1, label="threshold")
    for i in range(1, len(reports)):
        if reports[i].model_version != reports[i - 1].model_version:
            axes.axvline(i - 0.5, color="black", linewidth=0.8, alpha=0.5)
            axes.text(i - 0.45, 1.0, f"v{reports[i].model_version}", fontsize=FONT_PT, va="top")
    axes.set_ylim(0, 1.05)
    axes.set_ylabel("drift share", fontsize=FONT_PT)
    axes.set_title("vertical lines: a new champion", fontsize=FONT_PT, loc="left", color="#555")
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(frameon=False, fontsize=FONT_PT, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=3)
    axes.tick_params(labelsize=FONT_PT)
    _batch_axis(axes, reports)
    return _png(figure)


def _estimates(report: DriftReport) -> dict[str, dict[str, float]]:
    return (report.performance or {}).get("metrics", {})


def _performance_plot(reports: list[DriftReport]) -> str | None:
    """The champion's estimated metric per batch with its band, the realised value where labels came (or None)."""
    metric = next((m for r in reports for m in _estimates(r)), None)
    if metric is None:
        return None
    x, est, low, high, real, ref = [], [], [], [], [], []
    for i, report in enumerate(reports):
        entry = _estimates(report).get(metric)
        if entry is None:
            continue
        x.append(i)
        est.append(entry.get("estimated", np.nan))
        low.append(entry.get("lower", np.nan))
        high.append(entry.get("upper", np.nan))
        real.append(entry.get("realised", np.nan))
        ref.append(entry.get("reference", np.nan))
    figure = _figure(3.8)
    axes = figure.add_subplot()
    axes.fill_between(x, low, high, color=_CALM, alpha=0.25, linewidth=0, label="sampling band")
    axes.plot(x, est, color="#1b9e77", marker="o", markersize=3, linewidth=1.2, label=f"estimated {metric}")
    if np.isfinite(np.asarray(real, dtype=float)).any():
        axes.plot(x, real, color="#7570b3", marker="x", linestyle="none", label="realised (labels)")
    axes.step(x, ref, where="mid", color="black", linewidth=0.8, alpha=0.6, label="champion, held-out")
    axes.set_ylabel(metric, fontsize=FONT_PT)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(frameon=False, fontsize=FONT_PT, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=4)
    axes.tick_params(labelsize=FONT_PT)
    _batch_axis(axes, reports)
    return _png(figure)


def _grid_plot(reports: list[DriftReport]) -> str:
    columns: list[str] = []
    for report in reports:
        columns += [c.column for c in report.columns if c.column not in columns]
    grid = np.zeros((len(columns), len(reports)))
    for j, report in enumerate(reports):
        for result in report.columns:
            grid[columns.index(result.column), j] = 1.0 if result.drifted else 0.0
    figure = _figure(1.6 + 0.3 * len(columns))
    axes = figure.add_subplot()
    axes.imshow(grid, aspect="auto", interpolation="nearest", cmap=ListedColormap(["#eeeeee", _DRIFT]), vmin=0, vmax=1)
    labels = [c if len(c) <= 28 else c[:27] + "…" for c in columns]
    axes.set_yticks(range(len(columns)), labels=labels, fontsize=FONT_PT)
    axes.set_title("orange: the column drifted in that batch", fontsize=FONT_PT, loc="left", color="#555")
    _batch_axis(axes, reports)
    return _png(figure)


def _table(reports: list[DriftReport]) -> str:
    rows = []
    for report in reversed(reports):
        name = re.sub(r"[^A-Za-z0-9._-]", "_", report.batch_id or "")  # as the monitor names reports
        link = f"<a href='{_e(name)}.html'>{_e(report.batch_id or '')}</a>" if name else ""
        verdict = "<b class='drift'>drift</b>" if report.drifted else "no drift"
        rows.append(
            f"<tr><td>{_e(report.created_at[:19].replace('T', ' '))}</td><td>{link}</td>"
            f"<td class='long'>{_e(report.uri or '').replace('/', '/<wbr>')}</td>"
            f"<td>{_e(report.model_version or '')}</td><td>{report.rows_cur:,}</td><td>{verdict}</td>"
            f"<td>{100 * report.drift_share:.0f} %</td><td class='long'>{_e(', '.join(report.drifted_columns))}</td>"
            f"<td>{_e(_estimate_text(report))}</td></tr>"
        )
    head = (
        "<tr><th>checked (UTC)</th><th>batch</th><th>uri</th><th>model</th><th>rows</th><th>verdict</th>"
        "<th>drift share</th><th>drifted columns</th><th>estimated performance</th></tr>"
    )
    return f"<h2>Batches, latest first</h2><div class='wide'><table>{head}{''.join(rows)}</table></div>"


def _estimate_text(report: DriftReport) -> str:
    parts = []
    for metric, entry in _estimates(report).items():
        if metric in ("roc_auc", "f1") and np.isfinite(entry.get("estimated", np.nan)):
            parts.append(f"{metric} {entry['estimated']:.3f}")
    if (report.performance or {}).get("dropped"):
        parts.append("dropped")
    return ", ".join(parts)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


_STYLE = """<meta name="viewport" content="width=device-width, initial-scale=1"><style>
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, sans-serif; margin: 1.5em auto; max-width: 1100px; padding: 0 1em; color: #222; }
.wide { max-width: 100%; overflow-x: auto; }
table { border-collapse: collapse; font-size: 14px; }
th, td { padding: 0.25em 0.6em; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }
td { white-space: nowrap; } td.long { white-space: normal; overflow-wrap: break-word; }
.drift { color: #d95f02; }
img { display: block; margin: 1em 0; width: 100%; height: auto; }
</style>"""


#: A JSON file larger than this is not read as an earlier report (reports are a few kB a column).
MAX_REPORT_BYTES = 4_000_000


def earlier_reports(reports_dir: str | os.PathLike[str], report: DriftReport, last: int) -> list[DriftReport]:
    """The at most ``last`` reports in ``reports_dir`` checked before ``report``, oldest first.

    Reads only the most recently written files (by modification time), so a folder of
    thousands of reports costs a few dozen reads per page, and none over
    :data:`MAX_REPORT_BYTES` (a large JSON file that is not a report). Not a report, or
    unreadable: left out silently (the history page warns about such files).
    """
    directory = Path(reports_dir)
    if not report.created_at or not directory.is_dir():
        return []
    stamped = []
    for path in directory.glob("*.json"):
        try:
            stat = path.stat()
            if stat.st_size <= MAX_REPORT_BYTES:
                stamped.append((stat.st_mtime, path))
        except OSError:
            continue
    stamped.sort(reverse=True)
    found = []
    for _, path in stamped[: 2 * last + 2]:
        try:
            earlier = DriftReport.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if earlier.created_at < report.created_at and (earlier.batch_id is None or earlier.batch_id != report.batch_id):
            found.append(earlier)
    found.sort(key=lambda r: r.created_at)
    return found[-last:]
