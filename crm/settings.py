"""Kizuna settings: one module, driven by environment variables.

Every value has an embedded default that runs on a fresh machine with no services
(SQLite, kombu's filesystem broker, e-mail written to a local outbox folder).
Production switches each on with the variables documented in README.md.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# No SECRET_KEY in the environment means the embedded setup of `make run`: DEBUG defaults on there
# and off everywhere else, so a deployment that sets its key is in production mode unless told otherwise.
_EMBEDDED_SECRET_KEY = "django-insecure-kizuna-embedded-development-key"
SECRET_KEY = env("SECRET_KEY", default=_EMBEDDED_SECRET_KEY)
DEBUG = env.bool("DEBUG", default=SECRET_KEY == _EMBEDDED_SECRET_KEY)
if not DEBUG and SECRET_KEY == _EMBEDDED_SECRET_KEY:
    # Fail closed: the embedded key is public, so sessions and reset links signed with it could be forged.
    raise ImproperlyConfigured("DEBUG is off: set SECRET_KEY in the environment (50+ random characters).")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Runtime files of the embedded setup (SQLite database, broker folders, outbox, beat schedule).
VAR_DIR = Path(env("KIZUNA_VAR_DIR", default=str(BASE_DIR / "var")))
if not VAR_DIR.is_absolute():
    VAR_DIR = BASE_DIR / VAR_DIR
VAR_DIR.mkdir(parents=True, exist_ok=True)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "csp",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "crm",
    "customers",
    "interactions",
    "channels",
    "reminders",
    "analytics",
    "bookings",
    "results",
    "opportunities",
    "workspace",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "crm.tenancy.middleware.ActiveTenantMiddleware",
    "crm.security.audit.AuditRequestMiddleware",  # who and from where, for the audit trail
    "django.contrib.messages.middleware.MessageMiddleware",
    "crm.tenancy.middleware.TwoFactorRequiredMiddleware",  # a shop may require two-factor of owners/managers
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, so that it sees the login view's failure and answers with the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "crm.tenancy.context_processors.tenancy",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'kizuna.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
# A kept connection is checked before a request reuses it, so a database restart costs a reconnect,
# not one failed request per web process.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = DATABASES["default"]["CONN_MAX_AGE"] != 0
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + a busy timeout let the web server, worker and beat share one SQLite file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
IS_POSTGRES = DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql")
# Row-level security (crm/tenancy/rls.py, docs/architecture.md): DATABASE_URL is the application role, which
# must not bypass RLS; `manage.py migrate` connects with DATABASE_OWNER_URL's credentials when set.
DATABASE_OWNER_URL = env.str("DATABASE_OWNER_URL", default="")
# Silences only the "role could bypass RLS" check (kizuna.E001). The test settings set it because the
# main test suite connects as the `postgres` superuser; deployments must never need it.
KIZUNA_ALLOW_RLS_BYPASS = env.bool("KIZUNA_ALLOW_RLS_BYPASS", default=False)

AUTH_USER_MODEL = "crm.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # Counts failed logins per (e-mail, IP) and refuses further attempts after AXES_FAILURE_LIMIT.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "today"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("Japanese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env("STATICFILES_STORAGE", default="django.contrib.staticfiles.storage.StaticFilesStorage")
    },
}
MEDIA_ROOT = VAR_DIR / "media"

# --- E-mail -----------------------------------------------------------------------------------
# EMAIL_URL in django-environ's form (smtp://user:pass@host:port, smtp+tls://...). Unset: every
# message is written as one .eml file into OUTBOX_DIR, which the dashboard's outbox page lists.
OUTBOX_DIR = VAR_DIR / "outbox"
EMAIL_URL = env("EMAIL_URL", default="outbox://")
if EMAIL_URL == "outbox://":
    EMAIL_BACKEND = "crm.common.mail.OutboxEmailBackend"
elif EMAIL_URL == "locmem://":
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
else:
    vars().update(env.email_url("EMAIL_URL"))
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Kizuna <no-reply@kizuna.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Absolute base for links in e-mails (unsubscribe, password reset).
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")

# --- Cache --------------------------------------------------------------------------------------
# What the cache holds: the public booking page's free times for a few seconds (bookings/slot_cache.py),
# the booking form's and LINE link page's abuse counters, the API's request counts. Unset: one
# in-memory cache per process, which is right for `make run` (one web process); with several web
# processes (gunicorn workers, containers) a count or an invalidation made in one process must reach
# the others, so set CACHE_URL=redis://host:6379/1 (docker-compose.yml does).
CACHE_URL = env("CACHE_URL", default="")
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="kizuna"),
        }
    }
elif CACHE_URL:
    CACHES = {"default": env.cache_url_config(CACHE_URL)}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "kizuna",
            "OPTIONS": {"MAX_ENTRIES": 10_000},
        }
    }

# --- Channels (LINE, SMS) -----------------------------------------------------------------------
# Embedded default: every LINE push and SMS is written into an outbox folder (shown on the dashboard's
# outbox page), like e-mail. "http" sends to the real API (LINE_API_BASE_URL, SMS_API_BASE_URL).
LINE_BACKEND = env("LINE_BACKEND", default="outbox")
LINE_API_BASE_URL = env("LINE_API_BASE_URL", default="https://api.line.me")
LINE_OUTBOX_DIR = VAR_DIR / "outbox-line"
LINE_TIMEOUT = env.float("LINE_TIMEOUT", default=10.0)
# Pushes per second per shop (LINE answers 429 above its own per-channel limit; see docs/channels.md).
LINE_PUSH_RATE_PER_SECOND = env.int("LINE_PUSH_RATE_PER_SECOND", default=1000)
SMS_BACKEND = env("SMS_BACKEND", default="outbox")
SMS_API_BASE_URL = env("SMS_API_BASE_URL", default="")
SMS_OUTBOX_DIR = VAR_DIR / "outbox-sms"
SMS_TIMEOUT = env.float("SMS_TIMEOUT", default=10.0)
SMS_RATE_PER_SECOND = env.int("SMS_RATE_PER_SECOND", default=10)
# Base of the short links in SMS (/s/<token>); unset: SITE_URL.
SHORT_LINK_BASE_URL = env("SHORT_LINK_BASE_URL", default="")
# Fernet key(s) for the shops' LINE/SMS secrets, comma-separated (first encrypts); unset: derived from
# SECRET_KEY (channels/crypto.py).
CHANNELS_ENCRYPTION_KEY = env("CHANNELS_ENCRYPTION_KEY", default="")

# --- Celery -----------------------------------------------------------------------------------
# Unset CELERY_BROKER_URL: kombu's filesystem transport, so a real worker and beat run with no server.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("out", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    # A task not acknowledged within this time is redelivered; every retry countdown stays below it.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fix-up closes the database connection after every task unless told to reuse it;
# reconnecting per e-mail cut sending to a fifth (docs/benchmarks.md, Reminders).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "plan-reminders-daily": {
        "task": "reminders.tasks.plan_all_reminders",
        "schedule": crontab(hour=5, minute=0),
    },
    "dispatch-due-reminders": {
        "task": "reminders.tasks.dispatch_due_reminders",
        "schedule": timedelta(minutes=1),
    },
    "sweep-stuck-reminders": {
        "task": "reminders.tasks.sweep_stuck_reminders",
        "schedule": timedelta(minutes=5),
    },
    "launch-due-campaigns": {
        "task": "reminders.tasks.launch_due_campaigns",
        "schedule": timedelta(minutes=1),
    },
    "build-print-batches-monthly": {
        "task": "reminders.tasks.build_print_batches",
        "schedule": crontab(day_of_month=1, hour=6, minute=0),
    },
    "refresh-analytics-nightly": {
        "task": "analytics.tasks.refresh_all_tenants",
        "schedule": crontab(hour=3, minute=0),
    },
    "refresh-opportunities-nightly": {
        "task": "opportunities.tasks.refresh_all_tenants",
        "schedule": crontab(hour=4, minute=0),
    },
    "refresh-results-nightly": {
        "task": "results.tasks.refresh_all_tenants",
        "schedule": crontab(hour=3, minute=30),
    },
    # This week's list (issue #17): Monday 06:30 JST, after the night's analytics and scoring.
    "refresh-worklists-weekly": {
        "task": "opportunities.tasks.refresh_all_worklists",
        "schedule": crontab(day_of_week=1, hour=6, minute=30),
    },
    "prune-login-records-daily": {
        "task": "crm.tasks.prune_login_records",
        "schedule": crontab(hour=4, minute=30),
    },
}

# --- REST framework ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Integrations send `Authorization: Bearer <key>`; people use their dashboard session (with CSRF).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "crm.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["crm.api.permissions.TenantRolePermission"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "crm.api.pagination.StableCursorPagination",
    "DEFAULT_THROTTLE_CLASSES": ["crm.api.throttling.ApiRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Integrations send JSON; the CSV import endpoint declares multipart itself.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_METADATA_CLASS": "crm.api.metadata.SchemaPointerMetadata",
    "DEFAULT_SCHEMA_CLASS": "crm.api.schema.KizunaAutoSchema",
    "EXCEPTION_HANDLER": "crm.api.exceptions.api_exception_handler",
    "UNICODE_JSON": True,
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")
# Requests per API key (or per signed-in person) per period: "N/sec|min|hour|day".
KIZUNA_API_RATE = env("KIZUNA_API_RATE", default="1200/min")
# Largest CSV accepted by the import endpoint (other request bodies: DATA_UPLOAD_MAX_MEMORY_SIZE).
KIZUNA_IMPORT_MAX_BYTES = env.int("KIZUNA_IMPORT_MAX_BYTES", default=100 * 1024 * 1024)
SPECTACULAR_SETTINGS = {
    "TITLE": "Kizuna CRM API",
    "DESCRIPTION": (
        "Integration API for tills, dealer management systems and shop websites. "
        "Authenticate with a tenant API key (`Authorization: Bearer <key>`); every request is scoped "
        "to the key's shop. Lists use cursor paging in a stable order (`updated_at`, `id`): combine "
        "`updated_since` with the `next` links to sync incrementally; each walk returns every row "
        "once, and a row changed while paging comes again on the next sync, so start each sync at "
        "the greatest `updated_at` received. POST accepts an "
        "`Idempotency-Key` header; rows with an `external_ref` can be upserted at `by-ref/<ref>/`. "
        'Errors are JSON: `{"detail": ...}` or field errors `{"field": [messages]}`, translated '
        "according to Accept-Language (ja, en)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ServiceKindEnum": "customers.models.ServiceKind",
        "ImportKindEnum": "customers.models.ImportKind",
        "AuditActionEnum": "crm.models.AuditAction",
        "WorklistActionEnum": "opportunities.models.ActionKind",
    },
}

# --- Security ---------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    # Production defaults pass `check --deploy --fail-level WARNING`; each can be relaxed by its variable
    # (docker-compose.yml's plain-HTTP demo turns off the redirect and the secure cookies).
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    _hsts = SECURE_HSTS_SECONDS > 0
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=_hsts)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=_hsts)
    # Only behind a proxy that overwrites X-Forwarded-Proto may the header be trusted.
    if env.bool("BEHIND_TLS_PROXY", default=True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-Security-Policy (django-csp): scripts and styles only from our own static files, no inline
# code, no eval. Data for scripts travels in json_script blocks; htmx's inline indicator style is off
# (meta htmx-config in base.html) and its rules live in static/css/kizuna.css.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],  # Bootstrap's icons are data: SVGs; QR codes are inline SVG
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Login brute-force protection (django-axes): after AXES_FAILURE_LIMIT failures for one e-mail from one
# IP address, that pair is locked for AXES_COOLOFF_MINUTES; a successful login resets the count.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "crm.security.lockout.lockout_response"
AXES_VERBOSE = False  # its log lines name the e-mail address tried
# Login records (e-mail address, IP, user agent) are personal data: deleted after this many days by a
# daily beat job (crm.tasks.prune_login_records). Must stay longer than the cool-off.
LOGIN_RECORD_RETENTION_DAYS = env.int("LOGIN_RECORD_RETENTION_DAYS", default=90)
AXES_CLIENT_IP_CALLABLE = "crm.security.lockout.client_ip"
AXES_USERNAME_CALLABLE = "crm.security.lockout.login_username"
# Reverse proxies in front of the app that append to X-Forwarded-For (0: use the socket's address).
TRUSTED_PROXY_HOPS = env.int("TRUSTED_PROXY_HOPS", default=0)

# Two-factor (django-otp, TOTP): optional for owners and managers; the issuer shows in the phone app.
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", default="Kizuna")

# Audit trail: how many reverse proxies (load balancer, nginx…) append to X-Forwarded-For in front of
# the app. 0 (default) trusts only REMOTE_ADDR; a forged header can then never set the logged IP.
AUDIT_TRUSTED_PROXY_COUNT = env.int("AUDIT_TRUSTED_PROXY_COUNT", default=0)

DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Personal data never reaches a log line: e-mail addresses and phone numbers are masked and model
    # instances passed as arguments are logged as "<Customer 12>" (crm/security/logredact.py).
    "filters": {"redact_pii": {"()": "crm.security.logredact.RedactPersonalData"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact_pii"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Django's own console handlers bypass the filter: send everything through the root's.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
