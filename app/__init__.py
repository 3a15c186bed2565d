"""Hjemmedialog: digital dialog for municipal home services."""

from __future__ import annotations

from flask import Flask

from app.config import INSTANCE_DIR, PROJECT_ROOT, Config, config_from_env


def create_app(config: Config | None = None) -> Flask:
    from app import cli, database, web
    from app.extensions import babel, csrf, db, migrate
    from app.security import login, oidc

    config = config or config_from_env()
    config.validate()
    app = Flask(__name__, instance_path=str(INSTANCE_DIR), instance_relative_config=False)
    app.config.from_object(config)

    db.init_app(app)
    database.configure(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=web.select_locale)
    login.init_app(app)
    oidc.init_app(app)
    web.init_app(app)
    cli.init_app(app)
    if config.PROXY_COUNT:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = config.PROXY_COUNT
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    return app
