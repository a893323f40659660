"""Firewall scripts for the Linux driver: stable mark indexes, and additions-only updates
when a port is all that changed (pure functions)."""
from apps.network.drivers.linux import render

G = "11111111-2222-3333-4444-555555555555"


def _port(i):
    return {"devname": f"tap{i:011d}", "mac": f"fa:16:3e:00:00:{i:02x}", "ips": [f"10.0.0.{i + 2}"],
            "port_security": True, "allowed_address_pairs": [], "security_groups": [G], "zone": 3}


def _fw(ports, rules=()):
    return {"ports": ports, "groups": {G: {"rules": list(rules)}}, "zones": {"brqx": 3}, "version": 1,
            "members": {G: {"IPv4": [p["ips"][0] for p in ports], "IPv6": []}}}


def test_indexes_are_stable_and_reused():
    index = render.port_indexes([_port(1), _port(2), _port(3)])
    assert index == {"tap00000000001": 1, "tap00000000002": 2, "tap00000000003": 3}
    index = render.port_indexes([_port(1), _port(3), _port(4)], index)
    assert index == {"tap00000000001": 1, "tap00000000003": 3, "tap00000000004": 2}


def test_a_new_port_is_added_with_its_chains_entries_and_member_address():
    old, new = _fw([_port(1)]), _fw([_port(1), _port(2)])
    index = render.port_indexes(new["ports"], {"tap00000000001": 1})
    batch = render.firewall_additions(old, new, "t", index)
    lines = batch.splitlines()
    assert all(line.startswith(("add ", "flush chain ")) for line in lines)
    assert f"add element inet t rg_{G.replace('-', '')[:12]}_4 {{ 10.0.0.4 }}" in lines
    assert 'add element bridge t port_from { "tap00000000002" : jump from_2 }' in lines
    assert "add chain inet t port_2_egress" in lines
    assert not [line for line in lines if "from_1" in line or "port_1_" in line or "tap00000000001" in line]
    assert render.firewall_additions(new, new, "t", index) == ""


def test_anything_but_additions_is_none():
    one, two = _fw([_port(1)]), _fw([_port(1), _port(2)])
    assert render.firewall_additions(two, one) is None  # a port removed
    changed = _fw([{**_port(1), "ips": ["10.0.0.9"]}])
    assert render.firewall_additions(one, changed) is None  # a port changed
    rule = {"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 22,
            "port_range_max": 22, "remote_ip_prefix": None, "remote_group_id": None}
    assert render.firewall_additions(one, _fw([_port(1), _port(2)], [rule])) is None  # rules changed
    assert render.firewall_additions(one, {**two, "zones": {"brqx": 3, "brqy": 4}}) is None  # a new zone


def test_full_ruleset_dispatches_through_named_maps():
    text = render.firewall_ruleset(_fw([_port(1), _port(2)]), "t", {"tap00000000001": 5, "tap00000000002": 7})
    assert "iifname vmap @port_from" in text and "meta mark and 0xff000fff vmap @port_egress" in text
    assert '"tap00000000001" : jump from_5' in text and "chain port_7_ingress {" in text
