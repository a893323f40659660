import pytest

from apps.identity.models import AuditRecord, Endpoint, Project, Region, Role, RoleAssignment, Service, User

from .conftest import Api, make_user, password_auth

pytestmark = pytest.mark.django_db


def test_versions(api):
    r = api.get("/identity")
    assert r.status_code == 300
    v = r.json_body["versions"]["values"][0]
    assert v["id"].startswith("v3.") and v["status"] == "stable"
    assert v["links"][0]["href"].endswith("/identity/v3/")
    assert api.get("/identity/v3").json_body["version"]["id"] == v["id"]


def test_project_crud_and_shapes(cloud, admin):
    r = admin.post("projects", {"project": {"name": "p1", "description": "d", "tags": ["a"]}})
    assert r.status_code == 201
    p = r.json_body["project"]
    assert set(p) >= {"id", "name", "domain_id", "description", "enabled", "parent_id", "is_domain", "tags",
                      "options", "links"}
    assert p["domain_id"] == "default" and p["parent_id"] == "default" and p["links"]["self"].endswith(p["id"])
    listed = admin.get("projects?name=p1").json_body
    assert [x["id"] for x in listed["projects"]] == [p["id"]]
    assert listed["links"] == {"self": listed["links"]["self"], "previous": None, "next": None}
    assert admin.patch(f"projects/{p['id']}", {"project": {"description": "e", "enabled": False}}) \
        .json_body["project"]["enabled"] is False
    assert admin.post("projects", {"project": {"name": "p1"}}).status_code == 409
    assert admin.delete(f"projects/{p['id']}").status_code == 204
    assert admin.get(f"projects/{p['id']}").status_code == 404
    assert AuditRecord.objects.filter(target_id=p["id"]).count() == 3


@pytest.mark.parametrize("body", [
    {"project": {"name": "x" * 65}},
    {"project": {"name": ""}},
    {"project": {"name": " lead"}},
    {"project": {}},
    {"project": {"name": "ok", "enabled": "yes"}},
    {"project": {"name": "ok", "tags": ["a/b"]}},
    {"project": {"name": "ok", "domain_id": "nope"}},
    {"projects": {"name": "ok"}},
])
def test_bad_project_input_writes_nothing(cloud, admin, body):
    before = Project.objects.count()
    r = admin.post("projects", body)
    assert r.status_code == 400, r.content
    assert r.json_body["error"]["code"] == 400
    assert Project.objects.count() == before


def test_unknown_ids_are_404_in_keystone_shape(cloud, admin):
    for path in ("projects/nope", "users/nope", "roles/nope", "regions/nope", "services/nope", "endpoints/nope",
                 "domains/nope"):
        r = admin.get(path)
        assert r.status_code == 404 and r.json_body["error"]["title"] == "Not Found", path
    assert admin.get("/identity/v3/nothing-here").status_code == 404


def test_user_create_login_and_projects(cloud, admin, api):
    p = admin.post("projects", {"project": {"name": "p-u"}}).json_body["project"]
    u = make_user(admin, "u1", "pw-u1-123", project_id=p["id"])
    assert "password" not in u and u["domain_id"] == "default" and u["enabled"] is True
    assert admin.post("users", {"user": {"name": "u1", "domain_id": "default"}}).status_code == 409
    t = api.post("auth/tokens", password_auth("u1", "pw-u1-123", project="p-u"))
    assert t.status_code == 201
    assert [r["name"] for r in t.json_body["token"]["roles"]] == ["member", "reader"]
    me = Api(t["X-Subject-Token"])
    assert [x["id"] for x in me.get(f"users/{u['id']}/projects").json_body["projects"]] == [p["id"]]
    assert me.get(f"users/{u['id']}").status_code == 200
    assert me.get(f"projects/{p['id']}").status_code == 200


def test_member_and_reader_are_refused_writes_and_lists(cloud, admin, api):
    p = admin.post("projects", {"project": {"name": "p-m"}}).json_body["project"]
    make_user(admin, "m1", "pw-m1-123", project_id=p["id"], role="member")
    make_user(admin, "r1", "pw-r1-123", project_id=p["id"], role="reader")
    other = admin.post("projects", {"project": {"name": "p-other"}}).json_body["project"]
    for name in ("m1", "r1"):
        tok = api.post("auth/tokens", password_auth(name, f"pw-{name}-123", project="p-m"))["X-Subject-Token"]
        me = Api(tok)
        for method, path, body in (("GET", "users", None), ("GET", "projects", None),
                                   ("GET", f"projects/{other['id']}", None),
                                   ("POST", "projects", {"project": {"name": "nope"}}),
                                   ("POST", "roles", {"role": {"name": "nope"}}),
                                   ("POST", "users", {"user": {"name": "nope"}})):
            r = me.call(method, path, body)
            assert r.status_code == 403, (name, method, path, r.content)
            assert r.json_body["error"]["title"] == "Forbidden"
    assert not Project.objects.filter(name="nope").exists() and not Role.objects.filter(name="nope").exists()


def test_roles_grants_and_assignment_list(cloud, admin):
    p = admin.post("projects", {"project": {"name": "p-r"}}).json_body["project"]
    u = make_user(admin, "u-r", "pw-123456")
    role = admin.post("roles", {"role": {"name": "r1"}}).json_body["role"]
    assert role["domain_id"] is None and admin.post("roles", {"role": {"name": "r1"}}).status_code == 409
    member = admin.get("roles?name=member").json_body["roles"][0]
    path = f"projects/{p['id']}/users/{u['id']}/roles/{member['id']}"
    assert admin.head(path).status_code == 404
    assert admin.put(path).status_code == 204
    assert admin.head(path).status_code == 204 and admin.get(path).status_code == 204
    roles = admin.get(f"projects/{p['id']}/users/{u['id']}/roles").json_body["roles"]
    assert [r["name"] for r in roles] == ["member"]
    rows = admin.get(f"role_assignments?user.id={u['id']}&include_names=True").json_body["role_assignments"]
    assert rows == [{
        "role": {"id": member["id"], "name": "member"},
        "user": {"id": u["id"], "name": "u-r", "domain": {"id": "default", "name": "Default"}},
        "scope": {"project": {"id": p["id"], "name": "p-r", "domain": {"id": "default", "name": "Default"}}},
        "links": {"assignment": rows[0]["links"]["assignment"]},
    }]
    effective = admin.get(f"role_assignments?effective&user.id={u['id']}").json_body["role_assignments"]
    assert {r["role"]["id"] for r in effective} == {member["id"], Role.objects.get(name="reader").id}
    scoped = admin.get(f"role_assignments?scope.project.id={p['id']}").json_body["role_assignments"]
    assert len(scoped) == 1
    assert admin.delete(path).status_code == 204 and admin.delete(path).status_code == 404
    assert not RoleAssignment.objects.filter(actor_id=u["id"]).exists()


def test_grant_to_unknown_things_is_404(cloud, admin):
    member = Role.objects.get(name="member")
    assert admin.put(f"projects/nope/users/{cloud['user'].id}/roles/{member.id}").status_code == 404
    assert admin.put(f"projects/{cloud['project'].id}/users/nope/roles/{member.id}").status_code == 404
    assert admin.put(f"projects/{cloud['project'].id}/users/{cloud['user'].id}/roles/nope").status_code == 404


def test_regions_services_endpoints(cloud, admin):
    assert admin.post("regions", {"region": {"id": "RegionTwo", "description": "2"}}).status_code == 201
    assert admin.post("regions", {"region": {"id": "RegionTwo"}}).status_code == 409
    s = admin.post("services", {"service": {"type": "compute", "name": "nova"}}).json_body["service"]
    e = admin.post("endpoints", {"endpoint": {"service_id": s["id"], "interface": "public",
                                              "url": "http://x/compute", "region_id": "RegionTwo"}})
    assert e.status_code == 201
    ep = e.json_body["endpoint"]
    assert ep["region"] == ep["region_id"] == "RegionTwo" and ep["enabled"] is True
    assert admin.post("endpoints", {"endpoint": {"service_id": s["id"], "interface": "bogus",
                                                 "url": "http://x"}}).status_code == 400
    assert admin.post("endpoints", {"endpoint": {"service_id": "nope", "interface": "public",
                                                 "url": "http://x"}}).status_code == 400
    assert admin.delete("regions/RegionTwo").status_code == 403  # still has an endpoint
    assert any(x["id"] == ep["id"] for x in admin.get("endpoints").json_body["endpoints"])
    assert admin.patch(f"services/{s['id']}", {"service": {"enabled": False}}).json_body["service"]["enabled"] is False
    assert admin.delete(f"endpoints/{ep['id']}").status_code == 204
    assert admin.delete(f"services/{s['id']}").status_code == 204
    assert admin.delete("regions/RegionTwo").status_code == 204
    assert not Endpoint.objects.filter(id=ep["id"]).exists() and not Service.objects.filter(id=s["id"]).exists()
    assert not Region.objects.filter(id="RegionTwo").exists()


def test_catalog_change_reaches_cached_tokens(cloud, admin):
    s = admin.post("services", {"service": {"type": "image", "name": "glance"}}).json_body["service"]
    admin.post("endpoints", {"endpoint": {"service_id": s["id"], "interface": "public", "url": "http://x/image"}})
    catalog = admin.get("auth/catalog").json_body["catalog"]
    assert any(c["type"] == "image" for c in catalog)
    t = admin.token
    body = admin.get("auth/tokens", headers={"X-Subject-Token": t}).json_body["token"]
    assert any(c["type"] == "image" for c in body["catalog"])


def test_user_delete_and_bad_user_input(cloud, admin):
    before = User.objects.count()
    assert admin.post("users", {"user": {"name": "x" * 256}}).status_code == 400
    assert admin.post("users", {"user": {"name": "ok", "password": "p" * 73}}).status_code == 400
    assert admin.post("users", {"user": {"name": "ok", "domain_id": "nope"}}).status_code == 400
    assert User.objects.count() == before
    u = make_user(admin, "to-delete")
    assert admin.delete(f"users/{u['id']}").status_code == 204
    assert admin.get(f"users/{u['id']}").status_code == 404
