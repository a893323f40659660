import os

# Unit tests never need a host agent or the broker: Celery runs eagerly and JSON round-trips
# task arguments (tests that need a real worker process start one themselves).
os.environ.setdefault("MONOSTACK_PROCESS", "test")
