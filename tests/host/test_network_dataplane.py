"""The real data plane on this machine (root): API services -> host tasks (eager) -> LinuxNetworkDriver.

Two namespaces act as guests, each plugged like a port (a veth on the network's bridge with
the port's MAC). They get their addresses from our dnsmasq, reach each other, reach the
external side through SNAT, are reached through a floating IP, are filtered by security
groups, cannot spoof, and reach the metadata endpoint. Deleting everything leaves nothing.
"""
import http.server
import json
import os
import shutil
import signal
import sys
import subprocess
import threading
import time
import uuid

import pytest
from celery import current_app
from django.db import transaction

import apps.core.tasks  # noqa: F401
from apps.network import services, tasks
from apps.network.context import NetContext
from apps.network.drivers.linux import privileged as priv
from apps.network.models import Port

pytestmark = [pytest.mark.host, pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
              pytest.mark.skipif(not shutil.which("dnsmasq"), reason="needs dnsmasq")]
needs_radvd = pytest.mark.skipif(not shutil.which("radvd") and not os.path.exists("/usr/sbin/radvd"),
                                 reason="needs radvd")

# Unique per run: two runs of this test on one host (two engineers' suites) must not meet.
RUN = uuid.uuid4().hex[:6]
NET3 = 16 + int(RUN[:2], 16) % 200
EXT_BRIDGE, EXT_CIDR, EXT_HOST_IP = f"br-ms{RUN}", f"172.31.{NET3}.0/24", f"172.31.{NET3}.1"
GUESTS = (f"mst-{RUN}-a", f"mst-{RUN}-b")
FW_TABLE = f"mst_{RUN}"
VNI_BASE = 200000 + int(RUN, 16) % 8_000_000
PROJECT = "mst-project"
LISTENER = """
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 8080)); s.listen(8)
while True:
    c, _ = s.accept(); c.sendall(b"hello\\n"); c.close()
"""
UDHCPC_SCRIPT = """#!/bin/sh
case "$1" in
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    set -- $staticroutes
    while [ $# -ge 2 ]; do ip route replace "$1" via "$2" dev "$interface"; shift 2; done
    if [ -z "$staticroutes" ] && [ -n "$router" ]; then ip route replace default via ${router%% *}; fi
    ;;
esac
"""


def sh(ns, *argv, timeout=10, check=False):
    cmd = ["ip", "netns", "exec", ns, *argv] if ns else list(argv)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=check)


def ping(ns, address, source=None):
    argv = ["ping", "-c", "1", "-W", "1"] + (["-I", source] if source else []) + [address]
    for _ in range(3):
        if sh(ns, *argv).returncode == 0:
            return True
    return False


class MetadataHandler(http.server.BaseHTTPRequestHandler):
    seen = []

    def do_GET(self):
        MetadataHandler.seen.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
        body = b"instance-id\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def dataplane(db, settings, tmp_path, monkeypatch):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), MetadataHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state = tmp_path / "state"
    settings.MONOSTACK = {**settings.MONOSTACK,
                          "DEFAULT": {**settings.MONOSTACK["DEFAULT"], "state_dir": str(state), "hostname": "node1"},
                          "network": {**settings.MONOSTACK["network"],
                                      "driver": "apps.network.drivers.linux.LinuxNetworkDriver",
                                      "network_host": "node1", "bridge_mappings": f"physnet1:{EXT_BRIDGE}",
                                      "physical_interface_mappings": "",
                                      "external_bridge_cidr": f"{EXT_HOST_IP}/24", "local_ip": "127.0.0.1",
                                      "metadata_url": f"http://127.0.0.1:{server.server_port}",
                                      "metadata_secret": "s3cret", "firewall_table": FW_TABLE,
                                      "vni_ranges": f"{VNI_BASE}:{VNI_BASE + 50}"}}
    monkeypatch.setattr(transaction, "on_commit", lambda func, using=None, robust=False: func())
    conf = current_app.conf
    saved = conf.task_always_eager, conf.task_eager_propagates
    conf.task_always_eager, conf.task_eager_propagates = True, True
    monkeypatch.setattr(tasks, "_driver", None)
    for guest in GUESTS:
        priv.ensure_namespace(guest)
    try:
        yield state
    finally:
        conf.task_always_eager, conf.task_eager_propagates = saved
        server.shutdown()
        _force_cleanup(state)


def _force_cleanup(state):
    """Whatever happened, leave the host as it was: processes, namespaces, devices, tables."""
    for pid_file in (list(state.glob("network/dhcp/*/pid")) + list(state.glob("network/metadata/*.pid"))
                     + list(state.glob("network/radvd/*.pid"))):
        try:
            os.kill(int(pid_file.read_text()), signal.SIGTERM)
        except (OSError, ValueError):
            pass
    for guest in GUESTS:
        priv.delete_namespace(guest)
    made = set()
    for path in state.glob("network/dhcp/*"):
        made.add(f"qdhcp-{path.name}")
    for path in state.glob("network/routers/*.json"):
        made.add(f"qrouter-{path.stem}")
    for ns in priv.list_namespaces():
        if ns in made:
            priv.delete_namespace(ns)
    for link in priv.list_links():
        name = link["name"] or ""
        if name == EXT_BRIDGE or (name.startswith("brq") and name[3:] in _bridges_made):
            priv.delete_link(name)
    for name in list(_links_made):
        priv.delete_link(name)
    for link in priv.list_links():
        if (link["name"] or "").startswith("vxlan-") and VNI_BASE <= int(link["name"][6:]) <= VNI_BASE + 50:
            priv.delete_link(link["name"])
    for family in ("bridge", "inet"):
        priv.nft_delete_table(family, FW_TABLE)


_bridges_made, _links_made = set(), set()


def _ctx():
    return NetContext(project_id=PROJECT, user_id="u", roles=("admin", "member", "reader"),
                      credentials={"project_id": PROJECT, "user_id": "u", "roles": ["admin", "member", "reader"]})


def _udhcpc(guest, ifname, tmp):
    script = tmp / "udhcpc.sh"
    script.write_text(UDHCPC_SCRIPT)
    script.chmod(0o755)
    r = sh(guest, "busybox", "udhcpc", "-O", "staticroutes", "-i", ifname, "-n", "-q", "-f", "-t", "6", "-T", "1", "-s", str(script),
           timeout=20)
    assert r.returncode == 0, r.stdout + r.stderr
    return [a.split("/")[0] for a in priv.addresses(ifname, guest) if not a.startswith("fe80")]


def test_two_guests_dhcp_ping_snat_fip_security_groups_spoofing_metadata(dataplane, tmp_path):
    t0 = time.monotonic()
    ctx = _ctx()
    pub = services.network_create(ctx=ctx, data={"name": "public", "router:external": True,
                                                 "provider:network_type": "flat",
                                                 "provider:physical_network": "physnet1"})
    services.subnet_create(ctx=ctx, data={"network_id": str(pub.id), "cidr": EXT_CIDR, "enable_dhcp": False,
                                          "gateway_ip": EXT_HOST_IP,
                                          "allocation_pools": [{"start": f"172.31.{NET3}.10", "end": f"172.31.{NET3}.99"}]})
    private = services.network_create(ctx=ctx, data={"name": "private"})
    _bridges_made.add(str(private.id)[:11])
    subnet = services.subnet_create(ctx=ctx, data={"network_id": str(private.id), "cidr": "10.77.0.0/24",
                                                   "ip_version": 4})
    router = services.router_create(ctx=ctx, data={"name": "r1", "external_gateway_info": {
        "network_id": str(pub.id)}})
    services.router_add_interface(ctx=ctx, router=router, data={"subnet_id": str(subnet.id)})

    ports = []
    for guest in GUESTS:
        port = services.port_create(ctx=ctx, data={"network_id": str(private.id), "name": guest,
                                                   "binding:profile": {"vif_model": "veth", "guest_netns": guest}})
        _links_made.add(f"tap{str(port.id)[:11]}")
        services.port_bind(port=port, host="node1")
        t_plug = time.monotonic()
        action = services.port_plug(port=port)
        plug_ms = (time.monotonic() - t_plug) * 1000
        action.refresh_from_db()
        assert action.status == "succeeded", action.error
        assert Port.objects.get(pk=port.id).status == "ACTIVE"
        ports.append(port)
    ifnames = [f"vm{str(p.id)[:11]}" for p in ports]
    fixed = [p.fixed_ips.get().ip_address for p in ports]

    # DHCP from our dnsmasq gives each guest its port's address
    for guest, ifname, ip in zip(GUESTS, ifnames, fixed):
        assert _udhcpc(guest, ifname, tmp_path) == [ip]

    # guests reach each other (default group: ingress from the same group)
    assert ping(GUESTS[0], fixed[1]) and ping(GUESTS[1], fixed[0])

    # the external side through SNAT (the host does not route 10.77.0.0/24: only SNAT works)
    assert ping(GUESTS[0], EXT_HOST_IP)

    # a floating IP: reached from the host, but ICMP/TCP from outside need rules
    fip = services.floatingip_create(ctx=ctx, data={"floating_network_id": str(pub.id), "port_id": str(ports[1].id)})
    assert not ping(None, fip.floating_ip_address)  # default group: no ingress from outside
    group = ports[1].security_groups.get()
    services.security_group_rule_create(ctx=ctx, data={"security_group_id": str(group.id), "direction": "ingress",
                                                       "protocol": "icmp", "remote_ip_prefix": "0.0.0.0/0"})
    assert ping(None, fip.floating_ip_address)

    # a TCP listener: blocked, then allowed by a rule
    listener = subprocess.Popen(["ip", "netns", "exec", GUESTS[1], sys.executable, "-c", LISTENER],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)

        def probe():
            r = sh(None, "busybox", "nc", "-w", "2", fip.floating_ip_address, "8080", timeout=5)
            return "hello" in r.stdout

        assert not probe()
        rule = services.security_group_rule_create(ctx=ctx, data={
            "security_group_id": str(group.id), "direction": "ingress", "protocol": "tcp",
            "port_range_min": 8080, "port_range_max": 8080, "remote_ip_prefix": "0.0.0.0/0"})
        assert probe()
        services.security_group_rule_delete(ctx=ctx, rule=rule)
        assert not probe()
    finally:
        listener.kill()
        listener.wait()

    # anti-spoofing: another source address never leaves the port
    sh(GUESTS[0], "ip", "addr", "add", "10.77.0.250/24", "dev", ifnames[0], check=True)
    assert not ping(GUESTS[0], fixed[1], source="10.77.0.250")
    assert ping(GUESTS[0], fixed[1])

    # metadata through 169.254.169.254 (the DHCP namespace's proxy, signed, naming the network)
    r = None
    for _ in range(20):
        r = sh(GUESTS[0], "busybox", "wget", "-q", "-O", "-", "http://169.254.169.254/latest/meta-data/instance-id",
               timeout=5)
        if r.returncode == 0:
            break
        time.sleep(0.2)
    assert r.returncode == 0 and "instance-id" in r.stdout, r.stderr
    seen = MetadataHandler.seen[-1]
    assert seen["x-neutron-network-id"] == str(private.id) and seen["x-forwarded-for"] == fixed[0]
    assert seen["x-monostack-metadata-signature"]

    # delete everything through the services: nothing may stay behind
    services.floatingip_delete(ctx=ctx, fip=fip)
    for port in ports:
        services.port_delete(ctx=ctx, port=Port.objects.get(pk=port.id))
    services.router_remove_interface(ctx=ctx, router=router, data={"subnet_id": str(subnet.id)})
    router.refresh_from_db()
    services.router_delete(ctx=ctx, router=router)
    services.subnet_delete(ctx=ctx, subnet=subnet)
    services.network_delete(ctx=ctx, network=private)
    left = tasks.get_driver().inventory()
    mine = str(private.id)[:11]
    assert not [b for b in left["bridges"] if mine in b]
    assert not [n for n in left["namespaces"] if str(private.id) in n or str(router.id) in n]
    assert not [t for t in left["taps"] if t[3:] in {str(p.id)[:11] for p in ports}]
    assert left["dnsmasq"] == [] and left["nft_tables"] == []
    assert time.monotonic() - t0 < 60
    print(f"\nplug (bind+plug host step) last port: {plug_ms:.1f} ms; whole scenario {time.monotonic() - t0:.1f} s")


def _wait(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    return predicate()


def _radvd_running(state):
    """radvd processes started from this run's state directory."""
    found = []
    for proc in os.listdir("/proc"):
        if proc.isdigit() and priv.pid_alive(int(proc), str(state / "network" / "radvd")) \
                and priv.pid_alive(int(proc), "radvd"):
            found.append(int(proc))
    return found


@needs_radvd
def test_slaac_guest_gets_its_eui64_address_from_the_router_advertisement(dataplane, tmp_path):
    ctx = _ctx()
    net = services.network_create(ctx=ctx, data={"name": "v6"})
    _bridges_made.add(str(net.id)[:11])
    cidr = f"fd{RUN[:2]}:{RUN[2:6]}::/64"
    subnet = services.subnet_create(ctx=ctx, data={"network_id": str(net.id), "cidr": cidr, "ip_version": 6,
                                                   "ipv6_ra_mode": "slaac", "ipv6_address_mode": "slaac"})
    router = services.router_create(ctx=ctx, data={"name": "r6"})
    services.router_add_interface(ctx=ctx, router=router, data={"subnet_id": str(subnet.id)})
    radvd_conf = dataplane / "network" / "radvd" / f"{router.id}.conf"
    assert "AdvAutonomous on" in radvd_conf.read_text()
    assert tasks.get_driver().inventory()["radvd"] == [str(router.id)]

    port = services.port_create(ctx=ctx, data={"network_id": str(net.id), "name": "g6",
                                               "binding:profile": {"vif_model": "veth", "guest_netns": GUESTS[0]}})
    _links_made.add(f"tap{str(port.id)[:11]}")
    services.port_bind(port=port, host="node1")
    action = services.port_plug(port=port)
    action.refresh_from_db()
    assert action.status == "succeeded", action.error
    expected = port.fixed_ips.get().ip_address  # the EUI-64 of the port's MAC, as IPAM chose it
    ifname = f"vm{str(port.id)[:11]}"

    def global_addresses():
        return [a.split("/")[0] for a in priv.addresses(ifname, GUESTS[0])
                if not a.startswith("fe80") and "tentative" not in a]

    got = _wait(global_addresses, 25)
    assert got == [expected], (got, expected, (dataplane / "network" / "radvd" / f"{router.id}.log").read_text()
                               if (dataplane / "network" / "radvd" / f"{router.id}.log").exists() else "")
    # and the default route points at the router (a link-local next hop learnt from the RA)
    assert "default via fe80:" in sh(GUESTS[0], "ip", "-6", "route").stdout

    # removing the interface stops the advertisements; deleting everything leaves nothing
    services.port_delete(ctx=ctx, port=Port.objects.get(pk=port.id))
    services.router_remove_interface(ctx=ctx, router=router, data={"subnet_id": str(subnet.id)})
    assert tasks.get_driver().inventory()["radvd"] == [] and not radvd_conf.exists()
    assert not radvd_conf.with_suffix(".log").exists()
    assert _wait(lambda: not _radvd_running(dataplane), 5)
    router.refresh_from_db()
    services.router_delete(ctx=ctx, router=router)
    services.subnet_delete(ctx=ctx, subnet=subnet)
    services.network_delete(ctx=ctx, network=net)
    left = tasks.get_driver().inventory()
    assert not [n for n in left["namespaces"] if str(net.id) in n or str(router.id) in n]
    assert not [b for b in left["bridges"] if str(net.id)[:11] in b]
    assert left["radvd"] == [] and left["dnsmasq"] == []


def test_port_forwarding_reaches_the_guest_and_stops_when_removed(dataplane, tmp_path):
    ctx = _ctx()
    pub = services.network_create(ctx=ctx, data={"name": "public", "router:external": True,
                                                 "provider:network_type": "flat",
                                                 "provider:physical_network": "physnet1"})
    services.subnet_create(ctx=ctx, data={"network_id": str(pub.id), "cidr": EXT_CIDR, "enable_dhcp": False,
                                          "gateway_ip": EXT_HOST_IP,
                                          "allocation_pools": [{"start": f"172.31.{NET3}.10", "end": f"172.31.{NET3}.99"}]})
    private = services.network_create(ctx=ctx, data={"name": "private-pf"})
    _bridges_made.add(str(private.id)[:11])
    subnet = services.subnet_create(ctx=ctx, data={"network_id": str(private.id), "cidr": "10.78.0.0/24",
                                                   "ip_version": 4})
    router = services.router_create(ctx=ctx, data={"name": "rpf", "external_gateway_info": {
        "network_id": str(pub.id)}})
    services.router_add_interface(ctx=ctx, router=router, data={"subnet_id": str(subnet.id)})
    port = services.port_create(ctx=ctx, data={"network_id": str(private.id), "name": "pf-guest",
                                               "binding:profile": {"vif_model": "veth", "guest_netns": GUESTS[0]}})
    _links_made.add(f"tap{str(port.id)[:11]}")
    services.port_bind(port=port, host="node1")
    action = services.port_plug(port=port)
    action.refresh_from_db()
    assert action.status == "succeeded", action.error
    fixed = port.fixed_ips.get().ip_address
    assert _udhcpc(GUESTS[0], f"vm{str(port.id)[:11]}", tmp_path) == [fixed]
    group = port.security_groups.get()
    services.security_group_rule_create(ctx=ctx, data={
        "security_group_id": str(group.id), "direction": "ingress", "protocol": "tcp",
        "port_range_min": 8080, "port_range_max": 8080, "remote_ip_prefix": "0.0.0.0/0"})
    fip = services.floatingip_create(ctx=ctx, data={"floating_network_id": str(pub.id)})

    listener = subprocess.Popen(["ip", "netns", "exec", GUESTS[0], sys.executable, "-c", LISTENER],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)

        def probe(port_number):
            r = sh(None, "busybox", "nc", "-w", "2", fip.floating_ip_address, str(port_number), timeout=5)
            return "hello" in r.stdout

        assert not probe(2222)  # nothing forwarded yet
        pf = services.port_forwarding_create(ctx=ctx, fip=fip, data={
            "internal_port_id": str(port.id), "internal_ip_address": fixed, "internal_port": 8080,
            "external_port": 2222, "protocol": "tcp"})
        assert probe(2222)
        assert not probe(8080)  # only the forwarded port: the floating IP is not the guest's
        services.port_forwarding_delete(ctx=ctx, fip=fip, pf=pf)
        assert not probe(2222)
    finally:
        listener.kill()
        listener.wait()

    services.floatingip_delete(ctx=ctx, fip=type(fip).objects.get(pk=fip.pk))
    services.port_delete(ctx=ctx, port=Port.objects.get(pk=port.id))
    services.router_remove_interface(ctx=ctx, router=router, data={"subnet_id": str(subnet.id)})
    router.refresh_from_db()
    services.router_delete(ctx=ctx, router=router)
    services.subnet_delete(ctx=ctx, subnet=subnet)
    services.network_delete(ctx=ctx, network=private)
    left = tasks.get_driver().inventory()
    assert not [n for n in left["namespaces"] if str(private.id) in n or str(router.id) in n]
    assert not [b for b in left["bridges"] if str(private.id)[:11] in b]
    assert left["dnsmasq"] == [] and left["nft_tables"] == []


DHCP6_SOLICIT = """
import os, socket, struct, sys
ifname, mac = sys.argv[1], bytes.fromhex(sys.argv[2].replace(":", ""))
ifindex = socket.if_nametoindex(ifname)
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", 546, 0, ifindex))
s.settimeout(1)
duid = struct.pack("!HH", 3, 1) + mac  # DUID-LL
def opt(code, data):
    return struct.pack("!HH", code, len(data)) + data
msg = (b"\\x01" + os.urandom(3) + opt(1, duid) + opt(3, struct.pack("!III", 1, 0, 0)) + opt(8, b"\\x00\\x00")
       + opt(6, struct.pack("!H", 23)))
for _ in range(10):
    s.sendto(msg, ("ff02::1:2", 547, 0, ifindex))
    try:
        data = s.recv(2048)
    except socket.timeout:
        continue
    if data[0] != 2:  # Advertise
        continue
    i = 4
    while i + 4 <= len(data):
        code, length = struct.unpack("!HH", data[i:i + 4])
        body = data[i + 4:i + 4 + length]
        if code == 3:  # IA_NA: IAID, T1, T2, then options
            j = 12
            while j + 4 <= len(body):
                c, n = struct.unpack("!HH", body[j:j + 4])
                if c == 5:  # IAADDR
                    print(socket.inet_ntop(socket.AF_INET6, body[j + 4:j + 20]))
                    sys.exit(0)
                j += 4 + n
        i += 4 + length
sys.exit(1)
"""


@needs_radvd
def test_dhcpv6_stateful_guest_is_offered_its_port_address(dataplane, tmp_path):
    ctx = _ctx()
    net = services.network_create(ctx=ctx, data={"name": "v6dhcp"})
    _bridges_made.add(str(net.id)[:11])
    cidr = f"fd{RUN[:2]}:{RUN[2:6]}:1::/64"
    subnet = services.subnet_create(ctx=ctx, data={"network_id": str(net.id), "cidr": cidr, "ip_version": 6,
                                                   "ipv6_ra_mode": "dhcpv6-stateful",
                                                   "ipv6_address_mode": "dhcpv6-stateful"})
    router = services.router_create(ctx=ctx, data={"name": "r6d"})
    services.router_add_interface(ctx=ctx, router=router, data={"subnet_id": str(subnet.id)})
    conf = (dataplane / "network" / "radvd" / f"{router.id}.conf").read_text()
    assert "AdvManagedFlag on" in conf and "AdvAutonomous off" in conf
    port = services.port_create(ctx=ctx, data={"network_id": str(net.id), "name": "g6d",
                                               "binding:profile": {"vif_model": "veth", "guest_netns": GUESTS[1]}})
    _links_made.add(f"tap{str(port.id)[:11]}")
    services.port_bind(port=port, host="node1")
    action = services.port_plug(port=port)
    action.refresh_from_db()
    assert action.status == "succeeded", action.error
    expected = port.fixed_ips.get().ip_address
    ifname = f"vm{str(port.id)[:11]}"
    # the guest's link-local address must be usable (DAD done) before it can solicit
    _wait(lambda: [a for a in priv.addresses(ifname, GUESTS[1]) if a.startswith("fe80")]
          and "tentative" not in sh(GUESTS[1], "ip", "-6", "addr", "show", "dev", ifname).stdout, 10)
    r = sh(GUESTS[1], sys.executable, "-c", DHCP6_SOLICIT, ifname, port.mac_address, timeout=20)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == expected
    # no SLAAC address on a stateful subnet
    assert not [a for a in priv.addresses(ifname, GUESTS[1]) if a.startswith("fd")]

    services.port_delete(ctx=ctx, port=Port.objects.get(pk=port.id))
    services.router_remove_interface(ctx=ctx, router=router, data={"subnet_id": str(subnet.id)})
    router.refresh_from_db()
    services.router_delete(ctx=ctx, router=router)
    services.subnet_delete(ctx=ctx, subnet=subnet)
    services.network_delete(ctx=ctx, network=net)
    left = tasks.get_driver().inventory()
    assert left["radvd"] == [] and left["dnsmasq"] == []
    assert not [n for n in left["namespaces"] if str(net.id) in n or str(router.id) in n]
