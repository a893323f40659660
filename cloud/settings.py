"""Django settings, read from the one INI file (cloud/config.py)."""
import os
from pathlib import Path

from .config import Config

BASE_DIR = Path(__file__).resolve().parent.parent
CONF = Config()
MONOSTACK = CONF.as_dict()

# Which process this is (api, conductor, beat, agent, console, test). Host agents get
# no database at all: an accidental ORM call in a host task fails loudly (DESIGN §1).
PROCESS = os.environ.get("MONOSTACK_PROCESS", "api")

SECRET_KEY = CONF["DEFAULT"]["secret_key"] or "insecure-development-key-set-secret_key-in-config"
DEBUG = CONF["DEFAULT"]["debug"]
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ROOT_URLCONF = "cloud.urls"
WSGI_APPLICATION = "cloud.wsgi.application"
APPEND_SLASH = False
DATA_UPLOAD_MAX_MEMORY_SIZE = CONF["api"]["max_body_size"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "guardian",
    "apps.core",
    "apps.identity",
    "apps.network",
    "apps.image",
    "apps.compute",
]

MIDDLEWARE = [
    "apps.core.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [BASE_DIR / "templates"],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]

if PROCESS == "agent":
    DATABASES = {}
else:
    db = CONF["database"]
    DATABASES = {"default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": db["name"], "USER": db["user"], "PASSWORD": db["password"],
        "HOST": db["host"], "PORT": db["port"],
        "CONN_MAX_AGE": 600, "CONN_HEALTH_CHECKS": True,
        "TEST": {"NAME": f"test_{db['name']}"},
    }}

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]

STATIC_URL = "/static/"
STATIC_ROOT = os.path.join(CONF["DEFAULT"]["state_dir"], "static")
STATICFILES_DIRS = [BASE_DIR / "static"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["apps.identity.authentication.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["apps.core.api.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["apps.core.api.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "apps.core.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "UNAUTHENTICATED_TOKEN": None,
}

# Celery: the broker carries work to the conductor and to each host's own queue.
CELERY_BROKER_URL = CONF["broker"]["url"]
CELERY_RESULT_BACKEND = CONF["broker"]["result_backend"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "conductor"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "apps.core.context.RequestIdLogFilter"}},
    "formatters": {"default": {
        "format": "%(asctime)s %(process)d %(levelname)s %(name)s [%(request_id)s %(global_request_id)s] %(message)s",
    }},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "default", "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- apps/core: queues, routes, periodic jobs (DESIGN §1) ----------------------------------
# conductor: host results and controller work; reports: registrations and heartbeats, on
# their own queue so they never wait behind slow conductor work; host.<hostname>: one per
# host agent, routed by apps/core/rpc.py and declared by the agent's `-Q host.<hostname>`.
from kombu import Queue  # noqa: E402

CELERY_TASK_QUEUES = (Queue("conductor"), Queue("reports"))
CELERY_TASK_CREATE_MISSING_QUEUES = True
CELERY_TASK_ROUTES = {
    "core.apply_result": {"queue": "conductor"},
    "core.reap_actions": {"queue": "conductor"},
    "core.host_report": {"queue": "reports"},
}
CELERY_BEAT_SCHEDULE = {
    "core.reap_actions": {
        "task": "core.reap_actions",
        "schedule": float(CONF["conductor"]["reaper_interval"]),
        # A missed run is simply replaced by the next one.
        "options": {"expires": float(CONF["conductor"]["reaper_interval"])},
    },
    "identity.prune_revocations": {"task": "identity.prune_revocations", "schedule": 3600.0,
                                   "options": {"expires": 3600.0}},
    # Each live host gets its whole desired network state; drift is repaired, leftovers go.
    "network.sync_hosts": {"task": "network.sync_hosts", "schedule": float(CONF["network"]["sync_interval"]),
                           "options": {"expires": float(CONF["network"]["sync_interval"])}},
    "image.store_sweep": {"task": "image.store_sweep", "schedule": 3600.0, "options": {"expires": 3600.0}},
}
# Workers log through LOGGING above, so request ids appear in every worker line too.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# --- end apps/core block ------------------------------------------------------------------
