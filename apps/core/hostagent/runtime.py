"""Running one host step safely: never raise, one step per resource at a time, in order, once.

A host step receives a plain DTO ``{action_id, resource_id, generation, ...}`` and its result
DTO ``{action_id, generation, ok, error, data}`` always goes to the conductor's
``core.apply_result`` (DESIGN §1). Everything the host must remember between steps lives on
local disk under ``[DEFAULT] state_dir``/agent, since a host agent has no database.
"""
import fcntl
import functools
import json
import logging
import os
import re
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from celery import shared_task
from django.conf import settings

from .. import rpc

logger = logging.getLogger(__name__)

# Resource ids become file names: uuids, hostnames and the like only.
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
# Idempotency records must outlive every re-send of a step (task_expires, action_timeout x
# redrives); a week is far beyond both and keeps the directory small.
RECORD_RETENTION = 7 * 24 * 3600


def _safe_name(value):
    value = str(value)
    if not SAFE_NAME.match(value):
        raise ValueError(f"unusable resource id {value!r}")
    return value


def _atomic_write(path, text):
    # A crash mid-write must leave the old content or the new, never half of it.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class StepStore:
    """The host's memory of steps: per-resource locks, last generations, results by action id."""

    def __init__(self, root=None):
        root = Path(root or Path(settings.MONOSTACK["DEFAULT"]["state_dir"]) / "agent")
        self.locks, self.generations, self.results = root / "locks", root / "generations", root / "results"
        for path in (self.locks, self.generations, self.results):
            path.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def resource_lock(self, resource_id):
        """Exclusive across worker processes and threads (flock locks belong to the open file)."""
        with open(self.locks / f"{_safe_name(resource_id)}.lock", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            yield  # closing the file releases the lock, also if the step blew up

    def last_generation(self, resource_id):
        try:
            return int((self.generations / _safe_name(resource_id)).read_text())
        except FileNotFoundError:
            return 0

    def set_generation(self, resource_id, generation):
        _atomic_write(self.generations / _safe_name(resource_id), str(generation))

    def recorded_result(self, action_id):
        try:
            return json.loads((self.results / f"{uuid.UUID(str(action_id))}.json").read_text())
        except FileNotFoundError:
            return None

    def record_result(self, action_id, result):
        _atomic_write(self.results / f"{uuid.UUID(str(action_id))}.json", json.dumps(result))

    def prune(self, max_age=RECORD_RETENTION):
        cutoff = time.time() - max_age
        for path in self.results.glob("*.json"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
            except FileNotFoundError:
                pass


def _result(action_id, generation, *, ok, error="", data=None):
    return {"action_id": action_id, "generation": generation, "ok": ok, "error": error, "data": data}


def _describe(exc):
    return f"{type(exc).__name__}: {exc}"


def _run_once(fn, dto, store, resource_id, generation):
    last = store.last_generation(resource_id)
    if generation < last:
        return _result(dto["action_id"], generation, ok=False,
                       error=f"stale step refused: generation {generation} of {resource_id} "
                             f"is older than generation {last}, already run here")
    store.set_generation(resource_id, generation)
    try:
        data = fn(dto)
        json.dumps(data)  # a result the broker cannot carry is a failure of this step
    except Exception as exc:
        logger.exception("host step %s for %s failed", dto["action_id"], resource_id)
        return _result(dto["action_id"], generation, ok=False, error=_describe(exc))
    return _result(dto["action_id"], generation, ok=True, data=data)


def run_host_step(fn, dto):
    """Run ``fn(dto)`` under the resource lock, at most once per action; never raises."""
    dto = dto if isinstance(dto, dict) else {}
    action_id, generation = dto.get("action_id"), dto.get("generation")
    try:
        action_id = dto["action_id"] = str(uuid.UUID(str(action_id)))
        resource_id = _safe_name(dto["resource_id"])
        generation = int(generation)
        store = StepStore()
        with store.resource_lock(resource_id):
            result = store.recorded_result(action_id)
            if result is None:
                result = _run_once(fn, dto, store, resource_id, generation)
                store.record_result(action_id, result)
            else:
                logger.info("action %s already ran here: sending its recorded result again", action_id)
    except Exception as exc:
        logger.exception("host step %s could not run", action_id)
        result = _result(action_id, generation, ok=False, error=_describe(exc))
    try:
        rpc.send_result(result, sender_host=settings.MONOSTACK["DEFAULT"]["hostname"])
    except Exception:
        # The recorded result is sent again when the reaper re-drives the step.
        logger.exception("could not hand the result of action %s to the conductor", action_id)
    return result


def host_task(name, **options):
    """Declare a host step: ``@host_task("compute.server_spawn") def server_spawn_task(dto): ...``.

    The function gets the DTO and returns JSON-serialisable data; raising marks the step
    failed. Delivery is late-acked and re-queued if the worker dies, which the lock, the
    generation check and the idempotency record make safe.
    """
    def decorator(fn):
        @functools.wraps(fn)
        def run(dto):
            return run_host_step(fn, dto)

        return shared_task(name=name, acks_late=True, reject_on_worker_lost=True,
                           ignore_result=True, **options)(run)

    return decorator


def run_host_query(fn, dto):
    """Run a read-only query on the host; never raises, returns ``{ok, error, data}``."""
    try:
        data = fn(dto if isinstance(dto, dict) else {})
        json.dumps(data)
        return {"ok": True, "error": "", "data": data}
    except Exception as exc:
        logger.exception("host query failed")
        return {"ok": False, "error": _describe(exc), "data": None}


def host_query(name, **options):
    """Declare a synchronous host query (console output, a console address, live facts).

    Unlike a step it changes nothing on the host, so it needs no lock, generation or
    record; the caller waits for its answer through the result backend with a timeout
    (``rpc.call_host``), and a lost query is simply asked again.
    """
    def decorator(fn):
        @functools.wraps(fn)
        def run(dto):
            return run_host_query(fn, dto)

        return shared_task(name=name, acks_late=False, ignore_result=False, **options)(run)

    return decorator
