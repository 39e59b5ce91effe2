"""Settings for every environment, read from the process environment through one `env` object.

With nothing set this is the embedded demo: SQLite, Celery tasks run in-process, a local-memory
cache, e-mail printed to the console. `DATABASE_URL` switches to PostgreSQL, `REDIS_URL` switches
Celery and the cache to Redis, `DJANGO_DEBUG=false` is production (and then demands its secrets).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=False):
    env.read_env(str(BASE_DIR / ".env"))

# ---------------------------------------------------------------------------------------------
# Core
# ---------------------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=True)
PRODUCTION = not DEBUG

_DEV_SECRET_KEY = "dev-only-insecure-key-never-use-in-production-0123456789abcdefghij"
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")
if PRODUCTION and (not SECRET_KEY or SECRET_KEY == _DEV_SECRET_KEY or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be set to 50+ random characters in production"
    )

ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"] if DEBUG else []
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set in production")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

ROOT_URLCONF = "xinyidai.urls"
# Departments post batches of up to 10,000 records (a few MB of JSON) to the API.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=25 * 1024 * 1024)
WSGI_APPLICATION = "xinyidai.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
SITE_ID = 1

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "xinyidai.core",
    "enterprises",
    "banks",
    "lending",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "xinyidai.core.middleware.MfaRequiredMiddleware",
]

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
                "xinyidai.context_processors.platform",
                "xinyidai.core.context_processors.unread_notifications",
            ],
        },
    },
]

# ---------------------------------------------------------------------------------------------
# Database
# ---------------------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# ---------------------------------------------------------------------------------------------
# Cache, Celery (Redis when REDIS_URL is set; otherwise in memory / in process)
# ---------------------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="xinyidai"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_TIMEZONE = "Asia/Shanghai"
# Keep our root handler (and its redaction filter) in workers instead of Celery's own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# loan service levels in working days, all counted from submission (docs/LENDING.md)
LENDING_SLA_PICKUP_DAYS = env.int("LENDING_SLA_PICKUP_DAYS", default=1)
LENDING_SLA_CONTACT_DAYS = env.int("LENDING_SLA_CONTACT_DAYS", default=3)
LENDING_SLA_DECISION_DAYS = env.int("LENDING_SLA_DECISION_DAYS", default=10)
LENDING_SLA_SWEEP_SECONDS = env.int("LENDING_SLA_SWEEP_SECONDS", default=300)
# matching: how long a bank's invitation to apply stays open
MATCH_INVITATION_DAYS = env.int("MATCH_INVITATION_DAYS", default=14)
# matching fit (lending/matching.py): the city's priority industries (GB/T 4754 sections) and
# towns (codes or names), and the window and minimum count of a bank's approval history
MATCH_PRIORITY_INDUSTRIES = env.list("MATCH_PRIORITY_INDUSTRIES", default=["C", "I", "M"])
MATCH_PRIORITY_TOWNS = env.list("MATCH_PRIORITY_TOWNS", default=["songshanhu", "binhaiwan"])
MATCH_APPROVAL_DAYS = env.int("MATCH_APPROVAL_DAYS", default=180)
MATCH_APPROVAL_MIN_DECIDED = env.int("MATCH_APPROVAL_MIN_DECIDED", default=3)
MATCH_APPROVAL_CACHE_SECONDS = env.int("MATCH_APPROVAL_CACHE_SECONDS", default=300)
CELERY_BEAT_SCHEDULE = {
    "expire-published-records": {
        "task": "enterprises.tasks.expire_published_records",
        "schedule": crontab(hour=1, minute=30),
    },
    # after the expiry: grades follow what is still published (only changed grades are written)
    "regrade-enterprises": {
        "task": "enterprises.tasks.regrade_enterprises",
        "schedule": crontab(hour=2, minute=30),
        "kwargs": {"enterprise_ids": None, "skip_unchanged": True},
    },
    "expire-authorizations": {
        "task": "enterprises.tasks.expire_authorizations",
        "schedule": crontab(hour=0, minute=1),
    },
    "authorization-expiry-notices": {
        "task": "enterprises.tasks.send_authorization_expiry_notices",
        "schedule": crontab(hour=9, minute=0),
    },
    # catches events whose seal task was lost (e.g. a crash right after the commit)
    "ledger-seal": {"task": "xinyidai.core.tasks.ledger_seal", "schedule": 60.0},
    "ledger-anchor": {
        "task": "xinyidai.core.tasks.ledger_anchor_yesterday",
        "schedule": crontab(hour=0, minute=10),
    },
    "ledger-verify": {
        "task": "xinyidai.core.tasks.ledger_verify",
        "schedule": crontab(hour=3, minute=30),
    },
    # overdue loan applications escalated, unclaimed demands back to the pool
    "match-invitations-expire": {
        "task": "lending.tasks.expire_invitations",
        "schedule": crontab(hour=0, minute=20),
    },
    "lending-sla-sweep": {
        "task": "lending.tasks.sla_sweep",
        "schedule": float(LENDING_SLA_SWEEP_SECONDS),
    },
    # matching profiles of every enterprise (registry edits, records expired overnight …)
    "match-profiles-refresh": {
        "task": "lending.tasks.refresh_match_profiles",
        "schedule": crontab(hour=4, minute=15),
        "kwargs": {"enterprise_ids": None},
    },
}

# ---------------------------------------------------------------------------------------------
# Authentication, accounts (django-allauth) and MFA
# ---------------------------------------------------------------------------------------------
AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[信易贷] "
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "5/5m/ip,5/5m/key",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
}
ACCOUNT_ADAPTER = "xinyidai.core.adapter.AccountAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "信易贷 Xinyidai"
# Bank and credit-office roles must set up TOTP before they reach any page of their role. The
# embedded demo may switch this off; every page then shows a banner saying so.
MFA_ENFORCED = env.bool("MFA_ENFORCED", default=True)
if PRODUCTION and not MFA_ENFORCED:
    raise ImproperlyConfigured("MFA_ENFORCED cannot be switched off in production")

# ---------------------------------------------------------------------------------------------
# Platform rules
# ---------------------------------------------------------------------------------------------
# An enterprise claim whose USCC, name and legal representative all match the registry, on an
# enterprise without an owner, is approved at once when this is on; else the credit office decides.
CLAIM_AUTO_APPROVE = env.bool("CLAIM_AUTO_APPROVE", default=False)
INVITATION_VALID_DAYS = env.int("INVITATION_VALID_DAYS", default=7)
# Key for encrypting sensitive fields at rest (resident IDs). Derived from SECRET_KEY in
# development; production must set its own (a urlsafe base64 32-byte Fernet key).
FIELD_ENCRYPTION_KEY = env.str("FIELD_ENCRYPTION_KEY", default="")
if PRODUCTION and not FIELD_ENCRYPTION_KEY:
    raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY must be set in production")
# Key of the salted hash that identifies natural persons (their resident IDs are never stored).
# Unlike the secret key it must never change: every person would become a stranger.
PERSON_ID_KEY = env.str("PERSON_ID_KEY", default="" if PRODUCTION else "dev-person-id-key")
if PRODUCTION and len(PERSON_ID_KEY) < 32:
    raise ImproperlyConfigured("PERSON_ID_KEY must be set to 32+ random characters in production")
# Key of the MAC on every ledger entry and daily anchor: with it, someone holding only the
# database cannot recompute a rewritten chain. Like PERSON_ID_KEY it must never change.
LEDGER_KEY = env.str("LEDGER_KEY", default="" if PRODUCTION else "dev-ledger-key")
if PRODUCTION and len(LEDGER_KEY) < 32:
    raise ImproperlyConfigured("LEDGER_KEY must be set to 32+ random characters in production")
# Authorisations: default and longest validity, days of notice before one ends.
AUTHORIZATION_DEFAULT_MONTHS = env.int("AUTHORIZATION_DEFAULT_MONTHS", default=12)
AUTHORIZATION_MAX_MONTHS = env.int("AUTHORIZATION_MAX_MONTHS", default=36)
AUTHORIZATION_EXPIRY_NOTICE_DAYS = env.int("AUTHORIZATION_EXPIRY_NOTICE_DAYS", default=30)
# A credit-office reason given on a page covers further reads of that enterprise for this long.
ACCESS_REASON_MINUTES = env.int("ACCESS_REASON_MINUTES", default=30)
# Where people reach the platform; used for links in e-mails sent by background jobs.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
CREDIT_OFFICE_EMAIL = env.str("CREDIT_OFFICE_EMAIL", default="office@example.com")
# Files the credit office uploads wait here until their import task has run.
IMPORT_UPLOAD_DIR = env.str("IMPORT_UPLOAD_DIR", default=str(BASE_DIR / "var" / "uploads"))
IMPORT_MAX_UPLOAD_BYTES = env.int("IMPORT_MAX_UPLOAD_BYTES", default=200 * 1024 * 1024)
DATA_TIMELINESS_WORKING_DAYS = env.int("DATA_TIMELINESS_WORKING_DAYS", default=7)

# ---------------------------------------------------------------------------------------------
# Recommended lists (推荐清单) and their push to the national platform (docs/LENDING.md)
# ---------------------------------------------------------------------------------------------
# In debug the platform's own demo receiver stands in for the national platform; production
# must name the real one and share a secret of 32+ characters with it.
NATIONAL_PLATFORM_URL = env.str(
    "NATIONAL_PLATFORM_URL", default=f"{SITE_URL}/api/v1/national/receive/" if DEBUG else ""
)
NATIONAL_PLATFORM_SECRET = env.str(
    "NATIONAL_PLATFORM_SECRET", default="dev-national-platform-secret" if DEBUG else ""
)
if PRODUCTION and not NATIONAL_PLATFORM_URL:
    raise ImproperlyConfigured("NATIONAL_PLATFORM_URL must be set in production")
if PRODUCTION and len(NATIONAL_PLATFORM_SECRET) < 32:
    raise ImproperlyConfigured(
        "NATIONAL_PLATFORM_SECRET must be set to 32+ random characters in production"
    )
NATIONAL_PLATFORM_CHUNK_SIZE = env.int("NATIONAL_PLATFORM_CHUNK_SIZE", default=1000)
NATIONAL_PLATFORM_TIMEOUT_SECONDS = env.float("NATIONAL_PLATFORM_TIMEOUT_SECONDS", default=10.0)
# retry n waits min(cap, base·2^(n-1))·(1 ± jitter); none later than GIVE_UP_HOURS after approval
NATIONAL_PLATFORM_RETRY_BASE_SECONDS = env.float(
    "NATIONAL_PLATFORM_RETRY_BASE_SECONDS", default=30.0
)
NATIONAL_PLATFORM_RETRY_CAP_SECONDS = env.float(
    "NATIONAL_PLATFORM_RETRY_CAP_SECONDS", default=3600.0
)
NATIONAL_PLATFORM_RETRY_JITTER = env.float("NATIONAL_PLATFORM_RETRY_JITTER", default=0.2)
NATIONAL_PLATFORM_GIVE_UP_HOURS = env.float("NATIONAL_PLATFORM_GIVE_UP_HOURS", default=24.0)
# a chunk being sent is leased for this long: a worker killed mid-push leaves it to another
NATIONAL_PLATFORM_LEASE_SECONDS = env.float("NATIONAL_PLATFORM_LEASE_SECONDS", default=120.0)
# a push task waits this long for a retry coming due before leaving it to the next beat run
# (not in-process: a page would wait)
NATIONAL_PLATFORM_PUSH_LINGER_SECONDS = env.float(
    "NATIONAL_PLATFORM_PUSH_LINGER_SECONDS", default=0.0 if CELERY_TASK_ALWAYS_EAGER else 60.0
)
NATIONAL_PLATFORM_PUSH_BUDGET_SECONDS = env.float(
    "NATIONAL_PLATFORM_PUSH_BUDGET_SECONDS", default=600.0
)
# minute hour day-of-month month day-of-week, in CELERY_TIMEZONE
NATIONAL_PLATFORM_PUSH_CRON = env.str("NATIONAL_PLATFORM_PUSH_CRON", default="*/5 * * * *")
# the demo receiver: how far a request's timestamp may be from its clock
NATIONAL_PLATFORM_MAX_SKEW_SECONDS = env.int("NATIONAL_PLATFORM_MAX_SKEW_SECONDS", default=300)
_push_cron = NATIONAL_PLATFORM_PUSH_CRON.split()
if len(_push_cron) != 5:
    raise ImproperlyConfigured(
        "NATIONAL_PLATFORM_PUSH_CRON must have five fields, e.g. */5 * * * *"
    )
CELERY_BEAT_SCHEDULE["national-platform-push"] = {
    "task": "lending.tasks.push_national",
    "schedule": crontab(
        minute=_push_cron[0],
        hour=_push_cron[1],
        day_of_month=_push_cron[2],
        month_of_year=_push_cron[3],
        day_of_week=_push_cron[4],
    ),
}

# ---------------------------------------------------------------------------------------------
# E-mail
# ---------------------------------------------------------------------------------------------
# consolemail:// (default), smtp+tls://user:password@host:587, filemail:///path, memorymail://
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
if _email.get("EMAIL_FILE_PATH"):
    # django-environ drops the leading slash of filemail:///abs/path; the path is absolute.
    EMAIL_FILE_PATH = "/" + _email["EMAIL_FILE_PATH"].lstrip("/")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="信易贷 <noreply@xinyidai.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# ---------------------------------------------------------------------------------------------
# Internationalisation: Chinese first, English available
# ---------------------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# ---------------------------------------------------------------------------------------------
# Static files
# ---------------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = env.str("STATIC_ROOT", default=str(BASE_DIR / "var" / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
# In development WhiteNoise serves straight from the app and project static folders.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# ---------------------------------------------------------------------------------------------
# API
# ---------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "xinyidai.api.authentication.TokenWithRoles",
    ],
    # MfaSatisfied: a token keeps working only while its bank/credit-office user still has TOTP
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "xinyidai.permissions.MfaSatisfied",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "xinyidai.api.exceptions.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"uscc_check": "120/min", "token": "10/min"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "信易贷 Xinyidai API",
    "DESCRIPTION": "Public credit data into bank credit for small enterprises.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # one name for a choice set used by several fields (authorisations, products' needs)
    "ENUM_NAME_OVERRIDES": {
        "AuthorizationScopeEnum": "enterprises.models.AuthorizationScope",
        "ApplicationKindEnum": "lending.models.ApplicationKind",
        "LoanKindEnum": "banks.models.LoanKind",
        "RepaymentMethodEnum": "banks.models.RepaymentMethod",
        "GuaranteeMethodEnum": "banks.models.GuaranteeMethod",
        "TownEnum": "enterprises.reference.TOWN_CHOICES",
        "RecommendationListStatusEnum": "lending.models.RecommendationListStatus",
        "DeliveryStatusEnum": "lending.models.DeliveryStatus",
        "FeedbackStatusEnum": "lending.models.FeedbackStatus",
    },
}

# ---------------------------------------------------------------------------------------------
# Security (production)
# ---------------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)

# ---------------------------------------------------------------------------------------------
# Logging: never log secrets or resident ID numbers (see xinyidai.logging_filters)
# ---------------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "xinyidai.logging_filters.RedactSensitive"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact"],
        },
        "mail_admins": {
            "class": "django.utils.log.AdminEmailHandler",
            "level": "ERROR",
            "filters": ["redact", "require_debug_false"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's own default handlers (stderr in debug, mail to ADMINS) bypass the filter
        "django": {"handlers": ["console", "mail_admins"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

ADMINS = [("Ops", a) for a in env.list("DJANGO_ADMINS", default=[])]
