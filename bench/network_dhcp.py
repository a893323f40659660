#!/usr/bin/env python3
"""dnsmasq reload with many hosts on one network, through the Linux driver (root).

    .venv/bin/python bench/network_dhcp.py [--hosts 1000] [--reloads 20]

Builds a qdhcp namespace for a throwaway network, starts dnsmasq with --hosts entries, then
times dhcp_sync calls that add one host each (files rewritten, SIGHUP), and one dhcp_release.
Everything it made is removed at the end.
"""
import argparse
import ipaddress
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from apps.network.drivers.linux import LinuxNetworkDriver  # noqa: E402


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, {platform.platform()}"


def dto(net_id, dhcp_port_id, hosts):
    base = int(ipaddress.ip_address("10.200.0.10"))
    return {"network": {"id": net_id, "bridge": f"brq{net_id[:11]}", "type": "vxlan", "vni": 15999, "mtu": 1450,
                        "zone": 16000, "peers": []},
            "enabled": True, "port": {"id": dhcp_port_id, "mac": "fa:16:3e:ff:ff:01", "ips": ["10.200.0.2"]},
            "subnets": [{"id": "s1", "cidr": "10.200.0.0/16", "ip_version": 4, "gateway_ip": "10.200.0.1",
                         "enable_dhcp": True, "dns_nameservers": [], "host_routes": []}],
            "hosts": [{"mac": f"fa:16:3f:00:{i >> 8:02x}:{i & 255:02x}", "ips": [str(ipaddress.ip_address(base + i))],
                       "hostname": f"host-{i}", "opts": [], "port_id": f"p{i}"} for i in range(hosts)],
            "lease_duration": 86400, "dns_domain": "openstacklocal", "metadata": {}}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--reloads", type=int, default=20)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root")
    print(machine())
    driver = LinuxNetworkDriver(conf={"local_ip": "127.0.0.1"}, state_dir=tempfile.mkdtemp(prefix="bench-dhcp-"))
    net_id, port_id = str(uuid.uuid4()), str(uuid.uuid4())
    try:
        t = time.perf_counter()
        result = driver.dhcp_sync(dto(net_id, port_id, args.hosts))
        print(f"first sync ({args.hosts} hosts, namespace + veth + dnsmasq start): "
              f"{(time.perf_counter() - t) * 1000:.1f} ms ({result['dnsmasq']})")
        ms = []
        for i in range(args.reloads):
            d = dto(net_id, port_id, args.hosts + i + 1)
            t = time.perf_counter()
            result = driver.dhcp_sync(d)
            ms.append((time.perf_counter() - t) * 1000)
            assert result["dnsmasq"] == "reloaded"
        print(f"reload with {args.hosts}+ hosts (files + SIGHUP): p50={statistics.median(ms):.1f} ms "
              f"max={max(ms):.1f} ms n={len(ms)}")
        d = dto(net_id, port_id, args.hosts)
        d["released"] = [{"mac": "fa:16:3f:00:00:05", "ip": "10.200.0.15"}]
        t = time.perf_counter()
        driver.dhcp_sync(d)
        print(f"reload + dhcp_release of one lease: {(time.perf_counter() - t) * 1000:.1f} ms")
    finally:
        d = dto(net_id, port_id, 0)
        d["enabled"] = False
        driver.dhcp_sync(d)
        left = driver.inventory()
        assert not [n for n in left["namespaces"] if net_id in n] and not left["dnsmasq"], left


if __name__ == "__main__":
    main()
