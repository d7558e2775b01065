"""The published figures as a picture: wait-time percentiles per tier and site, in SVG.

Hand-written SVG rather than a plotting library: the pool service stays small, and a chart
of a few bars is a few rectangles.
"""

from __future__ import annotations

from html import escape
from typing import Any

WIDTH, ROW, LEFT = 640, 26, 170
COLOURS = {"p50": "#3b7dd8", "p90": "#f0a030", "p99": "#d04040"}


def waits_svg(stats: dict[str, Any], window: str = "24h") -> str:
    """Bars of p50/p90/p99 wait for each tier and site in ``window``, with their numbers."""
    rows = stats["windows"][window]["waits"]
    top = max((row[q] or 0.0 for row in rows for q in COLOURS), default=0.0) or 1.0
    height = 60 + ROW * max(len(rows), 1) * len(COLOURS)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="sans-serif" '
        'font-size="12">',
        f'<text x="10" y="20" font-size="15">Wait before start, last {escape(window)} (seconds)</text>',
    ]
    if not rows:
        parts.append('<text x="10" y="50">No job has started in this window yet.</text>')
    y = 40
    for row in rows:
        label = f"{row['tier']} @ {row['site']} ({row['jobs']} jobs)"
        parts.append(f'<text x="10" y="{y + 14}">{escape(label)}</text>')
        for quantile, colour in COLOURS.items():
            value = row[quantile] or 0.0
            width = (WIDTH - LEFT - 80) * value / top
            parts.append(f'<rect x="{LEFT}" y="{y + 2}" width="{width:.1f}" height="{ROW - 8}" fill="{colour}"/>')
            parts.append(f'<text x="{LEFT + width + 4:.1f}" y="{y + 14}">{quantile} {value:.2f}</text>')
            y += ROW
    parts.append("</svg>")
    return "".join(parts)
