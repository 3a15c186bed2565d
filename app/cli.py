"""Command-line commands: `flask demo` loads the demo municipality."""

from __future__ import annotations

import click
from flask import Flask, current_app

from app.clock import utcnow
from app.extensions import db
from app.services.demo import DatabaseNotEmpty, demo_load


def init_app(app: Flask) -> None:
    app.cli.add_command(demo_command)


@click.command("demo")
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
