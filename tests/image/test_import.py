"""Interoperable import: glance-direct (stage, then import) and web-download with its SSRF guard."""
import hashlib
import http.server
import os
import threading

import pytest

from apps.image import webdownload

pytestmark = pytest.mark.django_db


def test_glance_direct(u1, image_conf):
    data = os.urandom(100_000)
    image = u1.create(name="staged")
    assert u1.upload(image["id"], data, path="stage").status_code == 204
    body = u1.get(f"images/{image['id']}").json_body
    assert body["status"] == "uploading" and body["size"] == len(data)
    assert u1.upload(image["id"], data, path="stage").status_code == 409
    r = u1.post(f"images/{image['id']}/import", {"method": {"name": "glance-direct"}})
    assert r.status_code == 202, r.content
    body = u1.get(f"images/{image['id']}").json_body
    assert body["status"] == "active" and body["checksum"] == hashlib.md5(data).hexdigest()
    assert u1.get(f"images/{image['id']}/file").data_bytes == data
    assert os.listdir(image_conf["staging_dir"]) == []


def test_import_preconditions(u1):
    image = u1.create(name="x")
    assert u1.post(f"images/{image['id']}/import", {"method": {"name": "glance-direct"}}).status_code == 409
    assert u1.post(f"images/{image['id']}/import", {"method": {"name": "copy-image"}}).status_code == 400
    assert u1.post(f"images/{image['id']}/import", {}).status_code == 400
    assert u1.post(f"images/{image['id']}/import", {"method": {"name": "web-download"}}).status_code == 400
    noformat = u1.post("images", {"name": "y"}).json_body
    r = u1.post(f"images/{noformat['id']}/import", {"method": {"name": "web-download", "uri": "http://x/"}})
    assert r.status_code == 409
    u1.upload(image["id"], b"data")
    r = u1.post(f"images/{image['id']}/import", {"method": {"name": "web-download", "uri": "http://x/"}})
    assert r.status_code == 409


def test_stage_disabled(u1, image_conf):
    image_conf["enabled_import_methods"] = "web-download"
    image = u1.create(name="x")
    assert u1.upload(image["id"], b"x", path="stage").status_code == 404


class _Handler(http.server.BaseHTTPRequestHandler):
    payload = b""
    redirect = None

    def do_GET(self):
        if self.redirect:
            self.send_response(302)
            self.send_header("Location", self.redirect)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.payload)))
        self.end_headers()
        self.wfile.write(self.payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def web_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    _Handler.redirect = None


def test_web_download_refuses_private_addresses_by_default(u1, web_server, image_conf):
    image_conf["web_download_allowed_ports"] = ""
    image = u1.create(name="ssrf")
    for uri in (f"http://127.0.0.1:{web_server.server_port}/img", "http://localhost/", "http://169.254.169.254/",
                "http://10.0.0.1/", "http://[::1]/", "file:///etc/passwd", "gopher://x/", "http://u:p@example.com/"):
        r = u1.post(f"images/{image['id']}/import", {"method": {"name": "web-download", "uri": uri}})
        assert r.status_code == 400, uri
    assert u1.get(f"images/{image['id']}").json_body["status"] == "queued"


def test_web_download_port_filter(u1, image_conf):
    image = u1.create(name="ports")
    r = u1.post(f"images/{image['id']}/import",
                {"method": {"name": "web-download", "uri": "http://203.0.113.9:6379/"}})
    assert r.status_code == 400 and "port" in r.json_body["error"]["message"]


def test_web_download_when_private_allowed(u1, web_server, image_conf):
    image_conf.update(web_download_allow_private=True, web_download_allowed_ports="")
    _Handler.payload = os.urandom(300_000)
    image = u1.create(name="web")
    uri = f"http://127.0.0.1:{web_server.server_port}/cirros.img"
    r = u1.post(f"images/{image['id']}/import", {"method": {"name": "web-download", "uri": uri}})
    assert r.status_code == 202, r.content
    body = u1.get(f"images/{image['id']}").json_body
    assert body["status"] == "active" and body["size"] == 300_000
    assert u1.get(f"images/{image['id']}/file").data_bytes == _Handler.payload


def test_web_download_failure_returns_to_queued(u1, web_server, image_conf):
    image_conf.update(web_download_allow_private=True, web_download_allowed_ports=str(web_server.server_port))
    _Handler.redirect = "http://127.0.0.1:1/elsewhere"  # a port that is not allowed
    image = u1.create(name="redirected")
    uri = f"http://127.0.0.1:{web_server.server_port}/img"
    assert u1.post(f"images/{image['id']}/import",
                   {"method": {"name": "web-download", "uri": uri}}).status_code == 202
    body = u1.get(f"images/{image['id']}").json_body
    assert body["status"] == "queued" and body["size"] is None


@pytest.mark.parametrize("address,allowed", [
    ("8.8.8.8", True), ("2001:4860:4860::8888", True), ("127.0.0.1", False), ("10.1.2.3", False),
    ("172.16.0.1", False), ("192.168.1.1", False), ("169.254.169.254", False), ("100.64.0.1", False),
    ("0.0.0.0", False), ("::1", False), ("fe80::1", False), ("fc00::1", False), ("::ffff:127.0.0.1", False),
    ("224.0.0.1", False), ("255.255.255.255", False),
])
def test_address_filter(address, allowed):
    assert webdownload.address_allowed(address) is allowed
