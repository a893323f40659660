"""Image tests: a bootstrapped cloud (identity's fixtures), two projects with a member user
each and a reader, a filesystem store in a temp dir, the fake image tool, eager Celery."""
import io
import json

import pytest
from celery import current_app
from django.conf import settings
from django.test import Client

from apps.image.stores.fake import FakeStore
from tests.identity.conftest import (Api, admin, admin_token, api, cloud, identity_conf,  # noqa: F401
                                     make_user, on_commit_runs_now, password_auth)

PASSWORD = "pw-image-tests"


@pytest.fixture(autouse=True)
def image_conf(tmp_path, monkeypatch):
    conf = dict(settings.MONOSTACK["image"],
                store_driver="apps.image.stores.filesystem.FilesystemStore",
                store_dir=str(tmp_path / "images"), staging_dir=str(tmp_path / "staging"),
                image_tool_driver="apps.image.drivers.fake.FakeImageToolDriver",
                web_download_allow_private=False, web_download_allowed_ports="80,443")
    monkeypatch.setitem(settings.MONOSTACK, "image", conf)
    FakeStore.reset()
    return conf


@pytest.fixture(autouse=True)
def celery_eager():
    conf = current_app.conf
    saved = conf.task_always_eager, conf.task_eager_propagates
    conf.task_always_eager, conf.task_eager_propagates = True, True
    yield
    conf.task_always_eager, conf.task_eager_propagates = saved


class ImageApi:
    """A client of /image with a token: JSON calls, raw data calls and streamed uploads."""

    def __init__(self, token):
        self.client = Client()
        self.token = token

    def _headers(self, headers):
        extra = {"HTTP_X_AUTH_TOKEN": self.token} if self.token else {}
        for key, value in (headers or {}).items():
            name = key.upper().replace("-", "_")
            extra[name if name in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + name] = value
        return extra

    def call(self, method, path, body=None, *, content_type="application/json", headers=None, raw=None):
        url = path if path.startswith("/") else f"/image/v2/{path}"
        data = raw if raw is not None else (json.dumps(body) if body is not None else "")
        response = self.client.generic(method, url, data=data, content_type=content_type,
                                       **self._headers(headers))
        if getattr(response, "streaming", False):
            response.data_bytes = b"".join(response.streaming_content)
        else:
            response.data_bytes = response.content
        try:
            response.json_body = json.loads(response.data_bytes) if response.data_bytes else None
        except ValueError:
            response.json_body = None
        return response

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.call("PUT", path, body, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)

    def patch(self, path, ops, **kw):
        return self.call("PATCH", path, raw=json.dumps(ops),
                         content_type="application/openstack-images-v2.1-json-patch", **kw)

    def create(self, **body):
        body.setdefault("disk_format", "raw")
        body.setdefault("container_format", "bare")
        r = self.post("images", body)
        assert r.status_code == 201, r.content
        return r.json_body

    def upload(self, image_id, data, *, headers=None, path="file"):
        return self.call("PUT", f"images/{image_id}/{path}", raw=data, content_type="application/octet-stream",
                         headers=headers)

    def upload_stream(self, image_id, stream, *, length=None, path="file", headers=None):
        """A PUT whose body is read from ``stream`` (chunked when ``length`` is None)."""
        extra = self._headers(headers)
        extra["wsgi.input"] = stream
        extra["CONTENT_TYPE"] = "application/octet-stream"
        if length is None:
            extra["HTTP_TRANSFER_ENCODING"] = "chunked"
            extra["CONTENT_LENGTH"] = ""
        else:
            extra["CONTENT_LENGTH"] = str(length)
        response = self.client.generic("PUT", f"/image/v2/images/{image_id}/{path}", data=b"", **extra)
        response.json_body = json.loads(response.content) if response.content else None
        return response


class BrokenStream(io.RawIOBase):
    """A client that sends ``data`` and then goes away."""

    def __init__(self, data, error=None):
        self._data = io.BytesIO(data)
        self._error = error

    def read(self, n=-1):
        chunk = self._data.read(n)
        if not chunk and self._error is not None:
            raise self._error
        return chunk


def _token(api, user, project):
    r = api.post("auth/tokens", password_auth(user, PASSWORD, project=project))
    assert r.status_code == 201, r.content
    return r["X-Subject-Token"]


@pytest.fixture
def projects(admin, api):
    """p1 (users u1 member, r1 reader) and p2 (u2 member)."""
    out = {}
    for name in ("p1", "p2"):
        r = admin.post("projects", {"project": {"name": name, "domain_id": "default"}})
        assert r.status_code == 201, r.content
        out[name] = r.json_body["project"]["id"]
    make_user(admin, "u1", PASSWORD, out["p1"])
    make_user(admin, "r1", PASSWORD, out["p1"], role="reader")
    make_user(admin, "u2", PASSWORD, out["p2"])
    return out


@pytest.fixture
def u1(projects, api):
    return ImageApi(_token(api, "u1", "p1"))


@pytest.fixture
def u2(projects, api):
    return ImageApi(_token(api, "u2", "p2"))


@pytest.fixture
def r1(projects, api):
    return ImageApi(_token(api, "r1", "p1"))


@pytest.fixture
def adm(admin_token):
    return ImageApi(admin_token)
