"""Command-line commands: `flask demo` loads the demo municipality."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from app.clock import utcnow
from app.extensions import db
from app.services.appointments import appointments_extend
from app.services.demo import DatabaseNotEmpty, demo_load


def init_app(app: Flask) -> None:
    app.cli.add_command(demo_command)
    app.cli.add_command(appointments_group)
    app.cli.add_command(notices_group)


@click.group("notices")
def notices_group() -> None:
    """The notice outbox."""


@notices_group.command("work")
@with_appcontext
@click.option("--once", is_flag=True, help="Deliver what is due now, then stop.")
def work_command(once: bool) -> None:
    """Deliver notices from the outbox; keeps running until stopped (SIGTERM)."""
    from app.notices.worker import run

    totals = run(current_app._get_current_object(), db.session, once=once)  # noqa: SLF001
    click.echo(", ".join(f"{n} {what}" for what, n in sorted(totals.items())) or "Nothing due.")


@click.group("appointments")
def appointments_group() -> None:
    """Recurring visits."""


@appointments_group.command("extend")
@with_appcontext
@click.option("--weeks", default=8, show_default=True, help="How far ahead visits must exist.")
def extend_command(weeks: int) -> None:
    """Generate the occurrences of every running series this far ahead (run daily)."""
    created = appointments_extend(db.session, now=utcnow(), horizon=timedelta(weeks=weeks))
    db.session.commit()
    click.echo(f"{created} visits created.")


@click.command("demo")
@with_appcontext
@click.option(
    "--if-empty",
    is_flag=True,
    help="Do nothing (and succeed) when the database already holds data.",
)
def demo_command(if_empty: bool) -> None:
    """Load the demo data (Andeby and Småby kommune) into an empty database."""
    try:
        counts = demo_load(
            db.session,
            now=utcnow(),
            allow_synthetic=current_app.config["ALLOW_SYNTHETIC_FNR"],
            terms_version=current_app.config["TERMS_VERSION"],
        )
    except DatabaseNotEmpty as exc:
        db.session.rollback()
        if if_empty:
            click.echo("The database already holds data; the demo was not loaded again.")
            return
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    summary = ", ".join(f"{n} {what}" for what, n in counts.items())
    click.echo(f"Demo loaded: {summary}.")
