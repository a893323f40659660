"""Compute through the real `openstack` CLI and openstacksdk against `./stack up`: the seed's
commands with the tiny guest (images/build-tiny-guest) booted by libvirt (QEMU), its DHCP
lease, metadata and config drive read from its serial console, a floating IP answering
from the host, and nothing left behind by delete."""
import json
import re
import secrets
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SUFFIX = uuid.uuid4().hex[:8]
PROJECT, USER = f"cmp-{SUFFIX}", f"cmpu-{SUFFIX}"
PASSWORD = "pw-" + secrets.token_urlsafe(16)  # never starts with "-", which argparse would take for an option
IMAGE = f"tiny-{SUFFIX}"


def wait_for(predicate, timeout=120, interval=1.0, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"timed out waiting for {what}; last: {last!r}")


def domains():
    out = subprocess.run(["virsh", "-c", "qemu:///system", "list", "--all", "--uuid"], capture_output=True,
                         text=True).stdout
    return {line.strip() for line in out.splitlines() if line.strip()}


def links():
    return set(subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout.split())


@pytest.fixture(scope="module")
def tiny_image(cloud):
    out = subprocess.run([str(ROOT / "images" / "build-tiny-guest")], capture_output=True, text=True, check=True)
    path = out.stdout.strip().splitlines()[-1]
    image = cloud.openstack_json("image", "create", "--disk-format", "qcow2", "--container-format", "bare",
                                 "--public", "--file", path, IMAGE)
    yield image
    cloud.openstack("image", "delete", IMAGE, check=False)


@pytest.fixture(scope="module")
def member(cloud):
    cloud.openstack("project", "create", PROJECT)
    cloud.openstack("user", "create", "--domain", "default", "--password", PASSWORD, USER)
    cloud.openstack("role", "add", "--project", PROJECT, "--user", USER, "member")
    env = cloud.user_env(USER, PASSWORD, PROJECT)

    def run(*args, check=True):
        return cloud.openstack(*args, env=env, check=check)

    run.json = lambda *args: cloud.openstack_json(*args, env=env)
    run.env = env
    return run


@pytest.fixture(scope="module")
def networks(cloud, member):
    public = cloud.openstack("network", "show", "public", "-f", "json", check=False)
    made_public = public.returncode != 0
    if made_public:
        cloud.openstack("network", "create", "--external", "--provider-network-type", "flat",
                        "--provider-physical-network", "physnet1", "public")
        cloud.openstack("subnet", "create", "--network", "public", "--subnet-range", "172.24.4.0/24", "--no-dhcp",
                        "public-subnet")
    member("network", "create", "private-net")
    member("subnet", "create", "--network", "private-net", "--subnet-range", "192.168.77.0/24", "private-subnet")
    member("router", "create", "crouter")
    member("router", "add", "subnet", "crouter", "private-subnet")
    member("router", "set", "--external-gateway", "public", "crouter")
    member("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "80", "default")
    yield
    for server in member.json("server", "list"):
        member("server", "delete", "--wait", server["ID"], check=False)
    for fip in member.json("floating", "ip", "list"):
        member("floating", "ip", "delete", fip["ID"], check=False)
    member("router", "unset", "--external-gateway", "crouter", check=False)
    member("router", "remove", "subnet", "crouter", "private-subnet", check=False)
    member("router", "delete", "crouter", check=False)
    member("network", "delete", "private-net", check=False)
    if made_public:
        cloud.openstack("subnet", "delete", "public-subnet", check=False)
        cloud.openstack("network", "delete", "public", check=False)


def console(member, name):
    return member("console", "log", "show", name).stdout


def test_server_boot_metadata_floating_ip_actions_and_delete(cloud, member, tiny_image, networks):
    assert member.json("server", "list") == []
    server = member.json("server", "create", "--flavor", "m1.small", "--image", IMAGE, "--network", "private-net",
                         "--config-drive", "True", "--wait", "vm1")
    assert server["status"] == "ACTIVE"
    sid = server["id"]
    shown = member.json("server", "show", "vm1")
    addr = re.search(r"192\.168\.77\.\d+", json.dumps(shown["addresses"])).group(0)

    # the guest took its address from our DHCP, and read the metadata service and config drive
    log = wait_for(lambda: (lambda text: text if "tiny-guest: ready" in text else None)(console(member, "vm1")),
                   timeout=180, what="the guest to come up")
    assert f"tiny-guest: ip {addr}" in log
    assert re.search(r"tiny-guest: metadata .*" + sid, log), log[-2000:]
    assert re.search(r"tiny-guest: config-drive .*" + sid, log), log[-2000:]

    # a floating IP answers from the host through the router
    fip = member.json("floating", "ip", "create", "public")["floating_ip_address"]
    member("server", "add", "floating", "ip", "vm1", fip)
    answer = wait_for(lambda: _http(f"http://{fip}/meta_data.json"), timeout=90, what="the floating IP")
    assert json.loads(answer)["uuid"] == sid

    # actions
    member("server", "reboot", "--wait", "vm1")
    assert member.json("server", "show", "vm1")["status"] == "ACTIVE"
    member("server", "reboot", "--hard", "--wait", "vm1")
    member("server", "stop", "vm1")
    wait_for(lambda: member.json("server", "show", "vm1")["status"] == "SHUTOFF", what="SHUTOFF")
    member("server", "start", "vm1")
    wait_for(lambda: member.json("server", "show", "vm1")["status"] == "ACTIVE", what="ACTIVE again")

    # delete leaves no domain, disk, tap or port behind
    port_ids = [p["ID"] for p in member.json("port", "list", "--device-id", sid)]
    assert port_ids and f"tap{port_ids[0][:11]}" in {name.split("@")[0].rstrip(":") for name in links()}
    member("server", "delete", "--wait", "vm1")
    assert sid not in domains()  # only ours: another cloud on this host may boot its own meanwhile
    assert not [p for p in member.json("port", "list", "--device-id", sid)]
    assert not list((Path(cloud.base) / "state" / "instances").glob(f"{sid}*"))
    assert not {f"tap{p[:11]}" for p in port_ids} & {name.split("@")[0].rstrip(":") for name in links()}


def _http(url):
    try:
        r = requests.get(url, timeout=3)
        return r.text if r.status_code == 200 else None
    except requests.RequestException:
        return None


def test_server_without_network_uses_the_only_one(cloud, member, tiny_image, networks):
    server = member.json("server", "create", "--flavor", "m1.tiny", "--image", IMAGE, "--wait", "vm2")
    assert server["status"] == "ACTIVE"
    assert "private-net" in json.dumps(member.json("server", "show", "vm2")["addresses"])
    member("server", "delete", "--wait", "vm2")


def test_openstacksdk_create_and_delete_server(cloud, member, tiny_image, networks):
    import openstack

    conn = openstack.connect(auth_url=cloud.identity_url, username=USER, password=PASSWORD, project_name=PROJECT,
                             user_domain_name="Default", project_domain_name="Default", region_name="RegionOne",
                             load_envvars=False, load_yaml_config=False)
    server = conn.create_server("sdk-vm", image=IMAGE, flavor="m1.tiny", network="private-net", wait=True,
                                timeout=300, auto_ip=False)
    assert server.status == "ACTIVE"
    assert conn.delete_server(server.id, wait=True, timeout=300)
    assert conn.get_server(server.id) is None
    assert server.id not in domains()


def test_bad_input_and_permissions(cloud, member, tiny_image, networks):
    r = member("server", "create", "--flavor", "m1.tiny", "--image", IMAGE, "--network",
               str(uuid.uuid4()), "bad", check=False)
    assert r.returncode != 0
    token = cloud.issue_token()
    headers = {"X-Auth-Token": token, "Content-Type": "application/json"}
    r = requests.post(f"{cloud.url}/compute/v2.1/servers", headers=headers, data="{not json", timeout=30)
    assert r.status_code == 400 and "badRequest" in r.json()
    r = requests.get(f"{cloud.url}/compute/v2.1/servers/{uuid.uuid4()}", headers=headers, timeout=30)
    assert r.status_code == 404 and "itemNotFound" in r.json()
