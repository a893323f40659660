"""Host tasks in a real worker process: eager mode hides the host contract (DESIGN §7).

A real agent (MONOSTACK_PROCESS=agent: no database) and a real conductor (pointed at this
test database) run as subprocesses on Redis db 15; the test drives them through services.
"""
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from celery import current_app
from django.db import connection, transaction

from apps.core import services
from apps.core.hostagent import host_task
from apps.core.models import Action, Host

ROOT = Path(__file__).resolve().parents[2]
BROKER = "redis://127.0.0.1:6379/15"

pytestmark = pytest.mark.host


@host_task("tests.host_orm_probe")
def host_orm_probe_task(dto):
    """Runs on the agent (loaded with --include): any ORM use there must fail."""
    return Host.objects.count()


def _use_broker(app, url):
    app.conf.broker_url = url
    # Connection pools are built for the first URL used; forget them.
    app._pool = None
    app.amqp._producer_pool = None


def fresh_broker():
    """Drop what earlier tests' workers left on the test broker (an unread registration of a
    killed agent would bring a ghost host back to life for the scheduler)."""
    import redis

    redis.Redis.from_url(BROKER).flushdb()


def _wait_for(predicate, timeout, what, procs):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    logs = "\n".join(f"--- {name} ---\n{log.read_text()[-3000:]}" for name, (_, log) in procs.items())
    pytest.fail(f"timed out waiting for {what}\n{logs}")


@pytest.fixture
def cloud(transactional_db, tmp_path):
    fresh_broker()
    hostname = f"test-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    base = {k: v for k, v in os.environ.items() if not k.startswith("MONOSTACK_")}
    # Synchronous queries come back through the result backend this process reads.
    base.update(DJANGO_SETTINGS_MODULE="cloud.settings", MONOSTACK_BROKER_URL=BROKER,
                MONOSTACK_BROKER_RESULT_BACKEND=current_app.conf.result_backend)
    if "MONOSTACK_CONFIG" in os.environ:
        base["MONOSTACK_CONFIG"] = os.environ["MONOSTACK_CONFIG"]
    worker = [sys.executable, "-m", "celery", "-A", "cloud", "worker", "-l", "INFO", "--pool", "prefork", "-c", "1",
              "--without-gossip", "--without-mingle"]
    commands = {
        # As ./stack runs it: a thread pool (drivers fork helpers a prefork master would kill).
        "agent": ([*worker[:-6], "--pool", "threads", "-c", "2", "--without-gossip", "--without-mingle",
                   "-Q", f"host.{hostname}", "-n", f"agent-{hostname}@%h",
                            "--include", "tests.host.test_agent_worker"],
                  {**base, "MONOSTACK_PROCESS": "agent", "MONOSTACK_DEFAULT_HOSTNAME": hostname,
                   "MONOSTACK_DEFAULT_STATE_DIR": str(tmp_path / "agent-state"),
                   "MONOSTACK_AGENT_HEARTBEAT_INTERVAL": "1"}),
        "conductor": (worker + ["-Q", "conductor,reports", "-n", f"conductor-{hostname}@%h"],
                      {**base, "MONOSTACK_PROCESS": "conductor", "MONOSTACK_DATABASE_NAME": db["NAME"],
                       "MONOSTACK_DATABASE_USER": db["USER"], "MONOSTACK_DATABASE_PASSWORD": db["PASSWORD"],
                       "MONOSTACK_DATABASE_HOST": db["HOST"], "MONOSTACK_DATABASE_PORT": str(db["PORT"])}),
    }
    procs = {}
    app, conf = current_app, current_app.conf
    saved = conf.broker_url, conf.task_always_eager
    try:
        for name, (argv, env) in commands.items():
            log = tmp_path / f"{name}.log"
            with open(log, "w") as out:
                procs[name] = (subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                                start_new_session=True), log)
        _use_broker(app, BROKER)
        conf.task_always_eager = False
        yield hostname, procs
    finally:
        for proc, _ in procs.values():
            os.killpg(proc.pid, signal.SIGTERM)  # its own session: the worker and its pool children
        for proc, _ in procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        _use_broker(app, saved[0])
        conf.task_always_eager = saved[1]


def _finished(action):
    action.refresh_from_db()
    return action.finished and action


def test_agent_registers_heartbeats_and_runs_host_steps(cloud):
    hostname, procs = cloud
    host = _wait_for(lambda: Host.objects.filter(hostname=hostname).first(), 25, "the agent to register", procs)
    assert host.cpus == os.cpu_count() and host.memory_mb > 0 and host.state == Host.UP
    first_beat = host.last_heartbeat
    _wait_for(lambda: Host.objects.get(hostname=hostname).last_heartbeat > first_beat, 10, "a heartbeat", procs)

    Host.objects.filter(hostname=hostname).update(cpus=0, memory_mb=0)
    with transaction.atomic():
        probe = services.host_probe(hostname=hostname)
    probe = _wait_for(lambda: _finished(probe), 15, "the probe's result", procs)
    assert probe.status == Action.SUCCEEDED, probe.error
    assert probe.result["hostname"] == hostname and probe.result["cpus"] == os.cpu_count()
    host.refresh_from_db()
    assert host.cpus == os.cpu_count() and host.memory_mb > 0  # the result handler ran in the conductor

    with transaction.atomic():
        orm = services.action_start(kind="tests.host_orm_probe", resource_type="host", resource_id=hostname,
                                    host=hostname, payload={})
    orm = _wait_for(lambda: _finished(orm), 15, "the ORM probe's result", procs)
    # The agent has no database: the step failed there, and said so instead of raising.
    assert orm.status == Action.FAILED
    assert orm.error.startswith("ImproperlyConfigured: settings.DATABASES is improperly configured")


def test_synchronous_host_query_answers_or_times_out(cloud):
    hostname, procs = cloud
    _wait_for(lambda: Host.objects.filter(hostname=hostname).exists(), 25, "the agent to register", procs)
    facts = services.host_facts_now(hostname=hostname, timeout=15)
    assert facts["hostname"] == hostname and facts["cpus"] == os.cpu_count()
    from apps.core import rpc

    t0 = time.monotonic()
    silent = rpc.call_host("no-such-host", "core.host_facts", {}, timeout=1)
    assert silent["ok"] is False and "did not answer" in silent["error"]
    assert time.monotonic() - t0 < 3
