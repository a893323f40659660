"""The driver contract against the real LinuxNetworkDriver (root; real bridges, VXLAN, nft)."""
import os

import pytest

from apps.network.drivers.linux import LinuxNetworkDriver
from apps.network.drivers.linux import privileged as priv
from tests.network.driver_contract import DriverContract, new_ids

pytestmark = [pytest.mark.host, pytest.mark.skipif(os.geteuid() != 0, reason="needs root")]
GUEST = "mst-contract-guest"


class TestLinuxDriver(DriverContract):
    guest_netns = GUEST

    @pytest.fixture
    def driver(self, tmp_path):
        conf = {"local_ip": "127.0.0.1", "vxlan_port": 4789, "bridge_mappings": "", "external_bridge_cidr": ""}
        yield LinuxNetworkDriver(conf=conf, state_dir=str(tmp_path))
        priv.delete_namespace(GUEST)
        for family in ("bridge", "inet"):
            priv.nft_delete_table(family, "monostack")

    @pytest.fixture
    def ids(self):
        made = []

        def make():
            pair = new_ids()
            made.append(pair)
            return pair

        yield make
        for net_id, port_id in made:  # whatever a failed test left
            for name in (f"tap{port_id[:11]}", f"brq{net_id[:11]}", "vxlan-4242", "vxlan-4343"):
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
