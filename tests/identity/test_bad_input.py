"""Bad input everywhere: a 400/401/403/404 in Keystone's {"error": {code, title, message}} shape,
never a 500, and nothing written."""
import pytest

from apps.identity.models import (ApplicationCredential, AuditRecord, Credential, Domain, Group, ImpliedRole,
                                  Project, Region, Role, RoleAssignment, Service, User)

from .conftest import Api, make_user

pytestmark = pytest.mark.django_db

MODELS = (Domain, Project, User, Group, Role, ImpliedRole, RoleAssignment, Region, Service, Credential,
          ApplicationCredential)


def snapshot():
    return [m.objects.count() for m in MODELS] + [AuditRecord.objects.count()]


@pytest.fixture
def ids(cloud, admin):
    p = admin.post("projects", {"project": {"name": "bi-p"}}).json_body["project"]
    g = admin.post("groups", {"group": {"name": "bi-g"}}).json_body["group"]
    u = make_user(admin, "bi-u", "pw-bi-u-123")
    return {"p": p["id"], "g": g["id"], "u": u["id"], "r": Role.objects.get(name="member").id,
            "admin": cloud["user"].id}


CASES = [
    ("POST", "domains", {"domain": {}}, 400), ("POST", "domains", {"domain": {"name": "x" * 65}}, 400),
    ("POST", "domains", {"domain": {"name": "ok", "enabled": "yes"}}, 400),
    ("POST", "domains", {"domains": {"name": "ok"}}, 400), ("POST", "domains", [], 400),
    ("PATCH", "domains/default", {"domain": {}}, 400), ("PATCH", "domains/nope", {"domain": {"name": "x"}}, 404),
    ("DELETE", "domains/default", None, 403),
    ("POST", "groups", {"group": {"name": ""}}, 400), ("POST", "groups", {"group": {"name": "x",
                                                                                   "domain_id": "nope"}}, 400),
    ("PATCH", "groups/{g}", {"group": {"name": 5}}, 400), ("GET", "groups/nope", None, 404),
    ("PUT", "groups/{g}/users/nope", None, 404), ("PUT", "groups/nope/users/{u}", None, 404),
    ("DELETE", "groups/{g}/users/{u}", None, 404),
    ("PUT", "projects/{p}/tags", {"tags": "a"}, 400), ("PUT", "projects/{p}/tags", {}, 400),
    ("PUT", "projects/nope/tags", {"tags": []}, 404), ("DELETE", "projects/{p}/tags/none", None, 404),
    ("PUT", "projects/{p}/tags/" + "t" * 256, None, 400),
    ("POST", "projects", {"project": {"name": "x", "parent_id": "nope"}}, 404),
    ("POST", "users/{u}/password", {"user": {"password": "x"}}, 400),
    ("POST", "users/{u}/password", {"user": {"password": "x" * 73, "original_password": "pw-bi-u-123"}}, 400),
    ("POST", "users/{u}/password", {"user": {"password": "new-pw-1", "original_password": "bad"}}, 401),
    ("POST", "users", {"user": {"name": "x", "options": {"nope": True}}}, 400),
    ("POST", "roles", {"role": {"name": "x", "domain_id": "nope"}}, 400),
    ("PUT", "roles/{r}/implies/nope", None, 404), ("PUT", "roles/{r}/implies/{r}", None, 403),
    ("DELETE", "roles/{r}/implies/{r}", None, 404), ("GET", "roles/nope/implies", None, 404),
    ("PUT", "projects/{p}/groups/nope/roles/{r}", None, 404),
    ("PUT", "domains/nope/users/{u}/roles/{r}", None, 404),
    ("PUT", "OS-INHERIT/domains/default/users/{u}/roles/nope/inherited_to_projects", None, 404),
    ("PUT", "system/users/nope/roles/{r}", None, 404),
    ("GET", "role_assignments?effective&group.id={g}", None, 400),
    ("POST", "regions", {"region": {"parent_region_id": "nope"}}, 400),
    ("PATCH", "regions/RegionOne", {"region": {"parent_region_id": "RegionOne"}}, 400),
    ("PATCH", "regions/RegionOne", {"region": {"bogus": 1}}, 400),
    ("POST", "services", {"service": {}}, 400), ("PATCH", "services/nope", {"service": {"name": "x"}}, 404),
    ("POST", "endpoints", {"endpoint": {"service_id": "x", "interface": "public", "url": "not a url"}}, 400),
    ("POST", "users/{admin}/application_credentials", {"application_credential": {}}, 400),
    ("POST", "users/{admin}/application_credentials", {"application_credential": {"name": "x",
                                                                                  "roles": [{"id": "nope"}]}}, 404),
    ("POST", "users/{admin}/application_credentials", {"application_credential": {"name": "x",
                                                                                  "expires_at": "tomorrow"}}, 400),
    ("POST", "users/{admin}/application_credentials", {"application_credential": {
        "name": "x", "access_rules": [{"service": "compute"}]}}, 400),
    ("GET", "users/{admin}/application_credentials/nope", None, 404),
    ("POST", "credentials", {"credential": {"type": "x", "blob": "b"}}, 400),
    ("POST", "credentials", {"credential": {"type": "x", "blob": "b", "user_id": "nope"}}, 400),
    ("POST", "credentials", {"credential": {"type": "ec2", "blob": "{}", "user_id": "{u}", "project_id": "{p}"}},
     400),
    ("GET", "credentials/nope", None, 404), ("PATCH", "credentials/nope", {"credential": {"blob": "x"}}, 404),
    ("POST", "users/{u}/credentials/OS-EC2", {}, 400), ("POST", "users/{u}/credentials/OS-EC2", {"tenant_id": 5}, 400),
    ("GET", "users/{u}/credentials/OS-EC2/nope", None, 404), ("DELETE", "users/nope/credentials/OS-EC2/x", None, 404),
    ("POST", "ec2tokens", {"credentials": {"access": "x", "params": "no"}}, 400),
    ("POST", "ec2tokens", {"credentials": {"signature": "x"}}, 401),
]


@pytest.mark.parametrize("method,path,body,status", CASES)
def test_bad_input_is_a_keystone_error_and_writes_nothing(ids, admin, method, path, body, status):
    path = path.format(**ids)
    if isinstance(body, dict):
        import json

        body = json.loads(json.dumps(body).replace("{u}", ids["u"]).replace("{p}", ids["p"]))
    before = snapshot()
    r = admin.call(method, path, body)
    assert r.status_code == status, (method, path, r.status_code, r.content)
    assert set(r.json_body["error"]) == {"code", "title", "message"} and r.json_body["error"]["code"] == status
    assert snapshot() == before


def test_malformed_json_and_auth_bodies(ids, admin, api):
    before = snapshot()
    r = admin.call("POST", "groups", raw="{not json")
    assert r.status_code == 400 and r.json_body["error"]["code"] == 400
    for auth in ({"auth": {"identity": {"methods": ["application_credential"],
                                        "application_credential": {"id": "x"}}}},
                 {"auth": {"identity": {"methods": ["application_credential"],
                                        "application_credential": {"name": "x", "secret": "y"}}}},
                 {"auth": {"identity": {"methods": ["application_credential"], "application_credential": "x"}}}):
        r = api.post("auth/tokens", auth)
        assert r.status_code in (400, 401) and r.json_body["error"]["code"] == r.status_code, r.content
    assert snapshot() == before
    assert Api().get("groups").status_code == 401
