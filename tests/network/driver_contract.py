"""The contract every NetworkDriver keeps, run against the fake (unit tier) and the Linux
driver (host tier, tests/host/test_network_driver_contract.py). Subclass and provide
``driver`` and ``ids`` fixtures."""
import random
import uuid

import pytest

from apps.network.drivers.base import NetworkDriver, NetworkSpec, PortSpec, UnsupportedNetworkType, VifInfo


# VNIs of this run: another run on the same host must not share VXLAN devices.
VNI = 100000 + random.randrange(8_000_000)
VNI2 = VNI + 1


def network_dict(net_id, vni=VNI, peers=()):
    return {"id": net_id, "bridge": f"brq{net_id[:11]}", "type": "vxlan", "vni": vni, "mtu": 1450,
            "zone": vni % 60000 + 1, "peers": list(peers)}


def port_dict(port_id, net_id, mac="fa:16:3e:00:00:01", ips=("10.99.0.5",), netns=None, vni=VNI):
    return {"id": port_id, "devname": f"tap{port_id[:11]}", "mac": mac, "ips": list(ips),
            "network": network_dict(net_id, vni), "model": "veth" if netns else "tap", "guest_netns": netns}


class DriverContract:
    guest_netns = None

    def test_is_a_network_driver(self, driver):
        assert isinstance(driver, NetworkDriver)
        assert "vxlan" in driver.describe()["network_types"]
        assert "vtep" in driver.init_host()

    def test_plug_is_idempotent_and_unplug_removes_everything(self, driver, ids):
        net_id, port_id = ids()
        spec = PortSpec.from_dict(port_dict(port_id, net_id, netns=self.guest_netns))
        vif = driver.plug(spec)
        assert isinstance(vif, VifInfo) and vif.devname == f"tap{port_id[:11]}" and vif.mtu == 1450
        assert driver.plug(spec) == vif
        inv = driver.inventory()
        assert vif.devname in inv["taps"] and f"brq{net_id[:11]}" in inv["bridges"]
        driver.unplug(spec)
        driver.unplug(spec)  # already gone: still fine
        inv = driver.inventory()
        assert vif.devname not in inv["taps"] and f"brq{net_id[:11]}" not in inv["bridges"]

    def test_bridge_stays_while_another_port_uses_it(self, driver, ids):
        net_id, p1 = ids()
        _, p2 = ids()
        a = PortSpec.from_dict(port_dict(p1, net_id, netns=self.guest_netns))
        b = PortSpec.from_dict(port_dict(p2, net_id, mac="fa:16:3e:00:00:02", netns=self.guest_netns))
        driver.plug(a)
        driver.plug(b)
        driver.unplug(a)
        assert f"brq{net_id[:11]}" in driver.inventory()["bridges"]
        driver.unplug(b)
        assert f"brq{net_id[:11]}" not in driver.inventory()["bridges"]

    def test_vxlan_head_end_replication_peers(self, driver, ids):
        net_id, _ = ids()
        network = NetworkSpec.from_dict(network_dict(net_id, vni=VNI2, peers=["198.51.100.7", "198.51.100.8"]))
        driver.ensure_bridge(network)
        assert self.peers(driver, network) == ["198.51.100.7", "198.51.100.8"]
        driver.set_vxlan_peers(network, ["198.51.100.8"])
        assert self.peers(driver, network) == ["198.51.100.8"]
        port = PortSpec.from_dict({**port_dict(ids()[1], net_id, netns=self.guest_netns, vni=VNI2),
                                   "network": network_dict(net_id, vni=VNI2)})
        driver.plug(port)
        driver.unplug(port)
        assert f"brq{net_id[:11]}" not in driver.inventory()["bridges"]

    def test_unsupported_network_type(self, driver, ids):
        net_id, _ = ids()
        with pytest.raises(UnsupportedNetworkType):
            driver.ensure_bridge(NetworkSpec.from_dict({**network_dict(net_id), "type": "vlan"}))

    def test_firewall_ignores_older_states(self, driver, ids):
        net_id, port_id = ids()
        spec = PortSpec.from_dict(port_dict(port_id, net_id, netns=self.guest_netns))
        driver.plug(spec)
        try:
            fw = {"ports": [{**port_dict(port_id, net_id), "port_security": True, "allowed_address_pairs": [],
                             "zone": 7, "security_groups": ["g1"]}],
                  "groups": {"g1": {"rules": [{"id": "r", "direction": "ingress", "ethertype": "IPv4",
                                               "protocol": "tcp", "port_range_min": 22, "port_range_max": 22,
                                               "remote_ip_prefix": "0.0.0.0/0", "remote_group_id": None}]}},
                  "members": {}, "zones": {f"brq{net_id[:11]}": 7}, "version": 10}
            assert driver.firewall_apply(fw)["applied"] is True
            assert driver.firewall_apply({**fw, "version": 9})["applied"] is False
            assert spec.devname in driver.inventory()["firewall_ports"]
            assert driver.firewall_apply({**fw, "ports": [], "version": 11})["applied"] is True
        finally:
            driver.unplug(spec)

    def peers(self, driver, network):
        raise NotImplementedError


def new_ids():
    return str(uuid.uuid4()), str(uuid.uuid4())
