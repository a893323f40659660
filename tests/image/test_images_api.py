"""Images CRUD, JSON patch, tags, deactivation: shapes and status codes as the Glance v2 api-ref."""
import hashlib

import pytest

from apps.core.api.validation import validate
from apps.image.api import schemas

pytestmark = pytest.mark.django_db

IMAGE_KEYS = {"id", "name", "status", "visibility", "protected", "os_hidden", "checksum", "os_hash_algo",
              "os_hash_value", "owner", "size", "virtual_size", "container_format", "disk_format",
              "created_at", "updated_at", "tags", "min_ram", "min_disk", "self", "file", "schema"}


def test_versions(u1):
    r = u1.get("/image")
    assert r.status_code == 300
    ids = [v["id"] for v in r.json_body["versions"]]
    assert ids[0] == "v2.7" and ids[-1] == "v2.0" and r.json_body["versions"][0]["status"] == "CURRENT"
    assert r.json_body["versions"][0]["links"][0]["href"].endswith("/image/v2/")
    assert u1.get("/image/versions").status_code == 200


def test_create_shape_and_defaults(u1, projects):
    r = u1.post("images", {"name": "cirros", "disk_format": "qcow2", "container_format": "bare",
                           "hw_disk_bus": "virtio", "owner_specified.openstack.md5": "abc", "tags": ["a", "b", "a"]})
    assert r.status_code == 201, r.content
    body = r.json_body
    assert IMAGE_KEYS <= set(body)
    assert body["status"] == "queued" and body["visibility"] == "shared" and body["owner"] == projects["p1"]
    assert body["size"] is None and body["checksum"] is None and body["protected"] is False
    assert body["hw_disk_bus"] == "virtio" and body["owner_specified.openstack.md5"] == "abc"
    assert body["tags"] == ["a", "b"]
    assert body["self"] == f"/v2/images/{body['id']}" and body["file"] == f"/v2/images/{body['id']}/file"
    assert body["created_at"].endswith("Z")
    assert r["Location"].endswith(f"/image/v2/images/{body['id']}")
    assert r["OpenStack-image-import-methods"] == "glance-direct,web-download"
    validate(schemas.image_schema(), body)  # what we return fits what we publish
    shown = u1.get(f"images/{body['id']}")
    assert shown.status_code == 200 and shown.json_body == body


def test_create_with_id_and_duplicate(u1):
    image_id = "11111111-2222-3333-4444-555555555555"
    assert u1.post("images", {"id": image_id, "name": "x"}).status_code == 201
    assert u1.post("images", {"id": image_id, "name": "x"}).status_code == 409


@pytest.mark.parametrize("body,status", [
    ({"disk_format": "floppy"}, 400),
    ({"container_format": "zip"}, 400),
    ({"name": "x" * 256}, 400),
    ({"min_ram": -1}, 400),
    ({"min_disk": "ten"}, 400),
    ({"visibility": "everyone"}, 400),
    ({"tags": ["x" * 256]}, 400),
    ({"hw_disk_bus": 3}, 400),
    ({"status": "active"}, 403),
    ({"size": 3}, 403),
    ({"checksum": "0" * 32}, 403),
    ({"self": "/v2/images/x"}, 403),
    ({"location": "file:///etc/passwd"}, 403),
    ({"os_glance_import_task": "x"}, 403),
    ({"visibility": "public"}, 403),
    ({"id": "not-a-uuid"}, 400),
])
def test_create_bad_input(u1, body, status):
    r = u1.post("images", body)
    assert r.status_code == status, r.content
    assert r.json_body["error"]["code"] == status


def test_malformed_json_is_400(u1):
    r = u1.call("POST", "images", raw="{nope")
    assert r.status_code == 400


def test_reader_cannot_create_and_anonymous_is_401(r1):
    assert r1.post("images", {"name": "x"}).status_code == 403
    r1.token = None
    assert r1.get("images").status_code == 401


def test_admin_may_publicize_and_set_owner(adm, projects, u2):
    r = adm.post("images", {"name": "pub", "visibility": "public", "owner": projects["p1"]})
    assert r.status_code == 201 and r.json_body["owner"] == projects["p1"]
    assert u2.get(f"images/{r.json_body['id']}").status_code == 200


def test_patch_core_and_extra_properties(u1):
    image = u1.create(name="one", os_distro="debian")
    r = u1.patch(f"images/{image['id']}", [
        {"op": "replace", "path": "/name", "value": "two"},
        {"op": "add", "path": "/hw_scsi_model", "value": "virtio-scsi"},
        {"op": "replace", "path": "/os_distro", "value": "ubuntu"},
        {"op": "add", "path": "/tags", "value": ["x", "y"]},
        {"op": "replace", "path": "/min_ram", "value": 512},
        {"op": "replace", "path": "/protected", "value": True},
        {"op": "add", "path": "/a~1b", "value": "slash"},
    ])
    assert r.status_code == 200, r.content
    body = r.json_body
    assert body["name"] == "two" and body["hw_scsi_model"] == "virtio-scsi" and body["os_distro"] == "ubuntu"
    assert body["tags"] == ["x", "y"] and body["min_ram"] == 512 and body["protected"] is True
    assert body["a/b"] == "slash"
    r = u1.patch(f"images/{image['id']}", [{"op": "remove", "path": "/os_distro"}])
    assert r.status_code == 200 and "os_distro" not in r.json_body


@pytest.mark.parametrize("ops,status", [
    ([{"op": "replace", "path": "/status", "value": "active"}], 403),
    ([{"op": "replace", "path": "/checksum", "value": "x"}], 403),
    ([{"op": "add", "path": "/deleted", "value": "x"}], 403),
    ([{"op": "remove", "path": "/name"}], 403),
    ([{"op": "remove", "path": "/nope"}], 409),
    ([{"op": "replace", "path": "/nope", "value": "x"}], 409),
    ([{"op": "replace", "path": "/owner", "value": "other"}], 403),
    ([{"op": "replace", "path": "/visibility", "value": "public"}], 403),
    ([{"op": "replace", "path": "/disk_format", "value": "floppy"}], 400),
    ([{"op": "replace", "path": "/min_disk", "value": -3}], 400),
    ([{"op": "add", "path": "/prop", "value": 5}], 400),
    ([{"op": "move", "path": "/name", "value": "x"}], 400),
    ([{"path": "/name", "value": "x"}], 400),
    ([{"op": "replace", "value": "x"}], 400),
    ([{"op": "replace", "path": "name", "value": "x"}], 400),
    ([{"op": "replace", "path": "/a/b", "value": "x"}], 400),
    ([{"op": "replace", "path": "//", "value": "x"}], 400),
    ([{"op": "replace", "path": "/a~2", "value": "x"}], 400),
    ([{"op": "replace", "path": "/name"}], 400),
    ({"op": "replace"}, 400),
    (["replace"], 400),
])
def test_patch_bad_input(u1, ops, status):
    image = u1.create(name="one")
    r = u1.patch(f"images/{image['id']}", ops)
    assert r.status_code == status, r.content
    assert u1.get(f"images/{image['id']}").json_body["name"] == "one"  # nothing half-applied


def test_patch_needs_the_patch_media_type(u1):
    image = u1.create(name="one")
    r = u1.call("PATCH", f"images/{image['id']}", [{"op": "replace", "path": "/name", "value": "x"}])
    assert r.status_code == 415 and "openstack-images-v2.1-json-patch" in r["Accept-Patch"]


def test_patch_draft4_media_type(u1):
    image = u1.create(name="one")
    r = u1.call("PATCH", f"images/{image['id']}", raw='[{"replace": "/name", "value": "x"}]',
                content_type="application/openstack-images-v2.0-json-patch")
    assert r.status_code == 200 and r.json_body["name"] == "x"


def test_formats_fixed_once_active(u1):
    image = u1.create(name="one")
    assert u1.upload(image["id"], b"data").status_code == 204
    r = u1.patch(f"images/{image['id']}", [{"op": "replace", "path": "/disk_format", "value": "qcow2"}])
    assert r.status_code == 403


def test_delete_and_protected(u1):
    image = u1.create(name="one", protected=True)
    assert u1.delete(f"images/{image['id']}").status_code == 403
    u1.patch(f"images/{image['id']}", [{"op": "replace", "path": "/protected", "value": False}])
    assert u1.delete(f"images/{image['id']}").status_code == 204
    assert u1.get(f"images/{image['id']}").status_code == 404
    assert u1.delete(f"images/{image['id']}").status_code == 404


def test_tags(u1):
    image = u1.create(name="one")
    assert u1.put(f"images/{image['id']}/tags/alpha").status_code == 204
    assert u1.put(f"images/{image['id']}/tags/alpha").status_code == 204
    assert u1.put(f"images/{image['id']}/tags/beta").status_code == 204
    assert u1.get(f"images/{image['id']}").json_body["tags"] == ["alpha", "beta"]
    assert u1.delete(f"images/{image['id']}/tags/alpha").status_code == 204
    assert u1.delete(f"images/{image['id']}/tags/alpha").status_code == 404
    assert u1.put(f"images/{image['id']}/tags/{'x' * 256}").status_code == 400


def test_tag_and_property_limits(u1, image_conf):
    image_conf["max_tags"] = 2
    image_conf["max_properties"] = 1
    image = u1.create(name="one", tags=["a", "b"])
    assert u1.put(f"images/{image['id']}/tags/c").status_code == 413
    assert u1.post("images", {"a": "1", "b": "2"}).status_code == 413


def test_deactivate_reactivate(u1, u2, adm):
    image = u1.create(name="one", visibility="community")
    assert u1.post(f"images/{image['id']}/actions/deactivate").status_code == 403  # queued
    assert u1.upload(image["id"], b"data").status_code == 204
    assert u2.post(f"images/{image['id']}/actions/deactivate").status_code == 403  # not the owner
    assert u1.post(f"images/{image['id']}/actions/deactivate").status_code == 204
    assert u1.get(f"images/{image['id']}").json_body["status"] == "deactivated"
    assert u2.get(f"images/{image['id']}/file").status_code == 403
    assert u1.get(f"images/{image['id']}/file").status_code == 403
    r = adm.get(f"images/{image['id']}/file")
    assert r.status_code == 200 and r.data_bytes == b"data"
    assert u1.upload(image["id"], b"more").status_code == 409
    assert u1.post(f"images/{image['id']}/actions/reactivate").status_code == 204
    assert u1.post(f"images/{image['id']}/actions/reactivate").status_code == 204
    assert u1.get(f"images/{image['id']}/file").data_bytes == b"data"


def test_info_import_and_no_stores(u1):
    r = u1.get("info/import")
    assert r.status_code == 200
    assert r.json_body["import-methods"]["value"] == ["glance-direct", "web-download"]
    assert u1.get("info/stores").status_code == 404


def test_schemas_are_valid_json_schemas(u1):
    import jsonschema

    for name in ("image", "images", "member", "members"):
        r = u1.get(f"schemas/{name}")
        assert r.status_code == 200 and r.json_body["name"] == name
        jsonschema.Draft4Validator.check_schema(r.json_body)
    image = u1.get("schemas/image").json_body
    assert image["additionalProperties"] == {"type": "string", "maxLength": 65535}
    assert "locations" not in image["properties"] and "direct_url" not in image["properties"]
    assert image["properties"]["disk_format"]["enum"][0] is None


def test_unknown_method_is_405(u1):
    assert u1.call("PUT", "images").status_code == 405


def test_checksum_helpers_agree():
    assert hashlib.md5(b"").hexdigest() == "d41d8cd98f00b204e9800998ecf8427e"
