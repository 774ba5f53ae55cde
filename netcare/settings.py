"""NETcare settings, read from the environment with safe defaults.

Variables (see README.md): DEBUG, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL, REDIS_URL, TIME_ZONE,
EMAIL_URL-style settings (EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD,
EMAIL_USE_TLS, DEFAULT_FROM_EMAIL), CSRF_TRUSTED_ORIGINS, SECURE_SSL_REDIRECT, the sign-in limits
(LOGIN_FAILURE_LIMIT, LOGIN_FAILURE_WINDOW_SECONDS, NETCARE_TRUSTED_PROXIES), two-factor
authentication (NETCARE_MFA_REQUIRED_ROLES) and automatic logoff (NETCARE_SESSION_IDLE_SECONDS,
NETCARE_SESSION_ABSOLUTE_SECONDS, NETCARE_SESSION_WARNING_SECONDS).
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("NETCARE_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "netcare-insecure-development-key-only-for-debug-runs"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    # The admin site with NETcare's rule: a verified second factor (netcare.admin_site).
    "netcare.apps.NetcareAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    # Swagger UI and Redoc served from NETcare's own static files (no CDN): /api/docs/ offline.
    "drf_spectacular_sidecar",
    "django_htmx",
    "csp",
    "django_celery_beat",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    # OAuth2 client credentials for registered systems (interop.auth): /o/token/.
    "oauth2_provider",
    "netcare",
    "patients",
    "referrals",
    "prrt",
    "coordinators",
    "network",
    "interop",
    "analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below WhiteNoise, so static files keep their caching: every response Django renders is
    # `Cache-Control: no-store` (patient data) and carries the Content-Security-Policy.
    "netcare.middleware.NoStoreMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every 401/403, and every 404 a signed-in user gets, leaves an audit row.
    "netcare.middleware.AuditRefusalsMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Automatic logoff (idle and absolute limits), then the second factor where it is required.
    "netcare.session.SessionTimeoutMiddleware",
    "netcare.mfa.MfaRequiredMiddleware",
    # Last: turns a sign-in refused by django-axes into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "netcare.urls"
WSGI_APPLICATION = "netcare.wsgi.application"
ASGI_APPLICATION = "netcare.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "netcare.context_processors.netcare",
            ],
        },
    },
    # Fragments repeated for every row of a long page (netcare/jinja2.py), rendered by name with
    # using="jinja2"; the pages around them stay in Django's template language.
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "NAME": "jinja2",
        "DIRS": [BASE_DIR / "templates" / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {"environment": "netcare.jinja2.environment"},
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'netcare.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        # A kept connection is checked before a request uses it, so one that a database
        # restart has closed is replaced instead of failing the request.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "netcare.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Every sign-in (NETcare's login page, the admin site's, any `authenticate()` call) goes through
# django-axes first: after LOGIN_FAILURE_LIMIT failures for one username from one client address
# inside the window, that username is refused from that address, even with the right password,
# until the window has passed without a failure. Keyed by both together, so failures against
# many accounts from one address (a shared hospital NAT) lock none of the others.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
LOGIN_FAILURE_WINDOW_SECONDS = int(os.environ.get("LOGIN_FAILURE_WINDOW_SECONDS", "900"))
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = _dt.timedelta(seconds=LOGIN_FAILURE_WINDOW_SECONDS)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "netcare.account_views.locked_out"
AXES_CLIENT_IP_CALLABLE = "netcare.audit.client_ip"
# NETcare's audit trail records sign-ins and sign-outs; axes keeps only the failure counts.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False

# The client address (for the sign-in limits and the audit trail) is REMOTE_ADDR unless the
# request came from one of these reverse proxies (addresses or networks, comma-separated): then
# it is the right-most X-Forwarded-For entry that is not itself a trusted proxy. Empty (the
# default) trusts no header. Set it to the proxies in front of NETcare, never wider.
NETCARE_TRUSTED_PROXIES = [ipaddress.ip_network(item, strict=False)
                           for item in env_list("NETCARE_TRUSTED_PROXIES")]

# Two-factor authentication (django-otp: an authenticator app, backup codes): the roles that must
# verify a second factor after the password (comma-separated Role values; empty for none). The
# admin site requires a verified device whenever any role does. DEBUG runs (`make run`) default
# to none so the demo logins work; anything else defaults to administrators and specialists.
NETCARE_MFA_REQUIRED_ROLES = env_list(
    "NETCARE_MFA_REQUIRED_ROLES", "" if DEBUG else "administrator,specialist")
OTP_TOTP_ISSUER = "NETcare"
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# Automatic logoff: after this long without a request, and this long after signing in whatever
# happens; the page warns this many seconds before the idle logoff. The session cookie ends
# when the browser closes.
NETCARE_SESSION_IDLE_SECONDS = int(os.environ.get("NETCARE_SESSION_IDLE_SECONDS", "900"))
NETCARE_SESSION_ABSOLUTE_SECONDS = int(
    os.environ.get("NETCARE_SESSION_ABSOLUTE_SECONDS", str(12 * 3600)))
NETCARE_SESSION_WARNING_SECONDS = int(os.environ.get("NETCARE_SESSION_WARNING_SECONDS", "60"))

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": REDIS_URL, "KEY_PREFIX": "netcare"}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                          "LOCATION": str(VAR_DIR / "cache")}}

# Celery: Redis when REDIS_URL is set; otherwise kombu's filesystem transport under var/broker,
# which (unlike memory://) works between the web, worker and beat processes of the embedded run.
BROKER_DIR = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {"visibility_timeout": 3600}
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_RESULT_BACKEND = None
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The one place periodic work is declared; beat's database scheduler loads it at start.
CELERY_BEAT_SCHEDULE = {
    "netcare-heartbeat": {"task": "netcare.heartbeat", "schedule": crontab(minute="*")},
    # Claims due reminders and enqueues one send each (the database is the queue).
    "coordinators-sweep-reminders": {"task": "coordinators.sweep_reminders",
                                     "schedule": crontab(minute="*")},
    # Creates each navigator's morning digest once their centre's morning has come.
    "coordinators-schedule-digests": {"task": "coordinators.schedule_digests",
                                      "schedule": crontab(minute="*/15")},
    # Runs again the domain-event handlers that failed (see netcare.events).
    "netcare-retry-event-handlers": {"task": "netcare.retry_event_handlers",
                                     "schedule": crontab(minute="*/5")},
    # Time passing (windows opening and closing) and a safety net for the event handlers:
    # refreshes running courses (readiness, completion) and re-syncs their care plans.
    "coordinators-refresh-plans": {"task": "coordinators.refresh_plans",
                                   "schedule": crontab(minute="5")},
}

EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "NETcare <netcare@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        # Registered systems: an OAuth2 bearer token (client credentials), as the system.
        "interop.auth.SystemTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated",
                                   # a system reads /api/v1/ with its api.read scope, no more
                                   "interop.auth.SystemsReadOnly"],
    # drf-spectacular, documenting the error answers of every operation (netcare.api).
    "DEFAULT_SCHEMA_CLASS": "netcare.api.NetcareAutoSchema",
    "EXCEPTION_HANDLER": "netcare.api.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "NETcare API",
    "DESCRIPTION": "Coordinated PRRT care: patients, referrals, courses, cycles and care tasks.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # drf-spectacular-sidecar: the docs' scripts, styles and icon come from NETcare itself.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Systems sign in with OAuth2 client credentials (interop.auth, README "Systems").
    "OAUTH2_FLOWS": ["clientCredentials"],
    "OAUTH2_TOKEN_URL": "/o/token/",
    "OAUTH2_SCOPES": None,
}

# OAuth2 for registered systems (interop): client credentials only, short-lived tokens, the
# scopes a system may ask for are the ones it was registered with (interop.auth.SystemScopes).
OAUTH2_PROVIDER = {
    "SCOPES": {
        "labs.write": "Send lab results (HL7 v2 ORU^R01, FHIR Observations)",
        "fhir.read": "Read the centre's records as FHIR R4",
        "api.read": "Read the centre's records through /api/v1/",
    },
    "DEFAULT_SCOPES": [],
    "SCOPES_BACKEND_CLASS": "interop.auth.SystemScopes",
    "OAUTH2_VALIDATOR_CLASS": "interop.auth.SystemValidator",
    # RFC 9700 (OAuth 2.0 Security BCP) throughout: only client credentials are used anyway.
    **{f"COMPLIANT_BCP_RFC9700_{name}": True for name in (
        "IMPLICIT_GRANT", "PASSWORD_GRANT", "PKCE_METHOD", "ACCESS_TOKEN_TRANSPORT",
        "AUTHZ_RESPONSE_ISS", "TOKEN_STORAGE", "REFRESH_TOKEN", "REDIRECT_URI_SCHEME",
        "REDIRECT_URI_MATCHING", "PKCE_REQUIRED")},
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
    "ACCESS_TOKEN_EXPIRE_SECONDS": int(os.environ.get("OAUTH2_TOKEN_SECONDS", "600")),
}
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"

# Security: strict by default whenever DEBUG is off.
# Sessions read from the cache (Redis), written through to the database: no query per request;
# while Redis is down they are read from the database (netcare.session_store).
SESSION_ENGINE = "netcare.session_store"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE",
                                        str(NETCARE_SESSION_ABSOLUTE_SECONDS)))
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp 4): everything from NETcare's own origin; no inline script
# or style unless it carries the response's nonce (`{{ request.csp_nonce }}`); no plugins; forms
# post only to NETcare; no page may be framed.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],  # Swagger UI's icons are data: images
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
SILENCED_SYSTEM_CHECKS: list[str] = []

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # axes: failures and lockouts (WARNING), not every successful sign-in.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

NETCARE_DEMO_PASSWORD = "netcare-demo"  # noqa: S105 - synthetic demo accounts only

# The address people use to reach NETcare, for links in what is sent without a request (emails
# from the worker); pages and the calendar feed link to the address they were requested at.
# `manage.py run_embedded` (`make run`) sets it to the address it serves unless it is set.
NETCARE_BASE_URL = os.environ.get("NETCARE_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

# Care plans and reminders (coordinators): local hour reminders go out, how many days before a
# task is due its owner and the navigators hear of it, the days a withheld cycle is expected to
# slip per withhold decision, the sweep's lease and batch, and how often a send is retried.
NETCARE_REMINDER_HOUR = int(os.environ.get("NETCARE_REMINDER_HOUR", "8"))
NETCARE_TASK_REMINDER_DAYS_BEFORE = int(os.environ.get("NETCARE_TASK_REMINDER_DAYS_BEFORE", "2"))
NETCARE_PATIENT_REMINDER_DAYS_BEFORE = int(
    os.environ.get("NETCARE_PATIENT_REMINDER_DAYS_BEFORE", "1"))
NETCARE_WITHHELD_RECHECK_DAYS = int(os.environ.get("NETCARE_WITHHELD_RECHECK_DAYS", "14"))
NETCARE_DIGEST_HOUR = int(os.environ.get("NETCARE_DIGEST_HOUR", "7"))
NETCARE_REMINDER_LEASE_SECONDS = int(os.environ.get("NETCARE_REMINDER_LEASE_SECONDS", "300"))
NETCARE_REMINDER_SWEEP_BATCH = int(os.environ.get("NETCARE_REMINDER_SWEEP_BATCH", "1000"))
NETCARE_REMINDER_MAX_ATTEMPTS = int(os.environ.get("NETCARE_REMINDER_MAX_ATTEMPTS", "5"))
NETCARE_REMINDER_BACKOFF_SECONDS = int(os.environ.get("NETCARE_REMINDER_BACKOFF_SECONDS", "60"))
NETCARE_SMS_BACKEND = os.environ.get("NETCARE_SMS_BACKEND",
                                     "coordinators.sms.LoggingSmsBackend")
