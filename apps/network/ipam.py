"""Address arithmetic for subnets: CIDRs, gateways, allocation pools, EUI-64, MACs. Pure functions."""
import ipaddress
import random

from apps.core.exceptions import BadRequest

MAC_PREFIX = "fa:16:3e"


def parse_cidr(cidr, ip_version=None):
    """The network of ``cidr``, refusing host bits set as Neutron does."""
    try:
        net = ipaddress.ip_network(cidr, strict=False)
    except (ValueError, TypeError):
        raise BadRequest(f"Invalid input for cidr. Reason: '{cidr}' is not a valid IP subnet.",
                         type_name="HTTPBadRequest") from None
    if "/" not in str(cidr):
        raise BadRequest(f"Invalid input for cidr. Reason: '{cidr}' is not a valid IP subnet.")
    if str(net) != str(cidr).lower() and ipaddress.ip_interface(cidr).ip != net.network_address:
        raise BadRequest(f"Invalid input for cidr. Reason: '{cidr}' isn't a recognized IP subnet cidr, "
                         f"'{net}' is recommended.")
    if ip_version is not None and net.version != int(ip_version):
        raise BadRequest(f"Invalid input for operation: Requested subnet with cidr: {cidr} "
                         f"does not match ip_version {ip_version}.")
    if net.version == 4 and net.prefixlen > 30 or net.version == 6 and net.prefixlen > 126:
        raise BadRequest(f"Invalid input for cidr. Reason: '{cidr}' is too small for a subnet.")
    return net


def parse_ip(value, what="ip_address"):
    try:
        return ipaddress.ip_address(value)
    except (ValueError, TypeError):
        raise BadRequest(f"Invalid input for {what}. Reason: '{value}' is not a valid IP address.") from None


def usable_range(net):
    """First and last addresses a pool may hold (no network or IPv4 broadcast address)."""
    first = net.network_address + 1
    last = net.broadcast_address - 1 if net.version == 4 else net.broadcast_address
    return first, last


def default_gateway(net):
    return net.network_address + 1


def check_gateway(net, gateway):
    if gateway is None:
        return None
    ip = parse_ip(gateway, "gateway_ip")
    if ip.version != net.version:
        raise BadRequest(f"Invalid input for operation: gateway_ip {gateway} does not match the "
                         f"IP version of the subnet.")
    if ip in net and (ip == net.network_address or (net.version == 4 and ip == net.broadcast_address)):
        raise BadRequest(f"Gateway is not valid on subnet: {gateway} is the subnet's "
                         f"{'network' if ip == net.network_address else 'broadcast'} address.")
    return ip


def default_pools(net, gateway):
    """The whole usable range, split around the gateway."""
    first, last = usable_range(net)
    if gateway is None or not (first <= gateway <= last):
        return [(first, last)]
    pools = []
    if gateway > first:
        pools.append((first, gateway - 1))
    if gateway < last:
        pools.append((gateway + 1, last))
    return pools


def check_pools(net, pools, gateway):
    """``pools``: [{"start", "end"}] → [(start, end)], validated as Neutron does."""
    first, last = usable_range(net)
    result = []
    for pool in pools:
        start, end = parse_ip(pool.get("start"), "allocation_pools"), parse_ip(pool.get("end"), "allocation_pools")
        if start.version != net.version or end.version != net.version:
            raise BadRequest(f"Invalid input for operation: allocation pool {start}-{end} does not "
                             f"match the IP version of the subnet.")
        if start > end:
            raise BadRequest(f"Invalid input for operation: Start address {start} is greater than "
                             f"end address {end} of the allocation pool.")
        if not (first <= start and end <= last):
            raise BadRequest(f"The allocation pool {start}-{end} spans beyond the subnet cidr {net}.")
        result.append((start, end))
    ordered = sorted(result)
    for (s1, e1), (s2, e2) in zip(ordered, ordered[1:]):
        if s2 <= e1:
            raise BadRequest(f"Found overlapping allocation pools: {s1}-{e1} and {s2}-{e2}")
    if gateway is not None:
        for start, end in result:
            if start <= gateway <= end:
                raise BadRequest(f"Gateway ip {gateway} conflicts with allocation pool {start}-{end}")
    return result


def pools_json(pools):
    return [{"start": str(s), "end": str(e)} for s, e in pools]


def pools_from_json(pools):
    return [(ipaddress.ip_address(p["start"]), ipaddress.ip_address(p["end"])) for p in pools]


def pool_size(pools):
    return sum(int(e) - int(s) + 1 for s, e in pools)


def in_pools(ip, pools):
    return any(s <= ip <= e for s, e in pools)


def candidates(pools, count=24, rng=random):
    """A few random addresses from the pools (Neutron also picks at random, so concurrent
    allocators rarely collide)."""
    total = pool_size(pools)
    if total <= 0:
        return []
    picks = set()
    for _ in range(min(count, total)):
        n = rng.randrange(total)
        for s, e in pools:
            size = int(e) - int(s) + 1
            if n < size:
                picks.add(s + n)
                break
            n -= size
    return sorted(picks)


def iter_pools(pools):
    for s, e in pools:
        ip = s
        while ip <= e:
            yield ip
            ip += 1


def random_mac(prefix=MAC_PREFIX, rng=random):
    return prefix + "".join(f":{rng.randrange(256):02x}" for _ in range(3))


def normalize_mac(mac):
    parts = str(mac).split(":")
    if len(parts) != 6 or not all(len(p) == 2 and all(c in "0123456789abcdefABCDEF" for c in p) for p in parts):
        raise BadRequest(f"Invalid input for mac_address. Reason: '{mac}' is not a valid MAC address.")
    value = ":".join(parts).lower()
    if int(parts[0], 16) & 1:
        raise BadRequest(f"Invalid input for mac_address. Reason: '{mac}' is a multicast MAC address.")
    if value == "00:00:00:00:00:00":
        raise BadRequest(f"Invalid input for mac_address. Reason: '{mac}' is not a valid MAC address.")
    return value


def eui64(net, mac):
    """The SLAAC address of ``mac`` in the /64 ``net``."""
    octets = [int(x, 16) for x in mac.split(":")]
    octets[0] ^= 0x02
    iid = octets[:3] + [0xFF, 0xFE] + octets[3:]
    return ipaddress.IPv6Address(int(net.network_address) | int.from_bytes(bytes(iid), "big"))


def overlaps(a, b):
    return a.version == b.version and a.overlaps(b)
