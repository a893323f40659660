"""Writes of the shared machinery: Action rows of host steps, their results, hosts, the reaper.

How an app runs a host step (DESIGN §5):

    with transaction.atomic():
        ...compare-and-swap the resource's state...
        action_start(kind="compute.server_reboot", resource_type="server", resource_id=...,
                     host=server.host, payload={...}, user_id=..., project_id=...)

and, once (e.g. in its AppConfig.ready), how the outcome lands on its own rows:

    register_result_handler("compute.server_reboot", _reboot_done)        # fn(action, data)
    register_failure_handler("compute.server_reboot", _reboot_failed)    # fn(action, error)

Handlers run in the conductor, inside the transaction that finishes the Action.
"""
import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from . import rpc
from .context import current_global_request_id, current_request_id, global_request_id_var, request_id_var
from .exceptions import Conflict, NotFound
from .models import Action, Host

logger = logging.getLogger(__name__)

_result_handlers = {}
_failure_handlers = {}

# Keys of the DTO that action_start owns; a payload may not override them.
DTO_KEYS = ("action_id", "kind", "resource_type", "resource_id", "generation")


def _register(registry, kind, fn):
    if registry.get(kind, fn) is not fn:
        raise ImproperlyConfigured(f"a handler for action kind {kind!r} is already registered")
    registry[kind] = fn
    return fn


def register_result_handler(kind, fn):
    """``fn(action, data)`` applies a successful step's data to the app's own rows."""
    return _register(_result_handlers, kind, fn)


def register_failure_handler(kind, fn):
    """``fn(action, error)`` records a failed or lost step (e.g. resource ERROR with a fault)."""
    return _register(_failure_handlers, kind, fn)


# --- Actions -----------------------------------------------------------------------------

def _dto(action):
    return {**action.payload, "action_id": str(action.id), "kind": action.kind,
            "resource_type": action.resource_type, "resource_id": action.resource_id,
            "generation": action.generation}


def _dispatch(action):
    Action.objects.filter(pk=action.pk, status=Action.PENDING).update(
        status=Action.RUNNING, started_at=timezone.now())
    # The message carries the request ids of the Action, also when the reaper re-sends it.
    tokens = (request_id_var.set(action.request_id or request_id_var.get()),
              global_request_id_var.set(action.global_request_id or global_request_id_var.get()))
    try:
        rpc.send_host_task(action.host, action.kind, _dto(action))
    finally:
        request_id_var.reset(tokens[0])
        global_request_id_var.reset(tokens[1])


def _next_generation(resource_type, resource_id):
    # Serialise steps of one resource for this transaction, so max+1 is never taken twice.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"{resource_type}:{resource_id}"])
    top = Action.objects.filter(resource_type=resource_type, resource_id=resource_id).aggregate(g=Max("generation"))
    return (top["g"] or 0) + 1


def action_start(*, kind, resource_type, resource_id, host, payload, user_id=None, project_id=None,
                 timeout=None):
    """Record a host step and send it to ``host.<hostname>`` once the caller's transaction commits.

    ``kind`` is the host task's name. ``timeout`` (seconds) overrides [conductor]
    action_timeout for steps known to be long. Returns the Action.
    """
    clash = set(payload) & set(DTO_KEYS)
    if clash:
        raise ValueError(f"payload may not set {', '.join(sorted(clash))}")
    hostname = getattr(host, "hostname", host)
    timeout = timeout or settings.MONOSTACK["conductor"]["action_timeout"]
    with transaction.atomic():
        action = Action.objects.create(
            kind=kind, resource_type=resource_type, resource_id=str(resource_id), host=hostname,
            generation=_next_generation(resource_type, str(resource_id)), payload=payload,
            request_id=current_request_id() or "", global_request_id=current_global_request_id() or "",
            user_id=user_id or "", project_id=project_id or "", timeout=timeout,
            deadline=timezone.now() + timedelta(seconds=timeout),
        )
        # robust: a broker outage must not turn a committed request into a 500; the reaper
        # re-sends the step.
        transaction.on_commit(lambda: _dispatch(action), robust=True)
    return action


def register_result_listener(kind, fn):
    """``fn(action, data)`` also runs after a successful step of ``kind``, after its handler.

    For an app that started another app's step through that app's service and continues its
    own work when it ends (compute following network.port_plug). Several may listen.
    """
    _result_listeners.setdefault(kind, []).append(fn)
    return fn


def register_failure_listener(kind, fn):
    """``fn(action, error)`` also runs after a failed or lost step of ``kind``."""
    _failure_listeners.setdefault(kind, []).append(fn)
    return fn


_result_listeners = {}
_failure_listeners = {}


def _call_handler(registry, action, outcome):
    handler = registry.get(action.kind)
    listeners = (_failure_listeners if registry is _failure_handlers else _result_listeners).get(action.kind, ())
    if handler is None and not listeners:
        if registry is _failure_handlers:
            logger.warning("action %s (%s) failed and no failure handler is registered: %s",
                           action.id, action.kind, outcome)
        return
    with transaction.atomic():  # savepoint: a broken handler leaves the Action row intact
        if handler is not None:
            handler(action, outcome)
        for listener in listeners:
            listener(action, outcome)


def _finish_failed(action, error):
    action.status, action.error, action.finished_at = Action.FAILED, error, timezone.now()
    action.save(update_fields=["status", "error", "finished_at", "result"])
    try:
        _call_handler(_failure_handlers, action, error)
    except Exception:
        logger.exception("failure handler of %s raised for action %s", action.kind, action.id)


def action_apply_result(*, result, sender_host):
    """Apply a host's result DTO to its Action and, through the kind's handler, to the resource.

    Idempotent: a result for a finished action, for another generation or superseded by a
    newer step of the same resource changes nothing; a result from a host other than the
    action's is refused. Returns the Action when this call finished it, else None.
    """
    try:
        action_id = uuid.UUID(str(result.get("action_id")))
    except ValueError:
        logger.warning("result without a valid action id from %s ignored: %r", sender_host, result)
        return None
    with transaction.atomic():
        action = Action.objects.select_for_update().filter(pk=action_id).first()
        if action is None:
            logger.warning("result for unknown action %r from %s ignored", action_id, sender_host)
            return None
        if sender_host != action.host:
            logger.error("result for action %s refused: sent by %r, the action runs on %r",
                         action.id, sender_host, action.host)
            return None
        if action.finished:
            logger.info("result for finished action %s ignored", action.id)
            return None
        if result.get("generation", action.generation) != action.generation:
            logger.warning("result for action %s carries generation %s, not %s: ignored",
                           action.id, result.get("generation"), action.generation)
            return None
        action.result = result.get("data")
        newer = (Action.objects.filter(resource_type=action.resource_type, resource_id=action.resource_id,
                                       generation__gt=action.generation)
                 .aggregate(g=Max("generation"))["g"])
        if newer is not None:
            # The resource has moved on: applying this would overwrite newer state.
            action.status, action.finished_at = Action.FAILED, timezone.now()
            action.error = f"superseded by generation {newer}; result not applied"
            action.save(update_fields=["status", "error", "finished_at", "result"])
            return action
        if not result.get("ok"):
            _finish_failed(action, str(result.get("error") or "host step failed"))
            return action
        action.status, action.finished_at = Action.SUCCEEDED, timezone.now()
        action.save(update_fields=["status", "finished_at", "result"])
        try:
            _call_handler(_result_handlers, action, action.result)
        except Exception as exc:
            logger.exception("result handler of %s raised for action %s", action.kind, action.id)
            _finish_failed(action, f"applying the result failed: {type(exc).__name__}: {exc}")
        return action


def actions_reap():
    """Re-send steps past their deadline up to [conductor] max_redrives times, then fail them.

    Each action is handled in its own transaction (skip_locked: a result being applied right
    now wins), so nothing stays pending or running forever.
    """
    conductor = settings.MONOSTACK["conductor"]
    now = timezone.now()
    due = list(Action.objects.filter(status__in=Action.OPEN, deadline__lt=now)
               .order_by("deadline").values_list("pk", flat=True)[:500])
    counts = {"redriven": 0, "failed": 0}
    for pk in due:
        with transaction.atomic():
            action = (Action.objects.select_for_update(skip_locked=True)
                      .filter(pk=pk, status__in=Action.OPEN, deadline__lt=now).first())
            if action is None:
                continue
            if action.redrive_count < conductor["max_redrives"]:
                action.redrive_count += 1
                action.deadline = now + timedelta(seconds=action.timeout)
                action.save(update_fields=["redrive_count", "deadline"])
                logger.warning("action %s (%s on %s) got no result in time: re-sending (%d)",
                               action.id, action.kind, action.host, action.redrive_count)
                transaction.on_commit(lambda a=action: _dispatch(a), robust=True)
                counts["redriven"] += 1
            else:
                logger.warning("action %s (%s on %s) got no result in time: failing it",
                               action.id, action.kind, action.host)
                _finish_failed(action, f"no result from host {action.host} in time "
                                       f"(sent {action.redrive_count + 1} times)")
                counts["failed"] += 1
    return counts


# --- Hosts -------------------------------------------------------------------------------

HOST_FACTS = ("cpus", "memory_mb", "disk_gb", "hypervisor_type")


def host_register(*, hostname, cpus, memory_mb, disk_gb, hypervisor_type):
    """A host agent (re)starting: create or refresh its row; an operator's disable stays."""
    host, _ = Host.objects.update_or_create(
        hostname=hostname,
        defaults={"cpus": cpus, "memory_mb": memory_mb, "disk_gb": disk_gb,
                  "hypervisor_type": hypervisor_type, "last_heartbeat": timezone.now()})
    return host


def host_heartbeat(*, hostname, facts=None):
    """Mark a host alive (the conductor's clock, not the host's); re-registers an unknown host."""
    if Host.objects.filter(hostname=hostname).update(last_heartbeat=timezone.now()):
        return
    if facts is None:
        logger.warning("heartbeat from unknown host %s ignored", hostname)
        return
    host_register(hostname=hostname, **{k: facts[k] for k in HOST_FACTS})


def host_set_disabled(*, hostname, disabled):
    if not Host.objects.filter(hostname=hostname).update(disabled=disabled):
        raise NotFound(f"Host {hostname} could not be found.")


def host_probe(*, hostname, user_id=None, project_id=None):
    """Ask a host for its current facts; the result refreshes its Host row."""
    if not Host.objects.filter(hostname=hostname).exists():
        raise NotFound(f"Host {hostname} could not be found.")
    return action_start(kind="core.host_probe", resource_type="host", resource_id=hostname, host=hostname,
                        payload={}, user_id=user_id, project_id=project_id)


def host_facts_now(*, hostname, timeout=10):
    """The host's live facts, asked synchronously; a silent host is a 409-worthy fact, not a hang."""
    if not Host.objects.filter(hostname=hostname).exists():
        raise NotFound(f"Host {hostname} could not be found.")
    answer = rpc.call_host(hostname, "core.host_facts", {}, timeout=timeout)
    if not answer["ok"]:
        raise Conflict(f"Host {hostname} could not answer: {answer['error']}")
    return answer["data"]


def _host_probe_applied(action, data):
    Host.objects.filter(hostname=action.resource_id).update(**{k: data[k] for k in HOST_FACTS})


register_result_handler("core.host_probe", _host_probe_applied)
