"""Networking through the real `openstack` CLI: the seed's commands verbatim, then list, show,
set and delete of each resource, as the admin and as a project member."""
import secrets
import uuid

import pytest

pytestmark = pytest.mark.e2e

SUFFIX = uuid.uuid4().hex[:8]
PROJECT, USER = f"netp-{SUFFIX}", f"netu-{SUFFIX}"
PASSWORD = "pw-" + secrets.token_urlsafe(16)  # never starts with "-" (argparse)


@pytest.fixture(scope="module")
def member(cloud):
    cloud.openstack("project", "create", PROJECT)
    cloud.openstack("user", "create", "--domain", "default", "--password", PASSWORD, USER)
    cloud.openstack("role", "add", "--project", PROJECT, "--user", USER, "member")
    env = cloud.user_env(USER, PASSWORD, PROJECT)

    def run(*args, check=True):
        return cloud.openstack(*args, env=env, check=check)

    def run_json(*args):
        return cloud.openstack_json(*args, env=env)

    run.json = run_json
    return run


@pytest.fixture(scope="module")
def public(cloud):
    net = cloud.openstack_json("network", "create", "--external", "--provider-network-type", "flat",
                               "--provider-physical-network", "physnet1", "public")
    sub = cloud.openstack_json("subnet", "create", "--network", "public", "--subnet-range", "172.24.4.0/24",
                               "--no-dhcp", "public-subnet")
    yield net, sub
    cloud.openstack("subnet", "delete", "public-subnet", check=False)
    cloud.openstack("network", "delete", "public", check=False)


def test_seed_commands_and_lifecycle(cloud, member, public):
    net, sub = public
    assert net["router:external"] in (True, "External") and net["provider:network_type"] == "flat"
    assert sub["enable_dhcp"] is False and sub["cidr"] == "172.24.4.0/24"

    # the seed, verbatim, as the project member
    private = member.json("network", "create", "private-net")
    assert private["name"] == "private-net" and private["status"] == "ACTIVE"
    subnet = member.json("subnet", "create", "--network", "private-net", "--subnet-range", "192.168.1.0/24",
                         "private-subnet")
    assert subnet["gateway_ip"] == "192.168.1.1"
    router = member.json("router", "create", "router1")
    member("router", "add", "subnet", "router1", "private-subnet")
    member("router", "set", "--external-gateway", "public", "router1")
    fip = member.json("floating", "ip", "create", "public")
    assert fip["floating_ip_address"].startswith("172.24.4.")
    rule = member.json("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22", "default")
    assert rule["port_range_min"] == 22 and rule["protocol"] == "tcp"
    port = member.json("port", "create", "--network", "private-net", "p1")
    assert port["mac_address"].startswith("fa:16:3e") and port["fixed_ips"]

    # list and show
    assert "private-net" in {n["Name"] for n in member.json("network", "list")}
    assert "private-subnet" in {s["Name"] for s in member.json("subnet", "list")}
    assert "p1" in {p["Name"] for p in member.json("port", "list")}
    assert "router1" in {r["Name"] for r in member.json("router", "list")}
    assert fip["id"] in {f["ID"] for f in member.json("floating", "ip", "list")}
    assert "default" in {g["Name"] for g in member.json("security", "group", "list")}
    assert rule["id"] in {r["ID"] for r in member.json("security", "group", "rule", "list", "default")}
    shown = member.json("router", "show", "router1")
    assert shown["external_gateway_info"]["network_id"] == net["id"]
    assert member.json("port", "show", "p1")["id"] == port["id"]
    assert member.json("network", "show", "private-net")["subnets"] == [subnet["id"]]
    assert cloud.openstack_json("network", "agent", "list")
    assert cloud.openstack_json("availability", "zone", "list", "--network")
    assert cloud.openstack_json("extension", "list", "--network")

    # set
    member("network", "set", "--name", "private-net2", "private-net")
    member("subnet", "set", "--dns-nameserver", "8.8.8.8", "private-subnet")
    member("port", "set", "--name", "p2", "p1")
    member("router", "set", "--name", "router2", "router1")
    member("floating", "ip", "set", "--port", "p2", fip["id"])
    assert member.json("floating", "ip", "show", fip["id"])["port_id"] == port["id"]
    member("floating", "ip", "unset", "--port", fip["id"])
    member("security", "group", "set", "--description", "mine", "default")

    # delete
    member("floating", "ip", "delete", fip["id"])
    member("security", "group", "rule", "delete", rule["id"])
    member("port", "delete", "p2")
    member("router", "unset", "--external-gateway", "router2")
    member("router", "remove", "subnet", "router2", "private-subnet")
    member("router", "delete", "router2")
    member("subnet", "delete", "private-subnet")
    member("network", "delete", "private-net2")
    assert "private-net2" not in {n["Name"] for n in member.json("network", "list")}


def test_bad_input_is_a_clean_error(member):
    proc = member("subnet", "create", "--network", "nope", "--subnet-range", "10.0.0.0/33", "x", check=False)
    assert proc.returncode != 0


def test_another_projects_network_is_invisible(cloud, member):
    other = cloud.openstack_json("network", "create", f"admin-only-{SUFFIX}")
    try:
        proc = member("network", "show", other["id"], check=False)
        assert proc.returncode != 0
    finally:
        cloud.openstack("network", "delete", other["id"])
