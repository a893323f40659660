"""Per-resource policy: a member sees only themselves and their projects, a reader cannot write,
a domain manager manages their domain and nothing else (403 in Keystone's shape, nothing written)."""
import pytest

from apps.identity.models import Credential, Domain, Group, Project, Region, Role, RoleAssignment, Service, User

from .conftest import Api, make_user, password_auth

pytestmark = pytest.mark.django_db


def counts():
    return [m.objects.count() for m in (Domain, Project, User, Group, Role, RoleAssignment, Region, Service,
                                        Credential)]


@pytest.fixture
def people(cloud, admin, api):
    p = admin.post("projects", {"project": {"name": "perm-p"}}).json_body["project"]
    other = admin.post("projects", {"project": {"name": "perm-other"}}).json_body["project"]
    out = {"project": p, "other": other}
    for role in ("member", "reader"):
        u = make_user(admin, f"perm-{role}", f"pw-{role}-123", project_id=p["id"], role=role)
        tok = api.post("auth/tokens", password_auth(f"perm-{role}", f"pw-{role}-123", project="perm-p"))
        out[role] = (u, Api(tok["X-Subject-Token"]))
    # a domain manager of d1, holding a domain-scoped token
    d1 = admin.post("domains", {"domain": {"name": "perm-d1"}}).json_body["domain"]
    d2 = admin.post("domains", {"domain": {"name": "perm-d2"}}).json_body["domain"]
    mgr = admin.post("users", {"user": {"name": "mgr", "domain_id": d1["id"], "password": "pw-mgr-123"}}).json_body["user"]
    manager = Role.objects.get(name="manager").id
    assert admin.put(f"domains/{d1['id']}/users/{mgr['id']}/roles/{manager}").status_code == 204
    tok = api.post("auth/tokens", password_auth("mgr", "pw-mgr-123", domain="perm-d1", domain_scope="perm-d1"))
    assert tok.status_code == 201, tok.content
    out.update(d1=d1, d2=d2, manager=(mgr, Api(tok["X-Subject-Token"])))
    return out


def refused(client, method, path, body=None):
    r = client.call(method, path, body)
    assert r.status_code == 403, (method, path, r.status_code, r.content)
    assert r.json_body["error"] == {"code": 403, "title": "Forbidden", "message": r.json_body["error"]["message"]}


def test_member_sees_only_itself_and_its_projects(cloud, admin, people):
    (me, client), other = people["member"], people["other"]
    admin_id = cloud["user"].id
    for path in ("users", "projects", f"projects/{other['id']}", f"users/{admin_id}", "groups", "domains",
                 "role_assignments", f"users/{admin_id}/groups", f"users/{admin_id}/projects", "services",
                 "endpoints", "role_inferences", f"users/{admin_id}/application_credentials",
                 f"users/{admin_id}/credentials/OS-EC2", f"projects/{other['id']}/tags"):
        refused(client, "GET", path)
    assert client.get(f"users/{me['id']}").status_code == 200
    assert client.get(f"projects/{people['project']['id']}").status_code == 200
    assert client.get(f"projects/{people['project']['id']}/tags").status_code == 200
    assert client.get(f"users/{me['id']}/groups").status_code == 200
    assert client.get("regions").status_code == 200  # regions are public to any token, as in Keystone


def test_reader_cannot_write_anything(cloud, admin, people):
    (me, client), p = people["reader"], people["project"]
    before = counts()
    member = Role.objects.get(name="member").id
    g = admin.post("groups", {"group": {"name": "perm-g"}}).json_body["group"]
    before = counts()
    for method, path, body in (
            ("POST", "domains", {"domain": {"name": "x"}}), ("POST", "projects", {"project": {"name": "x"}}),
            ("POST", "users", {"user": {"name": "x"}}), ("POST", "groups", {"group": {"name": "x"}}),
            ("POST", "roles", {"role": {"name": "x"}}), ("POST", "regions", {"region": {"id": "x"}}),
            ("POST", "services", {"service": {"type": "x"}}),
            ("PATCH", f"projects/{p['id']}", {"project": {"description": "x"}}),
            ("PUT", f"projects/{p['id']}/tags", {"tags": ["x"]}), ("PUT", f"projects/{p['id']}/tags/x", None),
            ("PUT", f"projects/{p['id']}/users/{me['id']}/roles/{member}", None),
            ("PUT", f"groups/{g['id']}/users/{me['id']}", None), ("DELETE", f"groups/{g['id']}", None),
            ("PUT", f"roles/{member}/implies/{Role.objects.get(name='reader').id}", None),
            ("POST", f"users/{me['id']}/credentials/OS-EC2", {"tenant_id": p["id"]}),
            ("POST", "credentials", {"credential": {"type": "x", "blob": "b", "user_id": cloud["user"].id}}),
            ("DELETE", f"projects/{p['id']}", None)):
        refused(client, method, path, body)
    assert counts() == before and Project.objects.get(id=p["id"]).tags == []


def test_domain_manager_limited_to_its_domain(cloud, admin, people):
    (mgr, client), d1, d2 = people["manager"], people["d1"], people["d2"]
    r = client.post("projects", {"project": {"name": "mp"}})
    assert r.status_code == 201 and r.json_body["project"]["domain_id"] == d1["id"]
    pid = r.json_body["project"]["id"]
    u = client.post("users", {"user": {"name": "mu", "password": "pw-mu-1234"}})
    assert u.status_code == 201 and u.json_body["user"]["domain_id"] == d1["id"]
    uid = u.json_body["user"]["id"]
    g = client.post("groups", {"group": {"name": "mg"}}).json_body["group"]
    assert client.put(f"groups/{g['id']}/users/{uid}").status_code == 204
    member = Role.objects.get(name="member").id
    assert client.put(f"projects/{pid}/users/{uid}/roles/{member}").status_code == 204
    assert {x["id"] for x in client.get("users").json_body["users"]} == {mgr["id"], uid}
    assert {x["id"] for x in client.get("projects").json_body["projects"]} == {pid}
    rows = client.get("role_assignments").json_body["role_assignments"]
    assert rows and all(r["scope"].get("project", {}).get("id") == pid or r["scope"].get("domain", {}).get("id")
                        == d1["id"] for r in rows)
    # no admin for anyone, nothing in the other domain, no domains of its own
    admin_role = Role.objects.get(name="admin").id
    before = counts()
    refused(client, "PUT", f"projects/{pid}/users/{uid}/roles/{admin_role}")
    refused(client, "POST", "projects", {"project": {"name": "x", "domain_id": d2["id"]}})
    refused(client, "POST", "users", {"user": {"name": "x", "domain_id": d2["id"]}})
    refused(client, "POST", "groups", {"group": {"name": "x", "domain_id": d2["id"]}})
    refused(client, "GET", f"users?domain_id={d2['id']}")
    refused(client, "GET", f"users/{cloud['user'].id}")
    refused(client, "PATCH", f"projects/{people['project']['id']}", {"project": {"description": "x"}})
    refused(client, "PATCH", f"domains/{d1['id']}", {"domain": {"enabled": False}})
    refused(client, "POST", "domains", {"domain": {"name": "x"}})
    refused(client, "PUT", f"projects/{people['project']['id']}/users/{uid}/roles/{member}")
    refused(client, "PUT", f"system/users/{uid}/roles/{member}")
    assert counts() == before
    assert client.delete(f"projects/{pid}").status_code == 204


def test_app_creds_and_ec2_are_their_owners(cloud, admin, people):
    (me, client), p = people["member"], people["project"]
    (other, other_client) = people["reader"]
    made = client.post(f"users/{me['id']}/application_credentials",
                       {"application_credential": {"name": "mine"}}).json_body["application_credential"]
    refused(other_client, "GET", f"users/{me['id']}/application_credentials")
    refused(other_client, "GET", f"users/{me['id']}/application_credentials/{made['id']}")
    refused(other_client, "DELETE", f"users/{me['id']}/application_credentials/{made['id']}")
    refused(other_client, "POST", f"users/{me['id']}/application_credentials", {"application_credential": {"name": "x"}})
    refused(admin, "POST", f"users/{me['id']}/application_credentials", {"application_credential": {"name": "x"}})
    assert admin.get(f"users/{me['id']}/application_credentials").status_code == 200
    ec2 = client.post(f"users/{me['id']}/credentials/OS-EC2", {"tenant_id": p["id"]}).json_body["credential"]
    refused(other_client, "GET", f"users/{me['id']}/credentials/OS-EC2/{ec2['access']}")
    refused(other_client, "DELETE", f"users/{me['id']}/credentials/OS-EC2/{ec2['access']}")
    assert other_client.get("credentials").json_body["credentials"] == []
