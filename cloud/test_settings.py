"""Settings for pytest: the same as production, with this process marked as a test
(no revocation listener thread, eager Celery with JSON round-trips)."""
import os

os.environ.setdefault("MONOSTACK_PROCESS", "test")

from .settings import *  # noqa: E402,F401,F403
from .settings import DATABASES  # noqa: E402

# One test database per run, so runs side by side never drop each other's database;
# `./stack test` removes those whose run is gone.
DATABASES["default"]["TEST"]["NAME"] = f"test_{DATABASES['default']['NAME']}_{os.getpid()}"
