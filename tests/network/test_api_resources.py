"""Security groups, routers, floating IPs, RBAC, quotas, agents, auto-allocation, permissions."""
import pytest

from apps.core.models import Host
from apps.network.drivers.fake import FakeNetworkDriver


def _private(net, cidr="192.168.1.0/24", name="private-net"):
    n = net.make("networks", "network", name=name)
    s = net.make("subnets", "subnet", network_id=n["id"], cidr=cidr, ip_version=4, name=f"{name}-subnet")
    return n, s


def _public(admin_net):
    pub = admin_net.make("networks", "network", name="public", **{
        "router:external": True, "provider:network_type": "flat", "provider:physical_network": "physnet1"})
    sub = admin_net.make("subnets", "subnet", network_id=pub["id"], cidr="172.24.4.0/24", ip_version=4,
                         enable_dhcp=False, gateway_ip="172.24.4.1")
    return pub, sub


# --- security groups ----------------------------------------------------------------------------

def test_default_group_and_rules(alice):
    project, net = alice
    groups = net.get("security-groups").body["security_groups"]
    assert len(groups) == 1 and groups[0]["name"] == "default"
    rules = groups[0]["security_group_rules"]
    assert sorted((r["direction"], r["ethertype"], r["remote_group_id"] is not None) for r in rules) == [
        ("egress", "IPv4", False), ("egress", "IPv6", False), ("ingress", "IPv4", True), ("ingress", "IPv6", True)]
    assert len(net.get("security-groups").body["security_groups"]) == 1  # made once
    r = net.post("security-group-rules", {"security_group_rule": {
        "security_group_id": groups[0]["id"], "direction": "ingress", "protocol": "tcp",
        "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": "0.0.0.0/0"}})
    assert r.status_code == 201, r.content
    rule = r.body["security_group_rule"]
    assert rule["protocol"] == "tcp" and rule["ethertype"] == "IPv4" and rule["belongs_to_default_sg"] is True
    r = net.post("security-group-rules", {"security_group_rule": {
        "security_group_id": groups[0]["id"], "direction": "ingress", "protocol": "tcp",
        "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": "0.0.0.0/0"}})
    assert r.status_code == 409 and r.body["NeutronError"]["type"] == "SecurityGroupRuleExists"
    assert net.delete(f"security-group-rules/{rule['id']}").status_code == 204
    r = net.delete(f"security-groups/{groups[0]['id']}")
    assert r.status_code == 409


@pytest.mark.parametrize("rule, status", [
    ({"protocol": "bogus"}, 400),
    ({"protocol": "tcp", "port_range_min": 100, "port_range_max": 10}, 400),
    ({"protocol": "tcp", "port_range_min": 0, "port_range_max": 10}, 400),
    ({"protocol": "udp", "port_range_min": 1, "port_range_max": 70000}, 400),
    ({"protocol": "icmp", "port_range_min": 300}, 400),
    ({"port_range_min": 22}, 400),
    ({"protocol": "tcp", "remote_ip_prefix": "::/0"}, 400),
    ({"protocol": "tcp", "remote_ip_prefix": "garbage"}, 400),
    ({"direction": "sideways"}, 400),
    ({"protocol": "300"}, 400),
    ({"protocol": "132", "port_range_min": 5, "port_range_max": 6}, 201),
    ({"protocol": "icmp", "port_range_min": 8, "port_range_max": 0}, 201),
    ({"protocol": "ipv6-icmp", "ethertype": "IPv6"}, 201),
])
def test_rule_validation(alice, rule, status):
    _, net = alice
    group = net.make("security-groups", "security_group", name="web")
    body = {"security_group_id": group["id"], "direction": "ingress", **rule}
    r = net.post("security-group-rules", {"security_group_rule": body})
    assert r.status_code == status, r.content
    if status == 400:
        assert "NeutronError" in r.body


def test_security_group_crud(alice):
    _, net = alice
    g = net.make("security-groups", "security_group", name="web", description="w")
    assert len(g["security_group_rules"]) == 2 and g["stateful"] is True
    r = net.put(f"security-groups/{g['id']}", {"security_group": {"name": "web2"}})
    assert r.status_code == 200 and r.body["security_group"]["name"] == "web2"
    assert net.delete(f"security-groups/{g['id']}").status_code == 204


# --- routers ------------------------------------------------------------------------------------

def test_router_interfaces_and_gateway(alice, admin_net):
    _, net = alice
    pub, pub_sub = _public(admin_net)
    n, s = _private(net)
    rt = net.make("routers", "router", name="router1")
    assert rt["external_gateway_info"] is None and rt["routes"] == [] and rt["availability_zones"] == ["nova"]
    r = net.put(f"routers/{rt['id']}/add_router_interface", {"subnet_id": s["id"]})
    assert r.status_code == 200, r.content
    info = r.body
    assert info["subnet_id"] == s["id"] and info["subnet_ids"] == [s["id"]] and info["id"] == rt["id"]
    port = net.get(f"ports/{info['port_id']}").body["port"]
    assert port["device_owner"] == "network:router_interface" and port["fixed_ips"][0]["ip_address"] == "192.168.1.1"
    # overlapping subnet on the same router
    n2, s2 = _private(net, "192.168.1.0/25", name="other")
    r = net.put(f"routers/{rt['id']}/add_router_interface", {"subnet_id": s2["id"]})
    assert r.status_code == 400
    r = net.put(f"routers/{rt['id']}", {"router": {"external_gateway_info": {"network_id": pub["id"]}}})
    assert r.status_code == 200, r.content
    gw = r.body["router"]["external_gateway_info"]
    assert gw["network_id"] == pub["id"] and gw["enable_snat"] is True
    assert gw["external_fixed_ips"][0]["subnet_id"] == pub_sub["id"]
    r = net.put(f"routers/{rt['id']}", {"router": {"routes": [{"destination": "10.50.0.0/16", "nexthop": "192.168.1.20"}]}})
    assert r.status_code == 200 and r.body["router"]["routes"] == [{"destination": "10.50.0.0/16", "nexthop": "192.168.1.20"}]
    r = net.put(f"routers/{rt['id']}", {"router": {"routes": [{"destination": "10.50.0.0/16", "nexthop": "8.8.8.8"}]}})
    assert r.status_code == 400
    r = net.delete(f"routers/{rt['id']}")
    assert r.status_code == 409 and r.body["NeutronError"]["type"] == "RouterInUse"
    r = net.delete(f"subnets/{s['id']}")
    assert r.status_code == 409
    r = net.delete(f"ports/{info['port_id']}")
    assert r.status_code == 409
    r = net.put(f"routers/{rt['id']}/remove_router_interface", {"subnet_id": s["id"]})
    assert r.status_code == 200, r.content
    assert net.delete(f"routers/{rt['id']}").status_code == 204


def test_floating_ips_and_port_forwarding(alice, admin_net):
    _, net = alice
    pub, _ = _public(admin_net)
    n, s = _private(net)
    rt = net.make("routers", "router", name="r", external_gateway_info={"network_id": pub["id"]})
    net.put(f"routers/{rt['id']}/add_router_interface", {"subnet_id": s["id"]})
    p = net.make("ports", "port", network_id=n["id"])
    fip = net.make("floatingips", "floatingip", floating_network_id=pub["id"])
    assert fip["status"] == "DOWN" and fip["port_id"] is None and fip["floating_ip_address"].startswith("172.24.4.")
    r = net.put(f"floatingips/{fip['id']}", {"floatingip": {"port_id": p["id"]}})
    assert r.status_code == 200, r.content
    assoc = r.body["floatingip"]
    assert assoc["router_id"] == rt["id"] and assoc["fixed_ip_address"] == p["fixed_ips"][0]["ip_address"]
    assert assoc["status"] == "ACTIVE"
    r = net.put(f"floatingips/{fip['id']}", {"floatingip": {"port_id": None}})
    assert r.body["floatingip"]["port_id"] is None and r.body["floatingip"]["status"] == "DOWN"
    pf = net.post(f"floatingips/{fip['id']}/port_forwardings", {"port_forwarding": {
        "internal_port_id": p["id"], "internal_ip_address": p["fixed_ips"][0]["ip_address"],
        "internal_port": 22, "external_port": 2222, "protocol": "tcp"}})
    assert pf.status_code == 201, pf.content
    assert len(net.get(f"floatingips/{fip['id']}/port_forwardings").body["port_forwardings"]) == 1
    assert net.delete(f"floatingips/{fip['id']}/port_forwardings/{pf.body['port_forwarding']['id']}").status_code == 204
    # no router between the port's network and the external network
    n2, _ = _private(net, "10.7.0.0/24", name="island")
    p2 = net.make("ports", "port", network_id=n2["id"])
    r = net.post("floatingips", {"floatingip": {"floating_network_id": pub["id"], "port_id": p2["id"]}})
    assert r.status_code == 404 and r.body["NeutronError"]["type"] == "ExternalGatewayForFloatingIPNotFound"
    assert net.delete(f"floatingips/{fip['id']}").status_code == 204


# --- permissions --------------------------------------------------------------------------------

def test_other_projects_resources_are_404(alice, bob, admin_net):
    _, a = alice
    _, b = bob
    n, s = _private(a)
    p = a.make("ports", "port", network_id=n["id"])
    rt = a.make("routers", "router", name="r")
    for path in (f"networks/{n['id']}", f"subnets/{s['id']}", f"ports/{p['id']}", f"routers/{rt['id']}"):
        assert b.get(path).status_code == 404
        assert b.delete(path).status_code == 404
    assert b.put(f"networks/{n['id']}", {"network": {"name": "x"}}).status_code == 404
    assert b.get("networks").body["networks"] == []
    assert b.post("ports", {"port": {"network_id": n["id"]}}).status_code == 404


def test_shared_network_usable_not_editable(alice, bob, admin_net):
    _, a = alice
    _, b = bob
    shared = admin_net.make("networks", "network", name="shared", shared=True)
    admin_net.make("subnets", "subnet", network_id=shared["id"], cidr="10.20.0.0/24", ip_version=4)
    assert any(x["id"] == shared["id"] for x in b.get("networks").body["networks"])
    p = b.make("ports", "port", network_id=shared["id"])
    assert p["fixed_ips"]
    r = b.put(f"networks/{shared['id']}", {"network": {"name": "mine"}})
    assert r.status_code == 403 and "NeutronError" in r.body
    assert b.delete(f"networks/{shared['id']}").status_code == 403
    assert a.post("networks", {"network": {"name": "x", "shared": True}}).status_code == 403


def test_rbac_shares_a_network_with_one_project(alice, bob):
    _, a = alice
    bob_project, b = bob
    n, _ = _private(a)
    assert b.get(f"networks/{n['id']}").status_code == 404
    r = a.post("rbac-policies", {"rbac_policy": {"object_type": "network", "object_id": n["id"],
                                                 "action": "access_as_shared", "target_tenant": bob_project["id"]}})
    assert r.status_code == 201, r.content
    assert b.get(f"networks/{n['id']}").status_code == 200
    b.make("ports", "port", network_id=n["id"])
    assert a.delete(f"rbac-policies/{r.body['rbac_policy']['id']}").status_code == 409


def test_reader_cannot_write(reader, alice):
    _, a = alice
    n, _ = _private(a)
    assert reader.get(f"networks/{n['id']}").status_code == 200
    for method, path, body in (("POST", "networks", {"network": {"name": "x"}}),
                               ("PUT", f"networks/{n['id']}", {"network": {"name": "x"}}),
                               ("DELETE", f"networks/{n['id']}", None),
                               ("POST", "ports", {"port": {"network_id": n["id"]}}),
                               ("POST", "routers", {"router": {"name": "r"}})):
        r = reader.call(method, path, body)
        assert r.status_code == 403, (method, path, r.content)
        assert r.body["NeutronError"]["type"] in ("HTTPForbidden", "PolicyNotAuthorized")


# --- quotas, agents, AZs, auto-allocation -------------------------------------------------------

def test_quotas(alice, admin_net):
    project, a = alice
    r = a.get(f"quotas/{project['id']}")
    assert r.status_code == 200 and r.body["quota"]["network"] == 100
    assert a.put(f"quotas/{project['id']}", {"quota": {"network": 1}}).status_code == 403
    r = admin_net.put(f"quotas/{project['id']}", {"quota": {"network": 1, "port": 2}})
    assert r.status_code == 200 and r.body["quota"]["network"] == 1
    n = a.make("networks", "network", name="one")
    r = a.post("networks", {"network": {"name": "two"}})
    assert r.status_code == 409 and r.body["NeutronError"]["type"] == "OverQuota"
    a.make("subnets", "subnet", network_id=n["id"], cidr="10.0.0.0/24", ip_version=4)
    a.make("ports", "port", network_id=n["id"])
    a.make("ports", "port", network_id=n["id"])
    r = a.post("ports", {"port": {"network_id": n["id"]}})
    assert r.status_code == 409 and r.body["NeutronError"]["type"] == "OverQuota"
    details = a.get(f"quotas/{project['id']}/details").body["quota"]
    assert details["port"] == {"used": 2, "limit": 2, "reserved": 0}
    assert admin_net.delete(f"quotas/{project['id']}").status_code == 204
    assert a.get(f"quotas/{project['id']}").body["quota"]["network"] == 100


def test_agents_and_availability_zones(alice, admin_net):
    from django.utils import timezone

    Host.objects.create(hostname="node1", last_heartbeat=timezone.now())
    Host.objects.create(hostname="node2")
    agents = admin_net.get("agents").body["agents"]
    kinds = {(a["host"], a["agent_type"]): a["alive"] for a in agents}
    assert kinds[("node1", "Linux bridge agent")] is True and kinds[("node1", "DHCP agent")] is True
    assert kinds[("node2", "Linux bridge agent")] is False
    _, a = alice
    assert a.get("agents").status_code == 403
    zones = a.get("availability_zones").body["availability_zones"]
    assert {"name": "nova", "resource": "router", "state": "available"} in zones


def test_auto_allocated_topology(alice, admin_net):
    project, a = alice
    r = a.get(f"auto-allocated-topology/{project['id']}")
    assert r.status_code == 409  # no default external network / pool yet
    pub, _ = _public(admin_net)
    admin_net.put(f"networks/{pub['id']}", {"network": {"is_default": True}})
    admin_net.make("subnetpools", "subnetpool", name="default-v4", prefixes=["10.100.0.0/16"],
                   default_prefixlen=26, is_default=True, shared=True)
    r = a.get(f"auto-allocated-topology/{project['id']}")
    assert r.status_code == 200, r.content
    net_id = r.body["auto_allocated_topology"]["id"]
    assert a.get(f"auto-allocated-topology/{project['id']}").body["auto_allocated_topology"]["id"] == net_id
    subnets = a.get(f"subnets?network_id={net_id}").body["subnets"]
    assert subnets[0]["cidr"] == "10.100.0.0/26"
    routers = a.get("routers").body["routers"]
    assert routers[0]["external_gateway_info"]["network_id"] == pub["id"]


# --- the data plane through the fake driver --------------------------------------------------------

def test_bind_and_plug_make_the_port_active(alice, admin_net):
    from django.utils import timezone

    Host.objects.create(hostname="node1", last_heartbeat=timezone.now())
    _, a = alice
    n, s = _private(a)
    p = a.make("ports", "port", network_id=n["id"])
    r = admin_net.put(f"ports/{p['id']}", {"port": {"binding:host_id": "node1"}})
    assert r.status_code == 200, r.content
    assert r.body["port"]["binding:vif_type"] == "bridge"
    from apps.network import services
    from apps.network.models import Port

    port = Port.objects.get(pk=p["id"])
    action = services.port_plug(port=port)
    action.refresh_from_db()
    assert action.status == "succeeded", action.error
    assert action.result["vif"]["devname"] == f"tap{p['id'][:11]}"
    assert a.get(f"ports/{p['id']}").body["port"]["status"] == "ACTIVE"
    state = FakeNetworkDriver.state
    assert f"tap{p['id'][:11]}" in state["taps"]
    assert n["id"] in state["dnsmasq"]  # DHCP of the network runs on the network host
    hosts = state["dnsmasq"][n["id"]]["hosts"]
    assert any(h["mac"] == p["mac_address"] for h in hosts)
    assert state["firewall"]["ports"][0]["devname"] == f"tap{p['id'][:11]}"
    assert a.delete(f"ports/{p['id']}").status_code == 204
    assert f"tap{p['id'][:11]}" not in FakeNetworkDriver.state["taps"]
    assert FakeNetworkDriver.state["released"][-1]["mac"] == p["mac_address"]


def test_periodic_sync_repairs_drift_and_removes_leftovers(alice, admin_net):
    from django.utils import timezone

    from apps.network import handlers
    from apps.network.models import Port

    Host.objects.create(hostname="node1", last_heartbeat=timezone.now())
    _, a = alice
    n, _s = _private(a)
    p = a.make("ports", "port", network_id=n["id"])
    admin_net.put(f"ports/{p['id']}", {"port": {"binding:host_id": "node1"}})
    state = FakeNetworkDriver.state
    state["taps"]["tapdeadbeef-00"] = {"port_id": "gone", "mac": "fa:16:3e:00:00:99", "bridge": "brqx"}
    state["dnsmasq"]["00000000-dead-4000-8000-000000000000"] = {"hosts": [], "subnets": []}
    assert handlers.sync_all_hosts() == {"hosts": ["node1"]}
    tap = f"tap{p['id'][:11]}"
    assert tap in state["taps"] and "tapdeadbeef-00" not in state["taps"]
    assert "00000000-dead-4000-8000-000000000000" not in state["dnsmasq"]
    assert Port.objects.get(pk=p["id"]).binding_host_id == "node1"
