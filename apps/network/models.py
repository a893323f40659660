"""Rows of the Networking service (Neutron v2.0). Invariants only; no I/O.

Projects are named by their identity ids (strings). A port names its device by
``device_id`` (a server, a router, a DHCP namespace), never by a foreign key into compute.
Ports of routers and DHCP servers are ordinary ports with a ``device_owner``, as in Neutron.
"""
import uuid

from django.db import models
from django.db.models import Q


def new_id():
    return uuid.uuid4()


class StandardAttrs(models.Model):
    """Neutron's standard attributes: description, tags, timestamps, revision."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    project_id = models.CharField(max_length=64, db_index=True)
    name = models.CharField(max_length=255, blank=True, default="")
    description = models.CharField(max_length=255, blank=True, default="")
    tags = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    revision_number = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True

    def bump(self):
        self.revision_number += 1


class Network(StandardAttrs):
    FLAT, VXLAN = "flat", "vxlan"
    TYPES = [(FLAT, FLAT), (VXLAN, VXLAN)]
    ACTIVE, DOWN, BUILD, ERROR = "ACTIVE", "DOWN", "BUILD", "ERROR"

    admin_state_up = models.BooleanField(default=True)
    status = models.CharField(max_length=16, default=ACTIVE)
    shared = models.BooleanField(default=False)
    external = models.BooleanField(default=False)   # router:external
    is_default = models.BooleanField(default=False)  # the external network auto-allocation uses
    network_type = models.CharField(max_length=16, choices=TYPES, default=VXLAN)
    physical_network = models.CharField(max_length=64, null=True, blank=True)
    segmentation_id = models.PositiveIntegerField(null=True, blank=True)
    mtu = models.PositiveIntegerField(default=1450)
    port_security_enabled = models.BooleanField(default=True)
    availability_zone_hints = models.JSONField(default=list, blank=True)
    dns_domain = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["segmentation_id"], condition=Q(network_type="vxlan"),
                                    name="network_unique_vni"),
            models.UniqueConstraint(fields=["physical_network"], condition=Q(network_type="flat"),
                                    name="network_unique_flat_physnet"),
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True),
                                    name="network_one_default_external"),
        ]

    def __str__(self):
        return f"{self.name or self.id}"


class SubnetPool(StandardAttrs):
    ip_version = models.PositiveSmallIntegerField(default=4)
    prefixes = models.JSONField(default=list)
    default_prefixlen = models.PositiveSmallIntegerField()
    min_prefixlen = models.PositiveSmallIntegerField()
    max_prefixlen = models.PositiveSmallIntegerField()
    shared = models.BooleanField(default=False)
    is_default = models.BooleanField(default=False)
    default_quota = models.IntegerField(null=True, blank=True)
    address_scope_id = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ip_version"], condition=Q(is_default=True),
                                               name="subnetpool_one_default_per_version")]


class Subnet(StandardAttrs):
    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="subnets")
    subnetpool = models.ForeignKey(SubnetPool, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="subnets")
    ip_version = models.PositiveSmallIntegerField()
    cidr = models.CharField(max_length=64)
    gateway_ip = models.GenericIPAddressField(null=True, blank=True)
    enable_dhcp = models.BooleanField(default=True)
    dns_nameservers = models.JSONField(default=list, blank=True)
    host_routes = models.JSONField(default=list, blank=True)       # [{"destination", "nexthop"}]
    allocation_pools = models.JSONField(default=list, blank=True)  # [{"start", "end"}]
    ipv6_ra_mode = models.CharField(max_length=32, null=True, blank=True)
    ipv6_address_mode = models.CharField(max_length=32, null=True, blank=True)
    segment_id = models.CharField(max_length=64, null=True, blank=True)

    @property
    def auto_address(self):
        """SLAAC and DHCPv6-stateless subnets: a port's address is the EUI-64 of its MAC."""
        return self.ip_version == 6 and self.ipv6_address_mode in ("slaac", "dhcpv6-stateless")


class SecurityGroup(StandardAttrs):
    stateful = models.BooleanField(default=True)
    is_default = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project_id"], condition=Q(is_default=True),
                                               name="securitygroup_one_default_per_project")]


class SecurityGroupRule(models.Model):
    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    project_id = models.CharField(max_length=64, db_index=True)
    security_group = models.ForeignKey(SecurityGroup, on_delete=models.CASCADE, related_name="rules")
    direction = models.CharField(max_length=8)  # ingress / egress
    ethertype = models.CharField(max_length=8, default="IPv4")
    protocol = models.CharField(max_length=40, null=True, blank=True)
    port_range_min = models.PositiveIntegerField(null=True, blank=True)
    port_range_max = models.PositiveIntegerField(null=True, blank=True)
    remote_ip_prefix = models.CharField(max_length=64, null=True, blank=True)
    remote_group = models.ForeignKey(SecurityGroup, null=True, blank=True, on_delete=models.CASCADE,
                                     related_name="referencing_rules")
    description = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    revision_number = models.PositiveIntegerField(default=0)


class Port(StandardAttrs):
    ACTIVE, DOWN, BUILD, ERROR = "ACTIVE", "DOWN", "BUILD", "ERROR"

    network = models.ForeignKey(Network, on_delete=models.PROTECT, related_name="ports")
    mac_address = models.CharField(max_length=17)
    admin_state_up = models.BooleanField(default=True)
    status = models.CharField(max_length=16, default=DOWN)
    device_id = models.CharField(max_length=255, blank=True, default="", db_index=True)
    device_owner = models.CharField(max_length=255, blank=True, default="", db_index=True)
    binding_host_id = models.CharField(max_length=255, blank=True, default="", db_index=True)
    binding_vif_type = models.CharField(max_length=64, default="unbound")
    binding_vif_details = models.JSONField(default=dict, blank=True)
    binding_vnic_type = models.CharField(max_length=64, default="normal")
    binding_profile = models.JSONField(default=dict, blank=True)
    port_security_enabled = models.BooleanField(default=True)
    allowed_address_pairs = models.JSONField(default=list, blank=True)  # [{"ip_address", "mac_address"}]
    extra_dhcp_opts = models.JSONField(default=list, blank=True)  # [{"opt_name", "opt_value", "ip_version"}]
    security_groups = models.ManyToManyField(SecurityGroup, related_name="ports", blank=True)
    dns_name = models.CharField(max_length=255, blank=True, default="")
    # The device name on the host once plugged (what libvirt needs).
    plugged_devname = models.CharField(max_length=16, blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["network", "mac_address"], name="port_unique_mac")]


class IPAllocation(models.Model):
    """One fixed IP of a port; unique per subnet, so a race for an address loses at insert."""

    port = models.ForeignKey(Port, on_delete=models.CASCADE, related_name="fixed_ips")
    subnet = models.ForeignKey(Subnet, on_delete=models.PROTECT, related_name="allocations")
    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="allocations")
    ip_address = models.GenericIPAddressField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["subnet", "ip_address"], name="ipallocation_unique")]
        ordering = ["id"]


class Router(StandardAttrs):
    admin_state_up = models.BooleanField(default=True)
    status = models.CharField(max_length=16, default="ACTIVE")
    gw_port = models.OneToOneField(Port, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="gateway_of")
    enable_snat = models.BooleanField(default=True)
    routes = models.JSONField(default=list, blank=True)  # [{"destination", "nexthop"}]
    availability_zone_hints = models.JSONField(default=list, blank=True)
    # Which host runs its qrouter namespace.
    host = models.CharField(max_length=255, blank=True, default="")


class FloatingIP(StandardAttrs):
    floating_network = models.ForeignKey(Network, on_delete=models.PROTECT, related_name="floating_ips")
    floating_port = models.OneToOneField(Port, on_delete=models.PROTECT, related_name="floating_ip_of")
    floating_ip_address = models.GenericIPAddressField()
    port = models.ForeignKey(Port, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="floating_ips")
    fixed_ip_address = models.GenericIPAddressField(null=True, blank=True)
    router = models.ForeignKey(Router, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="floating_ips")
    status = models.CharField(max_length=16, default="DOWN")


class PortForwarding(models.Model):
    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    floatingip = models.ForeignKey(FloatingIP, on_delete=models.CASCADE, related_name="port_forwardings")
    internal_port = models.ForeignKey(Port, on_delete=models.CASCADE, related_name="port_forwardings")
    internal_ip_address = models.GenericIPAddressField()
    internal_port_number = models.PositiveIntegerField()
    external_port = models.PositiveIntegerField()
    protocol = models.CharField(max_length=8)
    description = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["floatingip", "external_port", "protocol"],
                                               name="portforwarding_unique_external")]


class RBACPolicy(models.Model):
    SHARED, EXTERNAL = "access_as_shared", "access_as_external"

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    project_id = models.CharField(max_length=64)
    object_type = models.CharField(max_length=32, default="network")
    object_id = models.UUIDField()
    action = models.CharField(max_length=32)
    target_tenant = models.CharField(max_length=64)  # a project id or "*"

    class Meta:
        constraints = [models.UniqueConstraint(fields=["object_type", "object_id", "action", "target_tenant"],
                                               name="rbac_unique")]
        indexes = [models.Index(fields=["object_id", "action"], name="rbac_object_action")]


class NetworkAgentHost(models.Model):
    """What a host's network agent told us about itself (its VTEP), for VXLAN peer lists."""

    hostname = models.CharField(max_length=255, unique=True)
    vtep = models.CharField(max_length=64, blank=True, default="")
    admin_state_up = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)
