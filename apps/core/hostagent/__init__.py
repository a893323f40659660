"""Host-side runtime: what runs inside a host agent, which holds no database credentials.

Host tasks are declared with :func:`host_task`; the agent registers itself and heartbeats
from :mod:`.agent`. Nothing in this package may touch the ORM.
"""
from . import agent  # noqa: F401  (connects the worker_ready/worker_shutdown hooks)
from .runtime import host_query, host_task

__all__ = ["host_query", "host_task"]
