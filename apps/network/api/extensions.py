"""The extensions this service implements, with aliases and names as neutron-lib spells them
(the CLI probes aliases before using a feature and finds "Availability Zone" by name)."""

UPDATED = "2024-01-01T00:00:00-00:00"

EXTENSIONS = [
    {"alias": a, "name": n, "description": d} for a, n, d in (
        ("agent", "agent", "The agent management extension."),
        ("allowed-address-pairs", "Allowed Address Pairs", "Provides allowed address pairs"),
        ("auto-allocated-topology", "Auto Allocated Topology Services", "Auto Allocated Topology Services."),
        ("availability_zone", "Availability Zone", "The availability zone extension."),
        ("binding", "Port Binding", "Expose port bindings of a virtual port to external application"),
        ("default-subnetpools", "Default Subnetpools", "Provides ability to mark and use a subnetpool as the default."),
        ("external-net", "Neutron external network", "Adds external network attribute to network resource."),
        ("ext-gw-mode", "Neutron L3 Configurable external gateway mode",
         "Extension of the router abstraction for specifying whether SNAT should occur on the external gateway"),
        ("extra_dhcp_opt", "Neutron Extra DHCP options",
         "Extra options configuration for DHCP. For example PXE boot options to DHCP clients can be specified "
         "(e.g. tftp-server, server-ip-address, bootfile-name)"),
        ("extraroute", "Neutron Extra Route", "Extra routes configuration for L3 router"),
        ("extraroute-atomic", "Atomically add/remove extra routes",
         "Edit extra routes of a router on server side by atomically adding/removing extra routes"),
        ("floating-ip-port-forwarding", "Floating IP Port Forwarding", "Provides port forwarding to floating IP"),
        ("net-mtu", "Network MTU", "Provides MTU attribute for a network resource."),
        ("network_availability_zone", "Network Availability Zone", "Availability zone support for network."),
        ("port-security", "Port Security", "Provides port security"),
        ("project-id", "project_id field enabled", "Extension that indicates that project_id field is enabled."),
        ("provider", "Provider Network", "Expose mapping of virtual networks to physical networks"),
        ("quotas", "Quota management support", "Expose functions for quotas management per project"),
        ("quota_details", "Quota details management support", "Expose functions for quotas usage statistics per project"),
        ("rbac-policies", "RBAC Policies", "Allows creation and modification of policies that control tenant access to resources."),
        ("router", "Neutron L3 Router",
         "Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via a NAT gateway."),
        ("router_availability_zone", "Router Availability Zone", "Availability zone support for router."),
        ("security-group", "security-group", "The security groups extension."),
        ("sorting", "Sorting support", "Enables sorting support."),
        ("pagination", "Pagination support", "Enables pagination support."),
        ("standard-attr-description", "standard-attr-description",
         "Extension to add descriptions to standard attributes"),
        ("standard-attr-revisions", "Resource revision numbers",
         "This extension will display the revision number of neutron resources."),
        ("standard-attr-tag", "Tag support for resources with standard attribute: subnet, trunk, network_segment_range, router, network, policy, subnetpool, port, security_group, floatingip",
         "Enables to set tag on resources with standard attribute."),
        ("standard-attr-timestamp", "Resource timestamps", "Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes."),
        ("stateful-security-group", "Stateful security group", "Indicates if the security group is stateful or not"),
        ("subnet_allocation", "Subnet Allocation", "Enables allocation of subnets from a subnet pool"),
        ("tag-ports-during-bulk-creation", "Tag Ports During Bulk Creation",
         "Allow to tag ports during bulk creation"),
    )
]


def extension_view(ext):
    return {**ext, "updated": UPDATED, "links": []}
