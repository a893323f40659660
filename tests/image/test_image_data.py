"""Upload and download: streamed, checksummed, Range, quotas during the upload, and every bad
input ending in a clean 4xx with the image back in queued and no file left behind."""
import hashlib
import io
import os

import pytest

from apps.core.quotas import quota_set_limit, quota_usage
from apps.image import services
from apps.image.models import Image

from .conftest import BrokenStream

pytestmark = pytest.mark.django_db


def store_files(image_conf):
    d = image_conf["store_dir"]
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def usage(project):
    return quota_usage(project, resources=[services.QUOTA_COUNT, services.QUOTA_BYTES])


def test_upload_download_roundtrip(u1, image_conf):
    data = os.urandom(3 * services.CHUNK_SIZE + 123)
    image = u1.create(name="blob")
    r = u1.upload(image["id"], data)
    assert r.status_code == 204, r.content
    body = u1.get(f"images/{image['id']}").json_body
    assert body["status"] == "active" and body["size"] == len(data) and body["virtual_size"] == len(data)
    assert body["checksum"] == hashlib.md5(data).hexdigest()
    assert body["os_hash_algo"] == "sha512" and body["os_hash_value"] == hashlib.sha512(data).hexdigest()
    r = u1.get(f"images/{image['id']}/file")
    assert r.status_code == 200 and r.data_bytes == data
    assert r["Content-MD5"] == body["checksum"] and r["Content-Type"] == "application/octet-stream"
    assert int(r["Content-Length"]) == len(data)
    assert store_files(image_conf) == [image["id"]]


def test_chunked_upload(u1):
    data = os.urandom(2 * services.CHUNK_SIZE + 7)
    image = u1.create(name="chunked")
    r = u1.upload_stream(image["id"], io.BytesIO(data))
    assert r.status_code == 204, r.content
    assert u1.get(f"images/{image['id']}/file").data_bytes == data


def test_range_requests(u1):
    data = bytes(range(256)) * 4
    image = u1.create(name="r")
    u1.upload(image["id"], data)
    for header, start, end in (("bytes=0-9", 0, 9), ("bytes=1000-", 1000, 1023), ("bytes=-5", 1019, 1023),
                               ("bytes=1020-5000", 1020, 1023)):
        r = u1.get(f"images/{image['id']}/file", headers={"Range": header})
        assert r.status_code == 206, header
        assert r.data_bytes == data[start:end + 1]
        assert r["Content-Range"] == f"bytes {start}-{end}/1024"
    for header in ("bytes=2000-", "bytes=5-1", "lines=1-2", "bytes=0-1,4-5", "bytes=x-"):
        r = u1.get(f"images/{image['id']}/file", headers={"Range": header})
        assert r.status_code == 416, header
        assert r["Content-Range"] == "bytes */1024"


def test_download_of_queued_image_is_204(u1):
    image = u1.create(name="empty")
    assert u1.get(f"images/{image['id']}/file").status_code == 204


def test_second_upload_is_409(u1):
    image = u1.create(name="once")
    assert u1.upload(image["id"], b"first").status_code == 204
    assert u1.upload(image["id"], b"second").status_code == 409
    assert u1.get(f"images/{image['id']}/file").data_bytes == b"first"


def test_upload_while_saving_is_409(u1):
    image = u1.create(name="busy")
    Image.objects.filter(pk=image["id"]).update(status="saving")
    assert u1.upload(image["id"], b"x").status_code == 409


def test_upload_needs_formats(u1):
    r = u1.post("images", {"name": "noformat"})
    image = r.json_body
    r = u1.upload(image["id"], b"x")
    assert r.status_code == 400 and "disk_format, container_format" in r.json_body["error"]["message"]
    assert u1.get(f"images/{image['id']}").json_body["status"] == "queued"


def test_upload_wrong_content_type_is_415(u1):
    image = u1.create(name="ct")
    r = u1.call("PUT", f"images/{image['id']}/file", raw=b"x", content_type="text/plain")
    assert r.status_code == 415


def test_others_cannot_upload(u1, u2, r1):
    image = u1.create(name="mine", visibility="community")
    assert u2.upload(image["id"], b"x").status_code == 403
    assert r1.upload(image["id"], b"x").status_code == 403
    private = u1.create(name="private", visibility="private")
    assert u2.upload(private["id"], b"x").status_code == 404


def assert_clean(u1, image_id, image_conf, project, bytes_in_use=0):
    body = u1.get(f"images/{image_id}").json_body
    assert body["status"] == "queued" and body["size"] is None and body["checksum"] is None
    assert store_files(image_conf) == []
    assert not [f for f in os.listdir(image_conf["store_dir"]) if f.startswith(".")] \
        if os.path.isdir(image_conf["store_dir"]) else True
    assert usage(project)[services.QUOTA_BYTES]["in_use"] == bytes_in_use


def test_size_mismatch_with_declared_size(u1, image_conf, projects):
    image = u1.create(name="mismatch")
    r = u1.upload(image["id"], b"12345", headers={"x-openstack-image-size": "9"})
    assert r.status_code == 400
    assert_clean(u1, image["id"], image_conf, projects["p1"])


def test_client_disconnects_mid_upload(u1, image_conf, projects):
    image = u1.create(name="gone")
    data = os.urandom(services.CHUNK_SIZE + 10)
    r = u1.upload_stream(image["id"], BrokenStream(data), length=len(data) + 5000)
    assert r.status_code == 400
    assert_clean(u1, image["id"], image_conf, projects["p1"])


def test_connection_error_mid_chunked_upload(u1, image_conf, projects):
    image = u1.create(name="reset")
    r = u1.upload_stream(image["id"], BrokenStream(os.urandom(3 * services.CHUNK_SIZE),
                                                   ConnectionResetError("peer reset")))
    assert r.status_code == 400
    assert_clean(u1, image["id"], image_conf, projects["p1"])


def test_quota_exceeded_mid_chunked_upload(u1, image_conf, projects):
    quota_set_limit(project_id=projects["p1"], resource=services.QUOTA_BYTES, limit=2 * services.CHUNK_SIZE)
    image = u1.create(name="big")
    r = u1.upload_stream(image["id"], io.BytesIO(os.urandom(3 * services.CHUNK_SIZE)))
    assert r.status_code == 413, r.content
    assert_clean(u1, image["id"], image_conf, projects["p1"])
    # A smaller one still fits: the step reservation falls back to what is needed.
    small = os.urandom(services.CHUNK_SIZE + 1)
    assert u1.upload_stream(image["id"], io.BytesIO(small)).status_code == 204
    assert usage(projects["p1"])[services.QUOTA_BYTES]["in_use"] == len(small)


def test_quota_exceeded_by_declared_length(u1, image_conf, projects):
    quota_set_limit(project_id=projects["p1"], resource=services.QUOTA_BYTES, limit=10)
    image = u1.create(name="big")
    assert u1.upload(image["id"], b"x" * 11).status_code == 413
    assert_clean(u1, image["id"], image_conf, projects["p1"])


def test_image_count_quota_and_release_on_delete(u1, projects):
    quota_set_limit(project_id=projects["p1"], resource=services.QUOTA_COUNT, limit=1)
    image = u1.create(name="one")
    assert u1.post("images", {"name": "two"}).status_code == 413
    u1.upload(image["id"], b"abc")
    assert usage(projects["p1"])[services.QUOTA_BYTES]["in_use"] == 3
    assert u1.delete(f"images/{image['id']}").status_code == 204
    assert usage(projects["p1"]) == {services.QUOTA_COUNT: {"in_use": 0, "limit": 1},
                                     services.QUOTA_BYTES: {"in_use": 0, "limit": -1}}
    assert u1.post("images", {"name": "two"}).status_code == 201


def test_size_cap(u1, image_conf, projects):
    image_conf["max_image_size"] = 100
    image = u1.create(name="capped")
    assert u1.upload(image["id"], b"x" * 101).status_code == 413
    assert u1.upload_stream(image["id"], io.BytesIO(b"x" * 101)).status_code == 413
    assert_clean(u1, image["id"], image_conf, projects["p1"])


def test_store_full_is_413_and_clean(u1, image_conf, projects):
    from apps.image.stores.fake import FakeStore

    image_conf["store_driver"] = "apps.image.stores.fake.FakeStore"
    FakeStore.fail_after = 10
    image = u1.create(name="full")
    assert u1.upload(image["id"], b"x" * 50).status_code == 413
    assert FakeStore(image_conf["store_dir"]).locations() == []
    assert u1.get(f"images/{image['id']}").json_body["status"] == "queued"


def test_delete_during_upload_is_410_and_clean(u1, image_conf, projects):
    image = u1.create(name="vanishing")

    class DeletingStream(io.RawIOBase):
        sent = False

        def read(self, n=-1):
            if not self.sent:
                self.sent = True
                return b"x" * 100
            Image.objects.filter(pk=image["id"]).delete()
            return b""

    r = u1.upload_stream(image["id"], DeletingStream())
    assert r.status_code == 410
    assert store_files(image_conf) == []
    assert usage(projects["p1"])[services.QUOTA_BYTES]["in_use"] == 0


def test_delete_removes_data(u1, image_conf):
    image = u1.create(name="bye")
    u1.upload(image["id"], b"data")
    assert store_files(image_conf) == [image["id"]]
    u1.delete(f"images/{image['id']}")
    assert store_files(image_conf) == []


def test_upload_never_reads_request_body(u1, monkeypatch):
    """Data is read from wsgi.input in chunks; request.body (whole body in memory) is never touched."""
    from django.core.handlers.wsgi import WSGIRequest

    def forbidden(self):
        raise AssertionError("request.body read during an upload")

    monkeypatch.setattr(WSGIRequest, "body", property(forbidden))
    image = u1.create(name="stream")
    assert u1.upload(image["id"], b"y" * 5000).status_code == 204


def test_accept_headers_never_406(u1):
    image = u1.create(name="accept")
    r = u1.upload(image["id"], b"abc", headers={"Accept": "application/octet-stream"})
    assert r.status_code == 204
    r = u1.get(f"images/{image['id']}/file", headers={"Accept": "application/octet-stream"})
    assert r.status_code == 200 and r.data_bytes == b"abc"
    assert u1.get(f"images/{image['id']}", headers={"Accept": "text/html"}).status_code == 200


def test_sweep_removes_orphans_and_partials_only(u1, image_conf):
    from django.core.management import call_command

    image = u1.create(name="kept")
    u1.upload(image["id"], b"kept data")
    store_dir = image_conf["store_dir"]
    orphan = os.path.join(store_dir, "00000000-0000-0000-0000-00000000dead")
    partial = os.path.join(store_dir, ".abc.1234.partial")
    fresh = os.path.join(store_dir, "00000000-0000-0000-0000-00000000f00d")
    for path in (orphan, partial, fresh):
        with open(path, "wb") as f:
            f.write(b"x")
    os.utime(orphan, (0, 0))
    os.utime(partial, (0, 0))
    out = io.StringIO()
    call_command("image_sweep", "--dry-run", stdout=out)
    assert "would remove 1 orphan(s)" in out.getvalue() and os.path.exists(orphan)
    call_command("image_sweep", stdout=out)
    assert sorted(os.listdir(store_dir)) == sorted([image["id"], os.path.basename(fresh)])
    assert u1.get(f"images/{image['id']}/file").data_bytes == b"kept data"
    # beat runs the same sweep hourly
    from apps.image.tasks import image_store_sweep_task

    os.utime(fresh, (0, 0))
    assert image_store_sweep_task() == {"orphans": 1, "partials": 0}
    assert os.listdir(store_dir) == [image["id"]]


def test_image_quota_command(u1, projects):
    from django.core.management import call_command

    out = io.StringIO()
    call_command("image_quota", projects["p1"], "--bytes", "10", "--images", "5", stdout=out)
    assert "image_bytes_total: 0 in use, limit 10" in out.getvalue()
    image = u1.create(name="q")
    assert u1.upload(image["id"], b"x" * 11).status_code == 413
    assert u1.upload(image["id"], b"x" * 10).status_code == 204
