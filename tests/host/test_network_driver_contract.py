"""The driver contract against the real LinuxNetworkDriver (root; real bridges, VXLAN, nft)."""
import os

import pytest

from apps.network.drivers.linux import LinuxNetworkDriver
from apps.network.drivers.linux import privileged as priv
from tests.network.driver_contract import VNI, VNI2, DriverContract, new_ids

pytestmark = [pytest.mark.host, pytest.mark.skipif(os.geteuid() != 0, reason="needs root")]
GUEST = f"mst-contract-{VNI}"


class TestLinuxDriver(DriverContract):
    guest_netns = GUEST

    @pytest.fixture
    def driver(self, tmp_path):
        conf = {"local_ip": "127.0.0.1", "vxlan_port": 4789, "bridge_mappings": "", "external_bridge_cidr": "",
                "firewall_table": f"mst_{VNI}"}
        yield LinuxNetworkDriver(conf=conf, state_dir=str(tmp_path))
        priv.delete_namespace(GUEST)
        for family in ("bridge", "inet"):
            priv.nft_delete_table(family, f"mst_{VNI}")

    @pytest.fixture
    def ids(self):
        made = []

        def make():
            pair = new_ids()
            made.append(pair)
            return pair

        yield make
        for net_id, port_id in made:  # whatever a failed test left
            for name in (f"tap{port_id[:11]}", f"brq{net_id[:11]}", f"vxlan-{VNI}", f"vxlan-{VNI2}"):
                priv.delete_link(name)

    def peers(self, driver, network):
        return priv.flood_peers(f"vxlan-{network.vni}")


def test_tap_model_makes_a_persistent_tap_for_qemu(tmp_path):
    from apps.network.drivers.base import PortSpec
    from tests.network.driver_contract import port_dict

    driver = LinuxNetworkDriver(conf={"local_ip": "127.0.0.1"}, state_dir=str(tmp_path))
    net_id, port_id = new_ids()
    spec = PortSpec.from_dict(port_dict(port_id, net_id))
    try:
        vif = driver.plug(spec)
        assert vif.vif_type == "bridge" and vif.bridge == f"brq{net_id[:11]}"
        links = {link["name"]: link for link in priv.list_links()}
        assert links[vif.devname]["kind"] == "tun" and links[vif.devname]["master"] == vif.bridge
    finally:
        driver.unplug(spec)
    assert not priv.link_exists(f"brq{net_id[:11]}") and not priv.link_exists(spec.devname)


def test_host_sync_removes_only_what_it_made(tmp_path):
    """A stale port of this driver goes; a device another cloud made on the host stays."""
    from apps.network.drivers.base import PortSpec
    from tests.network.driver_contract import port_dict

    driver = LinuxNetworkDriver(conf={"local_ip": "127.0.0.1", "firewall_table": f"mst_{VNI}"},
                                state_dir=str(tmp_path / "a"))
    other = LinuxNetworkDriver(conf={"local_ip": "127.0.0.1", "firewall_table": f"mst_{VNI}"},
                               state_dir=str(tmp_path / "b"))
    net_id, stale_id = new_ids()
    _, keep_id = new_ids()
    _, foreign_id = new_ids()
    stale = PortSpec.from_dict(port_dict(stale_id, net_id))
    keep = PortSpec.from_dict(port_dict(keep_id, net_id, mac="fa:16:3e:00:00:02"))
    foreign = PortSpec.from_dict(port_dict(foreign_id, net_id, mac="fa:16:3e:00:00:03"))
    try:
        driver.plug(stale)
        other.plug(foreign)
        removed = driver.host_sync({"ports": [port_dict(keep_id, net_id, mac="fa:16:3e:00:00:02")],
                                    "dhcp_networks": [], "routers": []})
        assert removed["taps"] == [stale.devname]
        assert priv.link_exists(keep.devname) and priv.link_exists(foreign.devname)
        assert not priv.link_exists(stale.devname)
    finally:
        for d, spec in ((driver, stale), (driver, keep), (other, foreign)):
            d.unplug(spec)
    assert not priv.link_exists(f"brq{net_id[:11]}")
