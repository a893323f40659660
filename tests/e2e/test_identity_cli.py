"""The admin and a new user drive identity with the real python-openstackclient and openstacksdk.

Written against the Keystone v3 API reference and the clients' own behaviour: what an
operator types after `./stack up` must work as it does against Keystone.
"""
import json
import os
import secrets
import uuid

import pexpect
import pytest
import requests

from .conftest import CLI_TIMEOUT, OPENSTACK

pytestmark = [pytest.mark.e2e, pytest.mark.filterwarnings("ignore:::openstack")]

SUFFIX = uuid.uuid4().hex[:8]
P1, U1, R1 = f"p1-{SUFFIX}", f"u1-{SUFFIX}", f"r1-{SUFFIX}"
U1_PASSWORD = secrets.token_urlsafe(16)


def user_create_with_password_prompt(cloud, name, password):
    """`openstack user create --password-prompt` reads the password from a terminal only."""
    child = pexpect.spawn(str(OPENSTACK), ["user", "create", "--domain", "default", "--password-prompt",
                                           "-f", "json", name],
                          env=cloud.env, encoding="utf-8", timeout=CLI_TIMEOUT)
    child.expect_exact("User Password:")
    child.sendline(password)
    child.expect_exact("Repeat User Password:")
    child.sendline(password)
    child.expect(pexpect.EOF)
    output = child.before
    child.close()
    assert child.exitstatus == 0, output
    return json.loads(output[output.index("{"):])


@pytest.fixture(scope="module")
def seeded(cloud):
    """p1, u1 (password typed at the prompt), r1, and member for u1 on p1."""
    project = cloud.openstack_json("project", "create", P1)
    user = user_create_with_password_prompt(cloud, U1, U1_PASSWORD)
    role = cloud.openstack_json("role", "create", R1)
    cloud.openstack("role", "add", "--project", P1, "--user", U1, "member")
    return {"project": project, "user": user, "role": role}


def test_token_issue(cloud):
    token = cloud.openstack_json("token", "issue")
    assert {"id", "expires", "project_id", "user_id"} <= set(token)
    admin = cloud.openstack_json("project", "show", "admin")
    assert token["project_id"] == admin["id"]


def test_project_list(cloud):
    names = {row["Name"] for row in cloud.openstack_json("project", "list")}
    assert "admin" in names


def test_project_create(cloud, seeded):
    project = seeded["project"]
    assert project["name"] == P1
    assert project["domain_id"] == "default"
    assert project["enabled"] is True
    assert P1 in {row["Name"] for row in cloud.openstack_json("project", "list")}


def test_user_create_with_password_prompt(cloud, seeded):
    user = seeded["user"]
    assert user["name"] == U1
    assert user["domain_id"] == "default"
    assert user["enabled"] is True
    assert "password" not in user
    assert U1 in {row["Name"] for row in cloud.openstack_json("user", "list")}


def test_role_create(cloud, seeded):
    assert seeded["role"]["name"] == R1
    assert R1 in {row["Name"] for row in cloud.openstack_json("role", "list")}


def test_role_assignment_list_names(cloud, seeded):
    rows = cloud.openstack_json("role", "assignment", "list", "--names")
    assert any(row["Role"] == "member" and row["User"] == f"{U1}@Default" and row["Project"] == f"{P1}@Default"
               for row in rows), rows


def test_role_assignment_list_by_user(cloud, seeded):
    rows = cloud.openstack_json("role", "assignment", "list", "--user", U1, "--project", P1)
    assert [(row["User"], row["Project"]) for row in rows] == [(seeded["user"]["id"], seeded["project"]["id"])]


def test_catalog_list(cloud):
    rows = cloud.openstack_json("catalog", "list")
    identity = [row for row in rows if row["Type"] == "identity"]
    assert identity, rows
    assert cloud.url in json.dumps(identity)


def test_user_authenticates_through_os_variables(cloud, seeded):
    token = cloud.openstack_json("token", "issue", env=cloud.user_env(U1, U1_PASSWORD, P1))
    assert token["user_id"] == seeded["user"]["id"]
    assert token["project_id"] == seeded["project"]["id"]


def test_wrong_password_is_refused(cloud, seeded):
    proc = cloud.openstack("token", "issue", env=cloud.user_env(U1, U1_PASSWORD + "x", P1), check=False)
    assert proc.returncode != 0
    assert "401" in proc.stderr or "authenticat" in proc.stderr.lower()


def test_token_revoke(cloud, seeded):
    token = cloud.openstack_json("token", "issue", env=cloud.user_env(U1, U1_PASSWORD, P1))["id"]
    admin = cloud.issue_token()
    validate = f"{cloud.identity_url}/auth/tokens"
    assert requests.get(validate, headers={"X-Auth-Token": admin, "X-Subject-Token": token}, timeout=30).status_code == 200

    cloud.openstack("token", "revoke", token)

    resp = requests.get(validate, headers={"X-Auth-Token": admin, "X-Subject-Token": token}, timeout=30)
    assert resp.status_code == 404, resp.text
    assert "error" in resp.json()
    resp = requests.get(validate, headers={"X-Auth-Token": token, "X-Subject-Token": token}, timeout=30)
    assert resp.status_code == 401, resp.text
    # The user can still log in again: revoking a token is not disabling the user.
    cloud.openstack_json("token", "issue", env=cloud.user_env(U1, U1_PASSWORD, P1))


def test_openstacksdk_connect_from_clouds_yaml(cloud, seeded, monkeypatch):
    import openstack

    for name in [k for k in os.environ if k.startswith("OS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(cloud.clouds_yaml))
    conn = openstack.connect(cloud="monostack")
    try:
        names = {project.name for project in conn.identity.projects()}
        assert {"admin", P1} <= names
        assert conn.identity.find_user(U1).id == seeded["user"]["id"]
        assert conn.current_project_id == conn.identity.find_project("admin").id
    finally:
        conn.close()
