"""The driver contract against FakeNetworkDriver, plus the fake's failure injection."""
import pytest

from apps.network.drivers.base import NetworkDriverError, PortSpec
from apps.network.drivers.fake import FailingFakeNetworkDriver, FakeNetworkDriver

from .driver_contract import DriverContract, new_ids, port_dict


class TestFakeDriver(DriverContract):
    @pytest.fixture
    def driver(self):
        FakeNetworkDriver.reset()
        return FakeNetworkDriver()

    @pytest.fixture
    def ids(self):
        return new_ids

    def peers(self, driver, network):
        return sorted(driver.state["vxlan"][f"vxlan-{network.vni}"]["peers"])


def test_failing_fake_fails_plug():
    net_id, port_id = new_ids()
    with pytest.raises(NetworkDriverError):
        FailingFakeNetworkDriver().plug(PortSpec.from_dict(port_dict(port_id, net_id)))
