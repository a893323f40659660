"""Request ids that follow one request through logs, Celery tasks and Action rows (DESIGN §3)."""
import contextvars
import logging
import re
import uuid

from celery import signals

request_id_var = contextvars.ContextVar("request_id", default=None)
global_request_id_var = contextvars.ContextVar("global_request_id", default=None)

REQUEST_ID_RE = re.compile(r"^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def new_request_id():
    return f"req-{uuid.uuid4()}"


def valid_request_id(value):
    return bool(value) and bool(REQUEST_ID_RE.match(value))


def current_request_id():
    return request_id_var.get()


def current_global_request_id():
    return global_request_id_var.get()


class RequestIdLogFilter(logging.Filter):
    def filter(self, record):
        record.request_id = request_id_var.get() or "-"
        record.global_request_id = global_request_id_var.get() or "-"
        return True


@signals.before_task_publish.connect
def _attach_request_ids(headers=None, **kwargs):
    if headers is not None:
        headers.setdefault("monostack_request_id", request_id_var.get())
        headers.setdefault("monostack_global_request_id", global_request_id_var.get())


_task_tokens = {}  # task id -> contextvar tokens, restored when the task ends


@signals.task_prerun.connect
def _restore_request_ids(task_id=None, task=None, **kwargs):
    request = getattr(task, "request", None)
    rid = getattr(request, "monostack_request_id", None) if request else None
    gid = getattr(request, "monostack_global_request_id", None) if request else None
    # Published tasks carry their caller's ids in headers; an eager one runs inside its caller.
    if not valid_request_id(rid):
        rid, gid = request_id_var.get() or new_request_id(), global_request_id_var.get()
    _task_tokens[task_id] = (request_id_var.set(rid),
                             global_request_id_var.set(gid if valid_request_id(gid) else None))


@signals.task_postrun.connect
def _forget_request_ids(task_id=None, **kwargs):
    # Back to what was there before: nothing in a worker, the request's ids for an eager task,
    # so one task's ids never leak into the next.
    tokens = _task_tokens.pop(task_id, None)
    if tokens:
        request_id_var.reset(tokens[0])
        global_request_id_var.reset(tokens[1])
