"""`./stack up` run again keeps the data; `./stack down` then `./stack up` comes back healthy."""
import stat
import uuid

import pytest
import requests
import yaml

pytestmark = pytest.mark.e2e

PROCESSES = ("api", "conductor", "reports", "beat", "agent")


def status_lines(cloud):
    proc = cloud.stack("status", check=False)
    return proc.returncode, {line.split()[0]: line for line in proc.stdout.splitlines() if line.strip()}


def test_up_wrote_the_admin_credentials(cloud):
    clouds = yaml.safe_load(cloud.clouds_yaml.read_text())["clouds"]
    auth = clouds["monostack"]["auth"]
    assert auth["auth_url"].startswith(cloud.url)
    assert auth["username"] == "admin"
    assert auth["password"] == cloud.admin_password()
    assert "OS_AUTH_URL" in cloud.openrc.read_text()
    for secret in (cloud.password_file, cloud.openrc):
        assert stat.S_IMODE(secret.stat().st_mode) & 0o077 == 0, secret


def test_status_reports_every_process(cloud):
    rc, lines = status_lines(cloud)
    assert rc == 0, lines
    assert set(lines) == set(PROCESSES)
    for process in PROCESSES:
        assert " running " in lines[process], lines[process]
    assert "ok (200)" in lines["api"]


def test_second_up_keeps_users_and_projects(cloud):
    name = f"keep-{uuid.uuid4().hex[:8]}"
    project = cloud.openstack_json("project", "create", name)
    user = cloud.openstack_json("user", "create", "--domain", "default", "--password", "secret-" + name, name)
    cloud.openstack("role", "add", "--project", name, "--user", name, "member")

    out = cloud.stack("up").stdout

    assert cloud.url in out and str(cloud.clouds_yaml) in out and str(cloud.openrc) in out
    assert cloud.admin_password() not in out
    assert cloud.openstack_json("project", "show", name)["id"] == project["id"]
    assert cloud.openstack_json("user", "show", name)["id"] == user["id"]
    token = cloud.openstack_json("token", "issue", env=cloud.user_env(name, "secret-" + name, name))
    assert token["project_id"] == project["id"]


def test_down_then_up_comes_back_healthy(cloud):
    token = cloud.issue_token()

    cloud.stack("down")
    rc, lines = status_lines(cloud)
    assert rc != 0
    assert all(" stopped" in lines[p] for p in PROCESSES), lines
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{cloud.url}/healthz", timeout=5)

    cloud.stack("up")
    rc, lines = status_lines(cloud)
    assert rc == 0, lines
    assert requests.get(f"{cloud.url}/healthz", timeout=5).status_code == 200
    # Tokens and their keys survive a restart.
    resp = requests.get(f"{cloud.identity_url}/auth/tokens",
                        headers={"X-Auth-Token": token, "X-Subject-Token": token}, timeout=30)
    assert resp.status_code == 200, resp.text
    assert cloud.openstack_json("token", "issue")["id"]
