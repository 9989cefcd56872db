"""Settings of the project that serves the identity apps here (and the demo).

Everything a deployment changes is read from the environment (or a `.env` file beside
manage.py) with django-environ; the `IDENTITY` dictionary is the apps' own configuration.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
# ENV_FILE names another file of variables; the default is `.env` beside manage.py.
environ.Env.read_env(env.str("ENV_FILE", default=str(BASE_DIR / ".env")), overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable to a long random "
            "value (python3 -c 'import secrets; print(secrets.token_urlsafe(50))'), or set "
            "DEBUG=True for local development only.")
    SECRET_KEY = "insecure-development-key-never-use-in-production"

IDENTITY_ISSUER = env.str("IDENTITY_ISSUER", default="").rstrip("/") or None
_issuer = urlsplit(IDENTITY_ISSUER) if IDENTITY_ISSUER else None
HTTPS = bool(_issuer and _issuer.scheme == "https")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
if _issuer and _issuer.hostname and not {_issuer.hostname, "*"} & set(ALLOWED_HOSTS):
    ALLOWED_HOSTS.append(_issuer.hostname)
CSRF_TRUSTED_ORIGINS = [f"{_issuer.scheme}://{_issuer.netloc}"] if _issuer else []

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "identity",
    "clients_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "identity.http.outage.OutageMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The browser's Accept-Language (Django's LocaleMiddleware, off the JSON protocol endpoints),
    # then the OIDC ui_locales of an authorization request.
    "identity.http.locale.PageLocaleMiddleware",
    "identity.http.locale.UiLocalesMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Signs a browser out when its server-side session was ended elsewhere or expired.
    "identity.http.server_side_sessions.ServerSideSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "settings.urls"
WSGI_APPLICATION = "settings.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "identity.endpoints.password_reset.identity_pages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# Keep connections across requests: gunicorn workers are long-lived, and every request reads the
# configuration generation, which would otherwise open (and set up) a connection each time.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    # Behind a pooler in transaction mode (PgBouncer's pool_mode = transaction), consecutive
    # transactions may run on different server connections: a cursor held open across them
    # (Django's server-side cursors for .iterator()) would not be found. Locks are taken per
    # transaction (SELECT ... FOR UPDATE, pg_advisory_xact_lock) and psycopg 3 binds parameters
    # on the client, preparing nothing on the server, so those need no change.
    if env.bool("DB_TRANSACTION_POOLING", default=False):
        DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Take the write lock when a transaction starts, waiting for it: a deferred transaction that
    # must upgrade its lock fails at once ("database is locked") when another process writes,
    # as two workers redeeming codes at the same time do.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("transaction_mode", "IMMEDIATE")
    # Write-ahead logging: readers never wait for the writer, and a commit appends to the log
    # without syncing the file each time (synchronous=NORMAL keeps the database consistent; a
    # power cut may lose the last commits). Single-use records and grants are written on hot
    # paths; a synced rollback journal costs about 1 ms per commit.
    DATABASES["default"]["OPTIONS"].setdefault(
        "init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
# Local memory holds up to 20,000 entries per process (Django's default is 300, too few for the
# client cache of a busy server); set CACHE_URL to redis://... when several processes serve.
CACHES = {"default": env.cache("CACHE_URL",
                               default="locmemcache://identity?MAX_ENTRIES=20000")}
# django-environ 0.14 leaves ?key_prefix=, ?timeout=, ?version= in lower case, where Django
# ignores them: hand them over under Django's names.
for _name in ("key_prefix", "timeout", "version"):
    if _name in CACHES["default"]:
        CACHES["default"][_name.upper()] = CACHES["default"].pop(_name)
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # Django's backend with one redis-py client per connection pool, not one per call.
    CACHES["default"]["BACKEND"] = "identity.redis_cache.RedisCache"
    # redis-py waits forever by default: a Redis that stops answering would hold every worker.
    # With a bound, the caches fall back to the database and the counters fail open.
    _options = CACHES["default"].setdefault("OPTIONS", {})
    _options.setdefault("socket_connect_timeout", 1)
    _options.setdefault("socket_timeout", 1)
# Above what one request line can carry (gunicorn: 4,094 bytes, "a&" 2,047 times): Django 5.2
# parses the query while building a request with a charset in its Content-Type and raises
# TooManyFieldsSent outside its error handling, a 500. Bodies stay bounded by
# DATA_UPLOAD_MAX_MEMORY_SIZE, and the protocol endpoints by IDENTITY["MAX_REQUEST_BODY"].
DATA_UPLOAD_MAX_NUMBER_FIELDS = 4096
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "identity:login"

# The management API and registration set their own authentication, permissions and limits on
# every view. The defaults only matter to a view that forgets to: no authentication (DRF's
# default would check user passwords sent by HTTP Basic, past the sign-in limits) and nobody let in.
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "identity management API",
    "DESCRIPTION": "Clients, secrets, scopes, resources, signing keys, grants and consents.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
}

IDENTITY = {
    "ISSUER": IDENTITY_ISSUER,
    "CLIENTS_FILE": env.str("IDENTITY_CLIENTS_FILE", default="") or None,
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# Offered to Accept-Language and ui_locales: identity/locale translates our pages, Django's own
# catalogues the admin.
LANGUAGES = [("en", "English"), ("fr", "Français")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Password reset by email is offered only with a real backend: EMAIL_URL=smtp+tls://user:pw@host:587,
# consolemail:// for development; the default dummymail:// sends nothing and hides the pages.
# Unset parts (None) keep Django's defaults, as port 25 for an smtp:// URL without one.
vars().update({name: value for name, value in env.email_url(
    "EMAIL_URL", default="dummymail://").items() if value is not None})
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="identity@localhost")

STATIC_URL = "static/"
# Only for `collectstatic` behind a front server; the app serves its static files itself.
STATIC_ROOT = env.str("STATIC_ROOT", default="") or None
# Serve the admin's static files from the apps without a collectstatic step, so that the
# documented set-up (migrate, then gunicorn) is complete.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Cookies: Secure only when the issuer is https, so that plain http on loopback works with DEBUG
# off. HSTS is sent on every https response (never on http, where browsers ignore it anyway).
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Django's database sessions, writing the row of a sign-in once instead of twice.
SESSION_ENGINE = "identity.http.session_store"
SECURE_HSTS_SECONDS = 31536000
SECURE_CONTENT_TYPE_NOSNIFF = True
# same-origin for the admin: with no-referrer browsers send "Origin: null" on form posts and
# Django's CSRF check refuses the admin's own forms. The identity pages send no-referrer
# themselves and accept that Origin (identity/endpoints/csrf.py).
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env.bool("BEHIND_HTTPS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
