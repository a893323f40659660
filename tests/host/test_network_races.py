"""Steps of one host agent run side by side (a thread pool): a plug must never lose its bridge
to a concurrent step removing the bridge with its last user (DHCP teardown, an unplug)."""
import os
import threading
import uuid

import pytest

from apps.network.drivers.base import NetworkSpec, PortSpec
from apps.network.drivers.linux import privileged as priv
from apps.network.drivers.linux.driver import LinuxNetworkDriver

pytestmark = [pytest.mark.host, pytest.mark.skipif(os.geteuid() != 0, reason="needs root")]

RUN = uuid.uuid4().hex[:5]
VNI = 400000 + int(RUN, 16) % 8_000_000


def test_plug_racing_bridge_removal_keeps_its_bridge(tmp_path):
    driver = LinuxNetworkDriver(conf={"local_ip": "127.0.0.1"}, state_dir=str(tmp_path))
    net = NetworkSpec(id=str(uuid.uuid4()), bridge=f"brqr{RUN}", type="vxlan", vni=VNI, mtu=1450, zone=1)
    made = []
    try:
        for i in range(20):
            port = PortSpec(id=str(uuid.uuid4()), devname=f"tapr{RUN}{i:02d}", mac=f"fa:16:3e:00:02:{i:02x}",
                            network=net)
            made.append(port.devname)
            start = threading.Barrier(2)
            errors = []

            def run(fn, *args):
                try:
                    start.wait()
                    fn(*args)
                except Exception as e:  # noqa: BLE001  (reported below)
                    errors.append(e)

            threads = [threading.Thread(target=run, args=(driver.plug, port)),
                       threading.Thread(target=run, args=(driver._maybe_remove_bridge, net))]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            assert not errors, errors
            links = {link["name"]: link for link in priv.list_links()}
            assert links[port.devname]["master"] == net.bridge, f"round {i}: the tap lost its bridge"
            driver.unplug(port)
            assert not priv.link_exists(net.bridge)
    finally:
        for name in made + [net.bridge, f"vxlan-{VNI}"]:
            priv.delete_link(name)
