"""Settings for pytest: the same as production, with this process marked as a test
(no revocation listener thread, eager Celery with JSON round-trips)."""
import os

os.environ.setdefault("MONOSTACK_PROCESS", "test")

from .settings import *  # noqa: E402,F401,F403
