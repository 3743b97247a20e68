"""Small server-rendered SVG bar charts: no JavaScript, readable without styles, printable.

Every label is escaped; the SVG carries a <title> and a table-like <desc> so a screen reader
gets the numbers too.
"""

from __future__ import annotations

from html import escape


def bar_chart(bars: list[tuple[str, float]], *, title: str, unit: str = "",
              width: int = 640, height: int = 232, highlight: set[str] | None = None,
              links: dict[str, str] | None = None) -> str:
    """Vertical bars with the value above each bar and the label below it; a bar whose label
    is in ``links`` (and its value and label) is a link there.

    The plot starts 40 px down so that the tallest bar's value (11 px text above it) stays
    clear of the title's line (it overlapped at 28 px).
    """
    highlight = highlight or set()
    links = links or {}
    top, bottom, left, right = 40, 42, 8, 8
    plot_h = height - top - bottom
    n = max(len(bars), 1)
    slot = (width - left - right) / n
    bar_w = max(slot * 0.7, 2)
    peak = max((v for _, v in bars), default=0) or 1
    desc = "; ".join(f"{label}: {_fmt(value)}{unit}" for label, value in bars) or "no data"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>",
        f'<text x="{left}" y="16" class="chart-title">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" '
        'stroke="#888"/>',
    ]
    for i, (label, value) in enumerate(bars):
        h = plot_h * (value / peak)
        x = left + i * slot + (slot - bar_w) / 2
        y = top + plot_h - h
        cls = "bar bar-alert" if label in highlight else "bar"
        href = links.get(label)
        if href is not None:
            parts.append(f'<a href="{escape(href)}" class="bar-link" data-bar="{escape(label)}">')
        parts.append(f'<rect class="{cls}" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                     f'height="{max(h, 0):.1f}"><title>{escape(label)}: {_fmt(value)}'
                     f"{escape(unit)}</title></rect>")
        cx = x + bar_w / 2
        parts.append(f'<text x="{cx:.1f}" y="{y - 4:.1f}" text-anchor="middle" '
                     f'class="chart-value">{_fmt(value)}</text>')
        parts.append(f'<text x="{cx:.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
                     f'class="chart-label">{escape(label)}</text>')
        if href is not None:
            parts.append("</a>")
    if not bars:
        parts.append(f'<text x="{width / 2}" y="{top + plot_h / 2}" text-anchor="middle">'
                     "no data yet</text>")
    parts.append("</svg>")
    return "".join(parts)


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"
