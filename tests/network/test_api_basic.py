"""Networks, subnets, ports: Neutron's shapes, filters, fields, paging, errors."""
import ipaddress

import pytest


def _setup(net):
    n = net.make("networks", "network", name="private-net")
    s = net.make("subnets", "subnet", network_id=n["id"], cidr="192.168.1.0/24", ip_version=4, name="private-subnet")
    return n, s


def test_versions_and_resources(alice):
    _, net = alice
    r = net.get("/network")
    assert r.status_code == 200 and r.body["versions"][0]["id"] == "v2.0"
    r = net.get("/network/v2.0/")
    assert {x["collection"] for x in r.body["resources"]} >= {"networks", "subnets", "ports"}


def test_extensions_list_and_unknown_alias(alice):
    _, net = alice
    r = net.get("extensions")
    aliases = {e["alias"]: e["name"] for e in r.body["extensions"]}
    for alias in ("external-net", "provider", "router", "ext-gw-mode", "extraroute", "security-group", "binding",
                  "port-security", "allowed-address-pairs", "extra_dhcp_opt", "quotas", "agent",
                  "availability_zone", "network_availability_zone", "router_availability_zone", "rbac-policies",
                  "subnet_allocation", "default-subnetpools", "auto-allocated-topology", "net-mtu",
                  "standard-attr-description", "standard-attr-tag", "standard-attr-timestamp",
                  "standard-attr-revisions", "project-id", "floating-ip-port-forwarding",
                  "tag-ports-during-bulk-creation"):
        assert alias in aliases
    assert aliases["availability_zone"] == "Availability Zone"
    assert "external-gateway-multihoming" not in aliases
    assert net.get("extensions/router").body["extension"]["name"] == "Neutron L3 Router"
    r = net.get("extensions/nope")
    assert r.status_code == 404 and r.body["NeutronError"]["type"] == "HTTPNotFound"


def test_network_subnet_port_shapes(alice):
    project, net = alice
    n, s = _setup(net)
    assert n["mtu"] == 1450 and n["status"] == "ACTIVE" and n["subnets"] == [] and n["tags"] == []
    assert n["project_id"] == n["tenant_id"] == project["id"] and "provider:network_type" not in n
    assert s["gateway_ip"] == "192.168.1.1" and s["enable_dhcp"] is True
    assert s["allocation_pools"] == [{"start": "192.168.1.2", "end": "192.168.1.254"}]
    assert s["dns_nameservers"] == [] and s["host_routes"] == [] and s["service_types"] == []
    p = net.make("ports", "port", network_id=n["id"], name="p1")
    assert p["mac_address"].startswith("fa:16:3e:") and p["status"] == "DOWN"
    assert p["fixed_ips"][0]["subnet_id"] == s["id"]
    assert ipaddress.ip_address(p["fixed_ips"][0]["ip_address"]) in ipaddress.ip_network("192.168.1.0/24")
    assert p["allowed_address_pairs"] == [] and p["extra_dhcp_opts"] == [] and len(p["security_groups"]) == 1
    assert "binding:host_id" not in p  # admin only
    got = net.get(f"networks/{n['id']}").body["network"]
    assert got["subnets"] == [s["id"]]
    assert net.get(f"ports/{p['id']}?fields=id&fields=name").body["port"] == {"id": p["id"], "name": "p1"}


def test_admin_sees_provider_and_binding(admin_net):
    n = admin_net.make("networks", "network", name="n")
    assert n["provider:network_type"] == "vxlan" and n["provider:segmentation_id"] >= 1
    flat = admin_net.make("networks", "network", name="public", **{
        "router:external": True, "provider:network_type": "flat", "provider:physical_network": "physnet1"})
    assert flat["mtu"] == 1500 and flat["router:external"] is True
    r = admin_net.post("networks", {"network": {"provider:network_type": "vlan",
                                                "provider:physical_network": "physnet1"}})
    assert r.status_code == 400 and "not supported" in r.body["NeutronError"]["message"]


def test_filters_fields_sort_and_paging(alice):
    _, net = alice
    ids = [net.make("networks", "network", name=f"n{i}", admin_state_up=i % 2 == 0)["id"] for i in range(5)]
    r = net.get("networks?name=n1&name=n3")
    assert sorted(x["name"] for x in r.body["networks"]) == ["n1", "n3"]
    assert len(net.get("networks?admin_state_up=false").body["networks"]) == 2
    r = net.get("networks?fields=name&sort_key=name&sort_dir=desc")
    assert [x["name"] for x in r.body["networks"]] == ["n4", "n3", "n2", "n1", "n0"]
    assert r.body["networks"][0] == {"name": "n4"}
    first = net.get("networks?limit=2")
    assert len(first.body["networks"]) == 2
    nxt = [l for l in first.body["networks_links"] if l["rel"] == "next"][0]["href"]
    second = net.get(nxt[nxt.index("/network/"):])
    assert len(second.body["networks"]) == 2
    assert not {x["id"] for x in first.body["networks"]} & {x["id"] for x in second.body["networks"]}
    r = net.get(f"networks?id={ids[0]}")
    assert [x["id"] for x in r.body["networks"]] == [ids[0]]
    r = net.get("networks?sort_key=bogus")
    assert r.status_code == 400


def test_tags(alice):
    _, net = alice
    n = net.make("networks", "network", name="t", tags=["a", "b"])
    assert n["tags"] == ["a", "b"]
    net.make("networks", "network", name="u", tags=["b"])
    assert [x["name"] for x in net.get("networks?tags=a,b").body["networks"]] == ["t"]
    assert len(net.get("networks?tags-any=a,b").body["networks"]) == 2
    assert [x["name"] for x in net.get("networks?not-tags=a").body["networks"]] == ["u"]
    assert net.put(f"networks/{n['id']}/tags/c").status_code == 201
    assert net.get(f"networks/{n['id']}/tags").body["tags"] == ["a", "b", "c"]
    assert net.put(f"networks/{n['id']}/tags", {"tags": ["z"]}).body["tags"] == ["z"]
    assert net.delete(f"networks/{n['id']}/tags/z").status_code == 204


@pytest.mark.parametrize("subnet, fragment", [
    ({"cidr": "10.0.0.0/33"}, "cidr"),
    ({"cidr": "not-a-cidr"}, "cidr"),
    ({"cidr": "10.0.0.5/24"}, "10.0.0.0/24"),
    ({"cidr": "10.0.0.0/24", "allocation_pools": [{"start": "10.0.1.2", "end": "10.0.1.9"}]}, "spans beyond"),
    ({"cidr": "10.0.0.0/24", "gateway_ip": "10.0.0.5",
      "allocation_pools": [{"start": "10.0.0.2", "end": "10.0.0.9"}]}, "conflicts with allocation pool"),
    ({"cidr": "10.0.0.0/24", "allocation_pools": [{"start": "10.0.0.9", "end": "10.0.0.2"}]}, "greater"),
    ({"cidr": "10.0.0.0/24", "allocation_pools": [{"start": "10.0.0.2", "end": "10.0.0.9"},
                                                  {"start": "10.0.0.5", "end": "10.0.0.20"}]}, "overlapping"),
    ({"cidr": "10.0.0.0/24", "gateway_ip": "nope"}, "gateway_ip"),
    ({"cidr": "10.0.0.0/24", "ip_version": 6}, "ip_version"),
    ({"cidr": "10.0.0.0/24", "dns_nameservers": ["1.2.3"]}, "dns_nameservers"),
    ({"cidr": "10.0.0.0/24", "bogus": 1}, "bogus"),
])
def test_bad_subnets_are_400(alice, subnet, fragment):
    _, net = alice
    n = net.make("networks", "network", name="n")
    r = net.post("subnets", {"subnet": {"network_id": n["id"], **subnet}})
    assert r.status_code == 400, r.content
    assert fragment in r.body["NeutronError"]["message"]


def test_overlapping_subnets_on_one_network(alice):
    _, net = alice
    n, _s = _setup(net)
    r = net.post("subnets", {"subnet": {"network_id": n["id"], "cidr": "192.168.0.0/16", "ip_version": 4}})
    assert r.status_code == 400 and "overlaps" in r.body["NeutronError"]["message"]


def test_gateway_null_and_custom_pools(alice):
    _, net = alice
    n = net.make("networks", "network", name="n")
    s = net.make("subnets", "subnet", network_id=n["id"], cidr="10.1.0.0/28", ip_version=4, gateway_ip=None)
    assert s["gateway_ip"] is None and s["allocation_pools"] == [{"start": "10.1.0.1", "end": "10.1.0.14"}]
    n2 = net.make("networks", "network", name="n2")
    s2 = net.make("subnets", "subnet", network_id=n2["id"], cidr="10.2.0.0/24", ip_version=4, gateway_ip="10.2.0.100")
    assert s2["allocation_pools"] == [{"start": "10.2.0.1", "end": "10.2.0.99"},
                                      {"start": "10.2.0.101", "end": "10.2.0.254"}]
    r = net.put(f"subnets/{s['id']}", {"subnet": {"name": "renamed", "dns_nameservers": ["8.8.8.8"]}})
    assert r.status_code == 200 and r.body["subnet"]["dns_nameservers"] == ["8.8.8.8"]


def test_ipv6_slaac_port_gets_eui64(alice):
    _, net = alice
    n, s4 = _setup(net)
    s6 = net.make("subnets", "subnet", network_id=n["id"], cidr="2001:db8:1::/64", ip_version=6,
                  ipv6_ra_mode="slaac", ipv6_address_mode="slaac")
    assert s6["gateway_ip"] == "2001:db8:1::1"
    p = net.make("ports", "port", network_id=n["id"], mac_address="fa:16:3e:11:22:33")
    v6 = [f["ip_address"] for f in p["fixed_ips"] if f["subnet_id"] == s6["id"]]
    assert v6 == ["2001:db8:1:0:f816:3eff:fe11:2233"]
    s6b = net.make("subnets", "subnet", network_id=net.make("networks", "network", name="v6")["id"],
                   cidr="2001:db8:2::/64", ip_version=6, ipv6_address_mode="dhcpv6-stateful",
                   ipv6_ra_mode="dhcpv6-stateful")
    assert s6b["ipv6_address_mode"] == "dhcpv6-stateful"
    r = net.post("subnets", {"subnet": {"network_id": n["id"], "cidr": "2001:db8:3::/80", "ip_version": 6,
                                        "ipv6_address_mode": "slaac"}})
    assert r.status_code == 400


def test_port_fixed_ips_macs_pairs(alice):
    _, net = alice
    n, s = _setup(net)
    p = net.make("ports", "port", network_id=n["id"], fixed_ips=[{"ip_address": "192.168.1.50"}],
                 allowed_address_pairs=[{"ip_address": "10.9.9.0/24"}],
                 extra_dhcp_opts=[{"opt_name": "mtu", "opt_value": "1400"}], device_owner="compute:nova",
                 device_id="server-1")
    assert p["fixed_ips"] == [{"subnet_id": s["id"], "ip_address": "192.168.1.50"}]
    assert p["allowed_address_pairs"] == [{"ip_address": "10.9.9.0/24"}]
    r = net.post("ports", {"port": {"network_id": n["id"], "fixed_ips": [{"ip_address": "192.168.1.50"}]}})
    assert r.status_code == 409 and r.body["NeutronError"]["type"] == "IpAddressAlreadyAllocated"
    r = net.post("ports", {"port": {"network_id": n["id"], "fixed_ips": [{"ip_address": "10.0.0.1"}]}})
    assert r.status_code == 400
    r = net.post("ports", {"port": {"network_id": n["id"], "mac_address": "zz:16:3e:00:00:01"}})
    assert r.status_code == 400
    r = net.post("ports", {"port": {"network_id": n["id"], "fixed_ips": [{"ip_address": "300.1.1.1"}]}})
    assert r.status_code == 400
    r = net.post("ports", {"port": {"network_id": n["id"], "mac_address": p["mac_address"]}})
    assert r.status_code == 409 and r.body["NeutronError"]["type"] == "MacAddressInUse"
    r = net.put(f"ports/{p['id']}", {"port": {"name": "renamed", "fixed_ips": [{"ip_address": "192.168.1.60"}]}})
    assert r.status_code == 200 and r.body["port"]["fixed_ips"][0]["ip_address"] == "192.168.1.60"
    assert len(net.get("ports?device_id=server-1").body["ports"]) == 1
    assert len(net.get("ports?fixed_ips=ip_address%3D192.168.1.60").body["ports"]) == 1
    r = net.put(f"ports/{p['id']}", {"port": {"port_security_enabled": False}})
    assert r.status_code == 409
    r = net.put(f"ports/{p['id']}", {"port": {"port_security_enabled": False, "security_groups": [],
                                              "allowed_address_pairs": []}})
    assert r.status_code == 200 and r.body["port"]["security_groups"] == []


def test_subnet_full_is_409_ip_generation_failure(alice):
    _, net = alice
    n = net.make("networks", "network", name="tiny")
    net.make("subnets", "subnet", network_id=n["id"], cidr="10.3.0.0/29", ip_version=4, enable_dhcp=False)
    for _ in range(5):  # .2-.6
        net.make("ports", "port", network_id=n["id"])
    r = net.post("ports", {"port": {"network_id": n["id"]}})
    assert r.status_code == 409 and r.body["NeutronError"]["type"] == "IpAddressGenerationFailure"


def test_delete_in_use(alice):
    _, net = alice
    n, s = _setup(net)
    p = net.make("ports", "port", network_id=n["id"])
    r = net.delete(f"networks/{n['id']}")
    assert r.status_code == 409 and r.body["NeutronError"]["type"] == "NetworkInUse"
    r = net.delete(f"subnets/{s['id']}")
    assert r.status_code == 409 and r.body["NeutronError"]["type"] == "SubnetInUse"
    assert net.delete(f"ports/{p['id']}").status_code == 204
    assert net.delete(f"subnets/{s['id']}").status_code == 204
    assert net.delete(f"networks/{n['id']}").status_code == 204
    assert net.get(f"networks/{n['id']}").status_code == 404


def test_bulk_port_create_with_tags(alice):
    _, net = alice
    n, _s = _setup(net)
    r = net.post("ports", {"ports": [{"network_id": n["id"], "tags": ["x"]}, {"network_id": n["id"]}]})
    assert r.status_code == 201 and len(r.body["ports"]) == 2 and r.body["ports"][0]["tags"] == ["x"]


def test_malformed_json_and_unknown_uuid(alice):
    _, net = alice
    r = net.post("networks", raw="{nope")
    assert r.status_code == 400 and "NeutronError" in r.body
    r = net.get("networks/not-a-uuid")
    assert r.status_code == 404 and r.body["NeutronError"]["type"] == "NetworkNotFound"
    assert net.get("subnets/00000000-0000-0000-0000-000000000000").status_code == 404


def test_unauthenticated_is_401(db):
    from tests.network.conftest import Net

    r = Net(None).get("networks")
    assert r.status_code == 401 and "NeutronError" in r.body
