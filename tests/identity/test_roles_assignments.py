"""Domain-specific and implied roles, /v3/role_inferences, grants for groups and on domains and the
system, OS-INHERIT, and every filter of GET /v3/role_assignments."""
import pytest

from apps.identity.models import Role

from .conftest import Api, make_user, password_auth

pytestmark = pytest.mark.django_db


def ids(rows, key="role"):
    return sorted(r[key]["id"] for r in rows)


def test_implied_roles_api_and_inferences(cloud, admin, api):
    a = admin.post("roles", {"role": {"name": "alpha"}}).json_body["role"]
    b = admin.post("roles", {"role": {"name": "beta"}}).json_body["role"]
    r = admin.put(f"roles/{a['id']}/implies/{b['id']}")
    assert r.status_code == 201
    assert r.json_body["role_inference"]["prior_role"]["id"] == a["id"]
    assert r.json_body["role_inference"]["implies"]["id"] == b["id"]
    assert admin.get(f"roles/{a['id']}/implies/{b['id']}").status_code == 200
    assert admin.head(f"roles/{a['id']}/implies/{b['id']}").status_code == 204
    listed = admin.get(f"roles/{a['id']}/implies").json_body["role_inference"]
    assert [x["id"] for x in listed["implies"]] == [b["id"]]
    inferences = {x["prior_role"]["name"]: {y["name"] for y in x["implies"]}
                  for x in admin.get("role_inferences").json_body["role_inferences"]}
    assert inferences["admin"] == {"manager", "member", "reader"} and inferences["alpha"] == {"beta"}
    assert admin.put(f"roles/{b['id']}/implies/{a['id']}").status_code == 403  # a cycle
    admin_id = Role.objects.get(name="admin").id
    assert admin.put(f"roles/{a['id']}/implies/{admin_id}").status_code == 403  # prohibited
    # a user granted alpha gets beta in tokens
    p = admin.post("projects", {"project": {"name": "ip"}}).json_body["project"]
    u = make_user(admin, "iu", "pw-iu-12345")
    admin.put(f"projects/{p['id']}/users/{u['id']}/roles/{a['id']}")
    token = api.post("auth/tokens", password_auth("iu", "pw-iu-12345", project="ip")).json_body["token"]
    assert {x["name"] for x in token["roles"]} == {"alpha", "beta"}
    assert admin.delete(f"roles/{a['id']}/implies/{b['id']}").status_code == 204
    assert admin.delete(f"roles/{a['id']}/implies/{b['id']}").status_code == 404
    token = api.post("auth/tokens", password_auth("iu", "pw-iu-12345", project="ip")).json_body["token"]
    assert {x["name"] for x in token["roles"]} == {"alpha"}


def test_domain_specific_roles(cloud, admin, api):
    d = admin.post("domains", {"domain": {"name": "dsr"}}).json_body["domain"]
    r = admin.post("roles", {"role": {"name": "reader", "domain_id": d["id"]}})  # same name, other namespace
    assert r.status_code == 201 and r.json_body["role"]["domain_id"] == d["id"]
    ds = r.json_body["role"]
    assert ds["id"] not in {x["id"] for x in admin.get("roles").json_body["roles"]}
    assert [x["id"] for x in admin.get(f"roles?domain_id={d['id']}").json_body["roles"]] == [ds["id"]]
    member = Role.objects.get(name="member", domain=None)
    assert admin.put(f"roles/{ds['id']}/implies/{member.id}").status_code == 201
    assert admin.put(f"roles/{member.id}/implies/{ds['id']}").status_code == 403  # global -> domain-specific
    # granted on a project of the same domain only; tokens show what it implies, not itself
    pd = admin.post("projects", {"project": {"name": "dsp", "domain_id": d["id"]}}).json_body["project"]
    other = admin.post("projects", {"project": {"name": "dsp-default"}}).json_body["project"]
    u = admin.post("users", {"user": {"name": "dsu", "domain_id": d["id"], "password": "pw-dsu-123"}}).json_body["user"]
    assert admin.put(f"projects/{other['id']}/users/{u['id']}/roles/{ds['id']}").status_code == 403
    assert admin.put(f"projects/{pd['id']}/users/{u['id']}/roles/{ds['id']}").status_code == 204
    token = api.post("auth/tokens", password_auth("dsu", "pw-dsu-123", project="dsp", domain="dsr")).json_body["token"]
    assert {x["name"] for x in token["roles"]} == {"member", "reader"}
    assert ds["id"] not in {x["id"] for x in token["roles"]}
    rows = admin.get(f"role_assignments?effective&user.id={u['id']}").json_body["role_assignments"]
    assert ds["id"] not in ids(rows) and member.id in ids(rows)


def test_group_domain_system_grants_and_every_filter(cloud, admin):
    d = admin.post("domains", {"domain": {"name": "rad"}}).json_body["domain"]
    p = admin.post("projects", {"project": {"name": "rap", "domain_id": d["id"]}}).json_body["project"]
    child = admin.post("projects", {"project": {"name": "rap-child", "parent_id": p["id"]}}).json_body["project"]
    g = admin.post("groups", {"group": {"name": "rag", "domain_id": d["id"]}}).json_body["group"]
    u = admin.post("users", {"user": {"name": "rau", "domain_id": d["id"]}}).json_body["user"]
    admin.put(f"groups/{g['id']}/users/{u['id']}")
    roles = {r.name: r.id for r in Role.objects.filter(domain=None)}
    assert admin.put(f"projects/{p['id']}/groups/{g['id']}/roles/{roles['member']}").status_code == 204
    assert admin.put(f"domains/{d['id']}/users/{u['id']}/roles/{roles['reader']}").status_code == 204
    assert admin.put(f"system/users/{u['id']}/roles/{roles['reader']}").status_code == 204
    assert admin.put(f"system/groups/{g['id']}/roles/{roles['reader']}").status_code == 204
    assert admin.put(f"OS-INHERIT/domains/{d['id']}/users/{u['id']}/roles/{roles['manager']}"
                     "/inherited_to_projects").status_code == 204
    assert admin.head(f"OS-INHERIT/domains/{d['id']}/users/{u['id']}/roles/{roles['manager']}"
                      "/inherited_to_projects").status_code == 204
    inh = admin.get(f"OS-INHERIT/domains/{d['id']}/users/{u['id']}/roles/inherited_to_projects").json_body["roles"]
    assert [x["id"] for x in inh] == [roles["manager"]]
    assert [x["id"] for x in admin.get(f"system/users/{u['id']}/roles").json_body["roles"]] == [roles["reader"]]
    assert admin.head(f"system/users/{u['id']}/roles/{roles['reader']}").status_code == 204
    assert [x["id"] for x in admin.get(f"system/groups/{g['id']}/roles").json_body["roles"]] == [roles["reader"]]

    def q(query):
        r = admin.get(f"role_assignments?{query}")
        assert r.status_code == 200, (query, r.content)
        return r.json_body["role_assignments"]

    assert len(q(f"user.id={u['id']}")) == 3  # domain reader, system reader, inherited manager
    assert len(q(f"group.id={g['id']}")) == 2
    assert ids(q(f"scope.project.id={p['id']}")) == [roles["member"]]
    assert len(q(f"scope.domain.id={d['id']}")) == 2
    assert len(q(f"scope.domain.id={d['id']}&scope.OS-INHERIT:inherited_to=projects")) == 1
    assert len(q("scope.system=all&user.id=" + u["id"])) == 1
    assert {x["role"]["id"] for x in q(f"role.id={roles['member']}")} == {roles["member"]}
    # effective: the group expanded to its member, inherited to both projects, implied roles added
    eff = q(f"effective&user.id={u['id']}&scope.project.id={p['id']}")
    assert {x["role"]["id"] for x in eff} == {roles[n] for n in ("manager", "member", "reader")}
    assert all(x["user"]["id"] == u["id"] for x in eff)
    via_group = [x for x in eff if "membership" in x["links"]]
    assert via_group and via_group[0]["links"]["membership"].endswith(f"groups/{g['id']}/users/{u['id']}")
    inherited = [x for x in eff if x["scope"].get("OS-INHERIT:inherited_to") == "projects"]
    assert inherited and "/OS-INHERIT/domains/" in inherited[0]["links"]["assignment"]
    assert any("prior_role" in x["links"] for x in eff)
    eff_child = q(f"effective&user.id={u['id']}&scope.project.id={child['id']}")
    assert {x["role"]["id"] for x in eff_child} == {roles[n] for n in ("manager", "member", "reader")}
    assert {x["role"]["id"] for x in q(f"effective&user.id={u['id']}&role.id={roles['reader']}")} == {roles["reader"]}
    # include_subtree
    sub = q(f"scope.project.id={p['id']}&include_subtree=true")
    assert {x["scope"]["project"]["id"] for x in sub} == {p["id"]}
    admin.put(f"projects/{child['id']}/users/{u['id']}/roles/{roles['reader']}")
    sub = q(f"scope.project.id={p['id']}&include_subtree=true")
    assert {x["scope"]["project"]["id"] for x in sub} == {p["id"], child["id"]}
    # include_names
    named = q(f"user.id={u['id']}&scope.domain.id={d['id']}&include_names")
    assert named[0]["user"]["name"] == "rau" and named[0]["scope"]["domain"]["name"] == "rad"
    assert named[0]["role"]["name"] in ("reader", "manager")
    # invalid combinations are 400s in Keystone's words
    for bad in (f"effective&group.id={g['id']}", f"user.id={u['id']}&group.id={g['id']}",
                f"scope.project.id={p['id']}&scope.domain.id={d['id']}", "scope.system=all&scope.domain.id=x",
                "include_subtree=true"):
        r = admin.get(f"role_assignments?{bad}")
        assert r.status_code == 400 and r.json_body["error"]["code"] == 400, bad
    # a domain-scoped user token with the inherited role on the project carries it
    assert admin.delete(f"OS-INHERIT/domains/{d['id']}/users/{u['id']}/roles/{roles['manager']}"
                        "/inherited_to_projects").status_code == 204
    assert not q(f"user.id={u['id']}&scope.OS-INHERIT:inherited_to=projects")


def test_assignment_list_is_a_bounded_number_of_queries(cloud, admin, django_assert_max_num_queries):
    p = admin.post("projects", {"project": {"name": "qp"}}).json_body["project"]
    g = admin.post("groups", {"group": {"name": "qg"}}).json_body["group"]
    member = Role.objects.get(name="member").id
    admin.put(f"projects/{p['id']}/groups/{g['id']}/roles/{member}")
    for i in range(15):
        u = make_user(admin, f"q{i}", "pw-q-123456", project_id=p["id"])
        admin.put(f"groups/{g['id']}/users/{u['id']}")
    admin.get("roles")  # the token is rebuilt once after the changes above; count only the list
    with django_assert_max_num_queries(8):
        r = admin.get(f"role_assignments?effective&include_names&scope.project.id={p['id']}")
    assert r.status_code == 200 and len(r.json_body["role_assignments"]) >= 30
