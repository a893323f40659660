"""The one narrow module that touches the kernel and runs host programs (STYLE 12).

Small idempotent functions over pyroute2 (IPRoute/NetNS) and a few commands (nft, conntrack,
dnsmasq, dhcp_release, sysctl in a namespace). "Already exists" and "already gone" are not
errors; anything else becomes HostCommandError with what was attempted. Bridge and VXLAN
changes serialise under one host-wide lock (several agent worker processes share the host).
"""
import contextlib
import errno
import fcntl
import os
import socket
import struct
import subprocess
import threading

from pyroute2 import IPRoute, NetNS, netns
from pyroute2.netlink.exceptions import NetlinkError

LOCK_PATH = "/run/lock/monostack-network.lock"


class HostCommandError(Exception):
    pass


_held = threading.local()


@contextlib.contextmanager
def host_lock(path=LOCK_PATH):
    """The host's network lock (processes and threads of the agent alike); re-entrant within a
    thread, so a step can hold it across several helpers that take it themselves."""
    depth = getattr(_held, "depth", {})
    _held.depth = depth
    if depth.get(path):
        depth[path] += 1
        try:
            yield
        finally:
            depth[path] -= 1
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        depth[path] = 1
        try:
            yield
        finally:
            depth[path] = 0


@contextlib.contextmanager
def _ip(namespace=None):
    ipr = NetNS(namespace) if namespace else IPRoute()
    try:
        yield ipr
    finally:
        ipr.close()


def _index(ipr, name):
    found = ipr.link_lookup(ifname=name)
    return found[0] if found else None


# --- namespaces ---------------------------------------------------------------------------

def namespace_exists(name):
    return name in netns.listnetns()


def list_namespaces():
    return list(netns.listnetns())


def ensure_namespace(name):
    if not namespace_exists(name):
        try:
            netns.create(name)
        except OSError as e:
            if e.errno != errno.EEXIST:
                raise HostCommandError(f"cannot create namespace {name}: {e}") from e
    with _ip(name) as ns:
        lo = _index(ns, "lo")
        ns.link("set", index=lo, state="up")


def delete_namespace(name):
    if namespace_exists(name):
        try:
            netns.remove(name)
        except OSError as e:
            if e.errno != errno.ENOENT:
                raise HostCommandError(f"cannot remove namespace {name}: {e}") from e


# --- links --------------------------------------------------------------------------------

def link_exists(name, namespace=None):
    with _ip(namespace) as ipr:
        return _index(ipr, name) is not None


def list_links(namespace=None):
    """[{"name", "kind", "master"}] of every link."""
    out = []
    with _ip(namespace) as ipr:
        names = {link["index"]: link.get("ifname") for link in ipr.get_links()}
        for link in ipr.get_links():
            info = link.get("IFLA_LINKINFO")
            kind = info.get("IFLA_INFO_KIND") if info else None
            out.append({"name": link.get("ifname"), "kind": kind, "master": names.get(link.get("IFLA_MASTER"))})
    return out


def bridge_members(bridge):
    return [link["name"] for link in list_links() if link["master"] == bridge]


def ensure_bridge(name, mtu=None):
    with _ip() as ipr:
        idx = _index(ipr, name)
        if idx is None:
            try:
                ipr.link("add", ifname=name, kind="bridge")
            except NetlinkError as e:
                if e.code != errno.EEXIST:
                    raise HostCommandError(f"cannot create bridge {name}: {e}") from e
            idx = _index(ipr, name)
            # No STP, no forwarding delay: a new port forwards at once.
            ipr.link("set", index=idx, kind="bridge", br_forward_delay=0, br_stp_state=0)
        kwargs = {"mtu": mtu} if mtu else {}
        ipr.link("set", index=idx, state="up", **kwargs)
    return name


def ensure_vxlan(name, vni, bridge, local_ip, port, mtu):
    with _ip() as ipr:
        idx = _index(ipr, name)
        if idx is None:
            args = {"ifname": name, "kind": "vxlan", "vxlan_id": int(vni), "vxlan_port": int(port),
                    "vxlan_learning": 0}
            if local_ip:
                args["vxlan_local"] = local_ip
            try:
                ipr.link("add", **args)
            except NetlinkError as e:
                if e.code != errno.EEXIST:
                    raise HostCommandError(f"cannot create VXLAN {name} (VNI {vni}): {e}") from e
            idx = _index(ipr, name)
        ipr.link("set", index=idx, master=_index(ipr, bridge), mtu=mtu, state="up")
    return name


def set_flood_peers(device, peers):
    """Exactly ``peers`` as all-zero FDB entries (head-end replication) on ``device``."""
    zero = "00:00:00:00:00:00"
    with _ip() as ipr:
        idx = _index(ipr, device)
        if idx is None:
            raise HostCommandError(f"no device {device}")
        have = {m.get("NDA_DST") for m in ipr.fdb("dump", ifindex=idx) if m.get("NDA_LLADDR") == zero}
        for peer in sorted(set(peers) - have):
            ipr.fdb("append", ifindex=idx, lladdr=zero, dst=peer)
        for peer in sorted(have - set(peers) - {None}):
            with contextlib.suppress(NetlinkError):
                ipr.fdb("del", ifindex=idx, lladdr=zero, dst=peer)


def flood_peers(device):
    with _ip() as ipr:
        idx = _index(ipr, device)
        if idx is None:
            return []
        return sorted(m.get("NDA_DST") for m in ipr.fdb("dump", ifindex=idx)
                      if m.get("NDA_LLADDR") == "00:00:00:00:00:00")


def enslave(name, bridge, mtu=None):
    with _ip() as ipr:
        idx = _index(ipr, name)
        if idx is None:
            raise HostCommandError(f"no interface {name} to put on {bridge}")
        kwargs = {"mtu": mtu} if mtu else {}
        ipr.link("set", index=idx, master=_index(ipr, bridge), state="up", **kwargs)


def ensure_veth(host_end, peer_end, *, bridge=None, peer_namespace=None, peer_mac=None, mtu=None,
                host_mac=None):
    """A veth pair: ``host_end`` in the root namespace (on ``bridge``), ``peer_end`` in
    ``peer_namespace`` (or the root one) with ``peer_mac``; both up."""
    with _ip() as ipr:
        if _index(ipr, host_end) is None:
            peer = {"ifname": peer_end}
            if peer_namespace:
                peer["net_ns_fd"] = peer_namespace
            try:
                ipr.link("add", ifname=host_end, kind="veth", peer=peer)
            except NetlinkError as e:
                if e.code != errno.EEXIST:
                    raise HostCommandError(f"cannot create veth {host_end}/{peer_end}: {e}") from e
        idx = _index(ipr, host_end)
        kwargs = {"mtu": mtu} if mtu else {}
        if host_mac:
            kwargs["address"] = host_mac
        if bridge:
            kwargs["master"] = _index(ipr, bridge)
        ipr.link("set", index=idx, state="up", **kwargs)
    with _ip(peer_namespace) as ns:
        idx = _index(ns, peer_end)
        if idx is None:
            raise HostCommandError(f"veth peer {peer_end} is missing")
        kwargs = {"mtu": mtu} if mtu else {}
        if peer_mac:
            kwargs["address"] = peer_mac
        ns.link("set", index=idx, state="up", **kwargs)


def ensure_tap(name, bridge, mtu=None, mac=None):
    """A persistent tap (QEMU opens it: libvirt <interface type="ethernet" managed="no">)."""
    with _ip() as ipr:
        if _index(ipr, name) is None:
            try:
                ipr.link("add", ifname=name, kind="tuntap", mode="tap")
            except NetlinkError as e:
                if e.code != errno.EEXIST:
                    raise HostCommandError(f"cannot create tap {name}: {e}") from e
        idx = _index(ipr, name)
        kwargs = {"mtu": mtu} if mtu else {}
        if mac:
            kwargs["address"] = mac
        ipr.link("set", index=idx, master=_index(ipr, bridge), state="up", **kwargs)


def delete_link(name, namespace=None):
    with _ip(namespace) as ipr:
        idx = _index(ipr, name)
        if idx is None:
            return False
        try:
            ipr.link("del", index=idx)
        except NetlinkError as e:
            if e.code not in (errno.ENODEV, errno.ENOENT):
                raise HostCommandError(f"cannot delete {name}: {e}") from e
        return True


def set_addresses(device, cidrs, namespace=None):
    """Exactly ``cidrs`` (IPv4/IPv6, "a/len") on ``device``; link-local IPv6 stays."""
    import ipaddress

    wanted = {str(ipaddress.ip_interface(c)) for c in cidrs}
    with _ip(namespace) as ipr:
        idx = _index(ipr, device)
        if idx is None:
            raise HostCommandError(f"no device {device}")
        have = {}
        for a in ipr.get_addr(index=idx):
            addr = f"{a.get('IFA_ADDRESS')}/{a['prefixlen']}"
            if not addr.startswith("fe80:"):
                have[str(ipaddress.ip_interface(addr))] = a
        for cidr in sorted(wanted - set(have)):
            iface = ipaddress.ip_interface(cidr)
            try:
                ipr.addr("add", index=idx, address=str(iface.ip), prefixlen=iface.network.prefixlen)
            except NetlinkError as e:
                if e.code != errno.EEXIST:
                    raise HostCommandError(f"cannot add {cidr} to {device}: {e}") from e
        for cidr in sorted(set(have) - wanted):
            iface = ipaddress.ip_interface(cidr)
            with contextlib.suppress(NetlinkError):
                ipr.addr("del", index=idx, address=str(iface.ip), prefixlen=iface.network.prefixlen)


def replace_route(destination, gateway, namespace=None, device=None):
    with _ip(namespace) as ipr:
        kwargs = {"dst": destination, "gateway": gateway}
        if device:
            kwargs["oif"] = _index(ipr, device)
        try:
            ipr.route("replace", **kwargs)
        except NetlinkError as e:
            raise HostCommandError(f"cannot route {destination} via {gateway}: {e}") from e


def routes(namespace=None):
    with _ip(namespace) as ipr:
        out = []
        for r in ipr.get_routes(family=socket.AF_INET):
            dst = r.get("RTA_DST")
            out.append({"destination": f"{dst}/{r['dst_len']}" if dst else "0.0.0.0/0",
                        "gateway": r.get("RTA_GATEWAY")})
        return out


def delete_route(destination, namespace=None):
    with _ip(namespace) as ipr, contextlib.suppress(NetlinkError):
        ipr.route("del", dst=destination)


def addresses(device, namespace=None):
    with _ip(namespace) as ipr:
        idx = _index(ipr, device)
        if idx is None:
            return []
        return [f"{a.get('IFA_ADDRESS')}/{a['prefixlen']}" for a in ipr.get_addr(index=idx)]


# --- files in /proc -------------------------------------------------------------------------

def write_sysctl(path, value):
    with contextlib.suppress(FileNotFoundError, PermissionError):
        with open(path, "w") as fh:
            fh.write(str(value))


def sysctl_in_namespace(namespace, key, value):
    run(["ip", "netns", "exec", namespace, "sysctl", "-qw", f"{key}={value}"])


# --- commands -------------------------------------------------------------------------------

def run(argv, *, input_text=None, check=True, timeout=30):
    try:
        proc = subprocess.run(argv, input=input_text, text=True, capture_output=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise HostCommandError(f"{' '.join(argv)}: {e}") from e
    if check and proc.returncode != 0:
        raise HostCommandError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.strip()}")
    return proc


def in_namespace(namespace, argv):
    return ["ip", "netns", "exec", namespace, *argv] if namespace else list(argv)


NFT = "nft"


def nft_apply(ruleset, namespace=None):
    """One atomic nftables transaction (``nft -f -``)."""
    run(in_namespace(namespace, [NFT, "-f", "-"]), input_text=ruleset)


def nft_list_tables(namespace=None):
    proc = run(in_namespace(namespace, [NFT, "list", "tables"]), check=False)
    return [line.split()[1:] for line in proc.stdout.splitlines() if line.startswith("table ")]


def nft_delete_table(family, name, namespace=None):
    run(in_namespace(namespace, [NFT, "delete", "table", family, name]), check=False)


def conntrack_flush(zone, address=None):
    """Drop conntrack entries of ``zone`` (those to or from ``address`` when given)."""
    base = ["conntrack", "-D", "-w", str(zone)]
    if address is None:
        run(base, check=False)
        return
    family = ["-f", "ipv6"] if ":" in address else []
    run(base + family + ["-s", address], check=False)
    run(base + family + ["-d", address], check=False)


def start_daemon(argv, namespace=None, log_path=None):
    """Start a process that daemonises itself (or runs in its own session)."""
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL
    try:
        return subprocess.Popen(in_namespace(namespace, argv), stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, close_fds=True)
    except OSError as e:
        raise HostCommandError(f"cannot start {argv[0]}: {e}") from e
    finally:
        if log_path:
            out.close()


def pid_alive(pid, marker=None):
    """Whether ``pid`` runs and its command line contains ``marker``."""
    try:
        with open(f"/proc/{int(pid)}/cmdline", "rb") as fh:
            cmdline = fh.read().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, ValueError):
        return False
    return marker is None or marker in cmdline


def signal_pid(pid, sig):
    with contextlib.suppress(ProcessLookupError, ValueError):
        os.kill(int(pid), sig)


def gratuitous_arp(namespace, device, address):
    """Announce ``address`` on ``device`` (inside ``namespace``): neighbours update their caches."""
    pid = os.fork()
    if pid == 0:  # the child enters the namespace, sends, and leaves
        try:
            netns.setns(namespace)
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
            sock.bind((device, 0x0806))
            mac = sock.getsockname()[4]
            ip = socket.inet_aton(address)
            frame = (b"\xff" * 6 + mac + struct.pack("!H", 0x0806) +
                     struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + ip + b"\x00" * 6 + ip)
            for _ in range(2):
                sock.send(frame)
            sock.close()
            os._exit(0)
        except BaseException:
            os._exit(1)
    os.waitpid(pid, 0)


def default_route_address():
    """The IPv4 address of the interface holding the default route ("" if none)."""
    with _ip() as ipr:
        for r in ipr.get_routes(family=socket.AF_INET):
            if r["dst_len"] == 0 and r.get("RTA_OIF"):
                if r.get("RTA_PREFSRC"):
                    return r.get("RTA_PREFSRC")
                for a in ipr.get_addr(index=r.get("RTA_OIF"), family=socket.AF_INET):
                    return a.get("IFA_ADDRESS")
    return ""
