"""Identity beyond the core, driven by the real `openstack` CLI as an operator and a user would:
domains, groups, group grants, implied roles, effective assignment lists, the catalog resources,
application credentials (and a token from one), EC2 credentials, password change, project tags."""
import secrets
import uuid

import pytest

pytestmark = pytest.mark.e2e

SUFFIX = uuid.uuid4().hex[:8]
PROJECT, USER, GROUP = f"ic-p-{SUFFIX}", f"ic-u-{SUFFIX}", f"ic-g-{SUFFIX}"
PASSWORD = "pw-" + secrets.token_urlsafe(16)  # never starts with "-", which argparse would take for an option


@pytest.fixture(scope="module")
def person(cloud):
    """A project and a user with a password, member through a group on the project."""
    project = cloud.openstack_json("project", "create", PROJECT)
    user = cloud.openstack_json("user", "create", "--domain", "default", "--password", PASSWORD, USER)
    group = cloud.openstack_json("group", "create", "--domain", "default", GROUP)
    cloud.openstack("group", "add", "user", GROUP, USER)
    cloud.openstack("role", "add", "--group", GROUP, "--project", PROJECT, "member")
    return {"project": project, "user": user, "group": group, "password": PASSWORD}


def test_domain_create_set_delete(cloud):
    name = f"ic-d-{SUFFIX}"
    domain = cloud.openstack_json("domain", "create", "--description", "e2e", name)
    assert domain["name"] == name and domain["enabled"] is True
    refused = cloud.openstack("domain", "delete", name, check=False)
    assert refused.returncode != 0  # enabled domains cannot be deleted
    cloud.openstack("domain", "set", "--disable", "--description", "going", name)
    shown = cloud.openstack_json("domain", "show", name)
    assert shown["enabled"] is False and shown["description"] == "going"
    cloud.openstack("domain", "delete", name)
    assert name not in {row["Name"] for row in cloud.openstack_json("domain", "list")}


def test_group_membership_and_group_grant(cloud, person):
    assert person["group"]["name"] == GROUP
    members = cloud.openstack_json("user", "list", "--group", GROUP)
    assert [row["Name"] for row in members] == [USER]
    check = cloud.openstack("group", "contains", "user", GROUP, USER)
    assert f"{USER} in group {GROUP}" in check.stdout
    token = cloud.openstack_json("token", "issue", env=cloud.user_env(USER, person["password"], PROJECT))
    assert token["project_id"] == person["project"]["id"]


def test_implied_role_and_effective_assignments_with_names(cloud, person):
    prior, implied = f"ic-prior-{SUFFIX}", f"ic-implied-{SUFFIX}"
    cloud.openstack("role", "create", prior)
    cloud.openstack("role", "create", implied)
    ids = {name: cloud.openstack_json("role", "show", name)["id"] for name in (prior, implied)}
    rule = cloud.openstack_json("implied", "role", "create", prior, "--implied-role", implied)
    assert rule == {"implies": ids[implied], "prior_role": ids[prior]}
    assert any(row["Prior Role Name"] == prior and row["Implied Role Name"] == implied
               for row in cloud.openstack_json("implied", "role", "list"))
    cloud.openstack("role", "add", "--user", USER, "--project", PROJECT, prior)
    rows = cloud.openstack_json("role", "assignment", "list", "--effective", "--names", "--user", USER)
    roles = {row["Role"] for row in rows if row["Project"] == f"{PROJECT}@Default"}
    assert {"member", "reader", prior, implied} <= roles, rows
    assert all(row["User"] == f"{USER}@Default" and not row["Group"] for row in rows)
    cloud.openstack("implied", "role", "delete", prior, "--implied-role", implied)


def test_region_service_endpoint_create_list_delete(cloud):
    region, stype = f"ic-region-{SUFFIX}", f"ic-type-{SUFFIX}"
    cloud.openstack_json("region", "create", "--description", "e2e", region)
    service = cloud.openstack_json("service", "create", "--name", f"ic-svc-{SUFFIX}", stype)
    endpoint = cloud.openstack_json("endpoint", "create", "--region", region, service["id"], "public",
                                    "http://127.0.0.1:9/ic")
    assert endpoint["region"] == region and endpoint["interface"] == "public"
    assert region in {row["Region"] for row in cloud.openstack_json("region", "list")}
    assert stype in {row["Type"] for row in cloud.openstack_json("service", "list")}
    assert endpoint["id"] in {row["ID"] for row in cloud.openstack_json("endpoint", "list", "--service",
                                                                          service["id"])}
    cloud.openstack("endpoint", "delete", endpoint["id"])
    cloud.openstack("service", "delete", service["id"])
    cloud.openstack("region", "delete", region)
    assert region not in {row["Region"] for row in cloud.openstack_json("region", "list")}


def test_application_credential_then_token(cloud, person):
    user_env = cloud.user_env(USER, person["password"], PROJECT)
    cred = cloud.openstack_json("application", "credential", "create", "--role", "reader", f"ic-ac-{SUFFIX}",
                                env=user_env)
    assert cred["Secret"] and cred["Project ID"] == person["project"]["id"]
    assert [r["name"] for r in cred["Roles"]] == ["reader"]
    env = {k: v for k, v in user_env.items() if k not in ("OS_USERNAME", "OS_PASSWORD", "OS_PROJECT_NAME",
                                                          "OS_USER_DOMAIN_NAME", "OS_PROJECT_DOMAIN_NAME")}
    env.update(OS_AUTH_TYPE="v3applicationcredential", OS_APPLICATION_CREDENTIAL_ID=cred["ID"],
               OS_APPLICATION_CREDENTIAL_SECRET=cred["Secret"])
    token = cloud.openstack_json("token", "issue", env=env)
    assert token["project_id"] == person["project"]["id"] and token["user_id"] == person["user"]["id"]
    listed = cloud.openstack_json("application", "credential", "list", env=user_env)
    assert [row["ID"] for row in listed] == [cred["ID"]]
    cloud.openstack("application", "credential", "delete", cred["ID"], env=user_env)
    assert cloud.openstack("token", "issue", env=env, check=False).returncode != 0


def test_ec2_credentials_create_list_delete(cloud, person):
    user_env = cloud.user_env(USER, person["password"], PROJECT)
    created = cloud.openstack_json("ec2", "credentials", "create", env=user_env)
    assert created["access"] and created["secret"] and created["project_id"] == person["project"]["id"]
    listed = cloud.openstack_json("ec2", "credentials", "list", env=user_env)
    assert [row["Access"] for row in listed] == [created["access"]]
    cloud.openstack("ec2", "credentials", "delete", created["access"], env=user_env)
    assert cloud.openstack_json("ec2", "credentials", "list", env=user_env) == []


def test_project_set_tag(cloud, person):
    cloud.openstack("project", "set", "--tag", "blue", "--tag", "green", PROJECT)
    shown = cloud.openstack_json("project", "show", PROJECT)
    assert sorted(shown["tags"]) == ["blue", "green"]
    tagged = cloud.openstack_json("project", "list", "--tags", "blue")
    assert [row["Name"] for row in tagged] == [PROJECT]


def test_user_password_set(cloud, person):
    new = "pw-" + secrets.token_urlsafe(16)
    cloud.openstack("user", "password", "set", "--original-password", person["password"], "--password", new,
                    env=cloud.user_env(USER, person["password"], PROJECT))
    assert cloud.openstack("token", "issue", env=cloud.user_env(USER, person["password"], PROJECT),
                           check=False).returncode != 0
    token = cloud.openstack_json("token", "issue", env=cloud.user_env(USER, new, PROJECT))
    assert token["user_id"] == person["user"]["id"]
    person["password"] = new
