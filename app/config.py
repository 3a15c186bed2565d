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
# How the client authenticates at the provider's token endpoint (ID-porten recommends the last).
PRIVATE_KEY_JWT = "private_key_jwt"
TOKEN_AUTH_METHODS = ("client_secret_basic", "client_secret_post", PRIVATE_KEY_JWT)
# Host names answered in development and tests when TRUSTED_HOSTS is not set.
LOCAL_HOSTS = ("localhost", "127.0.0.1")


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _flag(name: str, default: bool) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _list(name: str, default: tuple[str, ...] = ()) -> list[str]:
    value = _env(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


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
        # PostgreSQL: no parallel workers for the app's queries unless asked for (see
        # app/database.py, engine_options).
        self.PG_PARALLEL_QUERY = _flag("PG_PARALLEL_QUERY", False)

        # Host names this deployment answers to; a request for any other gets 400, so no
        # link or redirect address is ever built from a Host header someone else chose.
        self.TRUSTED_HOSTS = _list("TRUSTED_HOSTS", LOCAL_HOSTS if dev else ())

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

        # Redis shared by the app's machines (optional): the log-in limits count there.
        self.REDIS_URL = _env("REDIS_URL", "")
        self.REDIS_KEY_PREFIX = _env("REDIS_KEY_PREFIX", "hjemmedialog:")

        # Log-in limits, counted in the database (or Redis) so every process shares them.
        self.RATELIMIT_ENABLED = _flag("RATELIMIT_ENABLED", True)
        self.LOGIN_MAX_FAILURES = int(_env("LOGIN_MAX_FAILURES", "10"))
        self.LOGIN_FAILURE_WINDOW_SECONDS = int(_env("LOGIN_FAILURE_WINDOW_SECONDS", "900"))
        self.LOGIN_BLOCK_SECONDS = int(_env("LOGIN_BLOCK_SECONDS", "60"))
        self.LOGIN_BLOCK_MAX_SECONDS = int(_env("LOGIN_BLOCK_MAX_SECONDS", "3600"))
        self.LOGIN_START_LIMIT = int(_env("LOGIN_START_LIMIT", "30"))
        # Responses compressed by the app (brotli or gzip); off when a reverse proxy does it.
        self.COMPRESS_RESPONSES = _flag("COMPRESS_RESPONSES", True)
        # Proxies in front of the app that set X-Forwarded-For/-Proto/-Host (0: none).
        self.PROXY_COUNT = int(_env("PROXY_COUNT", "0"))

        # Staff passkeys (WebAuthn): unset, both come from the request's (trusted) host.
        self.WEBAUTHN_RP_ID = _env("WEBAUTHN_RP_ID")
        self.WEBAUTHN_ORIGIN = _env("WEBAUTHN_ORIGIN")

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
        # private_key_jwt: the client's private key (PEM) and the key id registered for it.
        self.OIDC_CLIENT_KEY_PATH = _env("OIDC_CLIENT_KEY_PATH")
        self.OIDC_CLIENT_KEY_ID = _env("OIDC_CLIENT_KEY_ID")
        self.OIDC_SCOPE = _env("OIDC_SCOPE", "openid")
        self.OIDC_REQUIRED_ACR = _env("OIDC_REQUIRED_ACR", "idporten-loa-high")
        self.OIDC_REDIRECT_URI = _env("OIDC_REDIRECT_URI")
        self.OIDC_POST_LOGOUT_REDIRECT_URI = _env("OIDC_POST_LOGOUT_REDIRECT_URI")
        self.OIDC_HTTP_TIMEOUT = float(_env("OIDC_HTTP_TIMEOUT", "10"))
        # The provider's discovery document and keys are fetched again after this long,
        # and the keys also at once when a signature does not verify (at most this often).
        self.OIDC_CACHE_SECONDS = float(_env("OIDC_CACHE_SECONDS", "3600"))
        self.OIDC_KEY_REFRESH_SECONDS = float(_env("OIDC_KEY_REFRESH_SECONDS", "10"))
        self.DEV_IDP_KEY_PATH = _env("DEV_IDP_KEY_PATH", str(INSTANCE_DIR / "dev-idp-key.pem"))

        # The record-system API (docs/api.md). Its access tokens are signed with the first
        # of these EC P-256 private keys (PEM) and accepted when signed by any of them: to
        # rotate, put the new key first, and drop the old one once its tokens have expired.
        # Every machine must have the same files. In development a key is made on first use.
        self.API_SIGNING_KEY_PATHS = _list(
            "API_SIGNING_KEY_PATHS", (str(INSTANCE_DIR / "api-signing-key.pem"),) if dev else ()
        )
        self.API_TOKEN_SECONDS = int(_env("API_TOKEN_SECONDS", "300"))
        # Events (Subscription): delivered by the notice worker, with its back-off, tried up
        # to this many times (about a day at the default back-off); each call's timeout.
        # Plain http endpoints only where allowed (development); https otherwise.
        self.API_EVENT_MAX_ATTEMPTS = int(_env("API_EVENT_MAX_ATTEMPTS", "30"))
        self.API_EVENT_TIMEOUT = float(_env("API_EVENT_TIMEOUT", "10"))
        self.API_EVENT_HTTP_ALLOWED = _flag("API_EVENT_HTTP_ALLOWED", dev)
        # How often the worker's events thread looks for due events when idle.
        self.API_EVENT_POLL_SECONDS = float(_env("API_EVENT_POLL_SECONDS", "1"))

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
        # Mine besøk i dag: how long a registered visit can be undone (Angre); its
        # completed-visit notice waits as long. 0: no undo, the notice is due at once.
        self.VISIT_UNDO_SECONDS = max(0, int(_env("VISIT_UNDO_SECONDS", "120")))

    def validate(self) -> None:
        """Refuse to start with settings that are missing, unknown or unsafe."""
        required = ["SECRET_KEY", "OIDC_ISSUER", "OIDC_CLIENT_ID"]
        if not self.DEVELOPMENT_LIKE:
            required.append("TRUSTED_HOSTS")
        if self.OIDC_TOKEN_AUTH_METHOD == PRIVATE_KEY_JWT:
            required += ["OIDC_CLIENT_KEY_PATH", "OIDC_CLIENT_KEY_ID"]
        missing = [name for name in required if not getattr(self, name)]
        if missing:
            raise RuntimeError(
                "Missing configuration: "
                + ", ".join(missing)
                + f" (APP_ENV={self.APP_ENV}); see README.md, Configuration."
            )
        if self.OIDC_TOKEN_AUTH_METHOD not in TOKEN_AUTH_METHODS:
            raise RuntimeError(
                f"OIDC_TOKEN_AUTH_METHOD must be one of {', '.join(TOKEN_AUTH_METHODS)}, "
                f"not {self.OIDC_TOKEN_AUTH_METHOD!r}"
            )
        if self.APP_ENV == "production":
            switches = ("DEV_IDP_ENABLED", "NOTICE_DEV_SINK")
            unsafe = [name for name in switches if getattr(self, name)]
            if unsafe:
                raise RuntimeError(
                    ", ".join(unsafe) + " cannot be switched on with APP_ENV=production: the "
                    "test identity provider lets anyone log in as anyone, and /dev/outbox "
                    "shows every notice"
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
