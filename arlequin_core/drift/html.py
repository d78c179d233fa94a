"""The HTML drift report: one static file, readable offline, made only when asked for.

The verdict comes first, then the results table, then one plot per column: the
reference and the batch as shares of their non-missing values, on the reference's
bins (numeric) or categories (categorical). Plots are PNGs embedded as base64, drawn
with matplotlib's object API (no global pyplot state, safe in a daemon thread).
About 30 kB per column, so ten columns stay far below 1 MB.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from arlequin_core.drift.columns import as_table
from arlequin_core.drift.profile import Profile, column_values
from arlequin_core.drift.report import ColumnResult, DriftReport
from arlequin_core.drift.summary import summarize_like

REFERENCE_COLOUR = "#8c8c8c"
CURRENT_COLOUR = "#d95f02"


def render_html(report: DriftReport, profile: Profile, current: Any | None = None, title: str | None = None) -> str:
    """The report as one HTML document.

    :param current: the batch (Arrow table or pandas DataFrame) the report is about, or
        its column summaries (column -> :func:`~arlequin_core.drift.summary.summarize_like`
        output, what the streaming engines keep); without it the page has no plots.
    :param title: the page title; default ``Drift report: <batch uri>``.
    """
    plots: dict[str, str] = {}
    if isinstance(current, dict):
        for result in report.columns:
            cp = profile.columns.get(result.column)
            if cp is not None and result.column in current:
                plots[result.column] = _plot(cp.summary, current[result.column], result)
    elif current is not None:
        table = as_table(current, report.uri or "current batch")
        for result in report.columns:
            cp = profile.columns.get(result.column)
            if cp is None or result.column not in table.column_names:
                continue
            values, _ = column_values(table, cp.name, cp.kind, report.uri or "current batch")
            plots[result.column] = _plot(cp.summary, summarize_like(cp.summary, values), result)
    title = title or f"Drift report: {report.uri or 'batch'}"
    parts = [_HEAD.format(title=_e(title)), _verdict(report)]
    if report.quality:
        parts.append(_quality(report))
    parts += [_overview(report, profile), _table(report)]
    if report.multivariate:
        parts.append(_joint(report))
    if report.performance:
        parts.append(_performance(report))
    if report.skipped or report.extra_columns:
        parts.append(_untested(report))
    for result in report.columns:
        parts.append(_column_section(result, plots.get(result.column)))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_html(report: DriftReport, profile: Profile, current: Any | None, path: str | os.PathLike[str]) -> Path:
    """Render and write the report to ``path`` (directories created); return the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(render_html(report, profile, current), encoding="utf-8")
    os.replace(tmp, target)
    return target


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _num(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "–"
    if value == 0 or (1e-3 <= abs(value) < 1e4):
        return f"{value:.{digits + 1}f}".rstrip("0").rstrip(".") if value != 0 else "0"
    return f"{value:.{digits}g}"


def _pct(share: float) -> str:
    return f"{100 * share:.1f} %"


def _verdict(report: DriftReport) -> str:
    if report.drifted:
        css, head = "drift", "Drift detected"
    elif report.drifted_columns:  # columns drifted, below the policy's share: a warning, never "OK"
        css, head = "warn", "Columns drifted, below the policy's share"
    else:
        css, head = "ok", "No drift"
    return f'<div class="verdict {css}"><h1>{head}</h1><p>{_e(report.reason)}</p></div>'


def _quality(report: DriftReport) -> str:
    items = "".join(f"<li>{_e(f.get('message', ''))}</li>" for f in report.quality)
    return (
        '<div class="verdict drift"><h2>Data quality</h2><p>This batch failed basic data-quality checks; '
        f"it is not used for training.</p><ul>{items}</ul></div>"
    )


def _overview(report: DriftReport, profile: Profile) -> str:
    rows = [
        ("Batch", report.uri or "–"),
        ("Reference", profile.source or "–"),
        ("Rows (reference / batch)", f"{report.rows_ref:,} / {report.rows_cur:,}"),
        ("Drifted columns", f"{len(report.drifted_columns)} of {len(report.columns)} ({_pct(report.drift_share)})"),
        ("Batch drifts when", _rule(report)),
        ("Multiple-testing correction", report.correction),
        ("Minimum effect", _calibration(profile)),
        ("Missing-rate test level", _num(report.missing_threshold) if report.missing_threshold else "off"),
        ("Checked at", report.created_at),
    ]
    cells = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f'<table class="meta">{cells}</table>'


def _rule(report: DriftReport) -> str:
    if report.drift_share_threshold is None:
        rule = "any tested column drifts"
    else:
        rule = f"drift share ≥ {_pct(report.drift_share_threshold)}"
        if report.critical:
            rule += f", or any of {', '.join(report.critical)} drifts"
    return rule + (
        "; a p-value test flags a column when its corrected p-value is below the level "
        "and its effect (D numeric, TV categorical) reaches the minimum"
    )


def _calibration(profile: Profile) -> str:
    calibrated = [cp.calibration for cp in profile.columns.values() if cp.calibration]
    if not calibrated:
        return "[drift] min_effect (not calibrated)"
    c = calibrated[0]
    return (
        f"calibrated on the reference for batches of {c['batch_rows']:,} rows "
        f"({100 * c['quantile']:g} % quantile of {c['draws']} no-change chunks), where above [drift] min_effect"
    )


def _effects(r: ColumnResult) -> str:
    e = r.effects
    if "ks_d" in e:
        return f"D {_num(e['ks_d'])}, W/sd {_num(e['wasserstein'])}"
    if "tv" in e:
        return f"TV {_num(e['tv'])}, JS {_num(e['jensen_shannon'])}, V {_num(e['cramers_v'])}"
    return "–"


def _floor(r: ColumnResult) -> str:
    if r.score_kind != "p_value":
        return "–"
    return _num(r.min_effect) + (" (calibrated)" if r.min_effect_source == "calibrated" else "")


def _table(report: DriftReport) -> str:
    head = (
        "<tr><th>Column</th><th>Kind</th><th>Test</th><th>Statistic</th><th>p-value</th>"
        "<th>adjusted</th><th>Threshold</th><th>Effect</th><th>Min effect</th><th>n ref</th><th>n batch</th>"
        "<th>Missing ref → batch</th><th>Drift</th></tr>"
    )
    rows = []
    for r in report.columns:
        css = ' class="drifted"' if r.drifted else ""
        verdict = "yes" if r.drifted else "no"
        if r.drifted and r.missing_drifted and not r.distribution_drifted:
            verdict = "yes (missing rate)"
        elif r.drifted and r.missing_drifted:
            verdict = "yes (+ missing rate)"
        threshold = ("p < " if r.score_kind == "p_value" else "≥ ") + _num(r.threshold)
        rows.append(
            f'<tr{css}><td><a href="#col-{_e(r.column)}">{_e(r.column)}</a></td><td>{_e(r.kind)}</td>'
            f"<td>{_e(r.detector)}</td><td>{_num(r.statistic)}</td><td>{_num(r.p_value)}</td>"
            f"<td>{_num(r.p_value_adjusted)}</td><td>{_e(threshold)}</td><td>{_e(_effects(r))}</td>"
            f"<td>{_e(_floor(r))}</td><td>{r.n_ref:,}</td><td>{r.n_cur:,}</td>"
            f"<td>{_pct(r.missing_ref)} → {_pct(r.missing_cur)}</td><td>{verdict}</td></tr>"
        )
    return f'<h2>Columns</h2><table class="results">{head}{"".join(rows)}</table>'


def _joint(report: DriftReport) -> str:
    rows = []
    for r in report.multivariate:
        css = ' class="drifted"' if r.drifted else ""
        rows.append(
            f"<tr{css}><td>{_e(r.column)}</td><td>{_e(r.detector)}</td><td>{_num(r.statistic)}</td>"
            f"<td>{_num(r.details.get('effect'))}</td><td>{_num(r.p_value)}</td><td>{_num(r.p_value_adjusted)}</td>"
            f"<td>{_e(', '.join(r.details.get('columns', [])))}</td><td>{'yes' if r.drifted else 'no'}</td></tr>"
        )
    head = (
        "<tr><th>Detector</th><th>Test</th><th>Statistic</th><th>Effect</th><th>p-value</th><th>adjusted</th>"
        "<th>Columns</th><th>Drift</th></tr>"
    )
    note = (
        "<p>All feature columns together: a change in how columns move together that no single column shows "
        "(PCA reconstruction error: mean error; domain classifier: ROC AUC).</p>"
    )
    return f'<h2>Several columns together</h2>{note}<table class="results">{head}{"".join(rows)}</table>'


def _performance(report: DriftReport) -> str:
    perf = report.performance or {}
    rows = []
    for metric, m in perf.get("metrics", {}).items():
        band = f"{_num(m.get('lower'))} – {_num(m.get('upper'))}"
        rows.append(
            f"<tr><td>{_e(metric)}</td><td>{_num(m.get('estimated'))}</td><td>{band}</td>"
            f"<td>{_num(m.get('reference'))}</td><td>{_num(m.get('realised'))}</td></tr>"
        )
    head = "<tr><th>Metric</th><th>Estimated</th><th>Band</th><th>Champion (held-out)</th><th>Realised</th></tr>"
    scored = f"{perf.get('rows', 0):,} of {perf.get('batch_rows', perf.get('rows', 0)):,} rows scored"
    note = (
        f"<p>Estimated without labels from the champion's calibrated probabilities (CBPE, "
        f"{_e(perf.get('calibration', ''))} calibration; {scored}; band ±{_num(perf.get('band_z'))} standard "
        f"deviations of sampling variation). Assumes the relation between features and label is unchanged. "
        f"{_e(perf.get('reason', ''))}</p>"
    )
    return f'<h2>Estimated performance</h2>{note}<table class="results">{head}{"".join(rows)}</table>'


def _untested(report: DriftReport) -> str:
    items = [f"<li><b>{_e(k)}</b>: {_e(v)}</li>" for k, v in report.skipped.items()]
    items += [f"<li><b>{_e(c)}</b>: in the batch only (not in the reference)</li>" for c in report.extra_columns]
    return f"<h2>Not tested</h2><ul>{''.join(items)}</ul>"


def _column_section(result: ColumnResult, plot: str | None) -> str:
    css = "drifted" if result.drifted else ""
    image = f'<img alt="{_e(result.column)}: reference vs batch" src="data:image/png;base64,{plot}">' if plot else ""
    details = {k: v for k, v in result.details.items() if v not in ({}, [], None)}
    extra = ""
    if result.missing_p_value is not None:
        details["missing_rate_p_value"] = result.missing_p_value
    if details:
        extra = f"<pre>{_e(json.dumps(details, indent=1, default=str))}</pre>"
    return (
        f'<section id="col-{_e(result.column)}" class="{css}"><h3>{_e(result.column)}'
        f" <small>{_e(result.kind)}, {_e(result.detector)}</small></h3>{image}{extra}</section>"
    )


def _plot(reference: dict[str, Any], current: dict[str, Any], result: ColumnResult) -> str:
    figure = Figure(figsize=(6.0, 2.4), dpi=80)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    if reference["type"] == "histogram":
        _histogram(axes, reference, current)
    else:
        _bars(axes, reference, current)
    axes.set_ylabel("share")
    axes.spines[["top", "right"]].set_visible(False)
    # Above the axes, right-aligned: never on top of a bar.
    axes.legend(frameon=False, fontsize=8, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2, borderaxespad=0.1)
    axes.set_title(result.column, fontsize=9, loc="left", color=CURRENT_COLOUR if result.drifted else "black")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _shares(summary: dict[str, Any]) -> tuple[np.ndarray, float]:
    counts = np.asarray(summary["counts"], dtype=float)
    outside = summary.get("below", 0) + summary.get("above", 0) + summary.get("other", 0)
    total = counts.sum() + outside
    return (counts / total if total else counts), float(total)


def _histogram(axes: Any, reference: dict[str, Any], current: dict[str, Any]) -> None:
    edges = np.asarray(reference["edges"])
    for summary, colour, label in ((reference, REFERENCE_COLOUR, "reference"), (current, CURRENT_COLOUR, "batch")):
        shares, total = _shares(summary)
        outside = (summary["below"] + summary["above"]) / total if total else 0.0
        note = f" ({100 * outside:.1f} % outside)" if outside else ""
        axes.stairs(
            shares, edges, color=colour, linewidth=1.6, label=label + note, fill=label == "reference", alpha=0.6
        )
    if reference.get("scale") == "log":
        axes.set_xscale("log")  # the bins are equal in log space (heavy-tailed, positive values)
    axes.tick_params(labelsize=8)


def _bars(axes: Any, reference: dict[str, Any], current: dict[str, Any]) -> None:
    labels = [str(c) if len(str(c)) <= 14 else str(c)[:13] + "…" for c in reference["categories"]]
    ref, _ = _shares(reference)
    cur, total = _shares(current)
    if reference.get("other") or current.get("other"):
        labels.append("other / new")
        ref = np.append(ref, _other_share(reference))
        cur = np.append(cur, current["other"] / total if total else 0.0)
    x = np.arange(len(labels))
    axes.bar(x - 0.2, ref, width=0.4, color=REFERENCE_COLOUR, label="reference")
    axes.bar(x + 0.2, cur, width=0.4, color=CURRENT_COLOUR, label="batch")
    axes.set_xticks(x, labels, rotation=35 if len(labels) > 6 else 0, ha="right" if len(labels) > 6 else "center")
    axes.tick_params(labelsize=8)


def _other_share(summary: dict[str, Any]) -> float:
    total = sum(summary["counts"]) + summary.get("other", 0)
    return summary.get("other", 0) / total if total else 0.0


_HEAD = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 1.5em auto; max-width: 1100px; color: #222; padding: 0 1em; }}
.verdict {{ padding: .6em 1em; border-radius: 6px; margin-bottom: 1em; }}
.verdict h1 {{ margin: 0; font-size: 1.6em; }} .verdict p {{ margin: .3em 0 0; }}
.verdict.drift {{ background: #fde0d2; border-left: 8px solid #d95f02; }}
.verdict.ok {{ background: #dff3e4; border-left: 8px solid #1b9e77; }}
.verdict.warn {{ background: #fff4c2; border-left: 8px solid #e6ab02; }}
table {{ border-collapse: collapse; margin: .5em 0 1em; }}
th, td {{ padding: .25em .6em; border-bottom: 1px solid #e4e4e4; text-align: left; }}
td {{ font-variant-numeric: tabular-nums; }}
table.meta th {{ font-weight: normal; color: #666; }}
table.results th {{ background: #f4f4f4; }}
tr.drifted td {{ background: #fff1e8; }} tr.drifted td:last-child {{ color: #b34700; font-weight: bold; }}
section {{ border-top: 1px solid #ddd; padding-top: .4em; }}
section.drifted h3 {{ color: #b34700; }} h3 small {{ color: #777; font-weight: normal; }}
pre {{ background: #f7f7f7; padding: .4em; font-size: 12px; overflow-x: auto; max-height: 12em; }}
img {{ max-width: 100%; }}
</style></head><body>"""
