"""Oversikt: the leader's (and administrator's) figures for their units, with charts and CSV.

Aggregate figures only, no resident's data: nothing here goes in anyone's usage log. The
counts link to Alle tråder (which logs what it shows) for the unit the leader works in now.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from flask import abort, request
from flask_babel import format_date, format_decimal
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from app.clock import oslo_today, utcnow
from app.extensions import db
from app.models import Unit
from app.security import access
from app.selectors import oversikt as reads
from app.web import charts
from app.web.forms import with_prompt
from app.web.htmx import render
from app.web.staff.forms import OversiktForm
from app.web.staff.routes import bp

CSV_TABLES = ("threads", "replies", "weeks", "days")


def period_refusal(code: str) -> str:
    return {
        "dates_missing": _("Choose both a from date and a to date."),
        "reversed": _("The from date must be on or before the to date."),
        "future": _("The to date cannot be after today."),
        "too_long": _("Choose a period of at most %(days)d days.", days=reads.MAX_DAYS),
        "too_old": _("Oversikt goes back at most two years."),
    }[code]


@dataclass(frozen=True)
class Shown:
    form: OversiktForm
    units: list[Unit]
    figures: reads.Figures
    valid: bool


def _shown() -> Shown:
    """The figures for the period and units asked for; what is not valid is said and the
    default (the last 4 weeks, every unit) shown instead."""
    scope = access.oversikt_scope(current_user)
    units = list(
        db.session.scalars(reads.oversikt_units(current_user.staff.municipality_id, scope))
    )
    form = OversiktForm(request.args)
    form.unit.choices = with_prompt(_("All my units"), [SelectChoice(u.id, u.name) for u in units])
    valid = form.validate()
    today = oslo_today()
    try:
        period = reads.choose_period(
            "" if form.period.errors else form.period.data or "",
            None if form.start.errors else form.start.data,
            None if form.end.errors else form.end.data,
            today,
        )
    except reads.PeriodRefused as refused:
        form.end.errors = [*form.end.errors, period_refusal(refused.code)]
        valid = False
        period = reads.choose_period("4weeks", None, None, today)
    chosen = None if form.unit.errors else form.unit.data
    unit_ids = [u.id for u in units if chosen in (None, u.id)]
    figures = reads.oversikt_figures(db.session, unit_ids, period, utcnow(), today)
    return Shown(form, [u for u in units if u.id in unit_ids], figures, valid)


def _hours(value: float) -> str:
    return format_decimal(value, format="0.0")


def _week_label(first, last) -> str:  # noqa: ANN001 - dates
    return f"{format_date(first, 'd.M.')}–{format_date(last, 'd.M.')}"


def _charts(figures: reads.Figures) -> dict[str, str | None]:
    weeks = figures.volumes.weeks
    services = [r for r in figures.reply_times if r.kind == "service"]
    return {
        "messages": charts.over_time(
            _("Messages from residents per week"),
            [(w.first, _week_label(w.first, w.last), w.from_residents) for w in weeks],
        ),
        "replies": charts.bars(
            _("First reply, median office hours per service"),
            [(r.name, round(r.median_hours, 1)) for r in services],
        ),
        "cancelled": charts.over_time(
            _("Visits cancelled by residents per week"),
            [(w.first, _week_label(w.first, w.last), w.visits_cancelled) for w in weeks],
        ),
        "completed": charts.over_time(
            _("Completed visits per day"),
            [(d.day, format_date(d.day, "d.M."), d.completed_visits) for d in figures.volumes.days],
        ),
    }


@bp.get("/oversikt")
def oversikt() -> Response:
    shown = _shown()
    return render(
        "staff/oversikt.html",
        status=200 if shown.valid else 422,
        form=shown.form,
        units=shown.units,
        figures=shown.figures,
        charts=_charts(shown.figures),
        hours=_hours,
        week_label=_week_label,
        csv_args={k: v for k, v in request.args.items() if k in shown.form.data},
    )


def _csv_rows(table: str, shown: Shown) -> list[list[object]]:
    f = shown.figures
    if table == "threads":
        names = {u.id: u.name for u in shown.units}
        return [
            [
                _("Unit"),
                _("Open threads"),
                _("Overdue"),
                _("Interim reply only"),
                _("Waiting to relay"),
            ],
            *[[names[c.unit_id], c.open, c.overdue, c.interim, c.relay] for c in f.counts],
        ]
    if table == "replies":
        kinds = {"service": _("Service"), "staff": _("Staff member")}
        return [
            [_("Per"), _("Name"), _("Threads"), _("Median hours"), _("90th percentile hours")],
            *[
                [kinds[r.kind], r.name, r.threads, f"{r.median_hours:.2f}", f"{r.p90_hours:.2f}"]
                for r in f.reply_times
            ],
        ]
    if table == "weeks":
        return [
            [
                _("From"),
                _("To"),
                _("Messages from residents"),
                _("Messages from staff"),
                _("Cancellations"),
                _("Visits cancelled"),
            ],
            *[
                [
                    w.first.isoformat(),
                    w.last.isoformat(),
                    w.from_residents,
                    w.from_staff,
                    w.cancellations,
                    w.visits_cancelled,
                ]
                for w in f.volumes.weeks
            ],
        ]
    return [
        [_("Day"), _("Completed visits")],
        *[[d.day.isoformat(), d.completed_visits] for d in f.volumes.days],
    ]


@bp.get("/oversikt.csv")
def oversikt_csv() -> Response:
    """One table of Oversikt as CSV (UTF-8 with a byte order mark, for spreadsheets)."""
    table = request.args.get("table", "")
    if table not in CSV_TABLES:
        abort(404)
    shown = _shown()
    out = io.StringIO()
    csv.writer(out).writerows(_csv_rows(table, shown))
    period = shown.figures.period
    name = f"oversikt-{table}-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    response = Response("\ufeff" + out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
