"""Configuration, read from environment variables.

`APP_ENV` chooses the defaults: `production` (the default) is strict, `development`
(used by `make run`) and `test` switch on the test identity provider and synthetic
fødselsnummer and allow plain HTTP cookies.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"
# The user interface's languages, the default first: bokmål, nynorsk, English.
LANGUAGES = ("nb", "nn", "en")


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _flag(name: str, default: bool) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def database_url(raw: str | None) -> str:
    """Normalise DATABASE_URL; plain `postgresql://` URLs use psycopg 3."""
    if not raw:
        return f"sqlite:///{INSTANCE_DIR / 'hjemmedialog.db'}"
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix) :]
    return raw


class Config:
    """Settings for every environment; subclasses change the defaults only."""

    APP_ENV = "production"
    DEVELOPMENT_LIKE = False

    def __init__(self) -> None:
        dev = self.DEVELOPMENT_LIKE
        port = _env("PORT", "5000")

        self.SECRET_KEY = _env("SECRET_KEY", "development-only-secret" if dev else None)
        self.SQLALCHEMY_DATABASE_URI = database_url(_env("DATABASE_URL"))
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

        # Babel: bokmål by default, times shown in Europe/Oslo.
        self.BABEL_DEFAULT_LOCALE = LANGUAGES[0]
        self.BABEL_DEFAULT_TIMEZONE = "Europe/Oslo"
        self.BABEL_TRANSLATION_DIRECTORIES = str(PROJECT_ROOT / "translations")
        self.LANGUAGES = LANGUAGES

        # Sessions: a server-side record per log-in, limited in idle and total time.
        self.SESSION_IDLE_TIMEOUT = timedelta(minutes=int(_env("SESSION_IDLE_MINUTES", "30")))
        self.SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=int(_env("SESSION_ABSOLUTE_HOURS", "12")))
        secure = _flag("SESSION_COOKIE_SECURE", not dev)
        self.SESSION_COOKIE_SECURE = secure
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_NAME = "__Host-hd" if secure else "hd"
        self.PREFERRED_URL_SCHEME = "https" if secure else "http"
        self.HSTS = secure

        # Request size, in bytes: Flask answers 413 instead of reading more. The largest form
        # (a message of 4 000 characters, percent-encoded) is under 50 KB; no form takes files.
        # MAX_CONTENT_LENGTH bounds every request; in a multipart body, MAX_FORM_MEMORY_SIZE
        # bounds each field and MAX_FORM_PARTS their number.
        self.MAX_CONTENT_LENGTH = int(_env("MAX_CONTENT_LENGTH", str(256 * 1024)))
        self.MAX_FORM_MEMORY_SIZE = int(_env("MAX_FORM_MEMORY_SIZE", str(64 * 1024)))
        self.MAX_FORM_PARTS = int(_env("MAX_FORM_PARTS", "200"))

        # CSRF tokens live as long as the session that holds them.
        self.WTF_CSRF_TIME_LIMIT = None

        # Rate limits (log-in); memory storage suits one process, use Redis in production.
        self.RATELIMIT_ENABLED = _flag("RATELIMIT_ENABLED", True)
        self.RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI", "memory://")
        self.RATELIMIT_HEADERS_ENABLED = True
        self.LOGIN_RATE_LIMIT = _env("LOGIN_RATE_LIMIT", "10 per minute")

        # Population register: synthetic numbers (month + 80) only where allowed.
        self.ALLOW_SYNTHETIC_FNR = _flag("ALLOW_SYNTHETIC_FNR", dev)

        # Terms of use and consent, versioned.
        self.TERMS_VERSION = _env("TERMS_VERSION", "2026-1")

        # OpenID Connect client (ID-porten in production, the test provider otherwise).
        self.DEV_IDP_ENABLED = _flag("DEV_IDP_ENABLED", dev)
        default_issuer = f"http://127.0.0.1:{port}/dev-idp" if self.DEV_IDP_ENABLED else None
        self.OIDC_ISSUER = _env("OIDC_ISSUER", default_issuer)
        self.OIDC_METADATA_URL = _env("OIDC_METADATA_URL")
        self.OIDC_CLIENT_ID = _env("OIDC_CLIENT_ID", "hjemmedialog" if dev else None)
        self.OIDC_CLIENT_SECRET = _env("OIDC_CLIENT_SECRET", "dev-client-secret" if dev else None)
        self.OIDC_TOKEN_AUTH_METHOD = _env("OIDC_TOKEN_AUTH_METHOD", "client_secret_post")
        self.OIDC_SCOPE = _env("OIDC_SCOPE", "openid profile")
        self.OIDC_REQUIRED_ACR = _env("OIDC_REQUIRED_ACR", "idporten-loa-high")
        self.OIDC_REDIRECT_URI = _env("OIDC_REDIRECT_URI")
        self.OIDC_HTTP_TIMEOUT = float(_env("OIDC_HTTP_TIMEOUT", "10"))
        self.DEV_IDP_KEY_PATH = _env("DEV_IDP_KEY_PATH", str(INSTANCE_DIR / "dev-idp-key.pem"))

        # Notices: e-mail through SMTP when SMTP_HOST is set, SMS through an HTTP provider
        # when SMS_URL is set; otherwise, in development only, the development sink.
        self.SMTP_HOST = _env("SMTP_HOST")
        self.SMTP_PORT = int(_env("SMTP_PORT", "25"))
        self.SMTP_USERNAME = _env("SMTP_USERNAME")
        self.SMTP_PASSWORD = _env("SMTP_PASSWORD")
        self.SMTP_SECURITY = _env("SMTP_SECURITY", "none").lower()
        self.SMTP_TIMEOUT = float(_env("SMTP_TIMEOUT", "10"))
        self.MAIL_FROM = _env("MAIL_FROM", "Hjemmedialog <ikke-svar@hjemmedialog.example>")
        self.SMS_URL = _env("SMS_URL")
        self.SMS_TOKEN = _env("SMS_TOKEN")
        self.SMS_TIMEOUT = float(_env("SMS_TIMEOUT", "10"))
        self.NOTICE_DEV_SINK = _flag("NOTICE_DEV_SINK", self.DEV_IDP_ENABLED)
        self.NOTICE_BATCH_SIZE = int(_env("NOTICE_BATCH_SIZE", "50"))
        self.NOTICE_POLL_SECONDS = float(_env("NOTICE_POLL_SECONDS", "0.5"))
        self.NOTICE_LEASE_SECONDS = float(_env("NOTICE_LEASE_SECONDS", "60"))
        self.NOTICE_MAX_ATTEMPTS = int(_env("NOTICE_MAX_ATTEMPTS", "8"))
        self.NOTICE_BACKOFF_SECONDS = float(_env("NOTICE_BACKOFF_SECONDS", "30"))
        self.NOTICE_BACKOFF_MAX_SECONDS = float(_env("NOTICE_BACKOFF_MAX_SECONDS", "3600"))

    def validate(self) -> None:
        missing = [
            name
            for name in ("SECRET_KEY", "OIDC_ISSUER", "OIDC_CLIENT_ID")
            if not getattr(self, name)
        ]
        if missing:
            raise RuntimeError(
                "Missing configuration: "
                + ", ".join(missing)
                + f" (APP_ENV={self.APP_ENV}); see README.md, Configuration."
            )


class ProductionConfig(Config):
    APP_ENV = "production"


class DevelopmentConfig(Config):
    APP_ENV = "development"
    DEVELOPMENT_LIKE = True


class TestConfig(Config):
    APP_ENV = "test"
    DEVELOPMENT_LIKE = True

    def __init__(self) -> None:
        super().__init__()
        self.TESTING = True
        self.OIDC_ISSUER = _env("OIDC_ISSUER", "http://idp.test/dev-idp")


CONFIGS: dict[str, type[Config]] = {
    "production": ProductionConfig,
    "development": DevelopmentConfig,
    "test": TestConfig,
}


def config_from_env() -> Config:
    name = _env("APP_ENV", "production").lower()
    try:
        return CONFIGS[name]()
    except KeyError:
        raise RuntimeError(f"APP_ENV must be one of {', '.join(CONFIGS)}, not {name!r}") from None
