"""VXLAN head-end replication between three "hosts" made of network namespaces (an underlay
bridge joins them): the Linux driver builds each host's bridge and VXLAN device with its
flood list; a host that joins is unreachable from the others until they are told of its VTEP
(the network.vxlan_peers step: ``set_vxlan_peers``), and a host that leaves is dropped."""
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from apps.network.drivers.linux import privileged as priv

pytestmark = [pytest.mark.host, pytest.mark.skipif(os.geteuid() != 0, reason="needs root")]

ROOT = Path(__file__).resolve().parents[2]
RUN = uuid.uuid4().hex[:6]
NET = 16 + int(RUN[:2], 16) % 200
HOSTS = {name: {"ns": f"msv-{RUN}-{name}", "veth": f"vu{RUN}{name}", "vtep": f"10.251.{NET}.{i}",
                "inner": f"192.168.{NET}.{i}"} for i, name in enumerate("abc", start=1)}
UNDERLAY = f"bu{RUN}"
VNI = 300000 + int(RUN, 16) % 8_000_000
NETWORK = {"id": str(uuid.uuid4()), "bridge": f"brq{RUN}v", "type": "vxlan", "vni": VNI, "mtu": 1450, "zone": 1}
AS_HOST = """
import json, sys
from apps.network.drivers.base import NetworkSpec
from apps.network.drivers.linux import privileged as priv
from apps.network.drivers.linux.driver import LinuxNetworkDriver
args = json.loads(sys.argv[1])
driver = LinuxNetworkDriver(conf={"local_ip": args["vtep"]}, state_dir=args["state"])
spec = NetworkSpec.from_dict(args["network"])
if args["op"] == "ensure_bridge":
    driver.ensure_bridge(spec)
else:
    driver.set_vxlan_peers(spec, spec.peers)
print(json.dumps(priv.flood_peers("vxlan-%d" % spec.vni)))
"""


def _as_host(name, op, peers, tmp_path):
    host = HOSTS[name]
    args = {"vtep": host["vtep"], "state": str(tmp_path / name), "op": op,
            "network": {**NETWORK, "peers": [HOSTS[p]["vtep"] for p in peers]}}
    r = subprocess.run(["ip", "netns", "exec", host["ns"], sys.executable, "-c", AS_HOST, json.dumps(args)],
                       cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _sh(name, *argv):
    return subprocess.run(["ip", "netns", "exec", HOSTS[name]["ns"], *argv], capture_output=True, text=True,
                          timeout=10)


def _ping(src, dst):
    return any(_sh(src, "ping", "-c", "1", "-W", "1", HOSTS[dst]["inner"]).returncode == 0 for _ in range(2))


@pytest.fixture
def hosts():
    try:
        priv.ensure_bridge(UNDERLAY)
        for name, host in HOSTS.items():
            priv.ensure_namespace(host["ns"])
            priv.ensure_veth(host["veth"], "ul0", bridge=UNDERLAY, peer_namespace=host["ns"])
            assert _sh(name, "ip", "addr", "add", f"{host['vtep']}/24", "dev", "ul0").returncode == 0
        yield HOSTS
    finally:
        for host in HOSTS.values():
            priv.delete_namespace(host["ns"])  # its VXLAN device, bridge and veth end go with it
            priv.delete_link(host["veth"])
        priv.delete_link(UNDERLAY)


def _join(name, peers, tmp_path):
    flood = _as_host(name, "ensure_bridge", peers, tmp_path)
    assert _sh(name, "ip", "addr", "add", f"{HOSTS[name]['inner']}/24", "dev", NETWORK["bridge"]).returncode == 0
    return flood


def test_hosts_learn_of_a_joining_vtep_and_forget_a_leaving_one(hosts, tmp_path):
    assert _join("a", [], tmp_path) == []
    assert _join("b", ["a"], tmp_path) == [HOSTS["a"]["vtep"]]
    assert _as_host("a", "set_vxlan_peers", ["b"], tmp_path) == [HOSTS["b"]["vtep"]]  # a is told of b
    assert _ping("a", "b") and _ping("b", "a")

    assert _join("c", ["a", "b"], tmp_path) == sorted([HOSTS["a"]["vtep"], HOSTS["b"]["vtep"]])
    assert not _ping("a", "c")  # a's flood list lacks c: its ARP never reaches c
    _as_host("a", "set_vxlan_peers", ["b", "c"], tmp_path)
    _as_host("b", "set_vxlan_peers", ["a", "c"], tmp_path)
    assert _ping("a", "c") and _ping("b", "c") and _ping("c", "a")

    # c leaves: the others drop its VTEP (exactly the peers they are given)
    assert _as_host("a", "set_vxlan_peers", ["b"], tmp_path) == [HOSTS["b"]["vtep"]]
    assert _as_host("b", "set_vxlan_peers", ["a"], tmp_path) == [HOSTS["a"]["vtep"]]
    _sh("c", "ip", "neigh", "flush", "all")
    _sh("a", "ip", "neigh", "flush", "all")
    assert not _ping("a", "c")
    assert _ping("a", "b")


def test_a_host_without_the_network_ignores_peer_updates(hosts, tmp_path):
    assert _as_host("a", "set_vxlan_peers", ["b"], tmp_path) == []  # no device: nothing made
    assert _sh("a", "ip", "link", "show", NETWORK["bridge"]).returncode != 0
