"""Network API tests: a bootstrapped cloud (identity's fixtures), users in projects, a JSON client."""
import json

import pytest
from celery import current_app
from django.test import Client

import apps.core.tasks  # noqa: F401  (core.apply_result: host results land in eager mode)
from apps.network.drivers.fake import FakeNetworkDriver
from tests.identity.conftest import (  # noqa: F401  (shared fixtures)
    Api as IdentityApi, admin, admin_token, api, cloud, identity_conf, make_user, on_commit_runs_now, password_auth)

FAKE = "apps.network.drivers.fake.FakeNetworkDriver"


@pytest.fixture(autouse=True)
def network_conf(settings, tmp_path):
    """Fake driver, host records in a temp dir, eager Celery (JSON round trips)."""
    settings.MONOSTACK = {**settings.MONOSTACK,
                          "DEFAULT": {**settings.MONOSTACK["DEFAULT"], "state_dir": str(tmp_path / "state"),
                                      "hostname": "node1"},
                          "network": {**settings.MONOSTACK["network"], "driver": FAKE, "network_host": ""}}
    FakeNetworkDriver.reset()
    conf = current_app.conf
    saved = conf.task_always_eager, conf.task_eager_propagates
    conf.task_always_eager, conf.task_eager_propagates = True, True
    yield settings.MONOSTACK["network"]
    conf.task_always_eager, conf.task_eager_propagates = saved


class Net:
    """A JSON client for /network/v2.0 with a token."""

    def __init__(self, token):
        self.client, self.token = Client(), token

    def call(self, method, path, body=None, raw=None):
        url = path if path.startswith("/") else f"/network/v2.0/{path}"
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        fn = getattr(self.client, method.lower())
        extra = {"HTTP_X_AUTH_TOKEN": self.token} if self.token else {}
        if data is not None:
            r = fn(url, data=data, content_type="application/json", **extra)
        else:
            r = fn(url, **extra)
        r.body = json.loads(r.content) if r.content else None
        return r

    def get(self, path):
        return self.call("GET", path)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.call("PUT", path, body, **kw)

    def delete(self, path):
        return self.call("DELETE", path)

    # helpers that assert success
    def make(self, collection, member, **attrs):
        r = self.post(collection, {member: attrs})
        assert r.status_code == 201, r.content
        return r.body[member]


@pytest.fixture
def admin_net(admin_token):
    return Net(admin_token)


def _project_user(admin, name, role="member"):
    r = admin.post("projects", {"project": {"name": name, "domain_id": "default"}})
    assert r.status_code == 201, r.content
    project = r.json_body["project"]
    make_user(admin, f"{name}-user", password="pw-" + "x" * 8, project_id=project["id"], role=role)
    r = admin.post("auth/tokens", password_auth(f"{name}-user", "pw-" + "x" * 8, project=name), token="")
    assert r.status_code == 201, r.content
    return project, Net(r["X-Subject-Token"])


@pytest.fixture
def alice(admin):
    return _project_user(admin, "alice")


@pytest.fixture
def bob(admin):
    return _project_user(admin, "bob")


@pytest.fixture
def reader(admin, alice):
    project, _ = alice
    make_user(admin, "alice-reader", password="pw-" + "x" * 8, project_id=project["id"], role="reader")
    r = admin.post("auth/tokens", password_auth("alice-reader", "pw-" + "x" * 8, project="alice"), token="")
    return Net(r["X-Subject-Token"])
