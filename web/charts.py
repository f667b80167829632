"""Charts as inline SVG, drawn on the server: no script, no library, nothing from a CDN. Each
chart has a title and a text alternative; the numbers are also in a table beside it."""

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH = 460
BAR = 22
GAP = 8
LABEL = 116  # the left column where bar labels go
TEXT_ROOM = 150  # right of the longest bar, for its value


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str  # what the bar's end says
    marker: float | None = None  # e.g. the team's mean, drawn as a line across the bar
    flagged: bool = False


def bars(title: str, rows: Sequence[Bar], *, marker_label: str = "") -> Markup:
    """Horizontal bars, one per row, scaled to the largest value (or marker)."""
    top = max([r.value for r in rows] + [r.marker or 0 for r in rows] + [1e-9])
    span = WIDTH - LABEL - TEXT_ROOM
    height = len(rows) * (BAR + GAP) + GAP + (18 if marker_label else 0)
    parts = [_open(title, height)]

    def marker_at(row: Bar) -> float:  # the value's text goes right of the marker too
        return row.marker / top * span + 3 if row.marker is not None else 0.0

    for i, row in enumerate(rows):
        y = GAP + i * (BAR + GAP)
        w = max(row.value / top * span, 1 if row.value else 0)
        cls = "bar flagged" if row.flagged else "bar"
        parts.append(
            f'<text x="{LABEL - 6}" y="{y + BAR * 0.7:.0f}" text-anchor="end" class="lbl">'
            f"{escape(row.label)}</text>"
            f'<rect x="{LABEL}" y="{y}" width="{w:.1f}" height="{BAR}" class="{cls}" rx="2"/>'
            f'<text x="{LABEL + max(w, marker_at(row)) + 6:.1f}" y="{y + BAR * 0.7:.0f}" class="val">'
            f"{escape(row.text)}</text>"
        )
        if row.marker is not None:
            x = LABEL + row.marker / top * span
            parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y - 3}" y2="{y + BAR + 3}" class="marker"/>')
    if marker_label:
        y = height - 4
        parts.append(
            f'<line x1="{LABEL}" x2="{LABEL + 14}" y1="{y - 4}" y2="{y - 4}" class="marker"/>'
            f'<text x="{LABEL + 20}" y="{y}" class="val">{escape(marker_label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass(frozen=True)
class Series:
    name: str
    css: str  # the class that colours it
    values: Sequence[float]


def columns(title: str, labels: Sequence[str], series: Sequence[Series]) -> Markup:
    """Grouped vertical columns: one group per label (a month), one column per series."""
    height, bottom, left = 200, 24, 34
    top = max([v for s in series for v in s.values] + [1])
    group = (WIDTH - left) / max(len(labels), 1)
    col = max(min(group * 0.8 / max(len(series), 1), 18), 2)
    plot = height - bottom - 22
    parts = [_open(title, height)]
    for tick in (0, top / 2, top):
        y = height - bottom - tick / top * plot
        parts.append(
            f'<line x1="{left}" x2="{WIDTH}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" class="val">{tick:.0f}</text>'
        )
    for i, label in enumerate(labels):
        x0 = left + i * group + (group - col * len(series)) / 2
        for j, s in enumerate(series):
            v = s.values[i]
            h = v / top * plot
            parts.append(
                f'<rect x="{x0 + j * col:.1f}" y="{height - bottom - h:.1f}" width="{col - 1:.1f}"'
                f' height="{h:.1f}" class="{s.css}">'
                f"<title>{escape(s.name)} {escape(label)}: {v:.0f}</title></rect>"
            )
        parts.append(
            f'<text x="{left + i * group + group / 2:.1f}" y="{height - 8}" text-anchor="middle"'
            f' class="lbl">{escape(label)}</text>'
        )
    x = left
    for s in series:
        parts.append(f'<rect x="{x}" y="2" width="10" height="10" class="{s.css}"/>')
        parts.append(f'<text x="{x + 14}" y="11" class="val">{escape(s.name)}</text>')
        x += 14 + 8 * len(s.name) + 16
    parts.append("</svg>")
    return Markup("".join(parts))


def _open(title: str, height: int) -> str:
    t = escape(title)
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{t}"'
        f' preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg"><title>{t}</title>'
    )
