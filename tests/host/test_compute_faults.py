"""The host agent killed in the middle of a boot (issue 7, faults).

A real agent and a real conductor run as subprocesses (as in test_agent_worker); the agent's
driver leaves a disk file and a domain record on disk and then sleeps in spawn, so the test
can SIGKILL the agent while the spawn step runs. The reaper then fails the lost step and the
server ends in ERROR with a fault; when the host comes back nothing it made is left.
"""
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from celery import current_app
from django.conf import settings
from django.db import connection

from apps.compute.drivers.base import RUNNING, InstanceInfo, InstanceNotFound
from apps.compute.drivers.fake import FakeComputeDriver
from apps.compute import services as compute_services
from apps.compute.models import Server
from apps.core import services as core_services
from apps.core.models import Action, Host
from tests.compute.conftest import Nova, image  # noqa: F401  (fixture)
from tests.host.test_agent_worker import BROKER, ROOT, _use_broker, _wait_for, fresh_broker
from tests.identity.conftest import admin, admin_token, api, cloud, identity_conf  # noqa: F401  (fixtures)

pytestmark = pytest.mark.host

SLOW_DRIVER = "tests.host.test_compute_faults.SlowDiskDriver"


class SlowDiskDriver(FakeComputeDriver):
    """A fake hypervisor whose guests live on disk (so a killed agent leaves them behind):
    spawn writes the instance's disk, sleeps, then records its domain; the directory named
    by instances_path holds both."""

    spawn_delay = 60

    def _root(self):
        root = Path(self.conf["instances_path"])
        root.mkdir(parents=True, exist_ok=True)
        return root

    def spawn(self, instance):
        directory = self._root() / instance.uuid
        directory.mkdir(exist_ok=True)
        (directory / "disk").write_bytes(b"\0" * 4096)
        (directory / "spawning").touch()
        time.sleep(float(os.environ.get("TEST_SPAWN_DELAY", self.spawn_delay)))
        (directory / "domain.json").write_text(json.dumps(instance.as_dict()))
        (directory / "spawning").unlink()
        return {"power_state": RUNNING, "console": {"type": "fake"}}

    def destroy(self, instance_uuid, *, cleanup=True):
        directory = self._root() / instance_uuid
        (directory / "domain.json").unlink(missing_ok=True)
        if cleanup and directory.exists():
            for path in directory.iterdir():
                path.unlink()
            directory.rmdir()

    def list_instances(self):
        return sorted(p.parent.name for p in self._root().glob("*/domain.json"))

    def get_info(self, instance_uuid):
        if not (self._root() / instance_uuid / "domain.json").exists():
            raise InstanceNotFound(instance_uuid)
        return InstanceInfo(state=RUNNING, max_mem_kb=0, mem_kb=0, num_cpu=1)


def _worker(queue, name):
    return [sys.executable, "-m", "celery", "-A", "cloud", "worker", "-l", "INFO", "--pool", "prefork", "-c", "1",
            "--without-gossip", "--without-mingle", "-Q", queue, "-n", name]


@pytest.fixture
def rig(transactional_db, tmp_path):
    """Start/kill a real agent (slow disk driver) and a real conductor on Redis db 15."""
    fresh_broker()
    hostname = f"test-{uuid.uuid4().hex[:8]}"
    instances = tmp_path / "instances"
    db = connection.settings_dict
    base = {k: v for k, v in os.environ.items() if not k.startswith("MONOSTACK_")}
    base.update(DJANGO_SETTINGS_MODULE="cloud.settings", MONOSTACK_BROKER_URL=BROKER,
                MONOSTACK_BROKER_RESULT_BACKEND=current_app.conf.result_backend)
    if "MONOSTACK_CONFIG" in os.environ:
        base["MONOSTACK_CONFIG"] = os.environ["MONOSTACK_CONFIG"]
    agent_env = {**base, "MONOSTACK_PROCESS": "agent", "MONOSTACK_DEFAULT_HOSTNAME": hostname,
                 "MONOSTACK_DEFAULT_STATE_DIR": str(tmp_path / "agent-state"),
                 "MONOSTACK_AGENT_HEARTBEAT_INTERVAL": "1", "MONOSTACK_COMPUTE_DRIVER": SLOW_DRIVER,
                 "MONOSTACK_COMPUTE_INSTANCES_PATH": str(instances)}
    conductor_env = {**base, "MONOSTACK_PROCESS": "conductor", "MONOSTACK_DATABASE_NAME": db["NAME"],
                     "MONOSTACK_DATABASE_USER": db["USER"], "MONOSTACK_DATABASE_PASSWORD": db["PASSWORD"],
                     "MONOSTACK_DATABASE_HOST": db["HOST"], "MONOSTACK_DATABASE_PORT": str(db["PORT"])}
    procs = {}

    def start(name, **env):
        log = tmp_path / f"{name}.log"
        if name == "agent":
            argv, environ = _worker(f"host.{hostname}", f"agent-{hostname}@%h"), {**agent_env, **env}
        else:
            argv, environ = _worker("conductor,reports", f"conductor-{hostname}@%h"), conductor_env
        with open(log, "a") as out:
            procs[name] = (subprocess.Popen(argv, cwd=ROOT, env=environ, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True), log)

    def kill(name, sig=signal.SIGKILL):
        proc, _ = procs[name]
        try:
            os.killpg(proc.pid, sig)  # its own session: the worker and its pool child
        except ProcessLookupError:
            pass
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    app, conf = current_app, current_app.conf
    saved = conf.broker_url, conf.task_always_eager
    try:
        start("conductor")
        start("agent")
        _use_broker(app, BROKER)
        conf.task_always_eager = False
        yield type("Rig", (), {"hostname": hostname, "instances": instances, "procs": procs,
                               "start": staticmethod(start), "kill": staticmethod(kill)})
    finally:
        for name in list(procs):
            kill(name, signal.SIGTERM)
        _use_broker(app, saved[0])
        conf.task_always_eager = saved[1]


def _reap_now():
    """One reaper run with every open step's deadline passed (as after [conductor] action_timeout)."""
    Action.objects.filter(status__in=Action.OPEN).update(deadline=core_services.timezone.now())
    time.sleep(0.01)
    core_services.actions_reap()
    compute_services.servers_reap()


def test_agent_killed_during_spawn_ends_in_error_and_leaves_nothing(rig, admin_token, image):  # noqa: F811
    compute_services.flavors_bootstrap()
    procs = rig.procs
    _wait_for(lambda: Host.objects.filter(hostname=rig.hostname).exists(), 30, "the agent to register", procs)
    nova = Nova(admin_token)
    r = nova.post("servers", {"server": {"name": "victim", "imageRef": str(image.id), "flavorRef": "1"}})
    assert r.status_code == 202, r.content
    server_id = r.body["server"]["id"]
    disk = rig.instances / server_id / "disk"
    _wait_for(lambda: (rig.instances / server_id / "spawning").exists(), 90, "the spawn to start", procs)
    assert disk.exists()

    rig.kill("agent")  # SIGKILL in the middle of the spawn step
    spawn = Action.objects.get(resource_id=server_id, kind="compute.server_spawn")
    assert spawn.status == Action.RUNNING
    Host.objects.filter(hostname=rig.hostname).update(last_heartbeat=core_services.timezone.now()
                                                      - core_services.timedelta(hours=1))

    _reap_now()  # re-sends the lost step ([conductor] max_redrives = 1) ...
    reaped = time.monotonic()
    _reap_now()  # ... which gets no result either: failed, rescheduled, and no other host is up
    server = _wait_for(lambda: Server.objects.filter(pk=server_id, vm_state=Server.ERROR).first(),
                       30, "the server to go to ERROR", procs)
    assert time.monotonic() - reaped < settings.MONOSTACK["conductor"]["reaper_interval"]
    assert server.task_state is None and server.fault["code"] == 500
    assert "No valid host" in server.fault["message"]
    assert server.host == "" and rig.hostname in server.fault["details"]
    r = nova.get(f"servers/{server_id}")
    assert r.body["server"]["status"] == "ERROR" and r.body["server"]["fault"]["code"] == 500

    # The host comes back: the re-sent spawn and the clean-up after it run there; nothing is left.
    rig.start("agent", TEST_SPAWN_DELAY="0")
    _wait_for(lambda: not (rig.instances / server_id).exists()
              and not Action.objects.filter(resource_id=server_id, status__in=Action.OPEN).exists(),
              40, "the host to clean up the failed build", procs)
    assert not list(rig.instances.glob("*/domain.json"))
    server.refresh_from_db()
    assert server.vm_state == Server.ERROR
    r = nova.delete(f"servers/{server_id}")
    assert r.status_code == 204
    _wait_for(lambda: Server.objects.get(pk=server_id).deleted, 30, "the delete", procs)
    assert not rig.instances.exists() or not any(rig.instances.iterdir())
