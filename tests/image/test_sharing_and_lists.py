"""Who sees what (Glance's rules), members, and lists with filters, sorting and paging."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.image.models import Image

pytestmark = pytest.mark.django_db


def names(api, query=""):
    r = api.get(f"images{query}")
    assert r.status_code == 200, r.content
    return sorted(i["name"] for i in r.json_body["images"])


def test_private_image_of_another_project_is_404(u1, u2):
    image = u1.create(name="secret", visibility="private")
    u1.upload(image["id"], b"data")
    for call in (lambda: u2.get(f"images/{image['id']}"), lambda: u2.get(f"images/{image['id']}/file"),
                 lambda: u2.delete(f"images/{image['id']}"),
                 lambda: u2.patch(f"images/{image['id']}", [{"op": "replace", "path": "/name", "value": "x"}]),
                 lambda: u2.put(f"images/{image['id']}/tags/t"),
                 lambda: u2.get(f"images/{image['id']}/members"),
                 lambda: u2.post(f"images/{image['id']}/actions/deactivate")):
        assert call().status_code == 404
    assert names(u2) == []
    assert u2.get("images/not-a-uuid").status_code == 404


def test_reader_reads_but_cannot_write(u1, r1):
    image = u1.create(name="ours")
    u1.upload(image["id"], b"data")
    assert r1.get(f"images/{image['id']}").status_code == 200
    assert names(r1) == ["ours"]
    assert r1.patch(f"images/{image['id']}", [{"op": "replace", "path": "/name", "value": "x"}]).status_code == 403
    assert r1.delete(f"images/{image['id']}").status_code == 403
    assert r1.put(f"images/{image['id']}/tags/t").status_code == 403
    assert r1.get(f"images/{image['id']}/file").status_code == 403  # download needs member


def test_shared_image_members(u1, u2, projects):
    image = u1.create(name="shared")  # visibility shared is the default
    u1.upload(image["id"], b"shared data")
    assert u2.get(f"images/{image['id']}").status_code == 404
    r = u1.post(f"images/{image['id']}/members", {"member": projects["p2"]})
    assert r.status_code == 200, r.content
    member = r.json_body
    assert member == {"member_id": projects["p2"], "image_id": image["id"], "status": "pending",
                      "created_at": member["created_at"], "updated_at": member["updated_at"],
                      "schema": "/v2/schemas/member"}
    assert u1.post(f"images/{image['id']}/members", {"member": projects["p2"]}).status_code == 409
    # Pending: the member can see and download it, but does not list it unless asked.
    assert u2.get(f"images/{image['id']}").status_code == 200
    assert u2.get(f"images/{image['id']}/file").data_bytes == b"shared data"
    assert names(u2) == []
    assert names(u2, "?member_status=pending") == ["shared"]
    assert names(u2, "?member_status=all") == ["shared"]
    # Only the member changes its status; the owner cannot.
    assert u1.put(f"images/{image['id']}/members/{projects['p2']}", {"status": "accepted"}).status_code == 403
    assert u2.put(f"images/{image['id']}/members/{projects['p2']}", {"status": "bogus"}).status_code == 400
    r = u2.put(f"images/{image['id']}/members/{projects['p2']}", {"status": "accepted"})
    assert r.status_code == 200 and r.json_body["status"] == "accepted"
    assert names(u2) == ["shared"]
    # Lists: the owner sees all members, the member only itself.
    assert [m["member_id"] for m in u1.get(f"images/{image['id']}/members").json_body["members"]] == [projects["p2"]]
    r = u2.get(f"images/{image['id']}/members")
    assert r.status_code == 200 and r.json_body["schema"] == "/v2/schemas/members"
    assert u2.get(f"images/{image['id']}/members/{projects['p2']}").json_body["status"] == "accepted"
    assert u2.get(f"images/{image['id']}/members/{projects['p1']}").status_code == 404
    # The member may neither add nor remove members, nor change the image.
    assert u2.post(f"images/{image['id']}/members", {"member": "someone"}).status_code == 403
    assert u2.delete(f"images/{image['id']}/members/{projects['p2']}").status_code == 403
    assert u2.patch(f"images/{image['id']}", [{"op": "replace", "path": "/name", "value": "x"}]).status_code == 403
    # Rejected: still reachable by id, not listed.
    u2.put(f"images/{image['id']}/members/{projects['p2']}", {"status": "rejected"})
    assert names(u2) == []
    assert u1.delete(f"images/{image['id']}/members/{projects['p2']}").status_code == 204
    assert u2.get(f"images/{image['id']}").status_code == 404
    assert u1.delete(f"images/{image['id']}/members/{projects['p2']}").status_code == 404


def test_members_only_on_shared_images(u1, projects):
    image = u1.create(name="private", visibility="private")
    assert u1.post(f"images/{image['id']}/members", {"member": projects["p2"]}).status_code == 403
    assert u1.get(f"images/{image['id']}/members").status_code == 403
    assert u1.post(f"images/{image['id']}/members", {}).status_code == 400
    assert u1.post(f"images/{image['id']}/members", {"member": ""}).status_code == 400


def test_member_limit(u1, image_conf):
    image_conf["max_members"] = 1
    image = u1.create(name="s")
    assert u1.post(f"images/{image['id']}/members", {"member": "a"}).status_code == 200
    assert u1.post(f"images/{image['id']}/members", {"member": "b"}).status_code == 413


def test_community_listed_only_when_asked(u1, u2):
    u1.create(name="community", visibility="community")
    u1.create(name="own-private", visibility="private")
    assert names(u1) == ["community", "own-private"]  # the owner always sees its own
    assert names(u2) == []
    assert names(u2, "?visibility=community") == ["community"]
    assert names(u2, "?visibility=all") == ["community"]
    assert names(u2, "?visibility=private") == []


def test_public_images_for_everyone(adm, u2):
    adm.create(name="public", visibility="public")
    assert names(u2) == ["public"]
    assert names(u2, "?visibility=public") == ["public"]


def test_admin_sees_everything_but_community_by_default(adm, u1):
    u1.create(name="private", visibility="private")
    u1.create(name="community", visibility="community")
    assert names(adm) == ["private"]
    assert names(adm, "?visibility=all") == ["community", "private"]


def test_hidden_images(u1):
    u1.create(name="seen")
    u1.create(name="hidden", os_hidden=True)
    assert names(u1) == ["seen"]
    assert names(u1, "?os_hidden=true") == ["hidden"]
    assert u1.get("images?os_hidden=maybe").status_code == 400


def test_filters(u1):
    a = u1.create(name="alpha", disk_format="iso", tags=["x", "y"], os_distro="debian", min_ram=512)
    u1.create(name="beta", disk_format="raw", tags=["x"], protected=True)
    u1.create(name="gamma", container_format="ovf", os_distro="ubuntu")
    u1.upload(a["id"], b"12345")
    assert names(u1, "?name=alpha") == ["alpha"]
    assert names(u1, "?name=in:alpha,gamma") == ["alpha", "gamma"]
    assert names(u1, '?name=in:"alpha","beta"') == ["alpha", "beta"]
    assert names(u1, "?status=active") == ["alpha"]
    assert names(u1, "?status=in:queued") == ["beta", "gamma"]
    assert names(u1, "?disk_format=iso") == ["alpha"]
    assert names(u1, "?container_format=ovf") == ["gamma"]
    assert names(u1, "?tag=x") == ["alpha", "beta"]
    assert names(u1, "?tag=x&tag=y") == ["alpha"]
    assert names(u1, "?os_distro=debian") == ["alpha"]
    assert names(u1, "?protected=true") == ["beta"]
    assert names(u1, "?protected=false") == ["alpha", "gamma"]
    assert names(u1, "?size_min=5&size_max=5") == ["alpha"]
    assert names(u1, "?size_min=6") == []
    assert names(u1, "?min_ram=512") == ["alpha"]
    assert names(u1, f"?id={a['id']}") == ["alpha"]
    assert names(u1, f"?owner={a['owner']}") == ["alpha", "beta", "gamma"]
    created = u1.get(f"images/{a['id']}").json_body["created_at"]
    assert "alpha" in names(u1, f"?created_at=gte:{created}")
    assert names(u1, "?created_at=lt:2000-01-01T00:00:00Z") == []
    assert names(u1, "?updated_at=gt:2000-01-01T00:00:00Z") == ["alpha", "beta", "gamma"]
    for bad in ("?created_at=gt:yesterday", "?created_at=near:2020-01-01T00:00:00Z", "?name=like:a",
                "?size_min=big", "?member_status=maybe", "?visibility=everyone", "?changes-since=2020-01-01",
                "?sort_key=color", "?sort_dir=up", "?sort=name:sideways", "?limit=-1", "?limit=x",
                "?sort=name&sort_key=name"):
        assert u1.get(f"images{bad}").status_code == 400, bad


def test_sorting(u1):
    for n in ("b", "a", "c"):
        u1.create(name=n)
    default = [i["name"] for i in u1.get("images").json_body["images"]]
    assert default == ["c", "a", "b"]  # created_at desc
    assert [i["name"] for i in u1.get("images?sort_key=name&sort_dir=asc").json_body["images"]] == ["a", "b", "c"]
    assert [i["name"] for i in u1.get("images?sort=name:desc").json_body["images"]] == ["c", "b", "a"]
    assert [i["name"] for i in u1.get("images?sort=status,name:asc").json_body["images"]] == ["a", "b", "c"]


def test_paging_links_and_one_query_per_page(u1):
    for i in range(7):
        u1.create(name=f"img{i}")
    seen, url = [], "images?limit=3&sort=name:asc"
    pages = 0
    while url:
        r = u1.get(url if url.startswith("images") else "/image" + url)
        body = r.json_body
        assert body["schema"] == "/v2/schemas/images" and body["first"].startswith("/v2/images")
        seen += [i["name"] for i in body["images"]]
        url = body.get("next")
        pages += 1
    assert seen == [f"img{i}" for i in range(7)] and pages == 3
    assert u1.get("images?marker=00000000-0000-0000-0000-000000000000").status_code == 400
    assert u1.get("images?marker=junk").status_code == 400
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from apps.image import selectors

    owner = Image.objects.first().owner
    caller = type("Ctx", (), {"project_id": owner,
                              "credentials": lambda self: {"roles": ["member", "reader"], "project_id": owner}})()
    marker = str(Image.objects.order_by("-created_at")[2].pk)
    for query in ({"limit": "3"}, {"limit": "3", "marker": marker, "disk_format": "raw",
                                   "member_status": "all", "sort": "created_at:desc,size:desc"}):
        request = Request(APIRequestFactory().get("/image/v2/images", query))
        with CaptureQueriesContext(connection) as ctx:
            selectors.image_list(caller, request)
        assert len(ctx.captured_queries) == 1, [q["sql"] for q in ctx.captured_queries]


def test_service_user_fetches_any_image_data(u1, admin, api, projects):
    """Compute hosts fetch image data with a per-host service user (role service): they may
    read any image, but not change one."""
    from .conftest import PASSWORD, ImageApi, _token, make_user

    r = admin.post("projects", {"project": {"name": "service", "domain_id": "default"}})
    assert r.status_code == 201
    make_user(admin, "host-node1", PASSWORD, r.json_body["project"]["id"], role="service")
    host = ImageApi(_token(api, "host-node1", "service"))
    image = u1.create(name="boot", visibility="private")
    u1.upload(image["id"], b"kernel and rootfs")
    assert host.get(f"images/{image['id']}").status_code == 200
    r = host.get(f"images/{image['id']}/file")
    assert r.status_code == 200 and r.data_bytes == b"kernel and rootfs"
    assert r["Content-MD5"] == u1.get(f"images/{image['id']}").json_body["checksum"]
    assert host.patch(f"images/{image['id']}", [{"op": "replace", "path": "/name", "value": "x"}]).status_code == 403
    assert host.delete(f"images/{image['id']}").status_code == 403
