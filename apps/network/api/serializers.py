"""Neutron JSON shapes. List fields are [] (never null). Each ``*_view`` takes a row annotated by
``annotate_*`` (so a whole page renders from one SQL query) and the caller's context."""
from django.contrib.postgres.aggregates import ArrayAgg, JSONBAgg
from django.db.models import F, OuterRef, Subquery
from django.db.models.functions import JSONObject

from ..models import IPAllocation, Port, Subnet

AZ = ["nova"]


def _ts(value):
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def _std(obj):
    return {"description": obj.description, "tags": list(obj.tags or []), "created_at": _ts(obj.created_at),
            "updated_at": _ts(obj.updated_at), "revision_number": obj.revision_number}


def _owner(project_id):
    return {"tenant_id": project_id, "project_id": project_id}


# --- networks ---------------------------------------------------------------------------------

def annotate_networks(qs):
    subnets = (Subnet.objects.filter(network=OuterRef("pk")).order_by().values("network")
               .annotate(ids=ArrayAgg("id", order_by=("created_at", "id"))).values("ids"))
    return qs.annotate(subnet_ids=Subquery(subnets))


def network_view(n, ctx):
    body = {"id": str(n.id), "name": n.name, **_owner(n.project_id), "admin_state_up": n.admin_state_up,
            "mtu": n.mtu, "status": n.status, "subnets": [str(s) for s in (getattr(n, "subnet_ids", None) or [])],
            "shared": n.shared, "availability_zone_hints": list(n.availability_zone_hints or []),
            "availability_zones": AZ, "ipv4_address_scope": None, "ipv6_address_scope": None,
            "router:external": n.external, "port_security_enabled": n.port_security_enabled,
            "is_default": n.is_default, "l2_adjacency": True, "qos_policy_id": None, "dns_domain": n.dns_domain,
            **_std(n)}
    if ctx.is_admin:
        body.update({"provider:network_type": n.network_type, "provider:physical_network": n.physical_network,
                     "provider:segmentation_id": n.segmentation_id})
    return body


# --- subnets ----------------------------------------------------------------------------------

def subnet_view(s, ctx):
    return {"id": str(s.id), "name": s.name, **_owner(s.project_id), "network_id": str(s.network_id),
            "ip_version": s.ip_version, "subnetpool_id": str(s.subnetpool_id) if s.subnetpool_id else None,
            "enable_dhcp": s.enable_dhcp, "ipv6_ra_mode": s.ipv6_ra_mode, "ipv6_address_mode": s.ipv6_address_mode,
            "gateway_ip": s.gateway_ip, "cidr": s.cidr, "allocation_pools": list(s.allocation_pools or []),
            "host_routes": list(s.host_routes or []), "dns_nameservers": list(s.dns_nameservers or []),
            "service_types": [], "segment_id": None, "dns_publish_fixed_ip": False, **_std(s)}


def subnetpool_view(p, ctx):
    return {"id": str(p.id), "name": p.name, **_owner(p.project_id), "prefixes": list(p.prefixes),
            "default_prefixlen": p.default_prefixlen, "min_prefixlen": p.min_prefixlen,
            "max_prefixlen": p.max_prefixlen, "shared": p.shared, "is_default": p.is_default,
            "ip_version": p.ip_version, "address_scope_id": p.address_scope_id, "default_quota": p.default_quota,
            **_std(p)}


# --- ports ------------------------------------------------------------------------------------

def annotate_ports(qs):
    fixed = (IPAllocation.objects.filter(port=OuterRef("pk")).order_by().values("port")
             .annotate(j=JSONBAgg(JSONObject(subnet_id=F("subnet_id"), ip_address=F("ip_address")),
                                  order_by="id")).values("j"))
    groups = (Port.security_groups.through.objects.filter(port=OuterRef("pk")).order_by().values("port")
              .annotate(ids=ArrayAgg("securitygroup_id")).values("ids"))
    return qs.annotate(fixed_ips_json=Subquery(fixed), sg_ids=Subquery(groups))


def _fixed_ips(p):
    rows = getattr(p, "fixed_ips_json", None)
    if rows is None and not hasattr(p, "fixed_ips_json"):
        rows = [{"subnet_id": a.subnet_id, "ip_address": a.ip_address} for a in p.fixed_ips.all()]
    return [{"subnet_id": str(r["subnet_id"]), "ip_address": r["ip_address"]} for r in rows or []]


def _sg_ids(p):
    ids = getattr(p, "sg_ids", None)
    if ids is None and not hasattr(p, "sg_ids"):
        ids = [g.id for g in p.security_groups.all()]
    return sorted(str(i) for i in ids or [])


def port_view(p, ctx):
    body = {"id": str(p.id), "name": p.name, "network_id": str(p.network_id), **_owner(p.project_id),
            "mac_address": p.mac_address, "admin_state_up": p.admin_state_up, "status": p.status,
            "device_id": p.device_id, "device_owner": p.device_owner, "fixed_ips": _fixed_ips(p),
            "allowed_address_pairs": list(p.allowed_address_pairs or []),
            "extra_dhcp_opts": list(p.extra_dhcp_opts or []), "security_groups": _sg_ids(p),
            "port_security_enabled": p.port_security_enabled, "binding:vnic_type": p.binding_vnic_type,
            "dns_name": p.dns_name, "dns_assignment": [], "qos_policy_id": None, "qos_network_policy_id": None,
            "propagate_uplink_status": False, "ip_allocation": "immediate", **_std(p)}
    if ctx.is_admin:
        body.update({"binding:host_id": p.binding_host_id, "binding:vif_type": p.binding_vif_type,
                     "binding:vif_details": dict(p.binding_vif_details or {}),
                     "binding:profile": dict(p.binding_profile or {})})
    return body


# --- routers ----------------------------------------------------------------------------------

def annotate_routers(qs):
    fixed = (IPAllocation.objects.filter(port=OuterRef("gw_port")).order_by().values("port")
             .annotate(j=JSONBAgg(JSONObject(subnet_id=F("subnet_id"), ip_address=F("ip_address")),
                                  order_by="id")).values("j"))
    return qs.annotate(gw_fixed_json=Subquery(fixed), gw_network_id=F("gw_port__network_id"))


def router_view(r, ctx):
    gateway = None
    network_id = getattr(r, "gw_network_id", None) if hasattr(r, "gw_network_id") else (
        r.gw_port.network_id if r.gw_port_id else None)
    if network_id:
        fixed = getattr(r, "gw_fixed_json", None)
        if fixed is None and not hasattr(r, "gw_fixed_json"):
            fixed = [{"subnet_id": a.subnet_id, "ip_address": a.ip_address} for a in r.gw_port.fixed_ips.all()]
        gateway = {"network_id": str(network_id), "enable_snat": r.enable_snat,
                   "external_fixed_ips": [{"subnet_id": str(f["subnet_id"]), "ip_address": f["ip_address"]}
                                          for f in fixed or []]}
    return {"id": str(r.id), "name": r.name, **_owner(r.project_id), "admin_state_up": r.admin_state_up,
            "status": r.status, "external_gateway_info": gateway, "routes": list(r.routes or []),
            "availability_zone_hints": list(r.availability_zone_hints or []), "availability_zones": AZ,
            "distributed": False, "ha": False, "flavor_id": None, **_std(r)}


# --- floating IPs -----------------------------------------------------------------------------

def floatingip_view(f, ctx):
    return {"id": str(f.id), **_owner(f.project_id), "floating_network_id": str(f.floating_network_id),
            "router_id": str(f.router_id) if f.router_id else None, "fixed_ip_address": f.fixed_ip_address,
            "floating_ip_address": f.floating_ip_address, "port_id": str(f.port_id) if f.port_id else None,
            "status": f.status, "dns_domain": "", "dns_name": "", "qos_policy_id": None, "port_details": None,
            "port_forwardings": [], **_std(f)}


def port_forwarding_view(pf):
    return {"id": str(pf.id), "internal_port_id": str(pf.internal_port_id),
            "internal_ip_address": pf.internal_ip_address, "internal_port": pf.internal_port_number,
            "external_port": pf.external_port, "protocol": pf.protocol, "description": pf.description}


# --- security groups --------------------------------------------------------------------------

def rule_view(r, ctx, default_group_ids=()):
    prefix = r.remote_ip_prefix
    return {"id": str(r.id), **_owner(r.project_id), "security_group_id": str(r.security_group_id),
            "direction": r.direction, "ethertype": r.ethertype, "protocol": r.protocol,
            "port_range_min": r.port_range_min, "port_range_max": r.port_range_max, "remote_ip_prefix": prefix,
            "normalized_cidr": prefix, "remote_group_id": str(r.remote_group_id) if r.remote_group_id else None,
            "remote_address_group_id": None, "description": r.description, "tags": [],
            "belongs_to_default_sg": r.security_group_id in default_group_ids,
            "created_at": _ts(r.created_at), "updated_at": _ts(r.updated_at), "revision_number": r.revision_number}


def security_group_view(g, ctx):
    rules = sorted(g.rules.all(), key=lambda r: (r.created_at, str(r.id)))
    defaults = {g.id} if g.is_default else set()
    return {"id": str(g.id), "name": g.name, **_owner(g.project_id), "stateful": g.stateful, "shared": False,
            "security_group_rules": [rule_view(r, ctx, defaults) for r in rules], **_std(g)}


def rbac_view(p, ctx):
    return {"id": str(p.id), **_owner(p.project_id), "object_type": p.object_type, "object_id": str(p.object_id),
            "action": p.action, "target_tenant": p.target_tenant}


def agent_view(host, kind, row):
    """A host's agent of one kind (Linux bridge, DHCP, L3, metadata), alive while it heartbeats."""
    import uuid as uuid_module

    agent_type, binary, topic, _network_host = kind
    return {"id": str(uuid_module.uuid5(uuid_module.NAMESPACE_URL, f"monostack-agent:{host.hostname}:{binary}")),
            "agent_type": agent_type, "binary": binary, "host": host.hostname, "topic": topic,
            "admin_state_up": row.admin_state_up if row else True, "alive": host.state == "up",
            "availability_zone": "nova" if agent_type in ("DHCP agent", "L3 agent") else None,
            "created_at": _ts(host.registered_at).replace("T", " ").rstrip("Z") if host.registered_at else None,
            "started_at": _ts(host.registered_at).replace("T", " ").rstrip("Z") if host.registered_at else None,
            "heartbeat_timestamp": _ts(host.last_heartbeat).replace("T", " ").rstrip("Z") if host.last_heartbeat else None,
            "description": None, "configurations": {"tunnel_types": ["vxlan"], "local_ip": row.vtep if row else ""},
            "resources_synced": None, "resource_versions": {}}
