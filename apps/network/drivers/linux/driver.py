"""LinuxNetworkDriver: Linux bridges, VXLAN (unicast head-end replication), qdhcp/qrouter
namespaces, dnsmasq, nftables, through the privileged module (DESIGN §6)."""
import dataclasses
import ipaddress
import json
import logging
import os
import shutil
import signal
import sys
from pathlib import Path

from ..base import NetworkDriver, NetworkDriverError, NetworkSpec, PortSpec, UnsupportedNetworkType, VifInfo
from . import privileged as priv
from . import render

log = logging.getLogger(__name__)
PROJECT_ROOT = Path(__file__).resolve().parents[4]


def _ns_dhcp(network_id):
    return f"qdhcp-{network_id}"


def _ns_router(router_id):
    return f"qrouter-{router_id}"


def _short(port_id):
    return str(port_id)[:11]


def _port_record(port):
    record = dataclasses.asdict(port)
    record["network"] = dataclasses.asdict(port.network) if port.network else None
    return record


class LinuxNetworkDriver(NetworkDriver):
    """``conf``: the [network] options (a dict); ``state_dir``: where dnsmasq files, pid files and
    the applied firewall version live."""

    def __init__(self, conf=None, state_dir=None, hostname=None):
        self.conf = dict(conf or {})
        self.state = Path(state_dir or "/var/lib/monostack") / "network"
        self.hostname = hostname
        for sub in ("dhcp", "routers", "metadata", "ports", "radvd"):
            (self.state / sub).mkdir(parents=True, exist_ok=True)
        self._vtep = None
        # Name of the host's nftables tables (bridge and inet); tests running side by side
        # on one host give each run its own.
        self.table = self.conf.get("firewall_table") or render.TABLE

    # --- host ---------------------------------------------------------------------------

    def _mappings(self, option):
        out = {}
        for item in str(self.conf.get(option) or "").split(","):
            if ":" in item:
                physnet, _, device = item.partition(":")
                out[physnet.strip()] = device.strip()
        return out

    def vtep(self):
        if self._vtep is None:
            self._vtep = self.conf.get("local_ip") or priv.default_route_address()
        return self._vtep

    def init_host(self):
        # Bridged IP traffic goes through the inet hooks (stateful security groups).
        for key in ("bridge-nf-call-iptables", "bridge-nf-call-ip6tables"):
            priv.write_sysctl(f"/proc/sys/net/bridge/{key}", 1)
        priv.write_sysctl("/proc/sys/net/ipv4/ip_forward", 1)
        bridges = self._mappings("bridge_mappings")
        cidr = self.conf.get("external_bridge_cidr")
        if bridges:
            first = next(iter(bridges.values()))
            with priv.host_lock():
                priv.ensure_bridge(first, self.conf.get("global_physnet_mtu") or 1500)
                if cidr:
                    have = priv.addresses(first)
                    if cidr not in have:
                        priv.set_addresses(first, [a for a in have if not a.startswith("fe80:")] + [cidr])
        return {"vtep": self.vtep()}

    def describe(self):
        return {"network_types": ["flat", "vxlan"], "vif_types": ["bridge"], "vif_models": ["tap", "veth"]}

    # --- bridges and VXLAN --------------------------------------------------------------

    def ensure_bridge(self, network):
        if network.type not in ("flat", "vxlan"):
            raise UnsupportedNetworkType(f"network type {network.type} is not supported on this host")
        with priv.host_lock():
            priv.ensure_bridge(network.bridge, None if network.bridge_mapped else network.mtu)
            if network.type == "vxlan":
                self.ensure_vxlan(network)
                self.set_vxlan_peers(network, network.peers)
            elif network.interface:
                priv.enslave(network.interface, network.bridge)
        return network.bridge

    def ensure_vxlan(self, network):
        name = f"vxlan-{network.vni}"
        priv.ensure_vxlan(name, network.vni, network.bridge, self.vtep(), self.conf.get("vxlan_port") or 4789,
                          network.mtu)
        return name

    def set_vxlan_peers(self, network, peers):
        if not priv.link_exists(f"vxlan-{network.vni}"):
            return  # not (or no longer) carried here: the next plug brings the list with it
        priv.set_flood_peers(f"vxlan-{network.vni}", [p for p in peers if p and p != self.vtep()])

    def ensure_namespace(self, name):
        priv.ensure_namespace(name)

    def _uplinks(self, network):
        return {f"vxlan-{network.vni}", network.interface} - {None}

    def _maybe_remove_bridge(self, network):
        """A network's bridge goes with its last user (never an operator's mapped bridge)."""
        if network.bridge_mapped:
            return
        with priv.host_lock():
            if not priv.link_exists(network.bridge):
                return
            members = set(priv.bridge_members(network.bridge)) - self._uplinks(network)
            if members:
                return
            if network.type == "vxlan":
                priv.delete_link(f"vxlan-{network.vni}")
            priv.delete_link(network.bridge)

    # --- ports --------------------------------------------------------------------------

    def plug(self, port):
        if port.network is None:
            raise NetworkDriverError(f"port {port.id} has no network")
        net = port.network
        if port.model == "veth" and port.guest_netns:
            priv.ensure_namespace(port.guest_netns)
        # The bridge and the device on it under one lock: a concurrent step removing the
        # bridge with its last user (DHCP teardown, another unplug) must not see it empty.
        with priv.host_lock():
            self.ensure_bridge(net)
            if port.model == "veth":
                priv.ensure_veth(port.devname, port.guest_ifname, bridge=net.bridge,
                                 peer_namespace=port.guest_netns, peer_mac=port.mac, mtu=net.mtu)
            else:
                # The host side of a tap carries a different MAC (fe:...), as libvirt sets it.
                priv.ensure_tap(port.devname, net.bridge, mtu=net.mtu, mac="fe" + port.mac[2:])
        self._write(self.state / "ports" / f"{port.devname}.json", json.dumps(_port_record(port)))
        extra = {"guest_ifname": port.guest_ifname, "guest_netns": port.guest_netns} if port.model == "veth" else {}
        return VifInfo(devname=port.devname, bridge=net.bridge, mac=port.mac, mtu=net.mtu,
                       vif_type="bridge" if port.model == "tap" else "veth", extra=extra)

    def unplug(self, port):
        priv.delete_link(port.devname)
        (self.state / "ports" / f"{port.devname}.json").unlink(missing_ok=True)
        if port.model == "veth" and port.guest_netns:
            priv.delete_link(port.guest_ifname, port.guest_netns)
        if port.network is not None:
            self._maybe_remove_bridge(port.network)

    # --- DHCP ---------------------------------------------------------------------------

    def _dhcp_dir(self, network_id):
        return self.state / "dhcp" / network_id

    def _read_pid(self, path):
        try:
            return int(Path(path).read_text().strip())
        except (OSError, ValueError):
            return None

    def _stop(self, pid_file, marker):
        pid = self._read_pid(pid_file)
        if pid and priv.pid_alive(pid, marker):
            priv.signal_pid(pid, signal.SIGTERM)
        with_suffix = Path(pid_file)
        if with_suffix.exists():
            with_suffix.unlink()

    def dhcp_sync(self, dhcp):
        network = NetworkSpec.from_dict(dhcp["network"])
        ns, conf_dir = _ns_dhcp(network.id), self._dhcp_dir(network.id)
        port = dhcp.get("port")
        if not dhcp.get("enabled") or port is None:
            self._dhcp_teardown(network)
            return {"running": False}
        priv.ensure_namespace(ns)
        host_end, ns_end = f"tap{_short(port['id'])}", f"ns-{_short(port['id'])}"
        with priv.host_lock():  # bridge and veth together (see plug)
            self.ensure_bridge(network)
            priv.ensure_veth(host_end, ns_end, bridge=network.bridge, peer_namespace=ns, peer_mac=port["mac"],
                             mtu=network.mtu)
        cidrs = []
        for ip in port["ips"]:
            for s in dhcp["subnets"]:
                net = ipaddress.ip_network(s["cidr"])
                if ipaddress.ip_address(ip) in net:
                    cidrs.append(f"{ip}/{net.prefixlen}")
        priv.set_addresses(ns_end, cidrs + [f"{render.METADATA_IP}/32"], ns)
        conf_dir.mkdir(parents=True, exist_ok=True)
        self._write(conf_dir / "host", render.dnsmasq_hosts(dhcp))
        self._write(conf_dir / "opts", render.dnsmasq_opts(dhcp, port["ips"]))
        self._write(conf_dir / "addn_hosts", "")
        self._write(conf_dir / "network.json", json.dumps(dhcp["network"]))
        for entry in dhcp.get("released") or []:
            if ":" not in entry["ip"]:
                priv.run(priv.in_namespace(ns, [self.conf.get("dhcp_release_path") or "dhcp_release",
                                                ns_end, entry["ip"], entry["mac"]]), check=False)
        pid = self._read_pid(conf_dir / "pid")
        marker = str(conf_dir)
        if pid and priv.pid_alive(pid, marker):
            priv.signal_pid(pid, signal.SIGHUP)
            action = "reloaded"
        else:
            argv = render.dnsmasq_argv(dhcp, program=self.conf.get("dnsmasq_path") or "dnsmasq", interface=ns_end,
                                       conf_dir=conf_dir, lease_duration=dhcp.get("lease_duration", 86400))
            priv.run(priv.in_namespace(ns, argv))
            action = "started"
        self._ensure_metadata_proxy(ns, dhcp.get("metadata") or {}, network_id=network.id)
        return {"running": True, "dnsmasq": action, "hosts": len(dhcp["hosts"])}

    def _write(self, path, text):
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)

    def _dhcp_teardown(self, network):
        conf_dir = self._dhcp_dir(network.id)
        self._stop(conf_dir / "pid", str(conf_dir))
        self._stop(self.state / "metadata" / f"{_ns_dhcp(network.id)}.pid", _ns_dhcp(network.id))
        ns = _ns_dhcp(network.id)
        if priv.namespace_exists(ns):
            for link in priv.list_links(ns):
                if link["name"] and link["name"].startswith("ns-"):
                    priv.delete_link(link["name"], ns)  # its host end goes with it
        priv.delete_namespace(ns)
        shutil.rmtree(conf_dir, ignore_errors=True)
        self._maybe_remove_bridge(network)

    def _ensure_metadata_proxy(self, ns, metadata, *, network_id=None, router_id=None):
        if not metadata.get("url"):
            return
        pid_file = self.state / "metadata" / f"{ns}.pid"
        pid = self._read_pid(pid_file)
        if pid and priv.pid_alive(pid, ns):
            return
        secret_file = self.state / "metadata" / "secret"
        self._write(secret_file, metadata.get("secret") or "")
        os.chmod(secret_file, 0o600)
        argv = [sys.executable, "-m", "apps.network.drivers.linux.metadata_proxy", "--netns", ns,
                "--url", metadata["url"], "--secret-file", str(secret_file), "--pid-file", str(pid_file)]
        argv += ["--router-id", router_id] if router_id else ["--network-id", network_id]
        env_cwd = os.getcwd()
        try:
            os.chdir(PROJECT_ROOT)
            proc = priv.start_daemon(argv, log_path=str(self.state / "metadata" / f"{ns}.log"))
        finally:
            os.chdir(env_cwd)
        self._write(pid_file, str(proc.pid))

    # --- routers ------------------------------------------------------------------------

    def _router_file(self, router_id):
        return self.state / "routers" / f"{router_id}.json"

    def router_sync(self, router):
        rid = router["id"]
        ns = _ns_router(rid)
        record = self._router_file(rid)
        old = json.loads(record.read_text()) if record.exists() else {"legs": []}
        if router.get("deleted"):
            self._radvd_sync(rid, ns, "")
            priv.delete_namespace(ns)  # its qr-/qg- ends go, and with them the host ends
            for leg in old["legs"]:
                priv.delete_link(leg["host_end"])
                self._maybe_remove_bridge(NetworkSpec.from_dict(leg["network"]))
            record.unlink(missing_ok=True)
            return {"present": False}
        priv.ensure_namespace(ns)
        priv.sysctl_in_namespace(ns, "net.ipv4.ip_forward", 1)
        ra_legs = [itf for itf in router["interfaces"] if itf.get("ra")]
        if ra_legs:
            priv.sysctl_in_namespace(ns, "net.ipv6.conf.all.forwarding", 1)
        legs = []
        for itf in router["interfaces"]:
            legs.append(self._router_leg(ns, "qr", itf["port"], itf["network"], itf["addresses"]))
        gw_dev = None
        if router.get("gateway"):
            gw = router["gateway"]
            fips = [f"{f['floating_ip']}/32" for f in router["floating_ips"]]
            pf_ips = sorted({f"{pf['floating_ip']}/32" for pf in router.get("port_forwardings", [])})
            leg = self._router_leg(ns, "qg", gw["port"], gw["network"], gw["addresses"] + fips + pf_ips)
            legs.append(leg)
            gw_dev = leg["ns_end"]
            if gw.get("gateway_ips"):
                priv.replace_route("0.0.0.0/0", gw["gateway_ips"][0], ns)
        wanted = {leg["ns_end"] for leg in legs}
        for leg in old["legs"]:
            if leg["ns_end"] not in wanted:
                priv.delete_link(leg["ns_end"], ns)
                priv.delete_link(leg["host_end"])
                self._maybe_remove_bridge(NetworkSpec.from_dict(leg["network"]))
        for route in router.get("routes", []):
            priv.replace_route(route["destination"], route["nexthop"], ns)
        current = {r["destination"] for r in router.get("routes", [])}
        for route in old.get("routes", []):
            if route["destination"] not in current:
                priv.delete_route(route["destination"], ns)
        priv.nft_apply(render.router_nat_ruleset(router, gw_dev or "none"), ns)
        if gw_dev:  # floating IPs, and those only port forwardings use, announce themselves
            for address in sorted({f["floating_ip"] for f in router["floating_ips"]}
                                  | {pf["floating_ip"] for pf in router.get("port_forwardings", [])}):
                priv.gratuitous_arp(ns, gw_dev, address)
        for address in router.get("flush") or []:
            priv.run(priv.in_namespace(ns, ["conntrack", "-D", "-d", address]), check=False)
            priv.run(priv.in_namespace(ns, ["conntrack", "-D", "-q", address]), check=False)
        radvd = self._radvd_sync(rid, ns, render.radvd_conf(
            [{"ns_end": f"qr-{_short(itf['port']['id'])}", "ra": itf.get("ra"), "mtu": itf["network"].get("mtu")}
             for itf in router["interfaces"]]))
        self._write(record, json.dumps({"legs": legs, "routes": router.get("routes", [])}))
        return {"present": True, "legs": len(legs), "radvd": radvd}

    def _radvd_sync(self, router_id, ns, conf_text):
        """One radvd per router namespace advertising what ``conf_text`` says: started when
        missing, reloaded (SIGHUP) when its configuration changes, stopped when it is empty."""
        conf, pid_file = self.state / "radvd" / f"{router_id}.conf", self.state / "radvd" / f"{router_id}.pid"
        marker = str(conf)
        if not conf_text:
            self._stop(pid_file, marker)
            conf.unlink(missing_ok=True)
            conf.with_suffix(".log").unlink(missing_ok=True)
            return None
        old = conf.read_text() if conf.exists() else None
        if old != conf_text:
            self._write(conf, conf_text)
            os.chmod(conf, 0o644)
        pid = self._read_pid(pid_file)
        if pid and priv.pid_alive(pid, marker):
            if old != conf_text:
                priv.signal_pid(pid, signal.SIGHUP)
                return "reloaded"
            return "running"
        priv.run(priv.in_namespace(ns, [self.conf.get("radvd_path") or "radvd", "-C", marker, "-p", str(pid_file),
                                        "-m", "logfile", "-l", str(conf.with_suffix(".log"))]))
        return "started"

    def _router_leg(self, ns, prefix, port, network, addresses):
        net = NetworkSpec.from_dict(network)
        host_end, ns_end = f"tap{_short(port['id'])}", f"{prefix}-{_short(port['id'])}"
        with priv.host_lock():  # bridge and veth together (see plug)
            self.ensure_bridge(net)
            priv.ensure_veth(host_end, ns_end, bridge=net.bridge, peer_namespace=ns, peer_mac=port["mac"],
                             mtu=net.mtu)
        priv.set_addresses(ns_end, addresses, ns)
        return {"host_end": host_end, "ns_end": ns_end, "network": network}

    # --- security groups ----------------------------------------------------------------

    def firewall_apply(self, firewall, flush=()):
        version_file = self.state / "firewall.version"
        with priv.host_lock():
            try:
                applied = int(version_file.read_text())
            except (OSError, ValueError):
                applied = 0
            if firewall["version"] < applied:
                return {"applied": False, "version": applied}
            applied_file = self.state / "firewall.applied"
            if any(p.get("port_security", True) for p in firewall["ports"]):
                self._write(applied_file, json.dumps(self._nft_update(firewall, applied_file)))
            else:  # nothing to filter: no table left behind
                applied_file.unlink(missing_ok=True)
                for family in ("bridge", "inet"):
                    priv.nft_delete_table(family, self.table)
            self._write(version_file, str(firewall["version"]))
            self._write(self.state / "firewall.ports", json.dumps(
                sorted(p["devname"] for p in firewall["ports"] if p.get("port_security", True))))
        zones = sorted(set(firewall.get("zones", {}).values()))
        for address in flush:
            for zone in zones:
                priv.conntrack_flush(zone, None if address == "*" else address)
        return {"applied": True, "version": firewall["version"]}

    def _nft_update(self, firewall, applied_file):
        """One atomic ``nft -f``: only the additions when the change is nothing else (a port
        plugged: its chains and map entries), else both tables made again. Returns what is
        applied now (the DTO and the ports' mark indexes) for the next update."""
        try:
            applied = json.loads(applied_file.read_text())
        except (OSError, ValueError):
            applied = {}
        index = render.port_indexes(firewall["ports"], applied.get("index"))
        batch = None
        have = {tuple(t) for t in priv.nft_list_tables()}
        if applied.get("firewall") and {("bridge", self.table), ("inet", self.table)} <= have:
            batch = render.firewall_additions(applied["firewall"], firewall, self.table, index)
        if batch:
            try:
                priv.nft_apply(batch)
            except priv.HostCommandError as e:  # the tables changed behind our back
                log.warning("adding to the nftables tables failed, replacing them: %s", e)
                batch = None
        if batch is None:
            priv.nft_apply(render.firewall_ruleset(firewall, self.table, index))
        return {"firewall": {k: v for k, v in firewall.items() if k != "version"}, "index": index}

    # --- sync and inventory -------------------------------------------------------------

    def inventory(self):
        links = priv.list_links()
        ns = priv.list_namespaces()
        dnsmasq = [d.name for d in (self.state / "dhcp").iterdir()
                   if priv.pid_alive(self._read_pid(d / "pid") or 0, str(d))]
        radvd = [c.stem for c in (self.state / "radvd").glob("*.conf")
                 if priv.pid_alive(self._read_pid(c.with_suffix(".pid")) or 0, str(c))]
        tables = priv.nft_list_tables()
        try:
            fw_ports = json.loads((self.state / "firewall.ports").read_text()) if tables else []
        except (OSError, ValueError):
            fw_ports = []
        return {"bridges": sorted(l["name"] for l in links if l["kind"] == "bridge" and l["name"].startswith("brq")),
                "taps": sorted(l["name"] for l in links if l["name"].startswith("tap")),
                "vxlan": sorted(l["name"] for l in links if l["name"].startswith("vxlan-")),
                "namespaces": sorted(n for n in ns if n.startswith(("qdhcp-", "qrouter-"))),
                "dnsmasq": sorted(dnsmasq), "radvd": sorted(radvd), "firewall_ports": fw_ports, "nft_tables": sorted(" ".join(t) for t in tables
                                                                 if t and t[-1] == self.table)}

    def host_sync(self, desired):
        """Converge to ``desired``; remove only what this driver made (recorded under its state
        dir) and nothing asks for any more, so another cloud's devices on the host are safe."""
        removed = {"taps": [], "namespaces": []}
        wanted = set()
        for port in desired.get("ports", []):
            spec = PortSpec.from_dict(port)
            self.plug(spec)
            wanted.add(spec.devname)
        for record in (self.state / "ports").glob("*.json"):
            if record.stem not in wanted:
                self.unplug(PortSpec.from_dict(json.loads(record.read_text())))
                removed["taps"].append(record.stem)
        dhcp_wanted = set(desired.get("dhcp_networks", []))
        for conf_dir in (self.state / "dhcp").iterdir():
            net_file = conf_dir / "network.json"
            if conf_dir.name not in dhcp_wanted and net_file.exists():
                self._dhcp_teardown(NetworkSpec.from_dict(json.loads(net_file.read_text())))
                removed["namespaces"].append(_ns_dhcp(conf_dir.name))
        routers_wanted = set(desired.get("routers", []))
        for record in (self.state / "routers").glob("*.json"):
            if record.stem not in routers_wanted:
                self.router_sync({"id": record.stem, "deleted": True})
                removed["namespaces"].append(_ns_router(record.stem))
        if desired.get("firewall"):
            self.firewall_apply(desired["firewall"])
        return removed
