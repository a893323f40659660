"""radvd.conf rendered from a router's legs: flags and prefixes as Neutron sets them."""
from apps.network.drivers.linux import render


def test_slaac_stateless_stateful_flags():
    text = render.radvd_conf([
        {"ns_end": "qr-a", "mtu": 1450, "ra": [{"cidr": "fd00:1::/64", "mode": "slaac"}]},
        {"ns_end": "qr-b", "ra": [{"cidr": "fd00:2::/64", "mode": "dhcpv6-stateless"}]},
        {"ns_end": "qr-c", "ra": [{"cidr": "fd00:3::/64", "mode": "dhcpv6-stateful"}]},
        {"ns_end": "qr-v4", "ra": []}])
    blocks = {b.split()[0]: b for b in text.split("interface ")[1:]}
    assert set(blocks) == {"qr-a", "qr-b", "qr-c"}
    a, b, c = blocks["qr-a"], blocks["qr-b"], blocks["qr-c"]
    assert "AdvManagedFlag off" in a and "AdvOtherConfigFlag off" in a and "AdvAutonomous on" in a
    assert "AdvLinkMTU 1450" in a and "prefix fd00:1::/64" in a
    assert "AdvManagedFlag off" in b and "AdvOtherConfigFlag on" in b and "AdvAutonomous on" in b
    assert "AdvManagedFlag on" in c and "AdvOtherConfigFlag on" in c and "AdvAutonomous off" in c
    assert "qr-v4" not in text


def test_nothing_to_advertise_is_empty():
    assert render.radvd_conf([]) == ""
    assert render.radvd_conf([{"ns_end": "qr-x", "ra": [{"cidr": "10.0.0.0/24", "mode": "slaac"}]}]) == ""
