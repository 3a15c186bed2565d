"""Oversikt's charts: SVG with an accessible name, no script, nothing drawn for nothing."""

from __future__ import annotations

import base64

from app.web import charts


def _svg(uri: str) -> str:
    prefix = "data:image/svg+xml;base64,"
    assert uri.startswith(prefix)
    return base64.b64decode(uri[len(prefix) :]).decode()


def test_a_column_chart_is_an_svg_named_by_its_title():
    svg = _svg(charts.columns("Meldinger per uke", [("uke 47", 3), ("uke 48", 0), ("uke 49", 7)]))
    assert '<svg role="img" aria-label="Meldinger per uke"' in svg
    assert "<title>Meldinger per uke</title>" in svg
    assert "<script" not in svg
    assert svg.count("<rect") >= 3  # the background and a column per non-zero week
    assert 'fill="#1f5f8b"' in svg  # the theme's colour, dark enough on white


def test_a_bar_chart_escapes_its_labels():
    svg = _svg(charts.bars('Svar "raskt" & <godt>', [("Hjemmesykepleie", 1.5)]))
    assert 'aria-label="Svar &quot;raskt&quot; &amp; &lt;godt&gt;"' in svg
    assert '<title>Svar "raskt" &amp; &lt;godt&gt;</title>' in svg


def test_nothing_to_draw_gives_no_chart():
    assert charts.columns("Tomt", []) is None
    assert charts.columns("Nuller", [("a", 0), ("b", 0)]) is None
    assert charts.bars("Tomt", []) is None


def test_many_points_over_time_are_a_line_with_date_ticks():
    from datetime import date, timedelta

    days = [date(2026, 11, 1) + timedelta(days=i) for i in range(28)]
    svg = _svg(
        charts.over_time("Utførte besøk per dag", [(d, "", i % 3) for i, d in enumerate(days)])
    )
    assert "<path" in svg and ">1.11.</text>" in svg
    few = _svg(charts.over_time("Per uke", [(days[0], "uke 45", 2), (days[7], "uke 46", 1)]))
    assert ">uke 45</text>" in few
    assert charts.over_time("Tomt", [(d, "", 0) for d in days]) is None
