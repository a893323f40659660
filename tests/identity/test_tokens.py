import json
import time

import pytest

from apps.identity import fernet, services, tokens
from apps.identity.models import Project, RevocationEvent, User

from .conftest import Api, make_user, password_auth

pytestmark = pytest.mark.django_db


def test_password_project_token_shape(cloud, api):
    r = api.post("auth/tokens", password_auth("admin", "secret-admin", project="admin"))
    assert r.status_code == 201
    tok = r["X-Subject-Token"]
    assert len(tok) < 400
    body = r.json_body["token"]
    assert body["methods"] == ["password"]
    assert body["user"]["name"] == "admin" and body["user"]["domain"] == {"id": "default", "name": "Default"}
    assert "password_expires_at" in body["user"]
    assert body["project"]["name"] == "admin" and body["project"]["domain"]["id"] == "default"
    assert body["is_domain"] is False
    assert {r["name"] for r in body["roles"]} == {"admin", "manager", "member", "reader"}
    assert len(body["audit_ids"]) == 1 and len(body["audit_ids"][0]) == 22
    assert body["expires_at"].endswith("Z") and body["issued_at"].endswith("Z")
    ident = next(s for s in body["catalog"] if s["type"] == "identity")
    assert {e["interface"] for e in ident["endpoints"]} == {"public", "internal", "admin"}
    ep = ident["endpoints"][0]
    assert set(ep) == {"id", "interface", "region", "region_id", "url"}
    volume = next(s for s in body["catalog"] if s["type"] == "block-storage")
    assert volume["endpoints"][0]["url"].endswith("/volume/v3/" + body["project"]["id"])


def test_validate_equals_issue_and_head(cloud, api, admin_token):
    issued = api.post("auth/tokens", password_auth("admin", "secret-admin", project="admin"))
    subject = issued["X-Subject-Token"]
    services._state().cache.flush()  # force a rebuild from the database
    r = api.get("auth/tokens", token=admin_token, headers={"X-Subject-Token": subject})
    assert r.status_code == 200 and r["X-Subject-Token"] == subject
    assert r.json_body == issued.json_body
    assert api.head("auth/tokens", token=admin_token, headers={"X-Subject-Token": subject}).status_code == 200
    nocat = api.get("auth/tokens?nocatalog", token=admin_token, headers={"X-Subject-Token": subject})
    assert "catalog" not in nocat.json_body["token"]


def test_scopes_by_id_name_domain_system_unscoped(cloud, api):
    pid = cloud["project"].id
    auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "id": cloud["user"].id, "password": "secret-admin"}}}, "scope": {"project": {"id": pid}}}}
    assert api.post("auth/tokens", auth).json_body["token"]["project"]["id"] == pid
    system = api.post("auth/tokens", password_auth("admin", "secret-admin", system=True)).json_body["token"]
    assert system["system"] == {"all": True} and "admin" in {r["name"] for r in system["roles"]}
    # No scope: the default project (as Keystone); explicit "unscoped" gives none.
    default = api.post("auth/tokens", password_auth("admin", "secret-admin")).json_body["token"]
    assert default["project"]["id"] == pid
    unscoped = password_auth("admin", "secret-admin")
    unscoped["auth"]["scope"] = "unscoped"
    body = api.post("auth/tokens", unscoped).json_body["token"]
    assert "project" not in body and "catalog" not in body and "roles" not in body


def test_domain_scope_needs_a_domain_role(cloud, api, admin):
    r = api.post("auth/tokens", password_auth("admin", "secret-admin", domain_scope="Default"))
    assert r.status_code == 401 and r.json_body["error"]["code"] == 401
    role = admin.get("roles?name=admin").json_body["roles"][0]
    assert admin.put(f"domains/default/users/{cloud['user'].id}/roles/{role['id']}").status_code == 204
    r = api.post("auth/tokens", password_auth("admin", "secret-admin", domain_scope="Default"))
    assert r.status_code == 201 and r.json_body["token"]["domain"] == {"id": "default", "name": "Default"}


def test_token_method_rescopes_and_keeps_expiry_and_chain(cloud, api):
    first = api.post("auth/tokens", password_auth("admin", "secret-admin")).json_body["token"]
    unscoped = password_auth("admin", "secret-admin")
    unscoped["auth"]["scope"] = "unscoped"
    u = api.post("auth/tokens", unscoped)
    r = api.post("auth/tokens", {"auth": {"identity": {"methods": ["token"], "token": {"id": u["X-Subject-Token"]}},
                                          "scope": {"project": {"id": cloud["project"].id}}}})
    assert r.status_code == 201
    body = r.json_body["token"]
    assert body["expires_at"] == u.json_body["token"]["expires_at"]
    assert body["audit_ids"][1] == u.json_body["token"]["audit_ids"][0]
    assert first["project"]["id"] == body["project"]["id"]


def test_revoke_refuses_at_once_and_chain(cloud, api, admin_token):
    t = api.post("auth/tokens", password_auth("admin", "secret-admin", project="admin"))["X-Subject-Token"]
    headers = {"X-Subject-Token": t}
    assert api.get("auth/tokens", token=admin_token, headers=headers).status_code == 200
    assert api.delete("auth/tokens", token=admin_token, headers=headers).status_code == 204
    r = api.get("auth/tokens", token=admin_token, headers=headers)
    assert r.status_code == 404 and r.json_body["error"]["title"] == "Not Found"
    assert api.get("projects", token=t).status_code == 401
    assert RevocationEvent.objects.count() == 1


def test_disabled_user_and_deleted_project_invalidate_tokens(cloud, api, admin):
    p = admin.post("projects", {"project": {"name": "p-x"}}).json_body["project"]
    u = make_user(admin, "u-x", "pw-123456", project_id=p["id"])
    t = api.post("auth/tokens", password_auth("u-x", "pw-123456", project="p-x"))["X-Subject-Token"]
    assert api.get("auth/catalog", token=t).status_code == 200
    assert admin.patch(f"users/{u['id']}", {"user": {"enabled": False}}).status_code == 200
    assert api.get("auth/catalog", token=t).status_code == 401
    assert api.post("auth/tokens", password_auth("u-x", "pw-123456", project="p-x")).status_code == 401


def test_expired_token_refused(cloud, api, admin_token, monkeypatch):
    monkeypatch.setitem(services.settings.MONOSTACK["identity"], "token_expiration", 1)
    t = api.post("auth/tokens", password_auth("admin", "secret-admin", project="admin"))["X-Subject-Token"]
    time.sleep(1.1)
    assert api.get("auth/tokens", token=admin_token, headers={"X-Subject-Token": t}).status_code == 404


def test_key_rotation_keeps_old_tokens_valid(cloud, api, admin_token):
    t = api.post("auth/tokens", password_auth("admin", "secret-admin", project="admin"))["X-Subject-Token"]
    fernet.rotate()
    services._state().cache.flush()
    assert api.get("auth/tokens", token=admin_token, headers={"X-Subject-Token": t}).status_code == 200


@pytest.mark.parametrize("body,status", [
    ("{not json", 400),
    ("[]", 400),
    (json.dumps({}), 400),
    (json.dumps({"auth": {}}), 400),
    (json.dumps({"auth": {"identity": {"methods": ["kerberos"], "kerberos": {}}}}), 401),
    (json.dumps({"auth": {"identity": {"methods": ["password"]}}}), 400),
    (json.dumps({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin",
                 "password": "x"}}}}}), 400),
    (json.dumps({"auth": {"identity": {"methods": []}}}), 400),
    (json.dumps({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"name": "Default"}, "password": "wrong"}}}}}), 401),
    (json.dumps({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "nobody", "domain": {"name": "Default"}, "password": "wrong"}}}}}), 401),
    (json.dumps({"auth": {"identity": {"methods": ["token"], "token": {"id": "garbage"}}}}), 401),
    (json.dumps({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"name": "Default"}, "password": "secret-admin"}}},
        "scope": {"project": {"id": "nope"}}}}), 401),
    (json.dumps({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"name": "Default"}, "password": "secret-admin"}}}}, "extra": 1}), 400),
])
def test_bad_auth_requests(cloud, api, body, status):
    before = RevocationEvent.objects.count(), User.objects.count()
    r = api.post("auth/tokens", raw=body)
    assert r.status_code == status, r.content
    err = r.json_body["error"]
    assert err["code"] == status and err["message"] and err["title"]
    if status == 401:
        assert r["WWW-Authenticate"].startswith("Keystone uri=")
    assert (RevocationEvent.objects.count(), User.objects.count()) == before


def test_no_token_and_bad_token(cloud, api):
    assert api.get("projects").status_code == 401
    assert api.get("projects", token="not-a-token").status_code == 401
    assert api.get("auth/tokens", token="x", headers={"X-Subject-Token": "y"}).status_code == 401


def test_user_can_validate_and_revoke_own_token_only(cloud, api, admin):
    p = admin.post("projects", {"project": {"name": "p-own"}}).json_body["project"]
    make_user(admin, "u-own", "pw-123456", project_id=p["id"])
    make_user(admin, "u-other", "pw-123456", project_id=p["id"])
    mine = api.post("auth/tokens", password_auth("u-own", "pw-123456", project="p-own"))["X-Subject-Token"]
    other = api.post("auth/tokens", password_auth("u-other", "pw-123456", project="p-own"))["X-Subject-Token"]
    assert api.get("auth/tokens", token=mine, headers={"X-Subject-Token": mine}).status_code == 200
    r = api.get("auth/tokens", token=mine, headers={"X-Subject-Token": other})
    assert r.status_code == 403 and "identity:validate_token" in r.json_body["error"]["message"]
    assert api.delete("auth/tokens", token=mine, headers={"X-Subject-Token": other}).status_code == 403


def test_auth_projects_domains_system_catalog(cloud, api, admin_token):
    a = Api(admin_token)
    projects = a.get("auth/projects").json_body["projects"]
    assert [p["name"] for p in projects] == ["admin"]
    assert a.get("auth/domains").json_body["domains"] == []
    assert a.get("auth/system").json_body["system"] == [{"all": True}]
    catalog = a.get("auth/catalog").json_body["catalog"]
    assert any(s["type"] == "identity" for s in catalog)


def test_revocation_index_matches_combinations():
    index = tokens.RevocationIndex()
    info = tokens.TokenInfo(token="t", payload=tokens.Payload(
        user_id="u", methods=["password"], expires_at=time.time() + 60, issued_at=100.0, audit_ids=["a1", "a0"],
        project_id="p"), user={"id": "u", "name": "n", "domain": {"id": "d"}},
        project={"id": "p", "domain": {"id": "d2"}})
    assert not index.is_revoked(info)
    index.add({"user_id": "u", "project_id": "other", "revoked_at": 200.0})
    assert not index.is_revoked(info)
    index.add({"user_id": "u", "project_id": "p", "revoked_at": 99.0})  # issued after: still valid
    assert not index.is_revoked(info)
    index.add({"domain_id": "d2", "revoked_at": 100.0})  # the project's domain, same microsecond
    assert index.is_revoked(info)
    index.replace([{"audit_chain_id": "a0", "revoked_at": 150.0}])
    assert index.is_revoked(info)
    index.replace([])
    assert not index.is_revoked(info)


def test_issue_records_last_active(cloud, api):
    api.post("auth/tokens", password_auth("admin", "secret-admin", project="admin"))
    assert User.objects.get(name="admin").last_active_at is not None
    assert Project.objects.filter(name="admin").exists()


def test_oversize_body_is_413_and_writes_nothing(cloud, admin, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    before = Project.objects.count()
    r = admin.post("projects", {"project": {"name": "big", "description": "x" * 2000}})
    assert r.status_code == 413 and r.json_body["error"]["code"] == 413
    assert Project.objects.count() == before


def test_expired_revocation_events_are_pruned(cloud):
    from datetime import timedelta

    from django.utils import timezone

    from apps.identity.tasks import prune_revocations_task

    now = timezone.now()
    RevocationEvent.objects.create(user_id="gone", revoked_at=now - timedelta(hours=2),
                                   expires_at=now - timedelta(hours=1))
    live = RevocationEvent.objects.create(user_id="live", revoked_at=now, expires_at=now + timedelta(hours=1))
    assert prune_revocations_task() == 1
    assert list(RevocationEvent.objects.values_list("id", flat=True)) == [live.id]
