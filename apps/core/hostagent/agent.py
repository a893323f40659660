"""The agent's life in the worker: register at start, then heartbeat from a daemon thread."""
import logging
import threading

from celery import signals
from django.conf import settings

from .. import rpc
from .facts import host_facts
from .runtime import StepStore

logger = logging.getLogger(__name__)

_stop = threading.Event()


def send_host_report(kind):
    """One report on the reports queue; facts ride along so a heartbeat also re-registers."""
    agent = settings.MONOSTACK["agent"]
    # A report that waited longer than two beats says nothing about now: let it expire. That
    # holds for registrations too (a late one would revive a host that is gone), and a dropped
    # registration costs nothing: heartbeats carry the facts and register an unknown host.
    expires = agent["heartbeat_interval"] * 2
    rpc.send_report({"type": kind, "hostname": settings.MONOSTACK["DEFAULT"]["hostname"],
                     "facts": host_facts()}, expires=expires)


def _heartbeat_loop(interval):
    while not _stop.wait(interval):
        try:
            send_host_report("heartbeat")
        except Exception:
            logger.exception("heartbeat not sent")  # the broker may be back for the next one


@signals.worker_ready.connect
def _agent_ready(**kwargs):
    if settings.PROCESS != "agent":
        return
    StepStore().prune()
    try:
        send_host_report("register")
    except Exception:
        logger.exception("registration not sent; the first heartbeat will register this host")
    _stop.clear()
    threading.Thread(target=_heartbeat_loop, args=(settings.MONOSTACK["agent"]["heartbeat_interval"],),
                     name="monostack-heartbeat", daemon=True).start()
    logger.info("host agent %s ready", settings.MONOSTACK["DEFAULT"]["hostname"])


@signals.worker_shutdown.connect
def _agent_shutdown(**kwargs):
    _stop.set()
