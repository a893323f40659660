"""Conductor side of the data plane: plain-data DTOs built from rows, and the host steps that
carry them (DESIGN §1, §6). Host agents never read the database: each step carries the whole
desired state of what it touches (a port, a network's DHCP, a router, a host's firewall),
so a step that runs again, late or twice converges to the same result.

Step kinds (host tasks in tasks.py):
- network.port_plug / network.port_unplug    resource: the port
- network.dhcp_sync                          resource: the network  (on the network host)
- network.router_sync                        resource: the router   (on the network host)
- network.firewall_sync                      resource: "fw-<host>"  (a host's whole nft state)
- network.host_sync                          resource: "sync-<host>" (periodic drift repair)
- network.vxlan_peers                        resource: "<network>.<host>" (head-end replication
                                             list of a host, when another host joins or leaves)
"""
import ipaddress
import logging

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q

from apps.core.models import Host
from apps.core.services import action_start

from .models import FloatingIP, IPAllocation, Network, NetworkAgentHost, Port, PortForwarding, Router, SecurityGroupRule, Subnet

log = logging.getLogger(__name__)

DHCP_OWNER, ROUTER_INTERFACE, ROUTER_GATEWAY = "network:dhcp", "network:router_interface", "network:router_gateway"


def _conf():
    return settings.MONOSTACK["network"]


def _mappings(option):
    out = {}
    for item in str(_conf()[option]).split(","):
        if ":" in item:
            physnet, _, device = item.partition(":")
            out[physnet.strip()] = device.strip()
    return out


# --- names the host and the API agree on ------------------------------------------------------

def bridge_name(network):
    if network.network_type == Network.FLAT:
        bridge = _mappings("bridge_mappings").get(network.physical_network)
        if bridge:
            return bridge
    return f"brq{str(network.id)[:11]}"


def tap_name(port_id):
    return f"tap{str(port_id)[:11]}"


def zone_of(network):
    """A conntrack zone per network (tenant CIDRs overlap on one host)."""
    if network.network_type == Network.VXLAN and network.segmentation_id:
        return network.segmentation_id % 60000 + 1
    return 60001 + sum(map(ord, network.physical_network or "")) % 5000


def network_host():
    """Where DHCP and routers run: the configured host, else the first host that is up."""
    configured = _conf()["network_host"]
    if configured:
        return configured
    host = Host.objects.filter(last_heartbeat__gte=Host.alive_since(), disabled=False).order_by("hostname").first()
    return host.hostname if host else None


# --- DTOs --------------------------------------------------------------------------------------

def network_dto(network, *, host=None):
    dto = {"id": str(network.id), "bridge": bridge_name(network), "type": network.network_type,
           "vni": network.segmentation_id, "physnet": network.physical_network, "mtu": network.mtu,
           "zone": zone_of(network), "admin_state_up": network.admin_state_up}
    if network.network_type == Network.FLAT:
        dto["bridge_mapped"] = network.physical_network in _mappings("bridge_mappings")
        dto["interface"] = _mappings("physical_interface_mappings").get(network.physical_network)
    if network.network_type == Network.VXLAN:
        dto["peers"] = vxlan_peers(network, exclude=host)
    return dto


def vxlan_hosts(network):
    """The hosts that carry ``network``: those with a port bound there, and the network host
    (DHCP, routers) once the network has a subnet."""
    hosts = set(Port.objects.filter(network=network).exclude(binding_host_id="")
                .values_list("binding_host_id", flat=True))
    nh = network_host()
    if nh and Subnet.objects.filter(network=network).exists():
        hosts.add(nh)
    return hosts


def vxlan_peers(network, *, exclude=None):
    """VTEPs of the other hosts that carry ``network`` (head-end replication lists)."""
    hosts = vxlan_hosts(network) - {exclude}
    return sorted(v for v in NetworkAgentHost.objects.filter(hostname__in=hosts).values_list("vtep", flat=True) if v)


def _ips(port):
    return [a.ip_address for a in port.fixed_ips.all()]


def port_dto(port):
    profile = port.binding_profile or {}
    return {"id": str(port.id), "devname": tap_name(port.id), "mac": port.mac_address, "ips": _ips(port),
            "admin_state_up": port.admin_state_up, "model": profile.get("vif_model") or "tap",
            "guest_netns": profile.get("guest_netns")}


def firewall_dto(hostname):
    """Everything the host's nftables state is made of: its bound ports with port security,
    their groups' rules, and the member addresses of groups that rules name as remote."""
    ports = list(Port.objects.filter(binding_host_id=hostname).exclude(device_owner__startswith="network:")
                 .select_related("network").prefetch_related("fixed_ips", "security_groups"))
    group_ids = {sg.id for p in ports for sg in p.security_groups.all()}
    rules = list(SecurityGroupRule.objects.filter(security_group_id__in=group_ids).order_by("created_at", "pk"))
    remote_ids = {r.remote_group_id for r in rules if r.remote_group_id}
    members = {str(g): {"IPv4": [], "IPv6": []} for g in remote_ids}
    if remote_ids:
        rows = (IPAllocation.objects.filter(port__security_groups__in=remote_ids)
                .values_list("port__security_groups", "ip_address", "port__allowed_address_pairs").distinct())
        for group_id, ip, _pairs in rows:
            if group_id in remote_ids:
                version = "IPv4" if ipaddress.ip_address(ip).version == 4 else "IPv6"
                if ip not in members[str(group_id)][version]:
                    members[str(group_id)][version].append(ip)
    groups = {str(g): {"rules": []} for g in group_ids}
    for r in rules:
        groups[str(r.security_group_id)]["rules"].append({
            "id": str(r.id), "direction": r.direction, "ethertype": r.ethertype, "protocol": r.protocol,
            "port_range_min": r.port_range_min, "port_range_max": r.port_range_max,
            "remote_ip_prefix": r.remote_ip_prefix,
            "remote_group_id": str(r.remote_group_id) if r.remote_group_id else None})
    zones = {}
    out_ports = []
    for p in ports:
        zones[bridge_name(p.network)] = zone_of(p.network)
        out_ports.append({**port_dto(p), "port_security": p.port_security_enabled,
                          "allowed_address_pairs": p.allowed_address_pairs, "zone": zone_of(p.network),
                          "security_groups": sorted(str(sg.id) for sg in p.security_groups.all())})
    return {"ports": out_ports, "groups": groups, "members": members, "zones": zones,
            "version": _next_version()}


def _next_version():
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('network_firewall_version')")
        return cursor.fetchone()[0]


def dhcp_dto(network):
    subnets = list(Subnet.objects.filter(network=network).order_by("created_at"))
    dhcp_port = Port.objects.filter(network=network, device_owner=DHCP_OWNER).prefetch_related("fixed_ips").first()
    hosts = []
    ports = (Port.objects.filter(network=network).exclude(device_owner=DHCP_OWNER)
             .prefetch_related("fixed_ips").order_by("created_at"))
    for p in ports:
        hosts.append({"mac": p.mac_address, "ips": _ips(p), "hostname": _host_label(p),
                      "opts": p.extra_dhcp_opts, "port_id": str(p.id)})
    metadata = ipaddress.ip_address("169.254.169.254")
    return {"network": network_dto(network, host=network_host()),
            "enabled": bool(dhcp_port) and any(s.enable_dhcp for s in subnets),
            "port": port_dto(dhcp_port) if dhcp_port else None,
            "subnets": [{"id": str(s.id), "cidr": s.cidr, "ip_version": s.ip_version, "gateway_ip": s.gateway_ip,
                         "enable_dhcp": s.enable_dhcp, "dns_nameservers": s.dns_nameservers,
                         "host_routes": s.host_routes, "ipv6_address_mode": s.ipv6_address_mode,
                         "ipv6_ra_mode": s.ipv6_ra_mode} for s in subnets],
            "hosts": hosts, "metadata_ip": str(metadata),
            "lease_duration": _conf()["dhcp_lease_duration"], "dns_domain": _conf()["dns_domain"],
            "metadata": metadata_dto(), "has_router": Port.objects.filter(
                network=network, device_owner=ROUTER_INTERFACE).exists()}


def _host_label(port):
    return port.dns_name or f"host-{port.fixed_ips.all()[0].ip_address.replace('.', '-').replace(':', '-')}" \
        if port.fixed_ips.all() else f"host-{str(port.id)[:8]}"


def metadata_dto():
    conf = settings.MONOSTACK
    url = _conf()["metadata_url"] or conf["DEFAULT"]["public_url"].rstrip("/") + "/metadata"
    return {"url": url, "secret": _conf()["metadata_secret"]}


def router_dto(router):
    interfaces = []
    for p in (Port.objects.filter(device_id=str(router.id), device_owner=ROUTER_INTERFACE)
              .select_related("network").prefetch_related("fixed_ips__subnet")):
        interfaces.append({"port": port_dto(p), "network": network_dto(p.network, host=router.host),
                           "addresses": [f"{a.ip_address}/{ipaddress.ip_network(a.subnet.cidr).prefixlen}"
                                         for a in p.fixed_ips.all()],
                           "cidrs": [a.subnet.cidr for a in p.fixed_ips.all()],
                           "ra": [{"cidr": a.subnet.cidr, "mode": a.subnet.ipv6_ra_mode}
                                  for a in p.fixed_ips.all() if a.subnet.ipv6_ra_mode]})
    gateway = None
    if router.gw_port_id:
        gw = Port.objects.select_related("network").prefetch_related("fixed_ips__subnet").get(pk=router.gw_port_id)
        allocs = list(gw.fixed_ips.all())
        gateway = {"port": port_dto(gw), "network": network_dto(gw.network, host=router.host),
                   "addresses": [f"{a.ip_address}/{ipaddress.ip_network(a.subnet.cidr).prefixlen}" for a in allocs],
                   "gateway_ips": [a.subnet.gateway_ip for a in allocs if a.subnet.gateway_ip],
                   "enable_snat": router.enable_snat}
    fips = [{"floating_ip": f.floating_ip_address, "fixed_ip": f.fixed_ip_address}
            for f in FloatingIP.objects.filter(router=router).exclude(fixed_ip_address=None)]
    forwards = [{"floating_ip": pf.floatingip.floating_ip_address, "protocol": pf.protocol,
                 "external_port": pf.external_port, "internal_ip": pf.internal_ip_address,
                 "internal_port": pf.internal_port_number}
                for pf in PortForwarding.objects.filter(floatingip__router=router).select_related("floatingip")]
    return {"id": str(router.id), "admin_state_up": router.admin_state_up, "interfaces": interfaces,
            "gateway": gateway, "floating_ips": fips, "port_forwardings": forwards, "routes": router.routes,
            "metadata": metadata_dto()}


# --- scheduling host steps on commit ----------------------------------------------------------
# The API process only queues "network.refresh" to the conductor once its transaction
# commits; the conductor builds the DTO from the committed rows and starts the host step.

def _schedule(step, *args):
    """Queue ``step(*args)`` (a function of this module, run by the conductor) once the current
    transaction commits; asked twice in one transaction, it runs once (a rolled-back
    transaction drops its callbacks, and with them the request)."""
    key = (step, *[tuple(a) if isinstance(a, list) else a for a in args])
    if connection.in_atomic_block and any(getattr(cb, "network_key", None) == key
                                          for _sids, cb, _robust in connection.run_on_commit):
        return

    def send():
        from . import rpc

        try:
            rpc.send_refresh(step, list(args))
        except Exception:  # the periodic sync repairs what could not be queued now
            log.exception("could not queue data plane step %s", step)

    send.network_key = key
    transaction.on_commit(send, robust=True)


def refresh(step, args):
    """Conductor: run one queued step (see REFRESH_STEPS)."""
    fn = REFRESH_STEPS.get(step)
    if fn is None:
        log.error("unknown data plane step %r", step)
        return None
    return fn(*args)


def _start(kind, resource_type, resource_id, host, payload, user_id=None):
    with transaction.atomic():
        return action_start(kind=kind, resource_type=resource_type, resource_id=resource_id, host=host,
                            payload=payload, user_id=user_id)


def network_changed(network):
    _schedule("dhcp_sync", str(network.id))


def network_deleted(info):
    _schedule("dhcp_teardown", info)


def dhcp_teardown(info):
    host = network_host()
    if not host:
        return None
    return _start("network.dhcp_sync", "network", info["id"], host,
                  {"dhcp": {"network": info["network"], "enabled": False, "deleted": True, "hosts": [],
                            "subnets": [], "port": None}})


def dhcp_sync(network_id, released=()):
    host = network_host()
    network = Network.objects.filter(pk=network_id).first()
    if not host or network is None:
        return None
    dto = dhcp_dto(network)
    if released:
        dto["released"] = list(released)
    return _start("network.dhcp_sync", "network", str(network.id), host, {"dhcp": dto})


def network_snapshot(network):
    return {"id": str(network.id), "project_id": network.project_id, "network": network_dto(network)}


def port_snapshot(port):
    return {"id": str(port.id), "network_id": str(port.network_id), "host": port.binding_host_id,
            "mac": port.mac_address, "ips": _ips(port), "owner": port.device_owner,
            "router_id": port.device_id if port.device_owner.startswith("network:router") else None}


def port_changed(port):
    network_changed(port.network)
    if port.binding_host_id:
        firewall_changed(port.binding_host_id)


def port_deleted(info):
    if info["owner"] != DHCP_OWNER:
        _schedule("dhcp_sync", info["network_id"], [{"mac": info["mac"], "ip": ip} for ip in info["ips"]])
    if info["host"]:
        firewall_changed(info["host"], flush=info["ips"])
        network = Network.objects.filter(pk=info["network_id"]).first()
        if network is not None:
            vxlan_member_left(network, info["host"], info["id"])


def firewall_changed(hostname, flush=()):
    _schedule("firewall_sync", hostname, list(flush))


def firewall_sync(hostname, flush=()):
    return _start("network.firewall_sync", "host_firewall", f"fw-{hostname}", hostname,
                  {"firewall": firewall_dto(hostname), "flush": list(flush)})


def security_groups_changed(group_ids, flush=False):
    """Every host with a port in these groups, or in a group whose rules name them, re-renders."""
    hosts = set(Port.objects.filter(Q(security_groups__in=group_ids) |
                                    Q(security_groups__rules__remote_group__in=group_ids))
                .exclude(binding_host_id="").values_list("binding_host_id", flat=True))
    for host in sorted(hosts):
        firewall_changed(host, flush=["*"] if flush else ())


def router_changed(router, flush=()):
    _schedule("router_sync", str(router.id), list(flush))


def router_sync(router_id, flush=()):
    current = Router.objects.filter(pk=router_id).first()
    if current is None:
        return None
    host = current.host or network_host()
    if not host:
        return None
    if not current.host:
        Router.objects.filter(pk=router_id).update(host=host)
    return _start("network.router_sync", "router", str(router_id), host,
                  {"router": router_dto(current), "flush": list(flush)})


def router_deleted(info):
    _schedule("router_teardown", info)


def router_teardown(info):
    host = info["host"] or network_host()
    if not host:
        return None
    return _start("network.router_sync", "router", info["id"], host, {"router": {"id": info["id"], "deleted": True}})


def port_plug(port, user_id=None):
    port = Port.objects.select_related("network").prefetch_related("fixed_ips").get(pk=port.pk)
    host = port.binding_host_id
    payload = {"port": {**port_dto(port), "network": network_dto(port.network, host=host)},
               "firewall": firewall_dto(host)}
    Port.objects.filter(pk=port.pk).update(status=Port.BUILD if port.status != Port.ACTIVE else port.status)
    return _start("network.port_plug", "port", str(port.id), host, payload, user_id=user_id)


def port_unplug(port, user_id=None):
    host = port.binding_host_id
    payload = {"port": {**port_dto(port), "network": network_dto(port.network, host=host)}}
    action = _start("network.port_unplug", "port", str(port.id), host, payload, user_id=user_id)
    firewall_changed(host, flush=_ips(port))
    return action


def vxlan_member_joined(port_id, host):
    """Conductor, after a port was plugged on ``host``: if it is the first of its (VXLAN)
    network there, the other hosts carrying the network learn this host's VTEP now (their
    all-zero FDB entries stay complete, DESIGN §6)."""
    port = Port.objects.select_related("network").filter(pk=port_id).first()
    if port is None or port.network.network_type != Network.VXLAN:
        return []
    if Port.objects.filter(network=port.network, binding_host_id=host, status=Port.ACTIVE).exclude(pk=port.pk).exists():
        return []  # the host already carried the network
    return vxlan_peers_sync(str(port.network_id), host, True)


def vxlan_member_left(network, host, port_id):
    """A port of ``network`` has left ``host`` (unbound or deleted; call it after the row
    says so): once committed, if it was the host's last one, the other hosts drop its VTEP."""
    if network.network_type != Network.VXLAN or not host:
        return
    if Port.objects.filter(network=network, binding_host_id=host).exclude(pk=port_id).exists():
        return
    _schedule("vxlan_peers_sync", str(network.id), host, False)


def vxlan_peers_sync(network_id, changed_host, joined):
    """Every host carrying the network except ``changed_host`` gets its complete peer list
    (a host step, idempotent). Nothing is sent when the membership turned out not to change."""
    network = Network.objects.filter(pk=network_id).first()
    if network is None or network.network_type != Network.VXLAN:
        return []
    hosts = vxlan_hosts(network)
    if (changed_host in hosts) != bool(joined):
        return []
    return [_start("network.vxlan_peers", "network_vxlan", f"{network.id}.{host}", host,
                   {"network": network_dto(network, host=host)})
            for host in sorted(hosts - {changed_host})]


def host_sync(hostname):
    """The periodic repair: the host's whole desired state; it removes whatever else it finds."""
    ports = [{**port_dto(p), "network": network_dto(p.network, host=hostname)}
             for p in Port.objects.filter(binding_host_id=hostname).exclude(device_owner__startswith="network:")
             .select_related("network").prefetch_related("fixed_ips")]
    networks, routers = [], []
    if network_host() == hostname:
        networks = [str(n.id) for n in Network.objects.filter(subnets__enable_dhcp=True).distinct()]
        routers = [str(r) for r in Router.objects.values_list("id", flat=True)]
    return _start("network.host_sync", "host_sync", f"sync-{hostname}", hostname,
                  {"ports": ports, "dhcp_networks": networks, "routers": routers,
                   "firewall": firewall_dto(hostname)})


REFRESH_STEPS = {"dhcp_sync": dhcp_sync, "dhcp_teardown": dhcp_teardown, "firewall_sync": firewall_sync,
                 "router_sync": router_sync, "router_teardown": router_teardown, "host_sync": host_sync,
                 "vxlan_peers_sync": vxlan_peers_sync}
