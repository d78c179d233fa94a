"""The HTML drift report: one static file, readable offline, made only when asked for.

The verdict comes first, then notes, the overview, the results table (drifted columns
first, then by effect; sortable by any column with a small inline script; a per-column
trend of the effect over the previous batches when their reports are in the same
folder), then one section per column, in the same order: its plot
(:mod:`arlequin_core.drift.plots`: reference vs batch on bins that cover both) and its
details as a small table. Plots are PNGs embedded as base64 at
the page's content width; nothing is fetched from the network.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

from arlequin_core.drift.columns import as_table
from arlequin_core.drift.plotbins import Outside
from arlequin_core.drift.plots import FONT_PX, Plot, plot_column
from arlequin_core.drift.profile import Profile, column_values
from arlequin_core.drift.report import ColumnResult, DriftReport
from arlequin_core.drift.summary import summarize_like
from arlequin_core.drift.trend import sparkline

#: The trend column shows the effect over at most this many earlier batches.
TREND_BATCHES = 30


def render_html(
    report: DriftReport,
    profile: Profile,
    current: Any | None = None,
    title: str | None = None,
    history: list[DriftReport] | None = None,
) -> str:
    """The report as one HTML document.

    :param current: the batch (Arrow table or pandas DataFrame) the report is about, or
        its column summaries (column -> :func:`~arlequin_core.drift.summary.summarize_like`
        output with ``"outside"`` for numeric columns, what the streaming engines keep);
        without it the page has no plots.
    :param title: the page title; default ``Drift report: <batch uri>``.
    :param history: earlier reports of the same deployment, oldest first: the columns
        table gets a trend of each column's effect over them and this batch.
    """
    plots = {name: plot_column(name, *parts) for name, parts in _plot_inputs(report, profile, current).items()}
    title = title or f"Drift report: {report.uri or 'batch'}"
    parts = [_HEAD.format(title=_e(title)), _verdict(report)]
    warnings = _warnings(report)
    if warnings:
        parts.append(warnings)
    if report.quality:
        parts.append(_quality(report))
    parts += [_overview(report, profile), _table(report, history or [])]
    if report.multivariate:
        parts.append(_joint(report))
    if report.performance:
        parts.append(_performance(report))
    if report.skipped or report.extra_columns:
        parts.append(_untested(report))
    for result in _worst_first(report.columns):
        parts.append(_column_section(result, plots.get(result.column)))
    parts.append(_SCRIPT)
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_html(
    report: DriftReport,
    profile: Profile,
    current: Any | None,
    path: str | os.PathLike[str],
    history: list[DriftReport] | None = None,
) -> Path:
    """Render and write the report to ``path`` (directories created); return the path.

    :param history: as for :func:`render_html`; by default, when the report's JSON twin
        (``path`` with ``.json``) is beside it, as in the monitor's ``reports/`` folder, the
        reports checked before this one in that folder.
    """
    from arlequin_core.drift.history import earlier_reports

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if history is None:
        twin = target.with_suffix(".json").is_file()
        history = earlier_reports(target.parent, report, TREND_BATCHES) if twin else []
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(render_html(report, profile, current, history=history), encoding="utf-8")
    os.replace(tmp, target)
    return target


def _worst_first(results: list[ColumnResult]) -> list[ColumnResult]:
    """Drifted columns first, then by effect, largest first (the report's order among equals)."""
    return sorted(results, key=lambda r: (not r.drifted, -(r.effect if r.effect is not None else -1.0)))


def _plot_inputs(report: DriftReport, profile: Profile, current: Any | None) -> dict[str, tuple[Any, ...]]:
    """column -> (reference summary, batch summary, details) for the columns that can be drawn."""
    if current is None:
        return {}
    out: dict[str, tuple[Any, ...]] = {}
    table = None if isinstance(current, dict) else as_table(current, report.uri or "current batch")
    for result in report.columns:
        cp = profile.columns.get(result.column)
        if cp is None:
            continue
        if table is None:
            if result.column not in current:
                continue
            batch = current[result.column]
        else:
            if result.column not in table.column_names:
                continue
            values, _ = column_values(table, cp.name, cp.kind, report.uri or "current batch")
            batch = summarize_like(cp.summary, values)
            if batch["type"] == "histogram":
                batch["outside"] = Outside.of_values(values, cp.summary).to_dict()
        out[result.column] = (cp.summary, batch, result.details)
    return out


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
        ("Reference", _reference(report, profile)),
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


_EFFECT_NAMES = {
    "ks_d": "D",
    "wasserstein": "W/sd",
    "tv": "TV",
    "jensen_shannon": "JS",
    "cramers_v": "V",
}


def _effects(r: ColumnResult) -> str:
    """The effect the policy uses (D numeric, TV categorical)."""
    e = r.effects
    for key in ("ks_d", "tv"):
        if key in e:
            return f"{_EFFECT_NAMES[key]} {_num(e[key])}"
    return "–"


def _other_effects(r: ColumnResult) -> str:
    return ", ".join(
        f"{_EFFECT_NAMES[k]} {_num(v)}" for k, v in r.effects.items() if k in _EFFECT_NAMES and k not in ("ks_d", "tv")
    )


def _floor(r: ColumnResult) -> str:
    if r.score_kind != "p_value":
        return "–"
    return _num(r.min_effect) + (" (calibrated)" if r.min_effect_source == "calibrated" else "")


def _effect_vs_floor(r: ColumnResult) -> str:
    """``D 0.42 ≥ 0.05``: the policy's effect against the column's minimum effect (p-value tests)."""
    effect = _effects(r)
    if r.score_kind != "p_value" or r.effect is None:
        return effect
    return f"{effect} {'≥' if r.effect >= r.min_effect else '<'} {_floor(r)}"


def _verdict_cell(r: ColumnResult) -> str:
    verdict = "yes" if r.drifted else "no"
    if r.drifted and r.missing_drifted and not r.distribution_drifted:
        verdict = "yes (missing rate)"
    elif r.drifted and r.missing_drifted:
        verdict = "yes (+ missing rate)"
    return f'<td class="verdict-cell" data-sort="{int(r.drifted)}">{verdict}</td>'


def _adjusted(r: ColumnResult) -> str:
    """The adjusted p-value against its level (``0.0012 < 0.05``), or a distance against its threshold."""
    if r.score_kind == "p_value":
        if r.p_value_adjusted is None:
            return "–"
        return f"{_num(r.p_value_adjusted)} {'<' if r.p_value_adjusted < r.threshold else '≥'} {_num(r.threshold)}"
    return f"threshold ≥ {_num(r.threshold)}"


def _table(report: DriftReport, history: list[DriftReport]) -> str:
    trend = bool(history)
    columns = [("Column", "text"), ("Drift", "text"), ("Effect vs minimum", "num")]
    if trend:
        columns.append((f"Effect, last {len(history) + 1}", "none"))
    columns += [
        ("Test", "text"),
        ("p-value", "num"),
        ("adjusted vs level", "num"),
        ("n ref / batch", "num"),
        ("Missing, ref → batch", "num"),
    ]
    head = "".join(f'<th data-type="{kind}">{_e(name)}</th>' for name, kind in columns)
    rows = []
    for r in _worst_first(report.columns):
        css = ' class="drifted"' if r.drifted else ""
        cells = f'<td class="name"><a href="#col-{_e(r.column)}">{_e(r.column)}</a></td>{_verdict_cell(r)}'
        cells += _sortable(r.effect, _effect_vs_floor(r))
        if trend:
            cells += f"<td>{_trend(r, history)}</td>"
        cells += (
            f"<td>{_e(r.detector)} <small>({_e(r.kind)})</small></td>"
            f"{_sortable(r.p_value)}{_sortable(r.p_value_adjusted, _adjusted(r))}"
            f"{_sortable(r.n_cur, f'{r.n_ref:,} / {r.n_cur:,}')}"
            f"{_sortable(r.missing_cur - r.missing_ref, f'{100 * r.missing_ref:.1f} → {_pct(r.missing_cur)}')}"
        )
        rows.append(f"<tr{css}>{cells}</tr>")
    note = '<p class="hint">Click a heading to sort by it.</p>'
    return (
        f'<h2>Columns</h2>{note}<div class="wide"><table class="results sortable">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _sortable(value: float | int | None, text: str | None = None) -> str:
    """A cell sorted by ``value`` (missing last), showing ``text`` (default: the number)."""
    key = "" if value is None else repr(float(value))
    return f'<td data-sort="{key}">{_e(text) if text is not None else _num(value)}</td>'


def _trend(result: ColumnResult, history: list[DriftReport]) -> str:
    points: list[tuple[float | None, bool]] = []
    for earlier in history:
        match = next((c for c in earlier.columns if c.column == result.column), None)
        if match is not None:
            points.append((match.effect, match.drifted))
    points.append((result.effect, result.drifted))
    floor = result.min_effect if result.score_kind == "p_value" else None
    return sparkline(points, floor, label=f"{result.column}: effect ({result.effect_name or 'effect'})")


def _warnings(report: DriftReport) -> str:
    """What the verdict does not cover (``notes``: pandas index not read, id-like columns not
    tested, ...; ``warnings``), as the report carries them; nothing for older reports."""
    found = list(getattr(report, "notes", None) or []) + list(getattr(report, "warnings", None) or [])
    items = []
    for w in found:
        if isinstance(w, dict):
            column = w.get("column")
            text = w.get("message") or w.get("reason") or ", ".join(f"{k}: {v}" for k, v in w.items())
            items.append(f"<li>{f'<b>{_e(column)}</b>: ' if column else ''}{_e(text)}</li>")
        else:
            items.append(f"<li>{_e(w)}</li>")
    if not items:
        return ""
    return f'<div class="notes"><h2>Notes</h2><ul>{"".join(items)}</ul></div>'


def _reference(report: DriftReport, profile: Profile) -> str:
    """The reference as the report describes it (model version, batches, rows), else the profile's source."""
    described = getattr(report, "reference", None)
    if isinstance(described, dict) and described.get("description"):
        return str(described["description"])
    return profile.source or "–"


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
    return f"<h2>Several columns together</h2>{note}{_boxed(head, rows)}"


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
    return f"<h2>Estimated performance</h2>{note}{_boxed(head, rows)}"


def _boxed(head: str, rows: list[str]) -> str:
    """A results table in a box that scrolls sideways on a narrow window (the page never does)."""
    return f'<div class="wide"><table class="results">{head}{"".join(rows)}</table></div>'


def _untested(report: DriftReport) -> str:
    items = [f"<li><b>{_e(k)}</b>: {_e(v)}</li>" for k, v in report.skipped.items()]
    items += [f"<li><b>{_e(c)}</b>: in the batch only (not in the reference)</li>" for c in report.extra_columns]
    return f"<h2>Not tested</h2><ul>{''.join(items)}</ul>"


def _column_section(result: ColumnResult, plot: Plot | None) -> str:
    css = "drifted" if result.drifted else ""
    image = ""
    if plot is not None:
        image = (
            f'<img class="plot" alt="{_e(plot.description)}" data-font-px="{FONT_PX:.1f}" '
            f'src="data:image/png;base64,{plot.png}">'
        )
    details = {k: v for k, v in result.details.items() if v not in ({}, [], None, "")}
    others = _other_effects(result)
    if others:
        details = {"other effect sizes": others, **details}
    if result.statistic is not None:
        details = {"statistic": result.statistic, **details}
    if result.missing_p_value is not None:
        details["missing-rate p-value"] = result.missing_p_value
    if result.missing_p_value_adjusted is not None and result.missing_p_value_adjusted != result.missing_p_value:
        details["missing-rate p-value, adjusted"] = result.missing_p_value_adjusted
    extra = _details(details) if details else ""
    return (
        f'<section id="col-{_e(result.column)}" class="{css}"><h3>{_e(result.column)}'
        f" <small>{_e(result.kind)}, {_e(result.detector)}</small></h3>{image}{extra}</section>"
    )


#: A list in the details shows at most this many items, then how many there are.
LIST_ITEMS = 12


def _details(details: dict[str, Any]) -> str:
    rows = "".join(f"<tr><th>{_e(_label(k))}</th><td>{_value(v)}</td></tr>" for k, v in details.items())
    return f'<table class="details">{rows}</table>'


def _label(key: str) -> str:
    return key.replace("_", " ")


def _value(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return _e({True: "yes", False: "no", None: "–"}[value])
    if isinstance(value, float):
        return _num(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dict):
        items = list(value.items())
        shown = ", ".join(f"{_e(k)}: {_value(v)}" for k, v in items[:LIST_ITEMS])
        return shown + (f" … ({len(items):,} in all)" if len(items) > LIST_ITEMS else "")
    if isinstance(value, (list, tuple)):
        shown = ", ".join(_value(v) for v in value[:LIST_ITEMS])
        return shown + (f" … ({len(value):,} in all)" if len(value) > LIST_ITEMS else "")
    return _e(value)


_HEAD = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
* {{ box-sizing: border-box; }}
body {{ font: 15px/1.45 system-ui, sans-serif; margin: 1.5em auto; max-width: 1100px; color: #222; padding: 0 1em; }}
.verdict {{ padding: .6em 1em; border-radius: 6px; margin-bottom: 1em; }}
.verdict h1 {{ margin: 0; font-size: 1.6em; }} .verdict p {{ margin: .3em 0 0; }}
.verdict h2 {{ margin: 0; font-size: 1.15em; }} .verdict ul {{ margin: .3em 0 0; padding-left: 1.2em; }}
.verdict.drift {{ background: #fde0d2; border-left: 8px solid #d95f02; }}
.verdict.ok {{ background: #dff3e4; border-left: 8px solid #1b9e77; }}
.verdict.warn {{ background: #fff4c2; border-left: 8px solid #e6ab02; }}
.notes {{ padding: .4em 1em; border-radius: 6px; margin-bottom: 1em; background: #fffbe6; }}
.notes {{ border-left: 8px solid #e6ab02; }}
.notes h2 {{ margin: 0; font-size: 1.15em; }} .notes ul {{ margin: .3em 0 0; padding-left: 1.2em; }}
table {{ border-collapse: collapse; margin: .5em 0 1em; }}
th, td {{ padding: .25em .6em; border-bottom: 1px solid #e4e4e4; text-align: left; vertical-align: top; }}
td {{ font-variant-numeric: tabular-nums; }}
table.meta td, table.details td {{ overflow-wrap: anywhere; }}
table.results td {{ white-space: nowrap; }}
table.results td.name {{ white-space: normal; overflow-wrap: anywhere; min-width: 8em; }}
.wide {{ max-width: 100%; overflow-x: auto; }}
table.meta th {{ font-weight: normal; color: #666; }}
table.results {{ font-size: 14px; }} table.results th {{ background: #f4f4f4; vertical-align: bottom; }}
table.sortable th[data-type]:not([data-type="none"]) {{ cursor: pointer; }}
table.sortable th[aria-sort="ascending"]::after {{ content: " ▲"; }}
table.sortable th[aria-sort="descending"]::after {{ content: " ▼"; }}
tr.drifted td {{ background: #fff1e8; }} tr.drifted td.verdict-cell {{ color: #b34700; font-weight: bold; }}
table.details {{ font-size: 13px; margin-top: .2em; }} table.details th {{ font-weight: normal; color: #555; }}
.hint {{ color: #777; font-size: 13px; margin: 0; }}
section {{ border-top: 1px solid #ddd; padding-top: .4em; margin-top: 1em; }}
section.drifted h3 {{ color: #b34700; }} h3 small {{ color: #777; font-weight: normal; }}
img.plot {{ display: block; width: 100%; height: auto; }}
svg.trend {{ display: block; }}
</style></head><body>"""

# Sorts a table.sortable by the clicked heading: numbers by data-sort (missing last), text
# by content; a second click reverses. Inline, so the report works offline.
_SCRIPT = """<script>
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("thead th").forEach(function (th, index) {
    var type = th.dataset.type;
    if (!type || type === "none") return;
    th.addEventListener("click", function () {
      var up = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("thead th").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", up ? "ascending" : "descending");
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      function key(row) {
        var cell = row.cells[index];
        if (type === "num") {
          var v = cell.dataset.sort;
          return v === "" || v === undefined ? null : parseFloat(v);
        }
        return (cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent).toLowerCase();
      }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x === null || y === null) return x === y ? 0 : (x === null ? 1 : -1);
        var c = x < y ? -1 : (x > y ? 1 : 0);
        return up ? c : -c;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
</script>"""
