"""Charts for Oversikt: SVG drawn on the server with leather (MIT), shown as <img>.

An SVG inside <img src="data:..."> runs no script and is outside the page's CSP for styles;
the page gives each chart an alt text and a table of its numbers.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from datetime import date
from xml.sax.saxutils import escape

import leather

WIDTH, HEIGHT = 640, 280
FONT = "system-ui, sans-serif"
INK, GRID, BAR = "#222", "#ddd", "#1f5f8b"


def _theme() -> None:
    """Readable ink on white (leather's defaults are light grey on grey)."""
    leather.theme.background_color = "#fff"
    leather.theme.title_color = INK
    leather.theme.title_font_family = FONT
    leather.theme.tick_color = GRID
    leather.theme.tick_font_family = FONT
    leather.theme.label_color = INK
    leather.theme.default_series_colors = [BAR]


_theme()  # before any chart is made: a chart takes its colours when it is created
# More points than this are drawn as a line over time: their labels would not fit as columns.
MAX_COLUMNS = 10


def _svg(chart: leather.Chart, title: str) -> str:
    out = io.StringIO()
    chart.to_svg(out, width=WIDTH, height=HEIGHT)
    svg = out.getvalue()
    named = f'<svg role="img" aria-label="{escape(title, {chr(34): "&quot;"})}"'
    svg = svg.replace("<svg", named, 1)
    # The accessible name inside the file too, for anyone who opens it on its own.
    head_end = svg.index(">", svg.index("<svg")) + 1
    return f"{svg[:head_end]}<title>{escape(title)}</title>{svg[head_end:]}"


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")


def columns(title: str, points: Sequence[tuple[str, float]]) -> str | None:
    """A column chart of (label, value), as a data: URI; None when there is nothing to draw."""
    if not points or not any(value for _, value in points):
        return None
    chart = leather.Chart(title)
    chart.add_columns([(label, value) for label, value in points])
    chart.add_y_scale(0, max(value for _, value in points))
    return _data_uri(_svg(chart, title))


def bars(title: str, points: Sequence[tuple[str, float]]) -> str | None:
    """A bar chart of (label, value), one bar a row; None when there is nothing to draw."""
    if not points or not any(value for _, value in points):
        return None
    chart = leather.Chart(title)
    chart.add_bars([(value, label) for label, value in points])
    chart.add_x_scale(0, max(value for _, value in points))
    return _data_uri(_svg(chart, title))


def over_time(title: str, points: Sequence[tuple[date, str, float]]) -> str | None:
    """Values per day or week (start day, label, value): columns with their labels when
    there are few, else a line over the dates; None when there is nothing to draw."""
    if len(points) <= MAX_COLUMNS:
        return columns(title, [(label, value) for _, label, value in points])
    if not any(value for _, _, value in points):
        return None
    chart = leather.Chart(title)
    chart.add_line([(day, value) for day, _, value in points])
    chart.add_x_axis(tick_formatter=lambda day, index, count: f"{day.day}.{day.month}.")
    chart.add_y_scale(0, max(value for _, _, value in points))
    return _data_uri(_svg(chart, title))
