"""Request bodies of the Neutron v2.0 API (JSON Schema). Unknown attributes are refused (400),
as Neutron does; deeper checks (CIDRs, pools, ranges) live in services and ipam."""
from apps.core.api.validation import boolean, cidr, ip_address, mac_address, object_schema, uuid

name = {"type": ["string", "null"], "maxLength": 255}
description = {"type": ["string", "null"], "maxLength": 255}
project = {"type": "string", "maxLength": 255}
tags = {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 255}}
strbool = boolean
az_hints = {"type": "array", "items": {"type": "string", "maxLength": 255}}
int_or_str = {"type": ["integer", "string"], "pattern": "^[0-9]+$"}
nullable_int = {"type": ["integer", "string", "null"], "pattern": "^[0-9]+$"}
STD = {"name": name, "description": description, "project_id": project, "tenant_id": project, "tags": tags}


_wrapped = {}


def single(member, schema):
    """``{member: schema}``, built once per pair (compiled schemas are cached by identity)."""
    key = ("single", member, id(schema))
    if key not in _wrapped:
        _wrapped[key] = (schema, object_schema({member: schema}, required=[member]))
    return _wrapped[key][1]


def bulk(collection, schema):
    key = ("bulk", collection, id(schema))
    if key not in _wrapped:
        _wrapped[key] = (schema, object_schema({collection: {"type": "array", "items": schema, "minItems": 1}},
                                               required=[collection]))
    return _wrapped[key][1]


network_create = object_schema({
    **STD, "admin_state_up": {"type": "boolean"}, "shared": {"type": "boolean"},
    "router:external": {"type": "boolean"}, "is_default": {"type": "boolean"},
    "provider:network_type": {"type": "string", "maxLength": 32},
    "provider:physical_network": {"type": ["string", "null"], "maxLength": 64},
    "provider:segmentation_id": nullable_int, "mtu": int_or_str, "port_security_enabled": {"type": "boolean"},
    "availability_zone_hints": az_hints, "dns_domain": {"type": ["string", "null"], "maxLength": 255},
    "qos_policy_id": {"type": "null"}, "segments": {"type": "array", "maxItems": 0},
}, additional_properties=False)
network_update = object_schema({k: v for k, v in network_create["properties"].items()
                                if k not in ("project_id", "tenant_id", "availability_zone_hints")})

pool = object_schema({"start": ip_address, "end": ip_address}, required=["start", "end"])
route = object_schema({"destination": cidr, "nexthop": ip_address}, required=["destination", "nexthop"])
ipv6_mode = {"type": ["string", "null"], "enum": ["slaac", "dhcpv6-stateful", "dhcpv6-stateless", None]}
subnet_create = object_schema({
    **STD, "network_id": uuid, "cidr": {"type": ["string", "null"]}, "ip_version": {"enum": [4, 6, "4", "6"]},
    "gateway_ip": {"type": ["string", "null"]}, "allocation_pools": {"type": "array", "items": pool},
    "dns_nameservers": {"type": "array", "items": {"type": "string"}}, "host_routes": {"type": "array", "items": route},
    "enable_dhcp": {"type": "boolean"}, "ipv6_ra_mode": ipv6_mode, "ipv6_address_mode": ipv6_mode,
    "subnetpool_id": {"type": ["string", "null"]}, "use_default_subnetpool": {"type": "boolean"},
    "prefixlen": int_or_str, "segment_id": {"type": "null"}, "service_types": {"type": "array", "maxItems": 0},
    "dns_publish_fixed_ip": {"type": "boolean"},
}, required=["network_id"])
subnet_update = object_schema({k: subnet_create["properties"][k] for k in (
    "name", "description", "gateway_ip", "allocation_pools", "dns_nameservers", "host_routes", "enable_dhcp",
    "tags", "dns_publish_fixed_ip")})

subnetpool_create = object_schema({
    **STD, "prefixes": {"type": "array", "items": cidr, "minItems": 1}, "default_prefixlen": int_or_str,
    "min_prefixlen": int_or_str, "max_prefixlen": int_or_str, "shared": {"type": "boolean"},
    "is_default": {"type": "boolean"}, "default_quota": nullable_int, "address_scope_id": {"type": ["string", "null"]},
}, required=["prefixes"])
subnetpool_update = object_schema({k: v for k, v in subnetpool_create["properties"].items()
                                   if k not in ("project_id", "tenant_id", "shared")})

fixed_ip = object_schema({"subnet_id": uuid, "ip_address": ip_address})
address_pair = object_schema({"ip_address": {"type": "string"}, "mac_address": mac_address}, required=["ip_address"])
dhcp_opt = object_schema({"opt_name": {"type": "string", "minLength": 1}, "opt_value": {"type": ["string", "null"]},
                          "ip_version": {"enum": [4, 6, "4", "6"]}}, required=["opt_name"])
port_create = object_schema({
    **STD, "network_id": uuid, "mac_address": mac_address, "admin_state_up": {"type": "boolean"},
    "fixed_ips": {"type": "array", "items": fixed_ip}, "device_id": {"type": "string", "maxLength": 255},
    "device_owner": {"type": "string", "maxLength": 255}, "security_groups": {"type": "array", "items": uuid},
    "allowed_address_pairs": {"type": "array", "items": address_pair},
    "extra_dhcp_opts": {"type": "array", "items": dhcp_opt}, "port_security_enabled": {"type": "boolean"},
    "binding:host_id": {"type": "string", "maxLength": 255}, "binding:vnic_type": {"enum": ["normal"]},
    "binding:profile": {"type": "object"}, "dns_name": {"type": "string", "maxLength": 255},
    "qos_policy_id": {"type": "null"}, "propagate_uplink_status": {"type": "boolean"},
}, required=["network_id"])
port_update = object_schema({k: v for k, v in port_create["properties"].items()
                             if k not in ("network_id", "project_id", "tenant_id")})

gateway_info = {"type": ["object", "null"], "properties": {
    "network_id": uuid, "enable_snat": {"type": "boolean"},
    "external_fixed_ips": {"type": "array", "items": fixed_ip}}, "additionalProperties": False}
router_create = object_schema({
    **STD, "admin_state_up": {"type": "boolean"}, "external_gateway_info": gateway_info,
    "availability_zone_hints": az_hints, "distributed": {"enum": [False]}, "ha": {"enum": [False]},
    "flavor_id": {"type": "null"}})
router_update = object_schema({
    "name": name, "description": description, "tags": tags, "admin_state_up": {"type": "boolean"},
    "external_gateway_info": gateway_info, "routes": {"type": ["array", "null"], "items": route}})
router_interface = object_schema({"subnet_id": uuid, "port_id": uuid})
router_routes = single("router", object_schema({"routes": {"type": "array", "items": route}}, required=["routes"]))

floatingip_create = object_schema({
    "project_id": project, "tenant_id": project, "description": description, "tags": tags,
    "floating_network_id": uuid, "port_id": {"type": ["string", "null"], "format": "uuid"},
    "fixed_ip_address": {"type": ["string", "null"], "format": "ip-address"},
    "floating_ip_address": ip_address, "subnet_id": uuid, "dns_domain": {"type": "string"},
    "dns_name": {"type": "string"}, "qos_policy_id": {"type": "null"}}, required=["floating_network_id"])
floatingip_update = object_schema({
    "port_id": {"type": ["string", "null"], "format": "uuid"}, "description": description, "tags": tags,
    "fixed_ip_address": {"type": ["string", "null"], "format": "ip-address"}, "qos_policy_id": {"type": "null"}})

port_number = {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1, "maximum": 65535}
port_forwarding_create = object_schema({
    "internal_port_id": uuid, "internal_ip_address": ip_address, "internal_port": port_number,
    "external_port": port_number, "protocol": {"enum": ["tcp", "udp"]}, "description": description,
    "project_id": project, "tenant_id": project},
    required=["internal_port_id", "internal_ip_address", "internal_port", "external_port", "protocol"])
port_forwarding_update = object_schema({k: port_forwarding_create["properties"][k] for k in (
    "internal_port_id", "internal_ip_address", "internal_port", "external_port", "protocol", "description")})

security_group_create = object_schema({**STD, "stateful": {"type": "boolean"}})
security_group_update = object_schema({k: security_group_create["properties"][k]
                                       for k in ("name", "description", "tags", "stateful")})
rule_create = object_schema({
    "project_id": project, "tenant_id": project, "description": description, "security_group_id": uuid,
    "direction": {"enum": ["ingress", "egress"]}, "ethertype": {"enum": ["IPv4", "IPv6"]},
    "protocol": {"type": ["string", "integer", "null"]},
    "port_range_min": {"type": ["integer", "string", "null"], "pattern": "^[0-9]+$"},
    "port_range_max": {"type": ["integer", "string", "null"], "pattern": "^[0-9]+$"},
    "remote_ip_prefix": {"type": ["string", "null"]},
    "remote_group_id": {"type": ["string", "null"], "format": "uuid"},
    "remote_address_group_id": {"type": "null"}}, required=["security_group_id", "direction"])

rbac_create = object_schema({
    "project_id": project, "tenant_id": project, "object_type": {"type": "string"}, "object_id": uuid,
    "action": {"type": "string"}, "target_tenant": {"type": "string", "minLength": 1, "maxLength": 255},
    "target_project_id": {"type": "string"}}, required=["object_type", "object_id", "action", "target_tenant"])
rbac_update = object_schema({"target_tenant": {"type": "string", "minLength": 1, "maxLength": 255}})

agent_update = object_schema({"admin_state_up": {"type": "boolean"}, "description": description})
quota_update = single("quota", {"type": "object", "additionalProperties": int_or_str | {"type": ["integer", "string"], "pattern": "^-?[0-9]+$"}})
tags_replace = object_schema({"tags": tags}, required=["tags"])
