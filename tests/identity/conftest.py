import json

import pytest
from django.conf import settings
from django.test import Client

from apps.identity import fernet, services


@pytest.fixture(autouse=True)
def identity_conf(tmp_path, monkeypatch):
    """Each test gets its own key repository, a cheap bcrypt cost and an empty token cache."""
    conf = dict(settings.MONOSTACK["identity"], key_repository=str(tmp_path / "keys"), password_hash_rounds=4)
    monkeypatch.setitem(settings.MONOSTACK, "identity", conf)
    fernet.setup()
    services._state().cache.flush()
    yield conf


CATALOG = [("identity", "keystone", "RegionOne", "http://cloud.test/identity"),
           ("block-storage", "cinder", "RegionOne", "http://cloud.test/volume/v3/$(project_id)s")]


@pytest.fixture
def cloud(db):
    """A bootstrapped cloud: returns the bootstrap objects."""
    return services.bootstrap(admin_password="secret-admin", catalog=CATALOG)


class Api:
    """A tiny JSON client speaking to /identity/v3 with an optional token."""

    def __init__(self, token=None):
        self.client = Client()
        self.token = token

    def call(self, method, path, body=None, token=None, headers=None, raw=None):
        extra = {}
        tok = token if token is not None else self.token
        if tok:
            extra["HTTP_X_AUTH_TOKEN"] = tok
        for k, v in (headers or {}).items():
            extra["HTTP_" + k.upper().replace("-", "_")] = v
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        fn = getattr(self.client, method.lower())
        url = path if path.startswith("/") else f"/identity/v3/{path}"
        if data is not None:
            response = fn(url, data=data, content_type="application/json", **extra)
        else:
            response = fn(url, **extra)
        response.json_body = json.loads(response.content) if response.content else None
        return response

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.call("PATCH", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.call("PUT", path, body, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)

    def head(self, path, **kw):
        return self.call("HEAD", path, **kw)


def password_auth(name, password, project=None, domain="Default", system=False, domain_scope=None):
    auth = {"identity": {"methods": ["password"], "password": {"user": {
        "name": name, "domain": {"name": domain}, "password": password}}}}
    if project:
        auth["scope"] = {"project": {"name": project, "domain": {"name": domain}}}
    elif system:
        auth["scope"] = {"system": {"all": True}}
    elif domain_scope:
        auth["scope"] = {"domain": {"name": domain_scope}}
    return {"auth": auth}


@pytest.fixture
def api():
    return Api()


@pytest.fixture
def admin_token(cloud, api):
    r = api.post("auth/tokens", password_auth("admin", "secret-admin", project="admin"))
    assert r.status_code == 201, r.content
    return r["X-Subject-Token"]


@pytest.fixture
def admin(admin_token):
    return Api(admin_token)


def make_user(admin, name, password="pw-" + "x" * 8, project_id=None, role="member"):
    r = admin.post("users", {"user": {"name": name, "domain_id": "default", "password": password}})
    assert r.status_code == 201, r.content
    user = r.json_body["user"]
    if project_id:
        role_id = admin.get(f"roles?name={role}").json_body["roles"][0]["id"]
        assert admin.put(f"projects/{project_id}/users/{user['id']}/roles/{role_id}").status_code == 204
    return user


@pytest.fixture(autouse=True)
def on_commit_runs_now(monkeypatch):
    """The test's transaction never commits; run on-commit work (revocation pushes, cache
    flushes) at once so each request sees the previous one's effects, as in production."""
    from django.db import transaction

    monkeypatch.setattr(transaction, "on_commit", lambda func, using=None, robust=False: func())
