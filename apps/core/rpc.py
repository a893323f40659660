"""The one place that routes core's messages: host steps, results, host reports (DESIGN §1).

Host steps go to ``host.<hostname>``; results to ``conductor``; registrations and heartbeats
to ``reports``, so they never wait behind slow conductor work. Nothing here touches the
database, so host agents use it too.

With ``task_always_eager`` (unit tests) a message runs in-process after a JSON round trip
of its arguments, as it would after crossing the broker; ``send_task`` alone ignores eager
mode and would need a broker.
"""
import json

from celery import current_app
from celery.exceptions import TimeoutError as CeleryTimeout
from django.conf import settings

CONDUCTOR_QUEUE = "conductor"
REPORTS_QUEUE = "reports"
HOST_QUEUE_PREFIX = "host."

APPLY_RESULT_TASK = "core.apply_result"
HOST_REPORT_TASK = "core.host_report"


def host_queue(hostname):
    return f"{HOST_QUEUE_PREFIX}{hostname}"


def _send(task_name, *, args=(), kwargs=None, **options):
    app = current_app
    if app.conf.task_always_eager:
        args, kwargs = json.loads(json.dumps([list(args), kwargs or {}]))
        app.tasks[task_name].apply(args=args, kwargs=kwargs)
        return
    app.send_task(task_name, args=args, kwargs=kwargs, **options)


def send_host_task(host, task_name, dto):
    """Queue one host step; a host that comes back after ``task_expires`` does not replay it."""
    hostname = getattr(host, "hostname", host)
    _send(task_name, args=[dto], queue=host_queue(hostname),
          expires=settings.MONOSTACK["broker"]["task_expires"])


def send_result(result, *, sender_host):
    """Hand a host step's result DTO to the conductor (never through an errback: DESIGN §1)."""
    _send(APPLY_RESULT_TASK, kwargs={"result": result, "sender_host": sender_host}, queue=CONDUCTOR_QUEUE)


def send_report(report, *, expires=None):
    """A host's registration or heartbeat, on its own queue."""
    _send(HOST_REPORT_TASK, args=[report], queue=REPORTS_QUEUE, expires=expires)


def call_host(host, task_name, dto, *, timeout=10):
    """Ask a host a synchronous query and wait at most ``timeout`` seconds for the answer.

    Returns the query's ``{ok, error, data}``; a host that does not answer in time yields
    ``ok: False`` (the message expires unread, so a host that comes back never runs it late).
    """
    hostname = getattr(host, "hostname", host)
    app = current_app
    if app.conf.task_always_eager:
        dto = json.loads(json.dumps(dto))
        return json.loads(json.dumps(app.tasks[task_name].apply(args=[dto]).get()))
    async_result = app.send_task(task_name, args=[dto], queue=host_queue(hostname), expires=timeout)
    try:
        return async_result.get(timeout=timeout, disable_sync_subtasks=False)
    except CeleryTimeout:
        return {"ok": False, "error": f"host {hostname} did not answer within {timeout}s", "data": None}
    finally:
        async_result.forget()
