"""A column's effect over its recent batches, as a tiny inline SVG (a sparkline).

Inline SVG rather than a PNG: a few hundred bytes per column, sharp at any zoom, no
image to load. Each point is one batch's effect (KS D or TV distance: the policy's
effect, comparable from batch to batch), oldest left, this batch last; drifted batches
are orange dots; the dashed line is the column's minimum effect.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

WIDTH, HEIGHT, PAD = 140, 30, 3
DRIFT = "#d95f02"
CALM = "#8c8c8c"


def sparkline(points: Sequence[tuple[float | None, bool]], floor: float | None = None, label: str = "effect") -> str:
    """An ``<svg>`` of ``(effect, drifted)`` points, oldest first (None: not measured, a gap).

    :param floor: the minimum effect drawn as a dashed line (None: none).
    :param label: the start of the SVG's title (its tooltip and accessible name).
    """
    values = [v for v, _ in points if v is not None]
    top = max([*values, floor or 0.0, 1e-9])
    step = (WIDTH - 2 * PAD) / max(len(points) - 1, 1)

    def y(v: float) -> float:
        return HEIGHT - PAD - (HEIGHT - 2 * PAD) * v / top

    segments, current = [], []
    for i, (v, _) in enumerate(points):
        if v is None:
            if current:
                segments.append(current)
            current = []
        else:
            current.append(f"{PAD + i * step:.1f},{y(v):.1f}")
    if current:
        segments.append(current)
    parts = [f'<polyline fill="none" stroke="{CALM}" stroke-width="1.2" points="{" ".join(s)}"/>' for s in segments]
    if floor:
        parts.append(
            f'<line x1="{PAD}" x2="{WIDTH - PAD}" y1="{y(floor):.1f}" y2="{y(floor):.1f}" '
            f'stroke="{DRIFT}" stroke-width="0.8" stroke-dasharray="3,2"/>'
        )
    for i, (v, drifted) in enumerate(points):
        if v is not None and (drifted or i == len(points) - 1):
            colour = DRIFT if drifted else CALM
            parts.append(f'<circle cx="{PAD + i * step:.1f}" cy="{y(v):.1f}" r="2.4" fill="{colour}"/>')
    shown = ", ".join("–" if v is None else f"{v:.3g}" for v, _ in points)
    title = html.escape(f"{label} over the last {len(points)} batches, this one last: {shown}")
    return (
        f'<svg class="trend" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{title}"><title>{title}</title>{"".join(parts)}</svg>'
    )
