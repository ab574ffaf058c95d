"""Django settings for mdhub. Every value comes from the environment (see .env.example)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import django_stubs_ext

from mdhub_project.databases import database_from_url
from mdhub_project.env import env_bool, env_float, env_int, env_list, env_secret, env_str

# Lets typed generics such as ModelForm[Account] work at run time too.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
# A fixed development key keeps a fresh checkout running; system check mdhub.W001 warns
# when it is used with DEBUG off.
DEV_SECRET_KEY = "dev-only-insecure-key-change-me"
SECRET_KEY = env_secret("SECRET_KEY", DEV_SECRET_KEY)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    # Swagger UI's and Redoc's files, served by WhiteNoise: /api/docs works with no internet.
    "drf_spectacular_sidecar",
    "channels",
    "django_q",
    "axes",
    "mdhub_project",
    "accounts",
    "clients_access",
    "gateways",
    "aggregation",
    "monitoring",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Daphne serves no static files: WhiteNoise serves the admin's and DRF's CSS and JS.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so that it sees the outcome of every login attempt.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "mdhub_project.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "mdhub_project" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "mdhub_project.wsgi.application"
ASGI_APPLICATION = "mdhub_project.asgi.application"

DATABASE_URL = env_secret("DATABASE_URL", "sqlite:///db.sqlite3")
DATABASES = {"default": database_from_url(DATABASE_URL, BASE_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
if DATABASES["default"]["ENGINE"] == "django_mongodb_backend":
    # django-mongodb-backend keys documents by ObjectId and ships its own migrations
    # for the contrib apps.
    DEFAULT_AUTO_FIELD = "django_mongodb_backend.fields.ObjectIdAutoField"
    MIGRATION_MODULES = {
        "admin": "mongo_migrations.admin",
        "auth": "mongo_migrations.auth",
        "contenttypes": "mongo_migrations.contenttypes",
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "/admin/login/"

# Login rate limit (NFR8): lock a username+address pair out after repeated failures.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_float("LOGIN_COOLOFF_HOURS", 0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# A locked-out login answers 429 {"detail"} like the rest of the API (docs/api.md).
AXES_LOCKOUT_CALLABLE = "mdhub_project.auth_views.lockout_response"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Straight from the apps when collectstatic has not run (./dev run); the Docker image runs
# collectstatic at build time, and WhiteNoise then serves STATIC_ROOT.
WHITENOISE_USE_FINDERS = True
# ... and then STATIC_ROOT does not exist yet, which WhiteNoise warns about on every start.
warnings.filterwarnings("ignore", message="No directory at: ", category=UserWarning)
# The dashboard's static export (frontend/out) is served at / by mdhub_project.views.
DASHBOARD_DIR = Path(env_str("DASHBOARD_DIR", str(BASE_DIR / "frontend" / "out")))

REDIS_URL = env_secret("REDIS_URL", "redis://127.0.0.1:6379/0")

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "capacity": 1000, "expiry": 30},
    }
}

Q_CLUSTER = {
    "name": "mdhub",
    "workers": env_int("Q_WORKERS", 1),
    "timeout": 60,
    "retry": 120,
    "max_attempts": 3,
    "redis": REDIS_URL,
    "catch_up": False,
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["mdhub_project.permissions.IsOperatorOrReadOnly"],
    # Adds the error answers every operation can give (400, 403, 404, 415, 429) to the schema.
    "DEFAULT_SCHEMA_CLASS": "mdhub_project.api_schema.MdhubAutoSchema",
    # limit/offset validated: a bad value is a 400 naming the parameter, not ignored.
    "DEFAULT_PAGINATION_CLASS": "webbase.pagination.StrictLimitOffsetPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_THROTTLE_RATES": {"login": env_str("LOGIN_RATE", "10/min")},
}

SPECTACULAR_SETTINGS = {
    "TITLE": "mdhub API",
    "DESCRIPTION": "Control plane of the mdhub market data hub.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    # The model's choices appear in more than one serializer: one name for them all.
    "ENUM_NAME_OVERRIDES": {
        "GatewayTypeEnum": "accounts.models.GatewayType",
        "ReachableEnum": "mdhub_project.health_views.REACHABLE",
        "EngineEnum": "webbase.live_state.ENGINE_STATES",
    },
    # From the drf-spectacular-sidecar package, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Session (the dashboard's cookie) works in "Try it out"; a token goes in "Authorize".
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "persistAuthorization": True},
}

EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "mdhub@localhost")
ALERT_EMAIL_TO = env_list("ALERT_EMAIL_TO", [])
ALERT_THROTTLE_SECONDS = env_int("ALERT_THROTTLE_SECONDS", 300)

# The hub engine (manage.py runhub).
MDHUB_RUN_DIR = Path(env_str("MDHUB_RUN_DIR", str(BASE_DIR / "run")))
# Loopback by default: open for development. Beyond loopback the stream needs CURVE
# (MDHUB_CURVE, docs/access.md) unless MDHUB_STREAM_OPEN says otherwise (check mdhub.E030).
MDHUB_PUB_ADDR = env_str("MDHUB_PUB_ADDR", "tcp://127.0.0.1:5555")
MDHUB_SNAPSHOT_ADDR = env_str("MDHUB_SNAPSHOT_ADDR", "tcp://127.0.0.1:5556")
MDHUB_CURVE = env_bool("MDHUB_CURVE", False)
MDHUB_CURVE_KEY_FILE = Path(env_str("MDHUB_CURVE_KEY_FILE", str(MDHUB_RUN_DIR / "curve" / "server.key")))
MDHUB_STREAM_OPEN = env_bool("MDHUB_STREAM_OPEN", False)
# Conflation for slow readers: the newest value per contract every N ms (docs/access.md); "" off.
MDHUB_CONFLATE_ADDR = env_str("MDHUB_CONFLATE_ADDR", "tcp://127.0.0.1:5558")
# The journal (docs/journal.md): every forwarded tick on disk, one file per trading day; the
# recovery ROUTER serves gap fills and resumes from it (docs/wire-protocol.md).
MDHUB_JOURNAL = env_bool("MDHUB_JOURNAL", True)
MDHUB_JOURNAL_DIR = Path(env_str("MDHUB_JOURNAL_DIR", str(MDHUB_RUN_DIR / "journal")))
MDHUB_RECOVERY_ADDR = env_str("MDHUB_RECOVERY_ADDR", "tcp://127.0.0.1:5557")
# Recording (docs/recording.md): closed trading days as Parquet, and how many calendar days
# are kept (0: all).
MDHUB_RECORDING_DIR = Path(env_str("MDHUB_RECORDING_DIR", str(MDHUB_RUN_DIR / "recording")))
MDHUB_RECORDING_RETENTION_DAYS = env_int("MDHUB_RECORDING_RETENTION_DAYS", 730)
MDHUB_SIM_ADDR = env_str("MDHUB_SIM_ADDR", "")
MDHUB_SUBSCRIBE_BATCH = env_int("MDHUB_SUBSCRIBE_BATCH", 200)
MDHUB_MAX_CLOCK_SKEW = env_float("MDHUB_MAX_CLOCK_SKEW", 60.0)
# Failover (DESIGN §5): "hot" (every healthy source subscribes everything) or "warm" (only
# the best MDHUB_WARM_SOURCES healthy sources subscribe; the others stand by).
MDHUB_FAILOVER_MODE = env_str("MDHUB_FAILOVER_MODE", "hot")
MDHUB_WARM_SOURCES = env_int("MDHUB_WARM_SOURCES", 1)
# Health (seconds): see monitoring.health.HealthConfig for what each one bounds.
MDHUB_HEARTBEAT_TIMEOUT = env_float("MDHUB_HEARTBEAT_TIMEOUT", 3.0)
MDHUB_LOGIN_TIMEOUT = env_float("MDHUB_LOGIN_TIMEOUT", 30.0)
MDHUB_DISCONNECTED_TIMEOUT = env_float("MDHUB_DISCONNECTED_TIMEOUT", 10.0)
MDHUB_CANARY_STALE_AFTER = env_float("MDHUB_CANARY_STALE_AFTER", 5.0)
MDHUB_STALE_TIMEOUT = env_float("MDHUB_STALE_TIMEOUT", 5.0)
MDHUB_STORM_RECONNECTS = env_int("MDHUB_STORM_RECONNECTS", 5)
MDHUB_STORM_WINDOW = env_float("MDHUB_STORM_WINDOW", 10.0)
# Hard restart (FR8): cool-down after "unhealthy", SIGTERM→SIGKILL grace, backoff cap, and
# the budget (restarts per window) past which a source is "failed" and retried slowly.
MDHUB_RESTART_COOLDOWN = env_float("MDHUB_RESTART_COOLDOWN", 2.0)
MDHUB_RESTART_GRACE = env_float("MDHUB_RESTART_GRACE", 3.0)
MDHUB_RESTART_BACKOFF_MAX = env_float("MDHUB_RESTART_BACKOFF_MAX", 60.0)
MDHUB_RESTART_BUDGET = env_int("MDHUB_RESTART_BUDGET", 5)
MDHUB_RESTART_BUDGET_WINDOW = env_float("MDHUB_RESTART_BUDGET_WINDOW", 600.0)
MDHUB_FAILED_RETRY = env_float("MDHUB_FAILED_RETRY", 300.0)
# Data services runhub starts and supervises (docs/services.md), comma-separated: bars,
# greeks. Bars by default: every strategy needs them and they cost one light process;
# Greeks only mean something with option contracts (and load numpy/scipy), so opt in.
MDHUB_SERVICES = env_list("MDHUB_SERVICES", ["bars"])
MDHUB_BARS_INTERVALS = env_list("MDHUB_BARS_INTERVALS", ["1m", "5m", "15m", "30m", "1h", "d"])
MDHUB_BARS_FLAT = env_bool("MDHUB_BARS_FLAT", True)
MDHUB_BARS_GRACE_MS = env_float("MDHUB_BARS_GRACE_MS", 2000.0)
MDHUB_GREEKS_THROTTLE_MS = env_float("MDHUB_GREEKS_THROTTLE_MS", 500.0)
MDHUB_GREEKS_RATE = env_float("MDHUB_GREEKS_RATE", 0.015)
MDHUB_GREEKS_DIVIDEND = env_float("MDHUB_GREEKS_DIVIDEND", 0.0)
MDHUB_OPTION_CONTRACTS = env_str("MDHUB_OPTION_CONTRACTS", "")
# Below the hub (services/priority.py: a service may lag, a tick may not), reading its
# queued ticks in batches this often; what each service reads (empty: everything).
MDHUB_SERVICES_PRIORITY = env_str("MDHUB_SERVICES_PRIORITY", "idle")
MDHUB_SERVICES_CADENCE_MS = env_float("MDHUB_SERVICES_CADENCE_MS", 20.0)
# Where the services take their ticks (services/inputs.py): "tape" (the journal file the hub
# writes anyway: the hub sends them nothing), "hub" (its stream), "auto" (the tape when the
# journal is on); and whether a service starts at the day's start of the tape or its end.
MDHUB_SERVICES_INPUT = env_str("MDHUB_SERVICES_INPUT", "auto")
MDHUB_SERVICES_TAPE_FROM = env_str("MDHUB_SERVICES_TAPE_FROM", "start")
MDHUB_BARS_TOPICS = env_str("MDHUB_BARS_TOPICS", "")
MDHUB_GREEKS_TOPICS = env_str("MDHUB_GREEKS_TOPICS", "")

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "gateways.logredact.RedactSecretsFilter"}},
    "formatters": {
        # Exchange time (Asia/Shanghai) with its offset, whatever the server's zone.
        "plain": {
            "()": "mdhub_project.logtime.ExchangeTimeFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s: %(message)s",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}
if ALERT_EMAIL_TO:
    # Every ERROR record of this process queues an alert mail (NFR9; monitoring.alerts).
    LOGGING["handlers"]["alert_mail"] = {
        "class": "monitoring.alerts.AlertMailHandler",
        "level": "ERROR",
        "filters": ["redact"],
        "throttle_seconds": ALERT_THROTTLE_SECONDS,
    }
    LOGGING["root"]["handlers"].append("alert_mail")
# The simulated exchange that sim accounts read (started by runhub when MDHUB_SIM_ADDR is
# empty): how many contracts, and snapshots per second per contract.
MDHUB_SIM_CONTRACTS = env_int("MDHUB_SIM_CONTRACTS", 13)
MDHUB_SIM_RATE = env_float("MDHUB_SIM_RATE", 2.0)
