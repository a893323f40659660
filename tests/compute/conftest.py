"""Compute API tests: identity's fixtures, fake compute and network drivers, fake hosts.

Celery runs eagerly (JSON round trips); a host step runs "on" its target host: the agent's
hostname is switched to the Action's host while it runs, so results come from the right host.
"""
import json
from contextlib import contextmanager

import pytest
from celery import current_app
from django.conf import settings
from django.test import Client

from apps.compute.drivers.fake import FakeComputeDriver
from apps.core import rpc, tasks as core_tasks  # noqa: F401  (core.apply_result, core.host_report)
from apps.core.services import host_register
from apps.network.drivers.fake import FakeNetworkDriver
from tests.identity.conftest import (  # noqa: F401  (shared fixtures)
    Api as IdentityApi, admin, admin_token, api, cloud, identity_conf, make_user, on_commit_runs_now, password_auth)

PW = "pw-" + "x" * 8


@contextmanager
def on_host(hostname):
    default = settings.MONOSTACK["DEFAULT"]
    saved = default["hostname"]
    default["hostname"] = hostname
    try:
        yield
    finally:
        default["hostname"] = saved


@pytest.fixture(autouse=True)
def compute_conf(settings, tmp_path, monkeypatch):
    settings.MONOSTACK = {
        **settings.MONOSTACK,
        "DEFAULT": {**settings.MONOSTACK["DEFAULT"], "state_dir": str(tmp_path / "state"), "hostname": "node1",
                    "public_url": "http://cloud.test"},
        "network": {**settings.MONOSTACK["network"], "driver": "apps.network.drivers.fake.FakeNetworkDriver",
                    "network_host": "node1", "metadata_secret": "s3cret"},
        "compute": {**settings.MONOSTACK["compute"], "driver": "apps.compute.drivers.fake.FakeComputeDriver",
                    "max_attempts": 3},
        "agent": {**settings.MONOSTACK["agent"], "credential_file": str(tmp_path / "no-host-credential.json")},
    }
    FakeComputeDriver.reset()
    FakeNetworkDriver.reset()
    real_send = rpc.send_host_task

    def send_on_host(host, task_name, dto):
        with on_host(getattr(host, "hostname", host)):
            return real_send(host, task_name, dto)

    monkeypatch.setattr(rpc, "send_host_task", send_on_host)
    conf = current_app.conf
    saved = conf.task_always_eager, conf.task_eager_propagates
    conf.task_always_eager, conf.task_eager_propagates = True, True
    yield settings.MONOSTACK["compute"]
    conf.task_always_eager, conf.task_eager_propagates = saved
    FakeComputeDriver.reset()
    FakeNetworkDriver.reset()


def add_host(name, cpus=8, memory_mb=16384, disk_gb=200):
    return host_register(hostname=name, cpus=cpus, memory_mb=memory_mb, disk_gb=disk_gb, hypervisor_type="QEMU")


@pytest.fixture
def hosts(db):
    return [add_host("node1")]


class Nova:
    """A JSON client for /compute/v2.1 with a token and an optional microversion."""

    def __init__(self, token, version=None):
        self.client, self.token, self.version = Client(), token, version

    def call(self, method, path, body=None, raw=None, version=None, headers=None):
        url = path if path.startswith("/") else f"/compute/v2.1/{path}"
        extra = {"HTTP_X_AUTH_TOKEN": self.token} if self.token else {}
        v = version or self.version
        if v:
            extra["HTTP_OPENSTACK_API_VERSION"] = f"compute {v}"
        for k, val in (headers or {}).items():
            extra["HTTP_" + k.upper().replace("-", "_")] = val
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        fn = getattr(self.client, method.lower())
        r = fn(url, data=data, content_type="application/json", **extra) if data is not None else fn(url, **extra)
        r.body = json.loads(r.content) if r.content and r["Content-Type"].startswith("application/json") else None
        return r

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.call("PUT", path, body, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)


def project_user(admin, name, role="member"):
    r = admin.post("projects", {"project": {"name": name, "domain_id": "default"}})
    assert r.status_code == 201, r.content
    project = r.json_body["project"]
    user = make_user(admin, f"{name}-user", password=PW, project_id=project["id"], role=role)
    r = admin.post("auth/tokens", password_auth(f"{name}-user", PW, project=name), token="")
    assert r.status_code == 201, r.content
    return {"project": project, "user": user, "token": r["X-Subject-Token"], "nova": Nova(r["X-Subject-Token"])}


@pytest.fixture
def nova_admin(admin_token):
    from apps.compute.services import flavors_bootstrap
    flavors_bootstrap()
    return Nova(admin_token)


@pytest.fixture
def alice(admin, nova_admin):
    return project_user(admin, "alice")


@pytest.fixture
def bob(admin, nova_admin):
    return project_user(admin, "bob")


@pytest.fixture
def alice_reader(admin, alice):
    make_user(admin, "alice-reader", password=PW, project_id=alice["project"]["id"], role="reader")
    r = admin.post("auth/tokens", password_auth("alice-reader", PW, project="alice"), token="")
    return Nova(r["X-Subject-Token"])


@pytest.fixture
def image(db):
    from apps.image.models import Image
    return Image.objects.create(name="tiny", status="active", visibility="public", disk_format="qcow2",
                                container_format="bare", size=1024, checksum="0" * 32, location="fake://tiny",
                                owner="someone")


def make_network(project_id, name="private-net", cidr="10.0.0.0/24", **extra):
    from apps.network import services as net
    from apps.network.context import NetContext
    ctx = NetContext.admin(project_id)
    network = net.network_create(ctx=ctx, data={"name": name, "project_id": project_id, **extra})
    net.subnet_create(ctx=ctx, data={"network_id": str(network.id), "ip_version": 4, "cidr": cidr,
                                     "project_id": project_id, "name": f"{name}-subnet"})
    return network


@pytest.fixture
def alice_net(alice):
    return make_network(alice["project"]["id"])


def boot(nova, image, flavor="1", expect=202, **server):
    body = {"server": {"name": "vm", "imageRef": str(image.id), "flavorRef": flavor, **server}}
    r = nova.post("servers", body)
    assert r.status_code == expect, r.content
    return r.body


@pytest.fixture(autouse=True)
def request_ids_restored():
    """Eager tasks run outside a request set the request-id context vars (task_prerun);
    put them back so no id leaks into later tests."""
    from apps.core.context import global_request_id_var, request_id_var
    t1, t2 = request_id_var.set(request_id_var.get()), global_request_id_var.set(global_request_id_var.get())
    yield
    request_id_var.reset(t1)
    global_request_id_var.reset(t2)
