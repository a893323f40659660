"""The host firewall on the real kernel: a plug's update adds only the port's own chains and
map entries (one small atomic nft batch), and the tables it leaves are exactly those a full
render makes; removals and rule changes re-make the tables."""
import json
import os
import shutil
import uuid

import pytest

from apps.network.drivers.linux import privileged as priv
from apps.network.drivers.linux import render
from apps.network.drivers.linux.driver import LinuxNetworkDriver

pytestmark = [pytest.mark.host, pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
              pytest.mark.skipif(not shutil.which("nft"), reason="needs nft")]

RUN = uuid.uuid4().hex[:4]
# Two table names with the same character sum carry the same mark tag: comparable listings.
MINE, REFERENCE = f"mst{RUN}ab", f"mst{RUN}ba"
G1, G2 = str(uuid.uuid4()), str(uuid.uuid4())
RULES = [{"direction": "ingress", "ethertype": "IPv4", "protocol": None, "remote_group_id": G1,
          "remote_ip_prefix": None, "port_range_min": None, "port_range_max": None},
         {"direction": "egress", "ethertype": "IPv4", "protocol": "tcp", "remote_group_id": None,
          "remote_ip_prefix": None, "port_range_min": 22, "port_range_max": 22}]


def _port(i, group=G1):
    return {"devname": f"tapf{RUN}{i:03d}", "mac": f"fa:16:3e:00:01:{i:02x}", "ips": [f"10.2.0.{i + 2}", f"fd00::{i + 2}"],
            "port_security": True, "allowed_address_pairs": [], "security_groups": [group], "zone": 5}


def _fw(ports, version, rules=RULES):
    members = {G1: {"IPv4": [p["ips"][0] for p in ports if G1 in p["security_groups"]],
                    "IPv6": [p["ips"][1] for p in ports if G1 in p["security_groups"]]}}
    return {"ports": ports, "groups": {G1: {"rules": rules}, G2: {"rules": []}}, "members": members,
            "zones": {"brqfw": 5}, "version": version}


def _listing(table):
    text = "".join(priv.run(["nft", "list", "table", family, table]).stdout for family in ("bridge", "inet"))
    return sorted(text.replace(table, "T").splitlines())


@pytest.fixture
def driver(tmp_path):
    try:
        yield LinuxNetworkDriver(conf={"firewall_table": MINE}, state_dir=str(tmp_path))
    finally:
        for table in (MINE, REFERENCE):
            for family in ("bridge", "inet"):
                priv.nft_delete_table(family, table)


def test_additions_leave_what_a_full_render_makes(driver, monkeypatch):
    batches = []
    apply = priv.nft_apply
    monkeypatch.setattr(priv, "nft_apply", lambda text, ns=None: (batches.append(text), apply(text, ns))[1])
    ports, version = [], 1
    steps = ([("add", _port(i)) for i in range(4)] + [("remove", 1), ("add", _port(10, G2)), ("rules", None),
                                                      ("add", _port(11))])
    rules = RULES
    for kind, arg in steps:
        if kind == "add":
            ports.append(arg)
        elif kind == "remove":
            ports = [p for p in ports if p["devname"] != ports[arg]["devname"]]
        else:
            rules = RULES[:1]
        version += 1
        batches.clear()
        driver.firewall_apply(_fw(ports, version, rules))
        full = any("delete table" in b for b in batches)
        # the first plug makes the tables; later plugs only add; removals and rule changes re-make
        assert full == (version == 2 or kind != "add"), (kind, batches)
        if not full:
            assert all(line.startswith(("add ", "flush chain")) for line in batches[-1].splitlines())
        index = json.loads((driver.state / "firewall.applied").read_text())["index"]
        apply(render.firewall_ruleset(_fw(ports, version, rules), REFERENCE, index))
        assert _listing(MINE) == _listing(REFERENCE), (kind, batches)


def test_tables_gone_behind_its_back_are_made_again(driver):
    driver.firewall_apply(_fw([_port(0)], 2))
    for family in ("bridge", "inet"):
        priv.nft_delete_table(family, MINE)
    driver.firewall_apply(_fw([_port(0), _port(1)], 3))
    assert {("bridge", MINE), ("inet", MINE)} <= {tuple(t) for t in priv.nft_list_tables()}
    assert f'"{_port(1)["devname"]}"' in priv.run(["nft", "list", "table", "bridge", MINE]).stdout
    driver.firewall_apply(_fw([_port(0), _port(1)], 4))  # unchanged and present: nothing to do
    driver.firewall_apply({"ports": [], "groups": {}, "members": {}, "zones": {}, "version": 5})
    assert not [t for t in priv.nft_list_tables() if t[-1] == MINE]
