"""Writes of the Networking service. Keyword-only; ``ctx`` is the caller (NetContext).

Every change the data plane must see ends in one of dataplane's ``*_changed`` calls, which
queue host steps on commit (DHCP of a network, a router, the firewall of a host).
"""
import ipaddress
import logging
import random

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from apps.core.exceptions import BadRequest, Conflict, Forbidden, NotFound, OverQuota
from apps.core.quotas import quota_consume, quota_release

from . import dataplane, ipam, selectors
from .models import (FloatingIP, IPAllocation, Network, Port, PortForwarding, RBACPolicy, Router,
                     SecurityGroup, SecurityGroupRule, Subnet, SubnetPool)

log = logging.getLogger(__name__)

QUOTA_DEFAULTS = {"network": 100, "subnet": 100, "port": 500, "router": 10, "floatingip": 50,
                  "security_group": 10, "security_group_rule": 100, "subnetpool": -1, "rbac_policy": 10}
VXLAN_OVERHEAD = 50
DHCP_OWNER, ROUTER_INTERFACE, ROUTER_GATEWAY, FLOATINGIP_OWNER = (
    "network:dhcp", "network:router_interface", "network:router_gateway", "network:floatingip")
ROUTER_OWNERS = (ROUTER_INTERFACE, ROUTER_GATEWAY, "network:router_interface_distributed",
                 "network:ha_router_replicated_interface")
# Ports the network owns itself: they never count against a project's quota or keep a
# network in use.
NETWORK_OWNERS = (DHCP_OWNER, ROUTER_GATEWAY, FLOATINGIP_OWNER)


def _conf():
    return settings.MONOSTACK["network"]


def _consume(project_id, resource, amount=1):
    if not project_id:
        return
    try:
        quota_consume(project_id=project_id, deltas={resource: amount}, limits_default=QUOTA_DEFAULTS)
    except OverQuota as e:
        raise Conflict(f"Quota exceeded for resources: ['{resource}'].", type_name="OverQuota") from e


def _release(project_id, resource, amount=1):
    if project_id:
        quota_release(project_id=project_id, deltas={resource: amount})


def _owner_project(ctx, data):
    """The project a new resource belongs to: the caller's, or any an admin names."""
    project_id = data.get("project_id") or data.get("tenant_id")
    if data.get("project_id") and data.get("tenant_id") and data["project_id"] != data["tenant_id"]:
        raise BadRequest("project_id and tenant_id do not match")
    if project_id and project_id != ctx.project_id and not ctx.is_admin:
        raise BadRequest("Specifying 'project_id' or 'tenant_id' other than the authenticated "
                         "project in request requires admin privileges")
    return project_id or ctx.project_id or ""


def _tags(data):
    tags = data.get("tags")
    return sorted(set(tags)) if tags else []


# ============================================================================ networks

def _vni_ranges():
    ranges = []
    for part in str(_conf()["vni_ranges"]).split(","):
        if part.strip():
            lo, _, hi = part.partition(":")
            ranges.append((int(lo), int(hi or lo)))
    return ranges


def _allocate_vni():
    used = set(Network.objects.filter(network_type=Network.VXLAN, segmentation_id__isnull=False)
               .values_list("segmentation_id", flat=True))
    for lo, hi in _vni_ranges():
        for vni in range(lo, hi + 1):
            if vni not in used:
                return vni
    raise Conflict("Unable to create the network. No tenant network is available for allocation.",
                   type_name="NoNetworkAvailable")


def _physnets():
    names = set()
    for option in ("physical_interface_mappings", "bridge_mappings"):
        for item in str(_conf()[option]).split(","):
            if ":" in item:
                names.add(item.split(":", 1)[0].strip())
    return names


def _segment(data, *, admin):
    ntype = data.get("provider:network_type")
    physnet = data.get("provider:physical_network")
    seg = data.get("provider:segmentation_id")
    if ntype is None and physnet is None and seg is None:
        ntype = _conf()["tenant_network_type"]
        if ntype == Network.FLAT:
            raise BadRequest("Tenant flat networks need provider:physical_network")
        return Network.VXLAN, None, None
    ntype = ntype or Network.VXLAN
    if ntype in ("vlan", "geneve", "gre", "local"):
        raise BadRequest(f"Invalid input for operation: network_type value '{ntype}' not supported: "
                         f"this cloud's hosts carry only flat and vxlan networks.",
                         type_name="InvalidInput")
    if ntype not in (Network.FLAT, Network.VXLAN):
        raise BadRequest(f"Invalid input for operation: network_type value '{ntype}' not supported.",
                         type_name="InvalidInput")
    if ntype == Network.FLAT:
        if seg is not None:
            raise BadRequest("Invalid input for operation: segmentation_id specified for flat network.",
                             type_name="InvalidInput")
        if not physnet:
            raise BadRequest("Invalid input for operation: physical_network required for flat provider network.",
                             type_name="InvalidInput")
        if physnet not in _physnets():
            raise BadRequest(f"Invalid input for operation: physical_network '{physnet}' unknown for flat "
                             f"provider network.", type_name="InvalidInput")
        return ntype, physnet, None
    if physnet:
        raise BadRequest("Invalid input for operation: provider:physical_network specified for VXLAN network.",
                         type_name="InvalidInput")
    if seg is not None:
        seg = int(seg)
        if not 1 <= seg <= 16777215:
            raise BadRequest(f"Invalid input for operation: {seg} is not a valid VXLAN VNI, "
                             f"valid range is from 1 to 16777215.", type_name="InvalidInput")
    return ntype, None, seg


def _mtu_for(ntype, requested=None):
    physical = _conf()["global_physnet_mtu"]
    maximum = physical - VXLAN_OVERHEAD if ntype == Network.VXLAN else physical
    if requested is None:
        return maximum
    if int(requested) > maximum:
        raise BadRequest(f"Requested MTU is too big, maximum is {maximum}", type_name="InvalidInput")
    if int(requested) < 68:
        raise BadRequest("Invalid input for mtu. Reason: the value must be at least 68.")
    return int(requested)


def network_create(*, ctx, data):
    project_id = _owner_project(ctx, data)
    ctx.enforce("create_network", project_id)
    if data.get("shared"):
        ctx.enforce("create_network:shared", project_id)
    if data.get("router:external"):
        ctx.enforce("create_network:router:external", project_id)
    if data.get("is_default"):
        ctx.enforce("create_network:is_default", project_id)
        if not data.get("router:external"):
            raise BadRequest("Only an external network can be the default one.")
    if any(k.startswith("provider:") for k in data):
        ctx.enforce("create_network:provider", project_id)
    ntype, physnet, seg = _segment(data, admin=ctx.is_admin)
    for attempt in range(5):
        try:
            with transaction.atomic():
                _consume(project_id, "network")
                security_group_ensure_default(project_id=project_id)
                if ntype == Network.VXLAN and seg is None:
                    vni = _allocate_vni()
                else:
                    vni = seg
                    if ntype == Network.VXLAN and Network.objects.filter(
                            network_type=Network.VXLAN, segmentation_id=vni).exists():
                        raise Conflict(f"Unable to create the network. The VXLAN {vni} is in use.",
                                       type_name="TunnelIdInUse")
                    if ntype == Network.FLAT and Network.objects.filter(
                            network_type=Network.FLAT, physical_network=physnet).exists():
                        raise Conflict(f"Unable to create the flat network. Physical network {physnet} "
                                       f"is in use.", type_name="FlatNetworkInUse")
                network = Network.objects.create(
                    project_id=project_id, name=data.get("name") or "", description=data.get("description") or "",
                    admin_state_up=data.get("admin_state_up", True), shared=bool(data.get("shared", False)),
                    external=bool(data.get("router:external", False)), is_default=bool(data.get("is_default", False)),
                    network_type=ntype, physical_network=physnet, segmentation_id=vni,
                    mtu=_mtu_for(ntype, data.get("mtu")),
                    port_security_enabled=data.get("port_security_enabled", True),
                    availability_zone_hints=data.get("availability_zone_hints") or [],
                    dns_domain=data.get("dns_domain") or "", tags=_tags(data))
            return network
        except IntegrityError as e:
            if "network_one_default_external" in str(e):
                raise Conflict("A default external network already exists.",
                               type_name="DefaultExternalNetworkExists") from e
            if seg is not None or ntype == Network.FLAT:
                raise Conflict("Unable to create the network: its segment is in use.",
                               type_name="SegmentInUse") from e
            continue  # another create took the same free VNI: pick again
    raise Conflict("Unable to create the network. No tenant network is available for allocation.",
                   type_name="NoNetworkAvailable")


def network_update(*, ctx, network, data):
    ctx.enforce("update_network", network.project_id)
    for attr, rule in (("shared", "update_network:shared"), ("router:external", "update_network:router:external"),
                       ("is_default", "update_network:is_default")):
        if attr in data:
            ctx.enforce(rule, network.project_id)
    if any(k.startswith("provider:") for k in data):
        raise BadRequest("Invalid input for operation: Plugin does not support updating provider attributes.",
                         type_name="InvalidInput")
    with transaction.atomic():
        network = Network.objects.select_for_update().get(pk=network.pk)
        if "shared" in data and not data["shared"] and network.shared:
            if Port.objects.filter(network=network).exclude(project_id=network.project_id).exclude(
                    device_owner__in=NETWORK_OWNERS).exists():
                raise Conflict(f"Unable to reconfigure sharing settings for network {network.id}. "
                               f"Multiple tenants are using it.", type_name="InvalidSharedSetting")
        if "router:external" in data and not data["router:external"] and network.external:
            if FloatingIP.objects.filter(floating_network=network).exists() or Router.objects.filter(
                    gw_port__network=network).exists():
                raise Conflict(f"Unable to complete operation on network {network.id}. "
                               f"There are one or more ports still in use on the network.",
                               type_name="NetworkInUse")
        for attr, field in (("name", "name"), ("description", "description"), ("admin_state_up", "admin_state_up"),
                            ("shared", "shared"), ("router:external", "external"), ("is_default", "is_default"),
                            ("port_security_enabled", "port_security_enabled"), ("dns_domain", "dns_domain")):
            if attr in data:
                setattr(network, field, data[attr] if data[attr] is not None else "")
        if "mtu" in data:
            network.mtu = _mtu_for(network.network_type, data["mtu"])
        if "tags" in data:
            network.tags = _tags(data)
        if network.is_default and not network.external:
            raise BadRequest("Only an external network can be the default one.")
        network.bump()
        try:
            with transaction.atomic():
                network.save()
        except IntegrityError as e:
            raise Conflict("A default external network already exists.",
                           type_name="DefaultExternalNetworkExists") from e
        dataplane.network_changed(network)
    return network


def network_delete(*, ctx, network):
    ctx.enforce("delete_network", network.project_id)
    with transaction.atomic():
        network = Network.objects.select_for_update().get(pk=network.pk)
        if Port.objects.filter(network=network).exclude(device_owner=DHCP_OWNER).exists():
            raise Conflict(f"Unable to complete operation on network {network.id}. There are one or more "
                           f"ports still in use on the network.", type_name="NetworkInUse")
        for port in Port.objects.filter(network=network, device_owner=DHCP_OWNER):
            port.delete()
        subnets = list(Subnet.objects.filter(network=network))
        for subnet in subnets:
            _release(subnet.project_id, "subnet")
        Subnet.objects.filter(network=network).delete()
        RBACPolicy.objects.filter(object_id=network.id).delete()
        info = dataplane.network_snapshot(network)
        network.delete()
        _release(info["project_id"], "network")
        dataplane.network_deleted(info)


# ============================================================================ subnet pools

def subnetpool_create(*, ctx, data):
    project_id = _owner_project(ctx, data)
    ctx.enforce("create_subnetpool", project_id)
    if data.get("shared"):
        ctx.enforce("create_subnetpool:shared", project_id)
    if data.get("is_default"):
        ctx.enforce("create_subnetpool:is_default", project_id)
    nets = [ipam.parse_cidr(p) for p in data["prefixes"]]
    versions = {n.version for n in nets}
    if len(versions) != 1:
        raise BadRequest("Illegal subnetpool prefix: prefixes of one pool must share an IP version.")
    version = versions.pop()
    top = 32 if version == 4 else 128
    min_len = int(data.get("min_prefixlen") or min(n.prefixlen for n in nets))
    max_len = int(data.get("max_prefixlen") or top)
    default_len = int(data.get("default_prefixlen") or min_len)
    if not (min_len <= default_len <= max_len <= top):
        raise BadRequest("Illegal prefix bounds: min_prefixlen <= default_prefixlen <= max_prefixlen required.",
                         type_name="IllegalSubnetPoolPrefixBounds")
    try:
        with transaction.atomic():
            _consume(project_id, "subnetpool")
            return SubnetPool.objects.create(
                project_id=project_id, name=data.get("name") or "", description=data.get("description") or "",
                ip_version=version, prefixes=[str(n) for n in ipaddress.collapse_addresses(nets)],
                default_prefixlen=default_len, min_prefixlen=min_len, max_prefixlen=max_len,
                shared=bool(data.get("shared", False)), is_default=bool(data.get("is_default", False)),
                default_quota=data.get("default_quota"), address_scope_id=data.get("address_scope_id"),
                tags=_tags(data))
    except IntegrityError as e:
        raise Conflict(f"A default subnetpool for IPv{version} already exists.",
                       type_name="DefaultSubnetPoolExists") from e


def subnetpool_update(*, ctx, pool, data):
    ctx.enforce("update_subnetpool", pool.project_id)
    if "is_default" in data:
        ctx.enforce("update_subnetpool:is_default", pool.project_id)
    for field in ("name", "description", "is_default", "default_quota"):
        if field in data:
            setattr(pool, field, data[field] if data[field] is not None or field == "default_quota" else "")
    if "prefixes" in data:
        nets = [ipam.parse_cidr(p, pool.ip_version) for p in data["prefixes"]]
        old = [ipaddress.ip_network(p) for p in pool.prefixes]
        if not all(any(o.subnet_of(n) for n in nets) for o in old):
            raise BadRequest("Illegal update to prefixes: existing prefixes must stay in the pool.",
                             type_name="IllegalSubnetPoolPrefixUpdate")
        pool.prefixes = [str(n) for n in ipaddress.collapse_addresses(nets)]
    for field in ("default_prefixlen", "min_prefixlen", "max_prefixlen"):
        if field in data:
            setattr(pool, field, int(data[field]))
    if not pool.min_prefixlen <= pool.default_prefixlen <= pool.max_prefixlen:
        raise BadRequest("Illegal prefix bounds.", type_name="IllegalSubnetPoolPrefixBounds")
    if "tags" in data:
        pool.tags = _tags(data)
    pool.bump()
    try:
        with transaction.atomic():
            pool.save()
    except IntegrityError as e:
        raise Conflict("A default subnetpool for this IP version already exists.",
                       type_name="DefaultSubnetPoolExists") from e
    return pool


def subnetpool_delete(*, ctx, pool):
    ctx.enforce("delete_subnetpool", pool.project_id)
    if Subnet.objects.filter(subnetpool=pool).exists():
        raise Conflict(f"Unable to delete subnet pool: {pool.id} is in use by subnets.",
                       type_name="SubnetPoolInUse")
    pool.delete()
    _release(pool.project_id, "subnetpool")


def _allocate_from_pool(pool, prefixlen):
    prefixlen = int(prefixlen or pool.default_prefixlen)
    if not pool.min_prefixlen <= prefixlen <= pool.max_prefixlen:
        raise BadRequest(f"Unable to allocate subnet with prefix length {prefixlen}, maximum allowed prefix "
                         f"is {pool.max_prefixlen}, minimum is {pool.min_prefixlen}.",
                         type_name="IllegalSubnetPrefixLength")
    used = [ipaddress.ip_network(c) for c in Subnet.objects.filter(subnetpool=pool).values_list("cidr", flat=True)]
    for prefix in pool.prefixes:
        net = ipaddress.ip_network(prefix)
        if prefixlen < net.prefixlen:
            continue
        for candidate in net.subnets(new_prefix=prefixlen):
            if not any(candidate.overlaps(u) for u in used):
                return candidate
    raise Conflict(f"Subnet allocation failed: no {prefixlen} prefix is free in subnet pool {pool.id}.",
                   type_name="SubnetAllocationError")


# ============================================================================ subnets

def _check_routes(net, routes):
    out = []
    for route in routes or []:
        dest = ipam.parse_cidr(route.get("destination"))
        nexthop = ipam.parse_ip(route.get("nexthop"), "host_routes")
        if dest.version != net.version or nexthop.version != net.version:
            raise BadRequest(f"Invalid input for operation: host route {route} does not match the subnet's "
                             f"IP version.", type_name="InvalidInput")
        out.append({"destination": str(dest), "nexthop": str(nexthop)})
    return out


def _check_nameservers(version, servers):
    out = []
    for server in servers or []:
        ip = ipam.parse_ip(server, "dns_nameservers")
        if str(ip) in out:
            raise BadRequest(f"Invalid input for dns_nameservers. Reason: Duplicate nameserver '{server}'.")
        out.append(str(ip))
    return out


def _check_ipv6_modes(version, ra_mode, address_mode):
    if version == 4:
        if ra_mode or address_mode:
            raise BadRequest("Invalid input for operation: ipv6_ra_mode or ipv6_address_mode set for an IPv4 "
                             "subnet.", type_name="InvalidInput")
        return
    modes = ("slaac", "dhcpv6-stateful", "dhcpv6-stateless")
    for mode in (ra_mode, address_mode):
        if mode is not None and mode not in modes:
            raise BadRequest(f"Invalid input for ipv6 mode. Reason: '{mode}' is not in {list(modes)}.")
    if ra_mode and address_mode and ra_mode != address_mode:
        raise BadRequest(f"Invalid input for operation: ipv6_ra_mode set to '{ra_mode}' with "
                         f"ipv6_address_mode set to '{address_mode}' is not valid. If both attributes "
                         f"are set, they must be the same value.", type_name="InvalidInput")


def subnet_create(*, ctx, data):
    network = selectors.access_network(ctx, data["network_id"])
    if not ctx.is_admin and network.project_id != ctx.project_id:
        if not (network.shared or RBACPolicy.objects.filter(object_id=network.id, action=RBACPolicy.SHARED,
                                                            target_tenant__in=[ctx.project_id, "*"]).exists()):
            raise NotFound(f"Network {network.id} could not be found.", type_name="NetworkNotFound")
        # Neutron: only the network's owner (or admin) adds subnets to it.
        raise Forbidden("create_subnet is disallowed by policy", type_name="PolicyNotAuthorized")
    project_id = _owner_project(ctx, data) if (data.get("project_id") or data.get("tenant_id")) else network.project_id
    ctx.enforce("create_subnet", project_id)
    version = int(data.get("ip_version") or 4)
    pool = None
    with transaction.atomic():
        Network.objects.select_for_update().filter(pk=network.pk).first()  # one subnet change per network at a time
        if data.get("subnetpool_id") or data.get("use_default_subnetpool"):
            if data.get("subnetpool_id"):
                pool = selectors.access_subnetpool(ctx, data["subnetpool_id"])
            else:
                pool = SubnetPool.objects.filter(is_default=True, ip_version=version).first()
                if pool is None:
                    raise BadRequest(f"No default subnetpool found for IPv{version}",
                                     type_name="DefaultSubnetPoolNotFound")
            version = pool.ip_version
            if data.get("cidr"):
                net = ipam.parse_cidr(data["cidr"], version)
                if not any(net.subnet_of(ipaddress.ip_network(p)) for p in pool.prefixes):
                    raise BadRequest(f"Cidr {net} is not within the prefixes of subnet pool {pool.id}.")
            else:
                net = _allocate_from_pool(pool, data.get("prefixlen"))
        else:
            if not data.get("cidr"):
                raise BadRequest("Bad subnets request: a cidr must be specified in the absence of a subnet pool")
            net = ipam.parse_cidr(data["cidr"], data.get("ip_version") and version)
            version = net.version
        for other in Subnet.objects.filter(network=network).values_list("cidr", flat=True):
            if ipam.overlaps(net, ipaddress.ip_network(other)):
                raise BadRequest(f"Invalid input for operation: Requested subnet with cidr: {net} for network: "
                                 f"{network.id} overlaps with another subnet.", type_name="InvalidInput")
        ra_mode, address_mode = data.get("ipv6_ra_mode"), data.get("ipv6_address_mode")
        _check_ipv6_modes(version, ra_mode, address_mode)
        if version == 6 and (ra_mode in ("slaac", "dhcpv6-stateless") or address_mode in ("slaac", "dhcpv6-stateless")) \
                and net.prefixlen != 64:
            raise BadRequest(f"Invalid input for operation: Invalid CIDR {net} for IPv6 address mode. "
                             f"OpenStack uses the EUI-64 address format, which requires the prefix to be /64.",
                             type_name="InvalidInput")
        if "gateway_ip" in data:
            gateway = ipam.check_gateway(net, data["gateway_ip"])
        else:
            gateway = ipam.default_gateway(net)
        if data.get("allocation_pools"):
            pools = ipam.check_pools(net, data["allocation_pools"], gateway)
        else:
            pools = ipam.default_pools(net, gateway)
        _consume(project_id, "subnet")
        subnet = Subnet.objects.create(
            project_id=project_id, network=network, subnetpool=pool, name=data.get("name") or "",
            description=data.get("description") or "", ip_version=version, cidr=str(net),
            gateway_ip=str(gateway) if gateway is not None else None,
            enable_dhcp=data.get("enable_dhcp", True),
            dns_nameservers=_check_nameservers(version, data.get("dns_nameservers")),
            host_routes=_check_routes(net, data.get("host_routes")),
            allocation_pools=ipam.pools_json(pools), ipv6_ra_mode=ra_mode, ipv6_address_mode=address_mode,
            tags=_tags(data))
        if subnet.auto_address:
            _add_auto_addresses(subnet)
        _ensure_dhcp_port(network)
        dataplane.network_changed(network)
    return subnet


def _add_auto_addresses(subnet):
    """A new SLAAC subnet gives every existing port of its network its EUI-64 address."""
    net = ipaddress.ip_network(subnet.cidr)
    rows = [IPAllocation(port=port, subnet=subnet, network_id=subnet.network_id,
                         ip_address=str(ipam.eui64(net, port.mac_address)))
            for port in Port.objects.filter(network_id=subnet.network_id).exclude(device_owner__in=ROUTER_OWNERS)]
    IPAllocation.objects.bulk_create(rows, ignore_conflicts=True)


def subnet_update(*, ctx, subnet, data):
    ctx.enforce("update_subnet", subnet.project_id)
    net = ipaddress.ip_network(subnet.cidr)
    with transaction.atomic():
        subnet = Subnet.objects.select_for_update().get(pk=subnet.pk)
        gateway = ipaddress.ip_address(subnet.gateway_ip) if subnet.gateway_ip else None
        if "gateway_ip" in data:
            gateway = ipam.check_gateway(net, data["gateway_ip"])
            if gateway is not None and IPAllocation.objects.filter(subnet=subnet, ip_address=str(gateway)).exclude(
                    port__device_owner__in=ROUTER_OWNERS).exists():
                raise Conflict(f"Gateway ip {gateway} conflicts with an allocated address.",
                               type_name="GatewayIpInUse")
            subnet.gateway_ip = str(gateway) if gateway is not None else None
        if "allocation_pools" in data:
            pools = ipam.check_pools(net, data["allocation_pools"] or [], gateway)
            subnet.allocation_pools = ipam.pools_json(pools)
        elif "gateway_ip" in data and gateway is not None:
            ipam.check_pools(net, subnet.allocation_pools, gateway)
        if "dns_nameservers" in data:
            subnet.dns_nameservers = _check_nameservers(subnet.ip_version, data["dns_nameservers"])
        if "host_routes" in data:
            subnet.host_routes = _check_routes(net, data["host_routes"])
        for field in ("name", "description"):
            if field in data:
                setattr(subnet, field, data[field] or "")
        if "enable_dhcp" in data:
            subnet.enable_dhcp = bool(data["enable_dhcp"])
        if "tags" in data:
            subnet.tags = _tags(data)
        subnet.bump()
        subnet.save()
        _ensure_dhcp_port(subnet.network)
        dataplane.network_changed(subnet.network)
    return subnet


def subnet_delete(*, ctx, subnet):
    ctx.enforce("delete_subnet", subnet.project_id)
    with transaction.atomic():
        subnet = Subnet.objects.select_for_update().get(pk=subnet.pk)
        busy = IPAllocation.objects.filter(subnet=subnet).exclude(port__device_owner=DHCP_OWNER)
        if not subnet.auto_address and busy.exists() or busy.filter(port__device_owner__in=ROUTER_OWNERS).exists():
            raise Conflict(f"Unable to complete operation on subnet {subnet.id}: One or more ports have an IP "
                           f"allocation from this subnet.", type_name="SubnetInUse")
        IPAllocation.objects.filter(subnet=subnet).delete()
        network = subnet.network
        subnet.delete()
        _release(subnet.project_id, "subnet")
        _ensure_dhcp_port(network)
        dataplane.network_changed(network)


# ============================================================================ ports

def _port_security_groups(ctx, project_id, ids):
    if ids is None:
        return None
    groups = list(SecurityGroup.objects.filter(pk__in=[selectors._uuid_or_none(i) for i in ids]))
    found = {str(g.id) for g in groups}
    for sg_id in ids:
        if sg_id not in found:
            raise NotFound(f"Security group {sg_id} does not exist", type_name="SecurityGroupNotFound")
    if not ctx.is_admin and any(g.project_id != project_id for g in groups):
        missing = next(str(g.id) for g in groups if g.project_id != project_id)
        raise NotFound(f"Security group {missing} does not exist", type_name="SecurityGroupNotFound")
    return groups


def _check_address_pairs(pairs):
    out = []
    for pair in pairs or []:
        ip = pair.get("ip_address")
        try:
            value = ipaddress.ip_network(ip, strict=False) if "/" in str(ip) else ipaddress.ip_address(ip)
        except (ValueError, TypeError):
            raise BadRequest(f"Invalid input for ip_address. Reason: '{ip}' is not a valid IP address.") from None
        entry = {"ip_address": str(value)}
        if pair.get("mac_address"):
            entry["mac_address"] = ipam.normalize_mac(pair["mac_address"])
        if entry in out:
            raise BadRequest("Request contains duplicate address pair: "
                             f"mac_address {entry.get('mac_address')} ip_address {entry['ip_address']}.",
                             type_name="DuplicateAddressPairInRequest")
        out.append(entry)
    return out


def _check_dhcp_opts(opts):
    out = []
    for opt in opts or []:
        if not opt.get("opt_name"):
            raise BadRequest("Invalid input for extra_dhcp_opts: opt_name is required.")
        out.append({"opt_name": str(opt["opt_name"]), "opt_value": opt.get("opt_value"),
                    "ip_version": int(opt.get("ip_version") or 4)})
    return out


def _free_address(subnet, taken_in_request):
    """An unused address from the subnet's pools, or None. Caller holds the subnet's row lock."""
    pools = ipam.pools_from_json(subnet.allocation_pools)
    picks = [ip for ip in ipam.candidates(pools) if str(ip) not in taken_in_request]
    if picks:
        used = set(IPAllocation.objects.filter(subnet=subnet, ip_address__in=[str(p) for p in picks])
                   .values_list("ip_address", flat=True))
        for ip in picks:
            if str(ip) not in used:
                return ip
    # Nearly full: walk the pools against everything allocated (one query).
    used = set(IPAllocation.objects.filter(subnet=subnet).values_list("ip_address", flat=True)) | taken_in_request
    for ip in ipam.iter_pools(pools):
        if str(ip) not in used:
            return ip
    return None


def _lock_subnets(ids):
    return {s.id: s for s in Subnet.objects.select_for_update().filter(pk__in=ids).order_by("pk")}


def _allocate_ips(*, port, network, fixed_ips, router_port=False):
    """Give ``port`` its fixed IPs (rows inserted). ``fixed_ips``: None for the defaults, or
    [{subnet_id?, ip_address?}]."""
    subnets = list(Subnet.objects.filter(network=network).order_by("created_at", "pk"))
    by_id = {str(s.id): s for s in subnets}
    requests = []
    if fixed_ips is None:
        v4 = [s for s in subnets if s.ip_version == 4]
        v6_stateful = [s for s in subnets if s.ip_version == 6 and not s.auto_address]
        v6_auto = [] if router_port else [s for s in subnets if s.auto_address]
        requests = [{"subnets": v4}] if v4 else []
        if v6_stateful:
            requests.append({"subnets": v6_stateful})
        requests += [{"subnets": [s]} for s in v6_auto]
    else:
        for item in fixed_ips:
            subnet = None
            if item.get("subnet_id"):
                subnet = by_id.get(str(item["subnet_id"]))
                if subnet is None:
                    raise BadRequest(f"Invalid input for operation: Failed to create port on network "
                                     f"{network.id}, because fixed_ips included invalid subnet "
                                     f"{item['subnet_id']}.", type_name="InvalidInput")
            ip = None
            if item.get("ip_address"):
                ip = ipam.parse_ip(item["ip_address"])
                if subnet is None:
                    subnet = next((s for s in subnets if ip in ipaddress.ip_network(s.cidr)), None)
                    if subnet is None:
                        raise BadRequest(f"Invalid input for operation: IP address {ip} is not a valid IP for "
                                         f"any of the subnets on the specified network.", type_name="InvalidIpForNetwork")
                elif ip not in ipaddress.ip_network(subnet.cidr):
                    raise BadRequest(f"Invalid input for operation: IP address {ip} is not a valid IP for the "
                                     f"specified subnet.", type_name="InvalidIpForSubnet")
            if subnet is None:
                raise BadRequest("Invalid input for operation: fixed_ips needs a subnet_id or an ip_address.",
                                 type_name="InvalidInput")
            requests.append({"subnets": [subnet], "ip": ip})
    locked = _lock_subnets({s.id for r in requests for s in r["subnets"]})
    rows, taken = [], set()
    for request in requests:
        ip, chosen = request.get("ip"), None
        if ip is not None:
            chosen = locked[request["subnets"][0].id]
            if str(ip) in taken or IPAllocation.objects.filter(subnet=chosen, ip_address=str(ip)).exists():
                raise Conflict(f"IP address {ip} already allocated in subnet {chosen.id}",
                               type_name="IpAddressAlreadyAllocated")
        else:
            for subnet in request["subnets"]:
                subnet = locked[subnet.id]
                if subnet.auto_address:
                    ip = ipam.eui64(ipaddress.ip_network(subnet.cidr), port.mac_address)
                else:
                    ip = _free_address(subnet, taken)
                if ip is not None:
                    chosen = subnet
                    break
            if chosen is None:
                raise Conflict(f"No more IP addresses available on network {network.id}.",
                               type_name="IpAddressGenerationFailure")
        taken.add(str(ip))
        rows.append(IPAllocation(port=port, subnet=chosen, network=network, ip_address=str(ip)))
    try:
        with transaction.atomic():
            IPAllocation.objects.bulk_create(rows)
    except IntegrityError as e:
        raise Conflict("IP address already allocated.", type_name="IpAddressAlreadyAllocated") from e
    return rows


def _new_mac(network, requested=None):
    if requested:
        mac = ipam.normalize_mac(requested)
        if Port.objects.filter(network=network, mac_address=mac).exists():
            raise Conflict(f"Unable to complete operation for network {network.id}. The mac address {mac} "
                           f"is in use.", type_name="MacAddressInUse")
        return mac
    for _ in range(16):
        mac = ipam.random_mac()
        if not Port.objects.filter(network=network, mac_address=mac).exists():
            return mac
    raise Conflict("Unable to generate a unique mac address.", type_name="MacAddressGenerationFailure")


def port_create(*, ctx, data):
    network = selectors.access_network(ctx, data["network_id"])
    owner = data.get("device_owner") or ""
    if not ctx.is_admin and network.project_id != ctx.project_id and not network.shared and not \
            RBACPolicy.objects.filter(object_id=network.id, action=RBACPolicy.SHARED,
                                      target_tenant__in=[ctx.project_id, "*"]).exists():
        if network.external and owner in NETWORK_OWNERS + ROUTER_OWNERS:
            pass
        else:
            raise NotFound(f"Network {network.id} could not be found.", type_name="NetworkNotFound")
    project_id = _owner_project(ctx, data)
    ctx.enforce("create_port", project_id)
    if any(k.startswith("binding:") and k != "binding:vnic_type" for k in data):
        ctx.enforce("create_port:binding", project_id)
    with transaction.atomic():
        if not owner.startswith("network:"):
            _consume(project_id, "port")
        port = _port_insert(ctx=ctx, network=network, project_id=project_id, data=data)
    return port


def _port_insert(*, ctx, network, project_id, data, router_port=False):
    owner = data.get("device_owner") or ""
    port_security = data.get("port_security_enabled")
    if port_security is None:
        port_security = network.port_security_enabled
    pairs = _check_address_pairs(data.get("allowed_address_pairs"))
    if pairs and not port_security:
        raise Conflict("Port Security must be enabled in order to have allowed address pairs on a port.",
                       type_name="AddressPairAndPortSecurityRequired")
    if owner.startswith("network:"):
        groups = []
    else:
        groups = _port_security_groups(ctx, project_id, data.get("security_groups"))
        if groups is None:
            groups = [security_group_ensure_default(project_id=project_id)] if port_security else []
        if groups and not port_security:
            raise Conflict("Port has security group associated. Cannot disable port security or IP address "
                           "until security group is removed.", type_name="PortSecurityPortHasSecurityGroup")
    port = Port(project_id=project_id, network=network, name=data.get("name") or "",
                description=data.get("description") or "", mac_address=_new_mac(network, data.get("mac_address")),
                admin_state_up=data.get("admin_state_up", True), device_id=data.get("device_id") or "",
                device_owner=owner, port_security_enabled=port_security, allowed_address_pairs=pairs,
                extra_dhcp_opts=_check_dhcp_opts(data.get("extra_dhcp_opts")),
                binding_vnic_type=data.get("binding:vnic_type") or "normal",
                binding_profile=data.get("binding:profile") or {}, dns_name=data.get("dns_name") or "",
                tags=_tags(data))
    try:
        with transaction.atomic():
            port.save(force_insert=True)
    except IntegrityError as e:
        raise Conflict(f"Unable to complete operation for network {network.id}. The mac address "
                       f"{port.mac_address} is in use.", type_name="MacAddressInUse") from e
    fixed_ips = data.get("fixed_ips")
    _allocate_ips(port=port, network=network, fixed_ips=fixed_ips, router_port=router_port)
    if groups:
        port.security_groups.set(groups)
    host = data.get("binding:host_id")
    if host:
        port_bind(port=port, host=host)
    dataplane.port_changed(port)
    return port


def port_update(*, ctx, port, data):
    ctx.enforce("update_port", port.project_id)
    if any(k.startswith("binding:") and k != "binding:vnic_type" for k in data):
        ctx.enforce("update_port:binding", port.project_id)
    with transaction.atomic():
        port = Port.objects.select_for_update().select_related("network").get(pk=port.pk)
        if "mac_address" in data and ipam.normalize_mac(data["mac_address"]) != port.mac_address:
            if not ctx.is_admin:
                raise Forbidden("update_port:mac_address is disallowed by policy", type_name="PolicyNotAuthorized")
            if port.binding_host_id:
                raise Conflict(f"Unable to complete operation on port {port.id} for network {port.network_id}. "
                               f"Port already has an attached device.", type_name="PortBound")
            port.mac_address = _new_mac(port.network, data["mac_address"])
        for attr, field in (("name", "name"), ("description", "description"), ("admin_state_up", "admin_state_up"),
                            ("device_id", "device_id"), ("device_owner", "device_owner"), ("dns_name", "dns_name"),
                            ("binding:vnic_type", "binding_vnic_type"), ("binding:profile", "binding_profile")):
            if attr in data:
                setattr(port, field, data[attr] if data[attr] is not None else "")
        if "port_security_enabled" in data:
            port.port_security_enabled = bool(data["port_security_enabled"])
        if "allowed_address_pairs" in data:
            port.allowed_address_pairs = _check_address_pairs(data["allowed_address_pairs"])
        if "extra_dhcp_opts" in data:
            port.extra_dhcp_opts = _merge_dhcp_opts(port.extra_dhcp_opts, _check_dhcp_opts(data["extra_dhcp_opts"]))
        if "tags" in data:
            port.tags = _tags(data)
        groups_changed = "security_groups" in data
        if groups_changed:
            groups = _port_security_groups(ctx, port.project_id, data["security_groups"] or [])
        else:
            groups = list(port.security_groups.all())
        if not port.port_security_enabled:
            if groups:
                raise Conflict("Port has security group associated. Cannot disable port security or IP address "
                               "until security group is removed.", type_name="PortSecurityPortHasSecurityGroup")
            if port.allowed_address_pairs:
                raise Conflict("Port Security must be enabled in order to have allowed address pairs on a port.",
                               type_name="AddressPairAndPortSecurityRequired")
        if "fixed_ips" in data:
            IPAllocation.objects.filter(port=port).delete()
            _allocate_ips(port=port, network=port.network, fixed_ips=data["fixed_ips"] or [])
        port.bump()
        port.save()
        if groups_changed:
            port.security_groups.set(groups)
        if "binding:host_id" in data and data["binding:host_id"] != port.binding_host_id:
            if port.binding_host_id:
                port_unplug(port=port)
            if data["binding:host_id"]:
                port_bind(port=port, host=data["binding:host_id"])
        dataplane.port_changed(port)
    return Port.objects.get(pk=port.pk)


def _merge_dhcp_opts(old, new):
    merged = {(o["opt_name"], o["ip_version"]): o for o in old}
    for opt in new:
        key = (opt["opt_name"], opt["ip_version"])
        if opt.get("opt_value") is None:
            merged.pop(key, None)
        else:
            merged[key] = opt
    return list(merged.values())


def port_delete(*, ctx, port, internal=False):
    if not internal:
        ctx.enforce("delete_port", port.project_id)
        if port.device_owner in ROUTER_OWNERS:
            raise Conflict(f"Port {port.id} cannot be deleted directly via the port API: has device owner "
                           f"{port.device_owner}.", type_name="ServicePortInUse")
    with transaction.atomic():
        port = Port.objects.select_for_update().select_related("network").get(pk=port.pk)
        info = dataplane.port_snapshot(port)
        FloatingIP.objects.filter(port=port).update(port=None, fixed_ip_address=None, router=None, status="DOWN")
        if port.binding_host_id:
            port_unplug(port=port)
        port.delete()
        if not port.device_owner.startswith("network:"):
            _release(port.project_id, "port")
        dataplane.port_deleted(info)


# --- binding and plugging (the interface compute calls) ------------------------------------

def vif_details(port):
    return {"connectivity": "l2", "port_filter": True, "bridge_name": dataplane.bridge_name(port.network),
            "datapath_type": "system", "bound_drivers": {"0": "linuxbridge"}}


def port_bind(*, port, host):
    """Conductor side: the port lives on ``host`` now (writes binding:*; the plug is a host step)."""
    Port.objects.filter(pk=port.pk).update(binding_host_id=host, binding_vif_type="bridge",
                                           binding_vif_details=vif_details(port))
    port.binding_host_id, port.binding_vif_type, port.binding_vif_details = host, "bridge", vif_details(port)
    return port


def port_plug(*, port, user_id=None):
    """Ask the port's host to plug it (a tap on the network's bridge); ACTIVE when done.
    Returns the Action; its result carries what libvirt needs (devname, bridge, mac, mtu)."""
    if not port.binding_host_id:
        raise Conflict(f"Port {port.id} is not bound to a host.", type_name="PortNotBound")
    return dataplane.port_plug(port, user_id=user_id)


def port_unplug(*, port, user_id=None):
    """Ask the port's host to remove every device it made for the port; unbinds it."""
    action, host = None, port.binding_host_id
    if host:
        action = dataplane.port_unplug(port, user_id=user_id)
    Port.objects.filter(pk=port.pk).update(binding_host_id="", binding_vif_type="unbound",
                                           binding_vif_details={}, status=Port.DOWN, plugged_devname="")
    port.binding_host_id, port.binding_vif_type, port.status = "", "unbound", Port.DOWN
    if host:
        dataplane.vxlan_member_left(port.network, host, port.id)
    return action


def port_set_status(*, port_id, status, devname=None):
    fields = {"status": status}
    if devname is not None:
        fields["plugged_devname"] = devname
    Port.objects.filter(pk=port_id).update(**fields)


def _ensure_dhcp_port(network):
    """One DHCP port per network while a subnet has DHCP on; it follows the subnets."""
    dhcp_subnets = list(Subnet.objects.filter(network=network, enable_dhcp=True))
    port = Port.objects.filter(network=network, device_owner=DHCP_OWNER).first()
    if not dhcp_subnets:
        if port is not None:
            port.delete()
        return None
    if port is None:
        port = Port(project_id=network.project_id, network=network, mac_address=_new_mac(network),
                    device_owner=DHCP_OWNER, device_id=f"dhcp-{network.id}", port_security_enabled=False,
                    status=Port.ACTIVE)
        port.save(force_insert=True)
    have = set(IPAllocation.objects.filter(port=port).values_list("subnet_id", flat=True))
    wanted = {s.id for s in dhcp_subnets}
    IPAllocation.objects.filter(port=port).exclude(subnet_id__in=wanted).delete()
    missing = [s for s in dhcp_subnets if s.id not in have]
    if missing:
        try:
            _allocate_ips(port=port, network=network, fixed_ips=[{"subnet_id": str(s.id)} for s in missing])
        except Conflict:
            log.warning("no address left for the DHCP port of network %s", network.id)
    return port


# ============================================================================ security groups

DEFAULT_SG_RULES = (("egress", "IPv4", False), ("egress", "IPv6", False),
                    ("ingress", "IPv4", True), ("ingress", "IPv6", True))


def security_group_ensure_default(*, project_id):
    """The project's default group, made with Neutron's default rules on first need."""
    if not project_id:
        return None
    group = SecurityGroup.objects.filter(project_id=project_id, is_default=True).first()
    if group is not None:
        return group
    try:
        with transaction.atomic():
            group = SecurityGroup.objects.create(project_id=project_id, name="default", is_default=True,
                                                 description="Default security group")
            SecurityGroupRule.objects.bulk_create([
                SecurityGroupRule(project_id=project_id, security_group=group, direction=d, ethertype=e,
                                  remote_group=group if remote else None)
                for d, e, remote in DEFAULT_SG_RULES])
    except IntegrityError:
        group = SecurityGroup.objects.get(project_id=project_id, is_default=True)
    return group


def security_group_create(*, ctx, data):
    project_id = _owner_project(ctx, data)
    ctx.enforce("create_security_group", project_id)
    if data.get("name") == "default":
        security_group_ensure_default(project_id=project_id)
        raise Conflict("Default security group already exists.", type_name="SecurityGroupDefaultAlreadyExists")
    with transaction.atomic():
        security_group_ensure_default(project_id=project_id)
        _consume(project_id, "security_group")
        group = SecurityGroup.objects.create(project_id=project_id, name=data.get("name") or "",
                                             description=data.get("description") or "",
                                             stateful=data.get("stateful", True), tags=_tags(data))
        SecurityGroupRule.objects.bulk_create([
            SecurityGroupRule(project_id=project_id, security_group=group, direction="egress", ethertype=e)
            for e in ("IPv4", "IPv6")])
    return group


def security_group_update(*, ctx, group, data):
    ctx.enforce("update_security_group", group.project_id)
    if group.is_default and data.get("name") not in (None, "default"):
        raise Conflict("Updating default security group not allowed.", type_name="SecurityGroupCannotUpdateDefault")
    for field in ("name", "description"):
        if field in data:
            setattr(group, field, data[field] or "")
    if "stateful" in data and data["stateful"] != group.stateful:
        if group.ports.exists():
            raise Conflict(f"Security group {group.id} in use.", type_name="SecurityGroupInUse")
        group.stateful = bool(data["stateful"])
    if "tags" in data:
        group.tags = _tags(data)
    group.bump()
    group.save()
    return group


def security_group_delete(*, ctx, group):
    ctx.enforce("delete_security_group", group.project_id)
    if group.is_default and not ctx.is_admin:
        raise Conflict("Insufficient rights for removing default security group.",
                       type_name="SecurityGroupCannotRemoveDefault")
    with transaction.atomic():
        if group.ports.exists():
            raise Conflict(f"Security Group {group.id} in use.", type_name="SecurityGroupInUse")
        if SecurityGroupRule.objects.filter(remote_group=group).exclude(security_group=group).exists():
            raise Conflict(f"Security Group {group.id} in use.", type_name="SecurityGroupInUse")
        count = group.rules.count()
        group.delete()
        if not group.is_default:
            _release(group.project_id, "security_group")
        _release(group.project_id, "security_group_rule", count)


PROTOCOLS = {"ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "hopopt": 0, "icmp": 1, "igmp": 2,
             "ipip": 4, "ipv6-encap": 41, "ipv6-frag": 44, "ipv6-icmp": 58, "icmpv6": 58, "ipv6-nonxt": 59,
             "ipv6-opts": 60, "ipv6-route": 43, "ospf": 89, "pgm": 113, "rsvp": 46, "sctp": 132, "tcp": 6,
             "udp": 17, "udplite": 136, "vrrp": 112}
PORT_PROTOCOLS = (6, 17, 33, 132, 136)


def _check_rule(data):
    direction = data.get("direction")
    if direction not in ("ingress", "egress"):
        raise BadRequest(f"Invalid input for direction. Reason: {direction!r} is not in ['ingress', 'egress'].")
    ethertype = data.get("ethertype") or "IPv4"
    if ethertype not in ("IPv4", "IPv6"):
        raise BadRequest(f"Invalid input for ethertype. Reason: '{ethertype}' is not in ['IPv4', 'IPv6'].")
    protocol = data.get("protocol")
    number = None
    if protocol in (None, "", "any"):
        protocol = None
    else:
        protocol = str(protocol).lower()
        if protocol.isdigit():
            number = int(protocol)
            if not 0 <= number <= 255:
                raise BadRequest(f"Security group rule protocol {protocol} not supported. Only protocol values "
                                 f"{sorted(PROTOCOLS)} and integer representations [0 to 255] are supported.",
                                 type_name="SecurityGroupRuleInvalidProtocol")
        elif protocol in PROTOCOLS:
            number = PROTOCOLS[protocol]
        else:
            raise BadRequest(f"Security group rule protocol {protocol} not supported. Only protocol values "
                             f"{sorted(PROTOCOLS)} and integer representations [0 to 255] are supported.",
                             type_name="SecurityGroupRuleInvalidProtocol")
        if ethertype == "IPv4" and number == 58:
            raise BadRequest(f"Protocol {protocol} is not supported for ethertype {ethertype}.",
                             type_name="SecurityGroupEthertypeConflictWithProtocol")
    pmin, pmax = data.get("port_range_min"), data.get("port_range_max")
    pmin = int(pmin) if pmin is not None else None
    pmax = int(pmax) if pmax is not None else None
    if pmin is not None or pmax is not None:
        if number is None:
            raise BadRequest("Must also specify protocol if port range is given.",
                             type_name="SecurityGroupProtocolRequiredWithPorts")
        if number in PORT_PROTOCOLS:
            if pmin is None or pmax is None:
                pmin = pmin if pmin is not None else pmax
                pmax = pmax if pmax is not None else pmin
            if not (1 <= pmin <= 65535 and 1 <= pmax <= 65535):
                raise BadRequest(f"Invalid value for port {pmin if not 1 <= pmin <= 65535 else pmax}.",
                                 type_name="SecurityGroupInvalidPortValue")
            if pmin > pmax:
                raise BadRequest("For TCP/UDP protocols, port_range_min must be <= port_range_max",
                                 type_name="SecurityGroupInvalidPortRange")
        elif number in (1, 58):
            for value, name in ((pmin, "type"), (pmax, "code")):
                if value is not None and not 0 <= value <= 255:
                    raise BadRequest(f"Invalid value for ICMP {name} (port_range_{'min' if name == 'type' else 'max'}) "
                                     f"{value}. It must be 0 to 255.", type_name="SecurityGroupInvalidIcmpValue")
            if pmin is None and pmax is not None:
                raise BadRequest(f"ICMP code (port-range-max) {pmax} is provided but ICMP type (port-range-min) "
                                 f"is missing.", type_name="SecurityGroupMissingIcmpType")
        else:
            raise BadRequest(f"Invalid protocol {protocol} for port range, only supported for TCP, UDP, UDPLITE, "
                             f"SCTP, DCCP and ICMP.", type_name="SecurityGroupInvalidProtocolForPort")
    prefix = data.get("remote_ip_prefix")
    if prefix:
        try:
            net = ipaddress.ip_network(prefix, strict=False)
        except ValueError:
            raise BadRequest(f"Invalid input for remote_ip_prefix. Reason: '{prefix}' is not a valid IP subnet.") \
                from None
        if (net.version == 4) != (ethertype == "IPv4"):
            raise BadRequest(f"Conflicting value ethertype {ethertype} for CIDR {prefix}",
                             type_name="SecurityGroupRuleParameterConflict")
        prefix = str(net)
    if prefix and data.get("remote_group_id"):
        raise BadRequest("Only remote_ip_prefix or remote_group_id may be provided.",
                         type_name="SecurityGroupRemoteGroupAndRemoteIpPrefix")
    return dict(direction=direction, ethertype=ethertype, protocol=protocol, port_range_min=pmin,
                port_range_max=pmax, remote_ip_prefix=prefix)


def security_group_rule_create(*, ctx, data):
    group = selectors.access_security_group(ctx, data.get("security_group_id"))
    ctx.enforce("create_security_group_rule", group.project_id)
    fields = _check_rule(data)
    remote = None
    if data.get("remote_group_id"):
        remote = selectors.access_security_group(ctx, data["remote_group_id"])
    with transaction.atomic():
        SecurityGroup.objects.select_for_update().filter(pk=group.pk).first()
        same = SecurityGroupRule.objects.filter(security_group=group, remote_group=remote, **fields).first()
        if same is not None:
            raise Conflict(f"Security group rule already exists. Rule id is {same.id}.",
                           type_name="SecurityGroupRuleExists")
        _consume(group.project_id, "security_group_rule")
        rule = SecurityGroupRule.objects.create(project_id=group.project_id, security_group=group,
                                                remote_group=remote, description=data.get("description") or "",
                                                **fields)
        SecurityGroup.objects.filter(pk=group.pk).update(revision_number=group.revision_number + 1)
        dataplane.security_groups_changed([group.id])
    return rule


def security_group_rule_delete(*, ctx, rule):
    ctx.enforce("delete_security_group_rule", rule.security_group.project_id)
    with transaction.atomic():
        group_id = rule.security_group_id
        rule.delete()
        _release(rule.project_id, "security_group_rule")
        dataplane.security_groups_changed([group_id], flush=True)


# ============================================================================ routers

def _gateway_port(ctx, router, info):
    """Make the router's gateway port on the external network ``info`` names."""
    network = Network.objects.filter(pk=selectors._uuid_or_none(info.get("network_id"))).first()
    if network is None or not (ctx.is_admin or network.external or
                               network in selectors.network_queryset(ctx)):
        raise NotFound(f"Network {info.get('network_id')} could not be found.", type_name="NetworkNotFound")
    if not network.external:
        raise BadRequest(f"Bad router request: Network {network.id} is not an external network.")
    fixed = info.get("external_fixed_ips")
    if fixed and not ctx.is_admin:
        ctx.enforce("create_router:external_gateway_info:external_fixed_ips", router.project_id)
    port = _port_insert(ctx=NetContextAdmin, network=network, project_id="",
                        data={"device_owner": ROUTER_GATEWAY, "device_id": str(router.id),
                              "fixed_ips": fixed or None, "port_security_enabled": False}, router_port=True)
    if not port.fixed_ips.exists():
        raise BadRequest(f"Bad router request: No subnet on external network {network.id}.")
    return port


class _AdminCtx:
    is_admin = True
    project_id = None


NetContextAdmin = _AdminCtx()


def _pick_router_host():
    return dataplane.network_host() or ""


def router_create(*, ctx, data):
    project_id = _owner_project(ctx, data)
    ctx.enforce("create_router", project_id)
    with transaction.atomic():
        _consume(project_id, "router")
        router = Router.objects.create(project_id=project_id, name=data.get("name") or "",
                                       description=data.get("description") or "",
                                       admin_state_up=data.get("admin_state_up", True),
                                       availability_zone_hints=data.get("availability_zone_hints") or [],
                                       host=_pick_router_host(), tags=_tags(data))
        info = data.get("external_gateway_info")
        if info:
            _set_gateway(ctx, router, info)
        dataplane.router_changed(router)
    return router


def _set_gateway(ctx, router, info):
    old = router.gw_port
    if info and info.get("network_id"):
        if old is not None and str(old.network_id) == str(info["network_id"]) and not info.get("external_fixed_ips"):
            router.enable_snat = info.get("enable_snat", router.enable_snat)
            router.save()
            return
        if old is not None:
            _clear_gateway(router)
        router.gw_port = _gateway_port(ctx, router, info)
        router.enable_snat = info.get("enable_snat", True)
        router.save()
    else:
        _clear_gateway(router)


def _clear_gateway(router):
    if router.gw_port is None:
        return
    if FloatingIP.objects.filter(router=router).exists():
        raise Conflict(f"Gateway cannot be updated for router {router.id}, since a gateway to external network "
                       f"{router.gw_port.network_id} is required by one or more floating IPs.",
                       type_name="RouterExternalGatewayInUseByFloatingIp")
    port = router.gw_port
    router.gw_port = None
    router.save()
    port.delete()


def router_update(*, ctx, router, data):
    ctx.enforce("update_router", router.project_id)
    with transaction.atomic():
        router = Router.objects.select_for_update().get(pk=router.pk)
        for field in ("name", "description", "admin_state_up"):
            if field in data:
                setattr(router, field, data[field] if data[field] is not None else "")
        if "tags" in data:
            router.tags = _tags(data)
        if "external_gateway_info" in data:
            _set_gateway(ctx, router, data["external_gateway_info"] or {})
        if "routes" in data:
            router.routes = _check_router_routes(router, data["routes"] or [])
        router.bump()
        router.save()
        dataplane.router_changed(router)
    return router


def _check_router_routes(router, routes):
    cidrs = [ipaddress.ip_network(s.cidr) for s in Subnet.objects.filter(
        allocations__port__device_id=str(router.id),
        allocations__port__device_owner__in=ROUTER_OWNERS)]
    out = []
    for route in routes:
        dest = ipam.parse_cidr(route.get("destination"))
        nexthop = ipam.parse_ip(route.get("nexthop"), "routes")
        if not any(nexthop in c for c in cidrs):
            raise BadRequest(f"Invalid format for routes: {routes}, the nexthop {nexthop} is not connected with "
                             f"router", type_name="InvalidRoutes")
        out.append({"destination": str(dest), "nexthop": str(nexthop)})
    return out


def router_delete(*, ctx, router):
    ctx.enforce("delete_router", router.project_id)
    with transaction.atomic():
        router = Router.objects.select_for_update().get(pk=router.pk)
        if selectors.router_interface_ports(router).exists():
            raise Conflict(f"Router {router.id} still has ports", type_name="RouterInUse")
        if FloatingIP.objects.filter(router=router).exists():
            raise Conflict(f"Router {router.id} still has floating IPs associated.", type_name="RouterInUse")
        info = {"id": str(router.id), "host": router.host}
        _clear_gateway(router)
        router.delete()
        _release(router.project_id, "router")
        dataplane.router_deleted(info)


def _interface_info(router, port, subnet_ids):
    return {"id": str(router.id), "tenant_id": router.project_id, "project_id": router.project_id,
            "port_id": str(port.id), "network_id": str(port.network_id),
            "subnet_id": subnet_ids[0] if subnet_ids else None, "subnet_ids": subnet_ids}


def _attached_cidrs(router):
    return [ipaddress.ip_network(c) for c in IPAllocation.objects.filter(
        port__device_id=str(router.id), port__device_owner=ROUTER_INTERFACE).values_list("subnet__cidr", flat=True)]


def router_add_interface(*, ctx, router, data):
    ctx.enforce("add_router_interface", router.project_id)
    if bool(data.get("subnet_id")) == bool(data.get("port_id")):
        raise BadRequest("Bad router request: Either subnet_id or port_id must be specified.")
    with transaction.atomic():
        router = Router.objects.select_for_update().get(pk=router.pk)
        attached = _attached_cidrs(router)
        if data.get("port_id"):
            port = selectors.access_port(ctx, data["port_id"])
            if port.device_id or port.device_owner:
                raise Conflict(f"Unable to complete operation on port {port.id} for network {port.network_id}. "
                               f"Port already has an attached device {port.device_id}.", type_name="PortInUse")
            allocs = list(port.fixed_ips.select_related("subnet"))
            if not allocs:
                raise BadRequest("Bad router request: Router port must have at least one fixed IP.")
            for alloc in allocs:
                net = ipaddress.ip_network(alloc.subnet.cidr)
                if any(net.overlaps(c) for c in attached):
                    raise BadRequest(f"Bad router request: Cidr {net} of subnet {alloc.subnet_id} overlaps with "
                                     f"cidr of a subnet attached to router {router.id}.")
            Port.objects.filter(pk=port.pk).update(device_id=str(router.id), device_owner=ROUTER_INTERFACE,
                                                    status=Port.ACTIVE, port_security_enabled=False)
            port.security_groups.clear()
            subnet_ids = [str(a.subnet_id) for a in allocs]
        else:
            subnet = selectors.access_subnet(ctx, data["subnet_id"])
            if not ctx.is_admin and subnet.project_id != ctx.project_id and subnet.network.project_id != ctx.project_id:
                raise NotFound(f"Subnet {subnet.id} could not be found.", type_name="SubnetNotFound")
            if not subnet.gateway_ip:
                raise BadRequest(f"Bad router request: Subnet for router interface must have a gateway IP.")
            net = ipaddress.ip_network(subnet.cidr)
            if IPAllocation.objects.filter(subnet=subnet, port__device_id=str(router.id),
                                           port__device_owner=ROUTER_INTERFACE).exists():
                raise BadRequest(f"Bad router request: Router already has a port on subnet {subnet.id}.")
            if any(net.overlaps(c) for c in attached):
                raise BadRequest(f"Bad router request: Cidr {net} of subnet {subnet.id} overlaps with cidr of "
                                 f"a subnet attached to router {router.id}.")
            if IPAllocation.objects.filter(subnet=subnet, ip_address=subnet.gateway_ip).exists():
                raise Conflict(f"IP address {subnet.gateway_ip} already allocated in subnet {subnet.id}",
                               type_name="IpAddressAlreadyAllocated")
            port = _port_insert(ctx=NetContextAdmin, network=subnet.network, project_id=router.project_id,
                                data={"device_owner": ROUTER_INTERFACE, "device_id": str(router.id),
                                      "port_security_enabled": False,
                                      "fixed_ips": [{"subnet_id": str(subnet.id), "ip_address": subnet.gateway_ip}]},
                                router_port=True)
            Port.objects.filter(pk=port.pk).update(status=Port.ACTIVE)
            subnet_ids = [str(subnet.id)]
        router.bump()
        router.save()
        dataplane.router_changed(router)
        dataplane.network_changed(port.network)
    return _interface_info(router, port, subnet_ids)


def router_remove_interface(*, ctx, router, data):
    ctx.enforce("remove_router_interface", router.project_id)
    if not data.get("subnet_id") and not data.get("port_id"):
        raise BadRequest("Bad router request: Either subnet_id or port_id must be specified.")
    with transaction.atomic():
        router = Router.objects.select_for_update().get(pk=router.pk)
        ports = selectors.router_interface_ports(router)
        if data.get("port_id"):
            port = ports.filter(pk=selectors._uuid_or_none(data["port_id"])).first()
            if port is None:
                raise NotFound(f"Router {router.id} does not have an interface with id {data['port_id']}",
                               type_name="RouterInterfaceNotFound")
            if data.get("subnet_id") and not port.fixed_ips.filter(subnet_id=data["subnet_id"]).exists():
                raise Conflict(f"Subnet {data['subnet_id']} is not on port {port.id}.",
                               type_name="SubnetMismatchForPort")
        else:
            port = ports.filter(fixed_ips__subnet_id=selectors._uuid_or_none(data["subnet_id"])).first()
            if port is None:
                raise NotFound(f"Router {router.id} has no interface on subnet {data['subnet_id']}",
                               type_name="RouterInterfaceNotFoundForSubnet")
        subnet_ids = [str(a.subnet_id) for a in port.fixed_ips.all()]
        cidrs = [ipaddress.ip_network(a.subnet.cidr) for a in port.fixed_ips.select_related("subnet")]
        for fip in FloatingIP.objects.filter(router=router).exclude(fixed_ip_address=None):
            if any(ipaddress.ip_address(fip.fixed_ip_address) in c for c in cidrs):
                raise Conflict(f"Router interface for subnet {subnet_ids[0]} on router {router.id} cannot be "
                               f"deleted, as it is required by one or more floating IPs.",
                               type_name="RouterInterfaceInUseByFloatingIP")
        network = port.network
        port.delete()
        router.routes = [r for r in router.routes
                         if not any(ipaddress.ip_address(r["nexthop"]) in c for c in cidrs)]
        router.bump()
        router.save()
        dataplane.router_changed(router)
        dataplane.network_changed(network)
    return _interface_info(router, port, subnet_ids)


# ============================================================================ floating IPs

def _router_for(port, fixed_ip, external_network):
    """The router that connects ``fixed_ip`` (on ``port``) to ``external_network``."""
    subnet_id = port.fixed_ips.filter(ip_address=fixed_ip).values_list("subnet_id", flat=True).first()
    router_ids = IPAllocation.objects.filter(subnet_id=subnet_id, port__device_owner=ROUTER_INTERFACE) \
        .values_list("port__device_id", flat=True)
    router = Router.objects.filter(id__in=[selectors._uuid_or_none(r) for r in router_ids],
                                   gw_port__network=external_network).first()
    if router is None:
        raise NotFound(f"External network {external_network.id} is not reachable from subnet {subnet_id}.  "
                       f"Therefore, cannot associate Port {port.id} with a Floating IP.",
                       type_name="ExternalGatewayForFloatingIPNotFound")
    return router


def _association(ctx, fip, port_id, fixed_ip):
    if not port_id:
        return None, None, None
    port = selectors.access_port(ctx, port_id)
    if port.device_owner in ROUTER_OWNERS + (FLOATINGIP_OWNER, DHCP_OWNER):
        raise BadRequest(f"Bad floatingip request: Port {port.id} is a network device and cannot have a "
                         f"floating IP.")
    ips = [a.ip_address for a in port.fixed_ips.all() if ipaddress.ip_address(a.ip_address).version == 4]
    if fixed_ip:
        if fixed_ip not in ips:
            raise BadRequest(f"Bad floatingip request: Port {port.id} does not have fixed ip {fixed_ip}.")
    elif not ips:
        raise BadRequest(f"Bad floatingip request: Port {port.id} does not have any IPv4 address.")
    else:
        fixed_ip = ips[0]
    taken = FloatingIP.objects.filter(port=port, fixed_ip_address=fixed_ip, floating_network=fip.floating_network)
    if fip.pk:
        taken = taken.exclude(pk=fip.pk)
    if taken.exists():
        raise Conflict(f"Cannot associate floating IP {fip.floating_ip_address} with port {port.id} using fixed "
                       f"IP {fixed_ip}, as that fixed IP already has a floating IP on external network "
                       f"{fip.floating_network_id}.", type_name="FloatingIPPortAlreadyAssociated")
    return port, fixed_ip, _router_for(port, fixed_ip, fip.floating_network)


def floatingip_create(*, ctx, data):
    project_id = _owner_project(ctx, data)
    ctx.enforce("create_floatingip", project_id)
    network = Network.objects.filter(pk=selectors._uuid_or_none(data.get("floating_network_id"))).first()
    if network is None or not (network.external or ctx.is_admin):
        raise NotFound(f"Network {data.get('floating_network_id')} could not be found.", type_name="NetworkNotFound")
    if not network.external:
        raise BadRequest(f"Bad floatingip request: Network {network.id} is not a valid external network.")
    fixed = None
    if data.get("floating_ip_address"):
        ctx.enforce("create_floatingip:floating_ip_address", project_id)
        fixed = [{"ip_address": data["floating_ip_address"]}]
        if data.get("subnet_id"):
            fixed[0]["subnet_id"] = data["subnet_id"]
    elif data.get("subnet_id"):
        fixed = [{"subnet_id": data["subnet_id"]}]
    with transaction.atomic():
        _consume(project_id, "floatingip")
        fip = FloatingIP(project_id=project_id, floating_network=network, description=data.get("description") or "",
                         tags=_tags(data))
        if fixed is None:
            subnets = Subnet.objects.filter(network=network, ip_version=4)
            fixed = [{"subnet_id": str(s.id)} for s in subnets[:1]]
            if not fixed:
                raise BadRequest(f"Bad floatingip request: Network {network.id} has no IPv4 subnet.")
        port = _port_insert(ctx=NetContextAdmin, network=network, project_id="",
                            data={"device_owner": FLOATINGIP_OWNER, "device_id": str(fip.id),
                                  "fixed_ips": fixed, "port_security_enabled": False}, router_port=True)
        fip.floating_port = port
        fip.floating_ip_address = port.fixed_ips.first().ip_address
        fip.port, fip.fixed_ip_address, fip.router = _association(ctx, fip, data.get("port_id"),
                                                                  data.get("fixed_ip_address"))
        fip.status = "ACTIVE" if fip.port else "DOWN"
        fip.save(force_insert=True)
        if fip.router:
            dataplane.router_changed(fip.router)
    return fip


def floatingip_update(*, ctx, fip, data):
    ctx.enforce("update_floatingip", fip.project_id)
    with transaction.atomic():
        fip = FloatingIP.objects.select_for_update().get(pk=fip.pk)
        old_router = fip.router
        if "port_id" in data:
            fip.port, fip.fixed_ip_address, fip.router = _association(ctx, fip, data.get("port_id"),
                                                                      data.get("fixed_ip_address"))
            fip.status = "ACTIVE" if fip.port else "DOWN"
        for field in ("description",):
            if field in data:
                fip.description = data[field] or ""
        if "tags" in data:
            fip.tags = _tags(data)
        fip.bump()
        fip.save()
        for router in {r for r in (old_router, fip.router) if r is not None}:
            dataplane.router_changed(router, flush=[fip.floating_ip_address])
    return fip


def floatingip_delete(*, ctx, fip):
    ctx.enforce("delete_floatingip", fip.project_id)
    with transaction.atomic():
        router = fip.router
        port = fip.floating_port
        address = fip.floating_ip_address
        fip.delete()
        port.delete()
        _release(fip.project_id, "floatingip")
        if router is not None:
            dataplane.router_changed(router, flush=[address])


def port_forwarding_create(*, ctx, fip, data):
    ctx.enforce("create_port_forwarding", fip.project_id)
    if fip.port_id:
        raise Conflict(f"Floating IP {fip.id} is associated with a port: no port forwarding on it.",
                       type_name="FipInUseByPortForwarding")
    port = selectors.access_port(ctx, data["internal_port_id"])
    ip = data.get("internal_ip_address")
    if ip not in [a.ip_address for a in port.fixed_ips.all()]:
        raise BadRequest(f"Bad port_forwarding request: Port {port.id} has no address {ip}.")
    router = _router_for(port, ip, fip.floating_network)
    with transaction.atomic():
        try:
            with transaction.atomic():
                pf = PortForwarding.objects.create(
                    floatingip=fip, internal_port=port, internal_ip_address=ip,
                    internal_port_number=int(data["internal_port"]), external_port=int(data["external_port"]),
                    protocol=data["protocol"], description=data.get("description") or "")
        except IntegrityError as e:
            raise BadRequest("Bad port_forwarding request: A duplicate port forwarding entry with same "
                             "attributes already exists.") from e
        FloatingIP.objects.filter(pk=fip.pk).update(router=router, status="ACTIVE")
        dataplane.router_changed(router)
    return pf


def port_forwarding_update(*, ctx, fip, pf, data):
    ctx.enforce("update_port_forwarding", fip.project_id)
    for attr, field in (("internal_port", "internal_port_number"), ("external_port", "external_port"),
                        ("protocol", "protocol"), ("description", "description"),
                        ("internal_ip_address", "internal_ip_address")):
        if attr in data:
            setattr(pf, field, data[attr])
    try:
        with transaction.atomic():
            pf.save()
    except IntegrityError as e:
        raise BadRequest("Bad port_forwarding request: A duplicate port forwarding entry with same attributes "
                         "already exists.") from e
    if fip.router:
        dataplane.router_changed(fip.router)
    return pf


def port_forwarding_delete(*, ctx, fip, pf):
    ctx.enforce("delete_port_forwarding", fip.project_id)
    with transaction.atomic():
        # The router from the row: the caller's instance may predate the forwarding's creation.
        router = Router.objects.filter(floating_ips__pk=fip.pk).first()
        pf.delete()
        if not fip.port_forwardings.exists():
            FloatingIP.objects.filter(pk=fip.pk).update(router=None, status="DOWN")
        if router:
            dataplane.router_changed(router, flush=[fip.floating_ip_address])


# ============================================================================ RBAC

def rbac_policy_create(*, ctx, data):
    if data.get("object_type") != "network":
        raise BadRequest(f"Invalid input for object_type. Reason: '{data.get('object_type')}' is not in ['network'].")
    if data.get("action") not in (RBACPolicy.SHARED, RBACPolicy.EXTERNAL):
        raise BadRequest(f"Invalid input for action. Reason: '{data.get('action')}' is not in "
                         f"['access_as_external', 'access_as_shared'].")
    network = Network.objects.filter(pk=selectors._uuid_or_none(data.get("object_id"))).first()
    if network is None or not (ctx.is_admin or network.project_id == ctx.project_id):
        raise NotFound(f"Network {data.get('object_id')} could not be found.", type_name="NetworkNotFound")
    project_id = _owner_project(ctx, data)
    ctx.enforce("create_rbac_policy", network.project_id)
    if data["action"] == RBACPolicy.EXTERNAL and not ctx.is_admin:
        raise Forbidden("create_rbac_policy:access_as_external is disallowed by policy",
                        type_name="PolicyNotAuthorized")
    try:
        with transaction.atomic():
            _consume(project_id, "rbac_policy")
            policy_row = RBACPolicy.objects.create(project_id=project_id, object_type="network", object_id=network.id,
                                                   action=data["action"], target_tenant=data["target_tenant"])
    except IntegrityError as e:
        raise Conflict(f"An RBAC policy with these attributes already exists.", type_name="DuplicateRbacPolicy") from e
    return policy_row


def rbac_policy_update(*, ctx, policy_row, data):
    ctx.enforce("update_rbac_policy", policy_row.project_id)
    if "target_tenant" in data:
        policy_row.target_tenant = data["target_tenant"]
        try:
            with transaction.atomic():
                policy_row.save()
        except IntegrityError as e:
            raise Conflict("An RBAC policy with these attributes already exists.",
                           type_name="DuplicateRbacPolicy") from e
    return policy_row


def rbac_policy_delete(*, ctx, policy_row):
    ctx.enforce("delete_rbac_policy", policy_row.project_id)
    network = Network.objects.filter(pk=policy_row.object_id).first()
    if network is not None and policy_row.action == RBACPolicy.SHARED:
        others = Port.objects.filter(network=network).exclude(project_id=network.project_id).exclude(
            device_owner__in=NETWORK_OWNERS)
        if policy_row.target_tenant != "*":
            others = others.filter(project_id=policy_row.target_tenant)
        if others.exists():
            raise Conflict(f"RBAC policy on object {network.id} cannot be removed because other objects depend "
                           f"on it.", type_name="RbacPolicyInUse")
    policy_row.delete()
    _release(policy_row.project_id, "rbac_policy")


# ============================================================================ auto-allocated topology

def auto_allocated_topology_get(*, ctx, project_id):
    """The project's network for ``networks: "auto"``, made on first use (network, subnet from
    the default pool, router with a gateway on the default external network)."""
    if project_id != ctx.project_id and not ctx.is_admin:
        raise NotFound(f"Project {project_id} could not be found.", type_name="HTTPNotFound")
    existing = Network.objects.filter(project_id=project_id, name="auto_allocated_network",
                                      tags__contains=["auto-allocated"]).first()
    if existing is not None:
        return {"id": str(existing.id), "tenant_id": project_id, "project_id": project_id}
    ctx.enforce("create_auto_allocated_topology", project_id)
    external = Network.objects.filter(external=True, is_default=True).first()
    if external is None:
        raise Conflict("Deployment error: No default router:external network.", type_name="AutoAllocationFailure")
    if not SubnetPool.objects.filter(is_default=True).exists():
        raise Conflict("Deployment error: No default subnetpools defined.", type_name="AutoAllocationFailure")
    with transaction.atomic():
        owner = _OwnerCtx(ctx, project_id)
        network = network_create(ctx=owner, data={"name": "auto_allocated_network", "project_id": project_id,
                                                  "tags": ["auto-allocated"]})
        subnets = []
        for version in (4, 6):
            if SubnetPool.objects.filter(is_default=True, ip_version=version).exists():
                subnets.append(subnet_create(ctx=owner, data={
                    "network_id": str(network.id), "ip_version": version, "use_default_subnetpool": True,
                    "name": f"auto_allocated_subnet_v{version}", "project_id": project_id}))
        router = router_create(ctx=owner, data={"name": "auto_allocated_router", "project_id": project_id,
                                                "external_gateway_info": {"network_id": str(external.id)}})
        for subnet in subnets:
            router_add_interface(ctx=owner, router=router, data={"subnet_id": str(subnet.id)})
    return {"id": str(network.id), "tenant_id": project_id, "project_id": project_id}


def auto_allocated_topology_delete(*, ctx, project_id):
    if project_id != ctx.project_id and not ctx.is_admin:
        raise NotFound(f"Project {project_id} could not be found.", type_name="HTTPNotFound")
    owner = _OwnerCtx(ctx, project_id)
    with transaction.atomic():
        for router in Router.objects.filter(project_id=project_id, name="auto_allocated_router"):
            for port in selectors.router_interface_ports(router):
                router_remove_interface(ctx=owner, router=router, data={"port_id": str(port.id)})
            router_delete(ctx=owner, router=router)
        for network in Network.objects.filter(project_id=project_id, tags__contains=["auto-allocated"]):
            network_delete(ctx=owner, network=network)


class _OwnerCtx:
    """Acting for the project (auto-allocation): its member rights, plus what the caller had."""

    def __init__(self, ctx, project_id):
        self._ctx, self.project_id = ctx, project_id
        self.is_admin = ctx.is_admin

    def enforce(self, rule, project_id):
        return self._ctx.enforce(rule, project_id)

    def can(self, *a, **kw):
        return self._ctx.can(*a, **kw)


# ============================================================================ quotas

def quota_update(*, ctx, project_id, data):
    from apps.core.quotas import quota_set_limit

    ctx.enforce("update_quota", project_id)
    for resource, limit in data.items():
        if resource not in QUOTA_DEFAULTS:
            raise BadRequest(f"Unrecognized attribute(s) '{resource}'")
        try:
            limit = int(limit)
        except (TypeError, ValueError):
            raise BadRequest(f"Invalid input for {resource}. Reason: '{limit}' is not an integer.") from None
        quota_set_limit(project_id=project_id, resource=resource, limit=limit)


def quota_delete(*, ctx, project_id):
    from apps.core.models import QuotaLimit

    ctx.enforce("delete_quota", project_id)
    QuotaLimit.objects.filter(project_id=project_id, resource__in=list(QUOTA_DEFAULTS)).delete()


def shuffle(items):
    items = list(items)
    random.shuffle(items)
    return items
