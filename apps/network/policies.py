"""Networking API policy, after Neutron's secure defaults (admin / member / reader, project scope).

Reads are scoped in selectors (another project's resource is a 404); these rules decide
writes, and which attributes only an admin may set or see. Overridable in [policy].
"""
from apps.core import policy

ADMIN = "rule:network_admin"
MEMBER = "(role:member and project_id:%(project_id)s)"
READER = "(role:reader and project_id:%(project_id)s)"

RULES = {
    "network_admin": ("role:admin", "Cloud administrator."),
    "network_member": (f"{ADMIN} or {MEMBER}", "A member of the owning project."),
    "network_reader": (f"{ADMIN} or {READER}", "A reader of the owning project."),

    "create_network": ("rule:network_member", "POST /networks"),
    "create_network:shared": (ADMIN, "Create a shared network."),
    "create_network:router:external": (ADMIN, "Create an external network."),
    "create_network:provider": (ADMIN, "Set provider:* attributes."),
    "create_network:is_default": (ADMIN, "Mark the default external network."),
    "update_network": ("rule:network_member", "PUT /networks/{id}"),
    "update_network:shared": (ADMIN, "Share a network."),
    "update_network:router:external": (ADMIN, "Make a network external."),
    "update_network:is_default": (ADMIN, "Mark the default external network."),
    "delete_network": ("rule:network_member", "DELETE /networks/{id}"),
    "get_network:provider": (ADMIN, "See provider:* attributes."),

    "create_subnet": ("rule:network_member", "POST /subnets (on the network's project)"),
    "update_subnet": ("rule:network_member", "PUT /subnets/{id}"),
    "delete_subnet": ("rule:network_member", "DELETE /subnets/{id}"),
    "create_subnetpool": ("rule:network_member", "POST /subnetpools"),
    "create_subnetpool:shared": (ADMIN, "Create a shared subnet pool."),
    "create_subnetpool:is_default": (ADMIN, "Make a subnet pool the default."),
    "update_subnetpool": ("rule:network_member", "PUT /subnetpools/{id}"),
    "update_subnetpool:is_default": (ADMIN, "Make a subnet pool the default."),
    "delete_subnetpool": ("rule:network_member", "DELETE /subnetpools/{id}"),

    "create_port": ("rule:network_member", "POST /ports"),
    "create_port:mac_address": (f"{ADMIN} or {MEMBER}", "Choose a port's MAC."),
    "create_port:binding": (ADMIN, "Set binding:* attributes."),
    "update_port": ("rule:network_member", "PUT /ports/{id}"),
    "update_port:binding": (ADMIN, "Set binding:* attributes."),
    "delete_port": ("rule:network_member", "DELETE /ports/{id}"),
    "get_port:binding:vif_details": (ADMIN, "See binding:vif_details, binding:vif_type, binding:host_id."),

    "create_router": ("rule:network_member", "POST /routers"),
    "create_router:external_gateway_info:external_fixed_ips": (ADMIN, "Choose the gateway's address."),
    "update_router": ("rule:network_member", "PUT /routers/{id}"),
    "update_router:external_gateway_info:external_fixed_ips": (ADMIN, "Choose the gateway's address."),
    "delete_router": ("rule:network_member", "DELETE /routers/{id}"),
    "add_router_interface": ("rule:network_member", "PUT /routers/{id}/add_router_interface"),
    "remove_router_interface": ("rule:network_member", "PUT /routers/{id}/remove_router_interface"),

    "create_floatingip": ("rule:network_member", "POST /floatingips"),
    "create_floatingip:floating_ip_address": (ADMIN, "Choose the floating address."),
    "update_floatingip": ("rule:network_member", "PUT /floatingips/{id}"),
    "delete_floatingip": ("rule:network_member", "DELETE /floatingips/{id}"),
    "create_port_forwarding": ("rule:network_member", "POST .../port_forwardings"),
    "update_port_forwarding": ("rule:network_member", "PUT .../port_forwardings/{id}"),
    "delete_port_forwarding": ("rule:network_member", "DELETE .../port_forwardings/{id}"),

    "create_security_group": ("rule:network_member", "POST /security-groups"),
    "update_security_group": ("rule:network_member", "PUT /security-groups/{id}"),
    "delete_security_group": ("rule:network_member", "DELETE /security-groups/{id}"),
    "create_security_group_rule": ("rule:network_member", "POST /security-group-rules"),
    "delete_security_group_rule": ("rule:network_member", "DELETE /security-group-rules/{id}"),

    "create_rbac_policy": ("rule:network_member", "POST /rbac-policies"),
    "update_rbac_policy": ("rule:network_member", "PUT /rbac-policies/{id}"),
    "delete_rbac_policy": ("rule:network_member", "DELETE /rbac-policies/{id}"),

    "get_quota": (f"{ADMIN} or (role:reader and project_id:%(project_id)s)", "GET /quotas/{project_id}"),
    "update_quota": (ADMIN, "PUT /quotas/{project_id}"),
    "delete_quota": (ADMIN, "DELETE /quotas/{project_id}"),
    "get_agent": (ADMIN, "GET /agents"),
    "update_agent": (ADMIN, "PUT /agents/{id}"),
    "get_auto_allocated_topology": (f"{ADMIN} or {READER}", "GET /auto-allocated-topology/{project_id}"),
    "create_auto_allocated_topology": (f"{ADMIN} or {MEMBER}", "Make the project's topology."),
}

BASE_RULES = ("network_admin", "network_member", "network_reader")

policy.register_rules({(name if name in BASE_RULES else f"network:{name}"): check
                       for name, (check, _desc) in RULES.items()})


def rule_name(name):
    return f"network:{name}"
