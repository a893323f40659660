"""Domains, project tags and the flat is_domain/parent cases, users' groups and projects, groups."""
import pytest

from apps.identity.models import Domain, Group, Project, RevocationEvent, User

from .conftest import Api, make_user, password_auth

pytestmark = pytest.mark.django_db


def test_domain_lifecycle_disable_revokes_and_delete_needs_disabled(cloud, admin, api):
    r = admin.post("domains", {"domain": {"name": "d1", "description": "first"}})
    assert r.status_code == 201, r.content
    d = r.json_body["domain"]
    assert set(d) >= {"id", "name", "description", "enabled", "links", "tags", "options"} and d["enabled"] is True
    assert admin.post("domains", {"domain": {"name": "d1"}}).status_code == 409
    assert [x["id"] for x in admin.get("domains?name=d1").json_body["domains"]] == [d["id"]]
    # a user of the domain with a token
    u = admin.post("users", {"user": {"name": "du", "domain_id": d["id"], "password": "pw-du-1234"}}).json_body["user"]
    p = admin.post("projects", {"project": {"name": "dp", "domain_id": d["id"]}}).json_body["project"]
    member = admin.get("roles?name=member").json_body["roles"][0]["id"]
    assert admin.put(f"projects/{p['id']}/users/{u['id']}/roles/{member}").status_code == 204
    tok = api.post("auth/tokens", password_auth("du", "pw-du-1234", project="dp", domain="d1"))["X-Subject-Token"]
    assert admin.head("auth/tokens", headers={"X-Subject-Token": tok}).status_code == 200

    assert admin.delete(f"domains/{d['id']}").status_code == 403  # enabled
    r = admin.patch(f"domains/{d['id']}", {"domain": {"enabled": False, "description": "off"}})
    assert r.status_code == 200 and r.json_body["domain"]["enabled"] is False
    assert RevocationEvent.objects.filter(domain_id=d["id"]).exists()
    assert admin.head("auth/tokens", headers={"X-Subject-Token": tok}).status_code == 404
    assert api.post("auth/tokens", password_auth("du", "pw-du-1234", domain="d1")).status_code == 401

    assert admin.delete(f"domains/{d['id']}").status_code == 204
    assert not Domain.objects.filter(id=d["id"]).exists()
    assert not User.objects.filter(id=u["id"]).exists() and not Project.objects.filter(id=p["id"]).exists()
    assert admin.get(f"domains/{d['id']}").status_code == 404


def test_project_tags_api_and_filters(cloud, admin):
    p = admin.post("projects", {"project": {"name": "tagged", "tags": ["a"]}}).json_body["project"]
    q = admin.post("projects", {"project": {"name": "other", "tags": ["b", "c"]}}).json_body["project"]
    r = admin.get(f"projects/{p['id']}/tags")
    assert r.status_code == 200 and r.json_body["tags"] == ["a"] and "self" in r.json_body["links"]
    r = admin.put(f"projects/{p['id']}/tags", {"tags": ["x", "y"]})
    assert r.status_code == 200 and r.json_body["tags"] == ["x", "y"]
    assert admin.put(f"projects/{p['id']}/tags/z").status_code == 201
    assert admin.get(f"projects/{p['id']}/tags/z").status_code == 204
    assert admin.get(f"projects/{p['id']}/tags/nope").status_code == 404
    assert admin.delete(f"projects/{p['id']}/tags/x").status_code == 204
    assert admin.get(f"projects/{p['id']}").json_body["project"]["tags"] == ["y", "z"]
    names = lambda query: {x["name"] for x in admin.get(f"projects?{query}").json_body["projects"]}  # noqa: E731
    assert names("tags=y,z") == {"tagged"}
    assert names("tags-any=z,b") == {"tagged", "other"}
    assert "other" not in names("not-tags=b,c") and "tagged" in names("not-tags=b,c")
    assert names("not-tags-any=y") & {"tagged", "other"} == {"other"}
    assert admin.put(f"projects/{p['id']}/tags", {"tags": ["bad/tag"]}).status_code == 400
    assert admin.put(f"projects/{p['id']}/tags", {"tags": [f"t{i}" for i in range(81)]}).status_code == 400
    assert admin.delete(f"projects/{p['id']}/tags").status_code == 204
    assert Project.objects.get(id=p["id"]).tags == [] and Project.objects.get(id=q["id"]).tags == ["b", "c"]
    # what `openstack project set --tag` sends
    r = admin.patch(f"projects/{p['id']}", {"project": {"tags": ["cli"]}})
    assert r.status_code == 200 and r.json_body["project"]["tags"] == ["cli"]


def test_is_domain_and_parent_flat_cases(cloud, admin):
    r = admin.post("projects", {"project": {"name": "as-domain", "is_domain": True}})
    assert r.status_code == 201, r.content
    body = r.json_body["project"]
    assert body["is_domain"] is True and body["domain_id"] is None and body["parent_id"] is None
    assert Domain.objects.filter(id=body["id"], name="as-domain").exists()
    listed = admin.get("projects?is_domain=true").json_body["projects"]
    assert {x["name"] for x in listed} >= {"Default", "as-domain"} and all(x["is_domain"] for x in listed)
    assert admin.get(f"projects/{body['id']}").json_body["project"]["is_domain"] is True
    # parent_id naming a domain puts the project at the top of that domain
    top = admin.post("projects", {"project": {"name": "top", "parent_id": body["id"]}}).json_body["project"]
    assert top["domain_id"] == body["id"] and top["parent_id"] == body["id"]
    child = admin.post("projects", {"project": {"name": "child", "parent_id": top["id"]}}).json_body["project"]
    assert child["parent_id"] == top["id"] and child["domain_id"] == body["id"]
    assert admin.post("projects", {"project": {"name": "x", "parent_id": top["id"],
                                               "domain_id": "default"}}).status_code == 400
    assert admin.delete(f"projects/{top['id']}").status_code == 403  # not a leaf
    assert admin.get(f"projects?parent_id={top['id']}").json_body["projects"][0]["id"] == child["id"]


def test_groups_membership_and_user_groups(cloud, admin, api):
    r = admin.post("groups", {"group": {"name": "g1", "description": "team"}})
    assert r.status_code == 201
    g = r.json_body["group"]
    assert g["domain_id"] == "default" and set(g) >= {"id", "name", "description", "domain_id", "links"}
    assert admin.post("groups", {"group": {"name": "g1"}}).status_code == 409
    u = make_user(admin, "gu", "pw-gu-12345")
    assert admin.head(f"groups/{g['id']}/users/{u['id']}").status_code == 404
    assert admin.put(f"groups/{g['id']}/users/{u['id']}").status_code == 204
    assert admin.head(f"groups/{g['id']}/users/{u['id']}").status_code == 204
    assert [x["id"] for x in admin.get(f"groups/{g['id']}/users").json_body["users"]] == [u["id"]]
    assert [x["id"] for x in admin.get(f"users/{u['id']}/groups").json_body["groups"]] == [g["id"]]
    # a role through the group gives a token on the project
    p = admin.post("projects", {"project": {"name": "gp"}}).json_body["project"]
    member = admin.get("roles?name=member").json_body["roles"][0]["id"]
    assert admin.put(f"projects/{p['id']}/groups/{g['id']}/roles/{member}").status_code == 204
    r = api.post("auth/tokens", password_auth("gu", "pw-gu-12345", project="gp"))
    assert r.status_code == 201 and {x["name"] for x in r.json_body["token"]["roles"]} == {"member", "reader"}
    tok = r["X-Subject-Token"]
    me = Api(tok)
    assert [x["id"] for x in me.get(f"users/{u['id']}/groups").json_body["groups"]] == [g["id"]]
    assert [x["id"] for x in me.get(f"users/{u['id']}/projects").json_body["projects"]] == [p["id"]]
    # leaving the group ends the token
    assert admin.delete(f"groups/{g['id']}/users/{u['id']}").status_code == 204
    assert admin.delete(f"groups/{g['id']}/users/{u['id']}").status_code == 404
    assert admin.head("auth/tokens", headers={"X-Subject-Token": tok}).status_code == 404
    assert admin.patch(f"groups/{g['id']}", {"group": {"name": "g2"}}).json_body["group"]["name"] == "g2"
    assert admin.patch(f"groups/{g['id']}", {"group": {"domain_id": "x"}}).status_code == 400
    assert admin.delete(f"groups/{g['id']}").status_code == 204
    assert not Group.objects.filter(id=g["id"]).exists()


def test_password_change_with_original(cloud, admin, api):
    u = make_user(admin, "pc", "pw-original-1")
    tok = api.post("auth/tokens", password_auth("pc", "pw-original-1"))["X-Subject-Token"]
    body = {"user": {"original_password": "wrong-one", "password": "pw-new-12345"}}
    r = api.post(f"users/{u['id']}/password", body)
    assert r.status_code == 401 and r.json_body["error"]["code"] == 401
    body["user"]["original_password"] = "pw-original-1"
    assert Api(tok).post(f"users/{u['id']}/password", body).status_code == 204
    assert admin.head("auth/tokens", headers={"X-Subject-Token": tok}).status_code == 404  # revoked
    assert api.post("auth/tokens", password_auth("pc", "pw-original-1")).status_code == 401
    assert api.post("auth/tokens", password_auth("pc", "pw-new-12345")).status_code == 201
    assert api.post(f"users/{u['id']}/password", {"user": {"password": "x"}}).status_code == 400
    assert api.post("users/nope/password", body).status_code == 401
