"""The host network backend (os-vif's plug/unplug plus host ensure_* steps), with its DTOs.

Drivers take plain data (the dicts dataplane.py builds, read through the dataclasses here)
and return plain data; they never import Django or touch the database. Every method is
idempotent: called twice with the same desired state it changes nothing the second time,
and a method that removes something that is already gone succeeds.

Kinds of desired state a driver converges to:
- a port: a tap (veth pair: host end on the network's bridge, carrying the port's MAC on
  the guest end) -- ``plug``/``unplug``;
- a network on this host: a Linux bridge, plus a VXLAN device (VNI = segmentation id, with
  all-zero FDB entries per remote VTEP: unicast head-end replication) or a flat uplink --
  ``ensure_bridge``/``ensure_vxlan``/``set_vxlan_peers``;
- DHCP of a network: namespace ``qdhcp-<net>``, a veth onto the bridge, dnsmasq --
  ``dhcp_sync``;
- a router: namespace ``qrouter-<router>``, legs on each network, SNAT/DNAT, routes, one radvd
  when an IPv6 subnet's ipv6_ra_mode asks --
  ``router_sync``;
- the host's security groups: one atomic nftables update -- ``firewall_apply``;
- everything at once (the periodic repair), removing what nothing asks for -- ``host_sync``.
"""
import abc
from dataclasses import dataclass, field


class NetworkDriverError(Exception):
    """A host operation failed; the message says what and why."""


class UnsupportedNetworkType(NetworkDriverError):
    pass


@dataclass(frozen=True)
class NetworkSpec:
    id: str
    bridge: str
    type: str                 # "flat" | "vxlan"
    mtu: int
    zone: int
    vni: int | None = None
    physnet: str | None = None
    interface: str | None = None      # flat: a physical interface to enslave
    bridge_mapped: bool = False       # flat: the bridge is an operator's bridge (br-ex), never removed
    peers: tuple = ()                 # vxlan: remote VTEP addresses
    admin_state_up: bool = True

    @classmethod
    def from_dict(cls, d):
        return cls(id=d["id"], bridge=d["bridge"], type=d["type"], mtu=int(d["mtu"]), zone=int(d["zone"]),
                   vni=d.get("vni"), physnet=d.get("physnet"), interface=d.get("interface"),
                   bridge_mapped=bool(d.get("bridge_mapped")), peers=tuple(d.get("peers") or ()),
                   admin_state_up=d.get("admin_state_up", True))


@dataclass(frozen=True)
class PortSpec:
    id: str
    devname: str
    mac: str
    ips: tuple = ()
    network: NetworkSpec = None
    admin_state_up: bool = True
    # "tap": a persistent tap QEMU opens (libvirt <interface type="ethernet">); "veth": a
    # veth pair whose guest end (``guest_ifname``, the port's MAC) sits in ``guest_netns``
    # (containers, and namespaces acting as guests in tests). From binding:profile.
    model: str = "tap"
    guest_netns: str | None = None

    @property
    def guest_ifname(self):
        return f"vm{self.id[:11]}"

    @classmethod
    def from_dict(cls, d):
        return cls(id=d["id"], devname=d["devname"], mac=d["mac"], ips=tuple(d.get("ips") or ()),
                   network=NetworkSpec.from_dict(d["network"]) if d.get("network") else None,
                   admin_state_up=d.get("admin_state_up", True), model=d.get("model") or "tap",
                   guest_netns=d.get("guest_netns"))


@dataclass(frozen=True)
class VifInfo:
    """What the compute driver needs to attach a guest: libvirt <interface type="bridge">
    with <target dev=devname/> on ``bridge``, or an existing tap when ``precreated``."""

    devname: str
    bridge: str
    mac: str
    mtu: int
    vif_type: str = "bridge"
    extra: dict = field(default_factory=dict)

    def as_dict(self):
        return {"devname": self.devname, "bridge": self.bridge, "mac": self.mac, "mtu": self.mtu,
                "vif_type": self.vif_type, **self.extra}


class NetworkDriver(abc.ABC):
    """A host's network backend. One instance per agent process."""

    @abc.abstractmethod
    def init_host(self):
        """Prepare the host (sysctls, mapped bridges, metadata proxy); return
        ``{"vtep": <this host's VXLAN address or "">}``."""

    @abc.abstractmethod
    def describe(self):
        """Capabilities: ``{"network_types": [...], "vif_types": [...]}``."""

    @abc.abstractmethod
    def ensure_bridge(self, network: NetworkSpec):
        """The network's bridge exists and is up, with its uplink (VXLAN or flat); returns its name."""

    @abc.abstractmethod
    def ensure_vxlan(self, network: NetworkSpec):
        """The VXLAN device of the network exists on its bridge; returns the device name."""

    @abc.abstractmethod
    def set_vxlan_peers(self, network: NetworkSpec, peers):
        """Exactly ``peers`` get all-zero FDB entries on the network's VXLAN device (nothing
        happens when this host has no VXLAN device for the network)."""

    @abc.abstractmethod
    def ensure_namespace(self, name):
        """A network namespace ``name`` exists, with loopback up."""

    @abc.abstractmethod
    def plug(self, port: PortSpec) -> VifInfo:
        """The port's device exists on its network's bridge (ensure_bridge first)."""

    @abc.abstractmethod
    def unplug(self, port: PortSpec):
        """Every device made for the port is gone; the network's bridge too once nothing uses it."""

    @abc.abstractmethod
    def dhcp_sync(self, dhcp: dict):
        """Converge the network's DHCP server to ``dhcp`` (dataplane.dhcp_dto); ``enabled``
        False (or ``deleted``) removes namespace, veth and dnsmasq. ``released``: leases to drop."""

    @abc.abstractmethod
    def router_sync(self, router: dict):
        """Converge the router's namespace to ``router`` (dataplane.router_dto); ``deleted`` removes it."""

    @abc.abstractmethod
    def firewall_apply(self, firewall: dict, flush=()):
        """Replace the host's security-group state atomically by ``firewall``
        (dataplane.firewall_dto), ignoring one older than what is applied; drop conntrack
        entries of addresses in ``flush`` ("*": the whole zone of each port)."""

    @abc.abstractmethod
    def host_sync(self, desired: dict):
        """Make the host hold exactly ``desired`` (ports, DHCP networks, routers, firewall):
        re-plug what is missing, remove what belongs to nothing. Returns what it removed."""

    @abc.abstractmethod
    def inventory(self):
        """What this driver has made on the host now: {"bridges", "taps", "namespaces",
        "dnsmasq", "firewall_ports"}; used by sync and tests."""
