"""FakeNetworkDriver: the host in memory, with the real driver's names, errors and idempotency.

The default in unit tests. State is per process (one driver instance per agent process),
so tests read it back with ``FakeNetworkDriver.state`` (class-level, reset by ``reset()``).
``FailingFakeNetworkDriver`` fails chosen operations, for failure-path tests.
"""
import copy
import threading

from .base import NetworkDriver, NetworkDriverError, NetworkSpec, PortSpec, UnsupportedNetworkType, VifInfo


def _empty():
    return {"bridges": {}, "vxlan": {}, "namespaces": set(), "taps": {}, "dnsmasq": {}, "routers": {},
            "firewall": None, "firewall_version": 0, "flushed": [], "released": []}


class FakeNetworkDriver(NetworkDriver):
    state = _empty()
    lock = threading.RLock()
    vtep = "192.0.2.10"

    def __init__(self, conf=None, state_dir=None, hostname=None):
        self.conf, self.state_dir, self.hostname = conf or {}, state_dir, hostname

    @classmethod
    def reset(cls):
        with cls.lock:
            cls.state = _empty()

    def init_host(self):
        return {"vtep": self.vtep}

    def describe(self):
        return {"network_types": ["flat", "vxlan"], "vif_types": ["bridge"]}

    def ensure_bridge(self, network):
        if network.type not in ("flat", "vxlan"):
            raise UnsupportedNetworkType(f"network type {network.type} is not supported on this host")
        with self.lock:
            self.state["bridges"].setdefault(network.bridge, {"members": set(), "mtu": network.mtu,
                                                               "mapped": network.bridge_mapped})
            if network.type == "vxlan":
                self.ensure_vxlan(network)
                self.set_vxlan_peers(network, network.peers)
            elif network.interface:
                self.state["bridges"][network.bridge]["members"].add(network.interface)
        return network.bridge

    def ensure_vxlan(self, network):
        name = f"vxlan-{network.vni}"
        with self.lock:
            self.state["vxlan"].setdefault(name, {"vni": network.vni, "peers": set()})
            self.state["bridges"][network.bridge]["members"].add(name)
        return name

    def set_vxlan_peers(self, network, peers):
        with self.lock:
            if f"vxlan-{network.vni}" in self.state["vxlan"]:
                self.state["vxlan"][f"vxlan-{network.vni}"]["peers"] = set(peers)

    def ensure_namespace(self, name):
        with self.lock:
            self.state["namespaces"].add(name)

    def plug(self, port):
        if port.network is None:
            raise NetworkDriverError(f"port {port.id} has no network")
        self.ensure_bridge(port.network)
        with self.lock:
            self.state["taps"][port.devname] = {"port_id": port.id, "mac": port.mac, "bridge": port.network.bridge}
            self.state["bridges"][port.network.bridge]["members"].add(port.devname)
        return VifInfo(devname=port.devname, bridge=port.network.bridge, mac=port.mac, mtu=port.network.mtu)

    def unplug(self, port):
        with self.lock:
            self.state["taps"].pop(port.devname, None)
            if port.network is not None:
                self._drop_member(port.network, port.devname)

    def _drop_member(self, network, member):
        bridge = self.state["bridges"].get(network.bridge)
        if bridge is None:
            return
        bridge["members"].discard(member)
        uplinks = {f"vxlan-{network.vni}", network.interface}
        if not bridge["mapped"] and not (bridge["members"] - uplinks):
            self.state["bridges"].pop(network.bridge)
            self.state["vxlan"].pop(f"vxlan-{network.vni}", None)

    def dhcp_sync(self, dhcp):
        network = NetworkSpec.from_dict(dhcp["network"])
        ns = f"qdhcp-{network.id}"
        with self.lock:
            self.state["released"].extend(dhcp.get("released") or [])
            if not dhcp.get("enabled"):
                self.state["namespaces"].discard(ns)
                self.state["dnsmasq"].pop(network.id, None)
                self._drop_member(network, f"ns-dhcp-{network.id[:8]}")
                return {"running": False}
            self.ensure_bridge(network)
            self.ensure_namespace(ns)
            self.state["bridges"][network.bridge]["members"].add(f"ns-dhcp-{network.id[:8]}")
            self.state["dnsmasq"][network.id] = {"hosts": copy.deepcopy(dhcp["hosts"]),
                                                 "subnets": copy.deepcopy(dhcp["subnets"])}
        return {"running": True, "hosts": len(dhcp["hosts"])}

    def router_sync(self, router):
        ns = f"qrouter-{router['id']}"
        with self.lock:
            if router.get("deleted"):
                self.state["namespaces"].discard(ns)
                old = self.state["routers"].pop(router["id"], None) or {}
                for leg in old.get("legs", []):
                    self._drop_member(NetworkSpec.from_dict(leg), f"qr-{router['id'][:8]}")
                return {"present": False}
            self.ensure_namespace(ns)
            legs = [i["network"] for i in router["interfaces"]] + (
                [router["gateway"]["network"]] if router.get("gateway") else [])
            for leg in legs:
                self.ensure_bridge(NetworkSpec.from_dict(leg))
            self.state["routers"][router["id"]] = {"legs": legs, "floating_ips": list(router["floating_ips"]),
                                                   "snat": bool(router.get("gateway") and router["gateway"]["enable_snat"]),
                                                   "ra": any(i.get("ra") for i in router["interfaces"])}
        return {"present": True}

    def firewall_apply(self, firewall, flush=()):
        with self.lock:
            if firewall["version"] < self.state["firewall_version"]:
                return {"applied": False, "version": self.state["firewall_version"]}
            self.state["firewall"] = copy.deepcopy(firewall)
            self.state["firewall_version"] = firewall["version"]
            self.state["flushed"].extend(flush)
        return {"applied": True, "version": firewall["version"]}

    def host_sync(self, desired):
        removed = {"taps": [], "dnsmasq": [], "routers": []}
        wanted_taps = {p["devname"] for p in desired.get("ports", [])}
        for port in desired.get("ports", []):
            self.plug(PortSpec.from_dict(port))
        with self.lock:
            for tap, info in list(self.state["taps"].items()):
                if tap not in wanted_taps:
                    self.state["taps"].pop(tap)
                    removed["taps"].append(tap)
            for net_id in list(self.state["dnsmasq"]):
                if net_id not in desired.get("dhcp_networks", []):
                    self.state["dnsmasq"].pop(net_id)
                    self.state["namespaces"].discard(f"qdhcp-{net_id}")
                    removed["dnsmasq"].append(net_id)
            for router_id in list(self.state["routers"]):
                if router_id not in desired.get("routers", []):
                    self.state["routers"].pop(router_id)
                    self.state["namespaces"].discard(f"qrouter-{router_id}")
                    removed["routers"].append(router_id)
        if desired.get("firewall"):
            self.firewall_apply(desired["firewall"])
        return removed

    def inventory(self):
        with self.lock:
            fw = self.state["firewall"] or {"ports": []}
            return {"bridges": sorted(self.state["bridges"]), "taps": sorted(self.state["taps"]),
                    "namespaces": sorted(self.state["namespaces"]), "dnsmasq": sorted(self.state["dnsmasq"]),
                    "radvd": sorted(r for r, v in self.state["routers"].items() if v.get("ra")),
                    "firewall_ports": sorted(p["devname"] for p in fw["ports"] if p.get("port_security", True))}


class FailingFakeNetworkDriver(FakeNetworkDriver):
    """Fails the operations named in ``fail`` (a class attribute tests set)."""

    fail = {"plug"}

    def plug(self, port):
        if "plug" in self.fail:
            raise NetworkDriverError(f"injected failure plugging {port.devname}")
        return super().plug(port)

    def dhcp_sync(self, dhcp):
        if "dhcp_sync" in self.fail:
            raise NetworkDriverError("injected failure in dhcp_sync")
        return super().dhcp_sync(dhcp)
