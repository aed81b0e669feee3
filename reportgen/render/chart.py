"""The month-over-month chart of the PDF: geometry of an SVG drawn by the template.

Bars are open findings (right axis), the line is MFA registration % (left axis). Each period has
two value labels, the percentage by its point and the count by its bar; ``place_labels`` chooses
where they go so that they never overlap each other or the point's marker, whatever the values
(the rule is tested over every percentage and bar height). Text widths are estimated from the
bundled DejaVu Sans metrics, rounded up.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_PERIODS = 12
WIDTH, HEIGHT = 400.0, 156.0
LEFT, RIGHT, TOP, BOTTOM = 36.0, 30.0, 18.0, 30.0     # margins around the plot area
FONT = 8.5                                          # value labels
MARKER_R = 3.2
GAP = 1.5                                           # least space between two boxes
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WIDE = {"%": 0.84, "M": 0.87, "W": 1.0, ",": 0.32, ".": 0.32, " ": 0.32}


def text_width(text: str, size: float = FONT) -> float:
    """Upper bound of the rendered width (DejaVu Sans: digits 0.636 em, '%' 0.83 em)."""
    return sum(_WIDE.get(ch, 0.64) for ch in text) * size


@dataclass(frozen=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other: Box, gap: float = GAP) -> bool:
        return not (self.x1 + gap <= other.x0 or other.x1 + gap <= self.x0 or
                    self.y1 + gap <= other.y0 or other.y1 + gap <= self.y0)

    def inside(self, x0: float, y0: float, x1: float, y1: float) -> bool:
        return self.x0 >= x0 and self.y0 >= y0 and self.x1 <= x1 and self.y1 <= y1


def label_box(cx: float, baseline: float, text: str, size: float = FONT) -> Box:
    """The box of centred text whose baseline is at ``baseline`` (ascent 0.76 em, descent 0.24 em)."""
    half = text_width(text, size) / 2
    return Box(cx - half, baseline - 0.76 * size, cx + half, baseline + 0.24 * size)


def place_labels(cx: float, point_y: float | None, pct_text: str, bar_top: float, bar_bottom: float,
                 count_text: str, *, top: float = 0.0, size: float = FONT) -> tuple[float | None, float]:
    """Baselines (percentage label, count label) for one period.

    Preference: the count inside the foot of its bar (when the bar is tall enough), else above its
    bar, else further down inside it; the percentage above its point, else below it; as a last resort
    the count stacked above whatever is highest. Every candidate pair must keep the two labels and the
    point's marker apart and stay below ``top`` (the top of the drawing)."""
    count_above = bar_top - 3
    if point_y is None:
        return None, count_above
    marker = Box(cx - MARKER_R, point_y - MARKER_R, cx + MARKER_R, point_y + MARKER_R)
    pct_options = [point_y - MARKER_R - 3, point_y + MARKER_R + 0.76 * size + 2]
    count_options = []
    foot = bar_bottom - 0.24 * size - 2          # inside the bar, at its foot: where it reads most evenly
    if foot - 0.76 * size >= bar_top + 1:
        count_options.append(foot)
    count_options.append(count_above)
    inside = bar_top + 0.76 * size + 2           # within the bar, from its top down, while it fits
    while inside + 0.24 * size + 1 <= bar_bottom:
        count_options.append(inside)
        inside += 4

    def fits(pct_y: float, count_y: float) -> bool:
        p, c = label_box(cx, pct_y, pct_text, size), label_box(cx, count_y, count_text, size)
        return (p.y0 >= top and c.y0 >= top and p.y1 <= bar_bottom and c.y1 <= bar_bottom and
                not p.overlaps(c) and not p.overlaps(marker, 0) and not c.overlaps(marker))

    for count_y in count_options:
        for pct_y in pct_options:
            if fits(pct_y, count_y):
                return pct_y, count_y
    # Stack: the percentage where it fits best, the count above both it and the marker.
    pct_y = pct_options[0] if label_box(cx, pct_options[0], pct_text, size).y0 >= top else pct_options[1]
    highest = min(label_box(cx, pct_y, pct_text, size).y0, marker.y0, bar_top)
    return pct_y, highest - GAP - 0.24 * size - 1


def _period_label(period: str, first: bool) -> tuple[str, str]:
    """Where "2026-11" does not fit its slot: ("Nov", "2026") for the first point and each
    January, ("Dec", "") otherwise."""
    try:
        year, month = period.split("-")
        name = MONTHS[int(month) - 1]
    except (ValueError, IndexError):
        return period[:7], ""
    return name, year if first or month == "01" else ""


def _int(v: Any) -> int:
    return int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0


def trend_chart(trend: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    """The chart's drawing instructions, or None with fewer than two periods."""
    points = [t for t in (trend or []) if isinstance(t, dict)][-MAX_PERIODS:]
    if len(points) < 2:
        return None
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    base = TOP + plot_h
    opens = [sum(_int(v) for v in (t.get("open") if isinstance(t.get("open"), dict) else {}).values())
             for t in points]
    step = max(max(opens), 1) / 4
    nice = next(n for n in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 10 ** 9) if n >= step)
    axis_open = nice * 4
    slot = plot_w / len(points)
    bar_w = min(24.0, slot * 0.5)
    wide = text_width("2026-11") < slot - GAP      # room for "2026-11"; else "Nov" over its year
    bars, line, labels = [], [], []
    for i, (t, n) in enumerate(zip(points, opens)):
        cx = LEFT + slot * (i + 0.5)
        bh = plot_h * n / axis_open
        pct = t.get("mfa_registered_pct")
        point_y = pct_text = None
        if isinstance(pct, (int, float)) and not isinstance(pct, bool):
            pct = max(0.0, min(100.0, float(pct)))
            point_y, pct_text = TOP + plot_h * (1 - pct / 100), f"{pct:.0f}%"
        pct_y, count_y = place_labels(cx, point_y, pct_text or "", base - bh, base, f"{n:,}", top=0.0)
        bars.append({"x": round(cx - bar_w / 2, 2), "y": round(base - bh, 2), "w": round(bar_w, 2),
                     "h": round(bh, 2), "label": f"{n:,}", "ly": round(count_y, 2), "cx": round(cx, 2)})
        if point_y is not None:
            line.append({"x": round(cx, 2), "y": round(point_y, 2), "label": pct_text, "ly": round(pct_y, 2)})
        month, year = (str(t.get("period", ""))[:7], "") if wide else _period_label(str(t.get("period", "")), i == 0)
        labels.append({"x": round(cx, 2), "y": round(base + 12, 2), "text": month,
                       "year": year, "y2": round(base + 22, 2)})
    grid = [{"y": round(TOP + plot_h * (1 - k / 4), 2), "pct": f"{25 * k}%", "open": f"{nice * k:,}"}
            for k in range(5)]
    return {"width": int(WIDTH), "height": int(HEIGHT), "left": LEFT, "right": WIDTH - RIGHT, "top": TOP,
            "bottom": base, "bars": bars, "line": line, "polyline": " ".join(f"{p['x']},{p['y']}" for p in line),
            "labels": labels, "grid": grid, "periods": len(points), "font": FONT}
