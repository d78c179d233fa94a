"""The per-column plots of the HTML report: reference vs batch, as PNG, drawn to be read.

* numeric: both samples as shares of their values on one set of bins that covers both
  (:func:`~arlequin_core.drift.plotbins.common_bins`): a column that moved far shows
  the two curves apart, not an empty batch curve;
* categorical: horizontal bars (labels never overlap, however many), the
  :data:`TOP_BARS` categories with the largest share in either sample, categories new
  in the batch named where the detector listed them, the rest summed as ``other``.

Figures are :data:`WIDTH_PX` pixels wide, shown at the page's content width, with text
of :data:`FONT_PX` pixels at that size. Drawn with matplotlib's object API (no global
pyplot state: safe in the renderer's thread).
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from arlequin_core.drift.plotbins import common_bins

REFERENCE_COLOUR = "#8c8c8c"
CURRENT_COLOUR = "#d95f02"
DPI = 100
#: The figure's width in pixels: the report's content width (1100 px less padding), so it is shown 1:1 on a laptop.
WIDTH_PX = 1070
#: Text size in the figure, in points and in pixels at its natural size.
FONT_PT = 10.5
FONT_PX = FONT_PT * DPI / 72
#: Categorical plots show at most this many bars besides ``other``.
TOP_BARS = 12
#: ... of which up to this many categories new in the batch (named by the detector), however small.
NEW_BARS = 3
LABEL_CHARS = 32


@dataclass
class Plot:
    """A drawn plot: the PNG (base64) and one sentence saying what it shows (the image's alt text)."""

    png: str
    description: str


def plot_column(column: str, reference: dict[str, Any], current: dict[str, Any], details: dict[str, Any]) -> Plot:
    """Reference vs batch for one column.

    :param reference: the profile's summary of the column; ``current``: the batch's, on the
        same bins / categories (numeric with ``"outside"``: the batch beyond those bins).
    :param details: the column result's details (categorical: ``unseen`` names new categories).
    """
    if reference["type"] == "histogram":
        figure = _figure(3.0)
        description = _histogram(figure.add_subplot(), column, reference, current)
    else:
        bars = bar_rows(reference, current, details.get("unseen") or {})
        figure = _figure(0.9 + 0.3 * len(bars))
        description = _bars(figure.add_subplot(), column, bars)
    return Plot(_png(figure), description)


def _figure(height: float) -> Figure:
    figure = Figure(figsize=(WIDTH_PX / DPI, height), dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> str:
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _style(axes: Any) -> None:
    axes.spines[["top", "right"]].set_visible(False)
    axes.tick_params(labelsize=FONT_PT)
    # Above the axes, right-aligned: never on top of a bar or a curve.
    axes.legend(
        frameon=False, fontsize=FONT_PT, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2, borderaxespad=0.1
    )


def _pct(share: float) -> str:
    return f"{100 * share:.1f} %"


def _histogram(axes: Any, column: str, reference: dict[str, Any], current: dict[str, Any]) -> str:
    ref_total = sum(reference["counts"]) + reference.get("below", 0) + reference.get("above", 0)
    cur_total = sum(current["counts"]) + current.get("below", 0) + current.get("above", 0)
    ref_tails = (reference.get("below", 0) + reference.get("above", 0)) / ref_total if ref_total else 0.0
    common = common_bins(reference, current)
    if common is not None:
        edges, ref_counts, cur_counts = common
        cur_left_out = cur_total - int(cur_counts.sum())  # only <= 0 values of a log-scale column
    else:
        edges = np.asarray(reference["edges"], dtype=float)
        ref_counts, cur_counts = np.asarray(reference["counts"]), np.asarray(current["counts"])
        cur_left_out = current.get("below", 0) + current.get("above", 0)
    ref_label = "reference" + (f" ({_pct(ref_tails)} in its tails, not drawn)" if ref_tails else "")
    cur_out = cur_left_out / cur_total if cur_total else 0.0
    cur_label = "batch" + (f" ({_pct(cur_out)} not drawn)" if cur_out else "")
    axes.stairs(
        ref_counts / ref_total if ref_total else ref_counts,
        edges,
        color=REFERENCE_COLOUR,
        fill=True,
        alpha=0.55,
        label=ref_label,
    )
    axes.stairs(
        cur_counts / cur_total if cur_total else cur_counts, edges, color=CURRENT_COLOUR, linewidth=2.0, label=cur_label
    )
    if reference.get("scale") == "log":
        axes.set_xscale("log")  # the bins are equal in log space (heavy-tailed, positive values)
    axes.set_ylabel("share of values", fontsize=FONT_PT)
    axes.set_xlabel(column, fontsize=FONT_PT)
    _style(axes)
    shown = 1.0 - cur_out
    outside = current.get("outside") or {}
    span = ""
    if outside.get("low") is not None or outside.get("high") is not None:
        lo = min(v for v in (outside.get("low"), edges[0]) if v is not None)
        hi = max(v for v in (outside.get("high"), edges[-1]) if v is not None)
        span = f", over {lo:.4g} to {hi:.4g}"
    return (
        f"{column}: histogram of the reference and the batch as shares of their values on "
        f"{len(edges) - 1} shared bins{span}; {_pct(shown)} of the batch drawn"
    )


def bar_rows(
    reference: dict[str, Any], current: dict[str, Any], unseen: dict[str, int]
) -> list[tuple[str, float, float]]:
    """``(label, reference share, batch share)`` rows: the top categories, new ones, then ``other``."""
    ref_counts = np.asarray(reference["counts"], dtype=float)
    cur_counts = np.asarray(current["counts"], dtype=float)
    ref_total = ref_counts.sum() + reference.get("other", 0)
    cur_total = cur_counts.sum() + current.get("other", 0)
    ref = ref_counts / ref_total if ref_total else ref_counts
    cur = cur_counts / cur_total if cur_total else cur_counts
    rows = [(str(k), float(r), float(c)) for k, r, c in zip(reference["categories"], ref, cur, strict=True)]
    new = sorted(
        ((f"{k} (new)", 0.0, v / cur_total if cur_total else 0.0) for k, v in unseen.items()), key=lambda row: -row[2]
    )
    # The largest new categories are always drawn, even when smaller than the listed ones: they are news.
    chosen = new[:NEW_BARS]
    rest = sorted(new[NEW_BARS:] + rows, key=lambda row: -max(row[1], row[2]))
    room = TOP_BARS - len(chosen)
    top, rest = chosen + rest[:room], rest[room:]
    top.sort(key=lambda row: -max(row[1], row[2]))
    other_ref = 1.0 - sum(r for _, r, _ in top) if ref_total else 0.0
    other_cur = 1.0 - sum(c for _, _, c in top) if cur_total else 0.0
    if rest or other_ref > 1e-9 or other_cur > 1e-9:
        top.append(("all other categories", max(other_ref, 0.0), max(other_cur, 0.0)))
    return top


def _bars(axes: Any, column: str, rows: list[tuple[str, float, float]]) -> str:
    labels = [label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…" for label, _, _ in rows]
    y = np.arange(len(rows))
    ref = np.array([r for _, r, _ in rows])
    cur = np.array([c for _, _, c in rows])
    axes.barh(y - 0.2, ref, height=0.4, color=REFERENCE_COLOUR, label="reference")
    axes.barh(y + 0.2, cur, height=0.4, color=CURRENT_COLOUR, label="batch")
    axes.set_yticks(y, labels)
    axes.invert_yaxis()  # the largest first, at the top
    named = len(rows) - (rows[-1][0] == "all other categories")
    largest = float(max(ref[:named].max(initial=0.0), cur[:named].max(initial=0.0)))
    if named < len(rows) and max(ref[-1], cur[-1]) > 2 * largest > 0:
        # A long tail summed into "other" would squash every named bar: cut the axis, give its shares in words.
        limit = 1.35 * largest
        axes.set_xlim(0, limit)
        axes.text(
            limit,
            len(rows) - 1,
            f"{_pct(ref[-1])} / {_pct(cur[-1])} (axis cut) ",
            ha="right",
            va="center",
            fontsize=FONT_PT,
            color="white",
            fontweight="bold",
        )
    axes.set_xlabel(f"share of {column}'s values", fontsize=FONT_PT)
    _style(axes)
    return f"{column}: shares of the {named} largest categories in the reference and the batch, the rest as other"
