"""The image service through the real python-openstackclient and openstacksdk, against `./stack up`.

The acceptance list of issue 5: create from a file, list, show, save (byte-identical), set
properties and tags, share with another project which accepts with `image set --accept`,
delete; openstacksdk create_image and download_image; bad input gets a clean 4xx and leaves
no orphan file.
"""
import hashlib
import json
import secrets
import socket
import time
import urllib.parse
import uuid

import pytest
import requests

from tests.image.diskimages import qcow2

pytestmark = pytest.mark.e2e

SUFFIX = uuid.uuid4().hex[:8]
OTHER_PROJECT, OTHER_USER = f"img-p2-{SUFFIX}", f"img-u2-{SUFFIX}"
OTHER_PASSWORD = "pw-" + secrets.token_urlsafe(16)  # never starts with "-" (argparse)


@pytest.fixture(scope="module")
def image_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("image") / "disk.qcow2"
    path.write_bytes(qcow2(64 << 20))
    return path


@pytest.fixture(scope="module")
def other(cloud):
    """A second project with a member user, to share with."""
    project = cloud.openstack_json("project", "create", OTHER_PROJECT)
    cloud.openstack("user", "create", "--domain", "default", "--password", OTHER_PASSWORD, OTHER_USER)
    cloud.openstack("role", "add", "--project", OTHER_PROJECT, "--user", OTHER_USER, "member")
    return {"project": project, "env": cloud.user_env(OTHER_USER, OTHER_PASSWORD, OTHER_PROJECT)}


@pytest.fixture(scope="module")
def my_image(cloud, image_file):
    return cloud.openstack_json("image", "create", "--disk-format", "qcow2", "--container-format", "bare",
                                "--file", str(image_file), f"my_image-{SUFFIX}")


class ImageHttp:
    def __init__(self, cloud):
        self.url = f"{cloud.url}/image/v2"
        self.token = cloud.issue_token()

    def __call__(self, method, path, **kw):
        headers = {"X-Auth-Token": self.token, **kw.pop("headers", {})}
        return requests.request(method, f"{self.url}/{path}", headers=headers, timeout=60, **kw)

    def create(self, **body):
        body = {"disk_format": "raw", "container_format": "bare", **body}
        r = self("POST", "images", json=body)
        assert r.status_code == 201, r.text
        return r.json()


@pytest.fixture(scope="module")
def http(cloud):
    return ImageHttp(cloud)


def store_files(cloud):
    directory = cloud.base / "state" / "images"
    return sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []


def test_create_from_file(cloud, my_image, image_file):
    assert my_image["status"] == "active"
    assert my_image["size"] == image_file.stat().st_size
    assert my_image["checksum"] == hashlib.md5(image_file.read_bytes()).hexdigest()
    assert my_image["disk_format"] == "qcow2" and my_image["container_format"] == "bare"


def test_list_and_show(cloud, my_image):
    rows = cloud.openstack_json("image", "list")
    assert my_image["id"] in {row["ID"] for row in rows}
    shown = cloud.openstack_json("image", "show", my_image["id"])
    assert shown["name"] == my_image["name"] and shown["virtual_size"] == 64 << 20


def test_save_is_byte_identical(cloud, my_image, image_file, tmp_path):
    out = tmp_path / "out"
    cloud.openstack("image", "save", "--file", str(out), my_image["id"])
    assert out.read_bytes() == image_file.read_bytes()


def test_set_property_and_tag(cloud, my_image):
    cloud.openstack("image", "set", "--property", "k=v", "--tag", "t", my_image["id"])
    shown = cloud.openstack_json("image", "show", my_image["id"])
    assert shown["properties"]["k"] == "v" and "t" in shown["tags"]


def test_share_and_accept(cloud, my_image, other):
    cloud.openstack("image", "add", "project", my_image["id"], OTHER_PROJECT)
    members = cloud.openstack_json("image", "member", "list", my_image["id"])
    assert [(m["Member ID"], m["Status"]) for m in members] == [(other["project"]["id"], "pending")]
    listed = {row["ID"] for row in cloud.openstack_json("image", "list", env=other["env"])}
    assert my_image["id"] not in listed  # pending: not listed yet
    cloud.openstack("image", "set", "--accept", my_image["id"], env=other["env"])
    members = cloud.openstack_json("image", "member", "list", my_image["id"])
    assert [m["Status"] for m in members] == ["accepted"]
    listed = {row["ID"] for row in cloud.openstack_json("image", "list", env=other["env"])}
    assert my_image["id"] in listed


def test_private_image_of_another_project_is_not_found(cloud, other, http):
    image = http.create(name=f"private-{SUFFIX}", visibility="private")
    proc = cloud.openstack("image", "show", image["id"], env=other["env"], check=False)
    assert proc.returncode != 0
    http("DELETE", f"images/{image['id']}")


def test_openstacksdk_create_and_download(cloud, image_file, tmp_path):
    import openstack.config
    from openstack import connection

    config = openstack.config.OpenStackConfig(config_files=[str(cloud.clouds_yaml)])
    conn = connection.Connection(config=config.get_one("monostack"))
    image = conn.create_image(f"sdk-{SUFFIX}", filename=str(image_file), disk_format="qcow2",
                              container_format="bare", wait=True)
    assert image.status == "active"
    out = tmp_path / "sdk.out"
    conn.download_image(image.id, output_path=str(out))
    assert out.read_bytes() == image_file.read_bytes()
    conn.delete_image(image.id, wait=True)


def test_delete(cloud, my_image):
    cloud.openstack("image", "delete", my_image["id"])
    rows = cloud.openstack_json("image", "list")
    assert my_image["id"] not in {row["ID"] for row in rows}
    assert my_image["id"] not in store_files(cloud)


# ---------------------------------------------------------------- bad input: clean 4xx, no orphans

def test_unknown_disk_format(http):
    assert http("POST", "images", json={"name": "x", "disk_format": "floppy"}).status_code == 400


def test_second_upload_and_deactivated(http):
    image = http.create(name=f"twice-{SUFFIX}")
    headers = {"Content-Type": "application/octet-stream"}
    assert http("PUT", f"images/{image['id']}/file", data=b"one", headers=headers).status_code == 204
    assert http("PUT", f"images/{image['id']}/file", data=b"two", headers=headers).status_code == 409
    assert http("POST", f"images/{image['id']}/actions/deactivate").status_code == 204
    assert http("PUT", f"images/{image['id']}/file", data=b"two", headers=headers).status_code == 409
    http("POST", f"images/{image['id']}/actions/reactivate")
    assert http("GET", f"images/{image['id']}/file").content == b"one"
    http("DELETE", f"images/{image['id']}")


def test_bad_json_patch_paths(http):
    image = http.create(name=f"patch-{SUFFIX}")
    headers = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
    for ops in ([{"op": "replace", "path": "name", "value": "x"}],
                [{"op": "replace", "path": "/a/b", "value": "x"}],
                [{"op": "replace", "path": "/a~2", "value": "x"}]):
        assert http("PATCH", f"images/{image['id']}", data=json.dumps(ops), headers=headers).status_code == 400
    ops = [{"op": "replace", "path": "/status", "value": "active"}]
    assert http("PATCH", f"images/{image['id']}", data=json.dumps(ops), headers=headers).status_code == 403
    http("DELETE", f"images/{image['id']}")


def test_size_mismatch_leaves_queued_and_no_file(cloud, http):
    image = http.create(name=f"mismatch-{SUFFIX}")
    r = http("PUT", f"images/{image['id']}/file", data=b"12345",
             headers={"Content-Type": "application/octet-stream", "x-openstack-image-size": "99"})
    assert r.status_code == 400
    assert http("GET", f"images/{image['id']}").json()["status"] == "queued"
    assert image["id"] not in store_files(cloud)
    http("DELETE", f"images/{image['id']}")


@pytest.mark.xfail(strict=False, reason="open bug: in a full e2e run (not alone, not in the unit tests) the image "
                   "sometimes stays 'saving' after the client goes away mid-upload; see the image issue's note")
def test_client_disconnects_mid_upload(cloud, http):
    image = http.create(name=f"disconnect-{SUFFIX}")
    parts = urllib.parse.urlsplit(cloud.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall((f"PUT /image/v2/images/{image['id']}/file HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                      f"X-Auth-Token: {http.token}\r\nContent-Type: application/octet-stream\r\n"
                      f"Content-Length: {10 << 20}\r\n\r\n").encode())
        sock.sendall(b"x" * (1 << 20))
    # The server notices the short body only when a worker thread reads it, which on a loaded
    # 2-core machine can be many seconds later: wait generously, poll often.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if http("GET", f"images/{image['id']}").json()["status"] == "queued":
            break
        time.sleep(0.2)
    assert http("GET", f"images/{image['id']}").json()["status"] == "queued"
    assert image["id"] not in store_files(cloud)
    assert not [p for p in store_files(cloud) if p.startswith(f".{image['id']}")]
    http("DELETE", f"images/{image['id']}")


def test_unsafe_qcow2_is_refused(cloud, http):
    image = http.create(name=f"backing-{SUFFIX}", disk_format="qcow2")
    r = http("PUT", f"images/{image['id']}/file", data=qcow2(1 << 20, backing="/etc/passwd"),
             headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 400
    assert http("GET", f"images/{image['id']}").json()["status"] == "queued"
    assert image["id"] not in store_files(cloud)
    http("DELETE", f"images/{image['id']}")
