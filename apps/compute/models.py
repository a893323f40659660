"""Rows of the Compute service (Nova v2.1). Invariants only; no I/O.

Projects and users are identity ids (strings); images and ports are named by uuid, as Nova
does (a port names its server by ``device_id``). A server's addresses are cached on the
row (``network_info``) when compute binds its ports, so a list page is one query.
"""
import uuid

from django.db import models
from django.db.models import Q


class Flavor(models.Model):
    flavorid = models.CharField(max_length=255, unique=True)
    name = models.CharField(max_length=255, unique=True)
    vcpus = models.PositiveIntegerField()
    memory_mb = models.PositiveIntegerField()
    root_gb = models.PositiveIntegerField(default=0)
    ephemeral_gb = models.PositiveIntegerField(default=0)
    swap = models.PositiveIntegerField(default=0)  # MB
    rxtx_factor = models.FloatField(default=1.0)
    is_public = models.BooleanField(default=True)
    disabled = models.BooleanField(default=False)
    description = models.TextField(null=True, blank=True)
    extra_specs = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["flavorid"]

    def __str__(self):
        return self.name

    def snapshot(self):
        return {"id": self.flavorid, "name": self.name, "vcpus": self.vcpus, "ram": self.memory_mb,
                "disk": self.root_gb, "ephemeral": self.ephemeral_gb, "swap": self.swap,
                "extra_specs": dict(self.extra_specs)}


class FlavorAccess(models.Model):
    flavor = models.ForeignKey(Flavor, on_delete=models.CASCADE, related_name="projects")
    project_id = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["flavor", "project_id"], name="compute_flavor_access_unique")]


class KeyPair(models.Model):
    SSH, X509 = "ssh", "x509"
    user_id = models.CharField(max_length=64)
    name = models.CharField(max_length=255)
    type = models.CharField(max_length=8, default=SSH)
    public_key = models.TextField()
    fingerprint = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["user_id", "name"], name="compute_keypair_unique")]


class ComputeNode(models.Model):
    """A hypervisor's inventory (VCPU, MEMORY_MB, DISK_GB with allocation ratios) and what is
    allocated; claims change the ``*_used`` counters with one conditional UPDATE."""

    hostname = models.CharField(max_length=255, unique=True)
    vcpus = models.PositiveIntegerField(default=0)
    memory_mb = models.PositiveBigIntegerField(default=0)
    local_gb = models.PositiveBigIntegerField(default=0)
    cpu_allocation_ratio = models.FloatField(default=16.0)
    ram_allocation_ratio = models.FloatField(default=1.5)
    disk_allocation_ratio = models.FloatField(default=1.0)
    reserved_host_memory_mb = models.PositiveIntegerField(default=512)
    vcpus_used = models.PositiveIntegerField(default=0)
    memory_mb_used = models.PositiveBigIntegerField(default=0)
    local_gb_used = models.PositiveBigIntegerField(default=0)
    running_vms = models.PositiveIntegerField(default=0)
    hypervisor_type = models.CharField(max_length=64, default="QEMU")
    hypervisor_version = models.PositiveBigIntegerField(default=0)
    cpu_arch = models.CharField(max_length=32, default="x86_64")
    availability_zone = models.CharField(max_length=255, default="nova")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["hostname"]

    def __str__(self):
        return self.hostname


class Server(models.Model):
    BUILDING, ACTIVE, STOPPED, ERROR, DELETED = "building", "active", "stopped", "error", "deleted"

    uuid = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project_id = models.CharField(max_length=64)
    user_id = models.CharField(max_length=64)
    name = models.CharField(max_length=255)
    description = models.CharField(max_length=255, null=True, blank=True)
    hostname = models.CharField(max_length=255, blank=True, default="")
    image_ref = models.CharField(max_length=64, blank=True, default="")
    flavor = models.ForeignKey(Flavor, on_delete=models.PROTECT, related_name="+")
    flavor_info = models.JSONField(default=dict)  # the flavor as it was when the server was made
    vm_state = models.CharField(max_length=16, default=BUILDING)
    task_state = models.CharField(max_length=32, null=True, blank=True)
    power_state = models.PositiveSmallIntegerField(default=0)
    host = models.CharField(max_length=255, blank=True, default="")
    availability_zone = models.CharField(max_length=255, blank=True, default="")
    requested_az = models.CharField(max_length=255, blank=True, default="")
    key_name = models.CharField(max_length=255, null=True, blank=True)
    key_data = models.TextField(null=True, blank=True)
    user_data = models.TextField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    config_drive = models.BooleanField(default=False)
    requested_networks = models.JSONField(default=list, blank=True)
    security_groups = models.JSONField(default=list, blank=True)  # names
    network_info = models.JSONField(default=list, blank=True)  # [{port_id, network_id, network_name, mac, ips, created, vif}]
    reservation_id = models.CharField(max_length=255, blank=True, default="")
    launch_index = models.PositiveIntegerField(default=0)
    locked = models.BooleanField(default=False)
    fault = models.JSONField(null=True, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    excluded_hosts = models.JSONField(default=list, blank=True)
    console = models.JSONField(default=dict, blank=True)
    access_ipv4 = models.GenericIPAddressField(null=True, blank=True)
    access_ipv6 = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    launched_at = models.DateTimeField(null=True, blank=True)
    terminated_at = models.DateTimeField(null=True, blank=True)
    deleted = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["project_id", "created_at"], name="compute_server_project",
                         condition=Q(deleted=False)),
            models.Index(fields=["created_at", "uuid"], name="compute_server_live", condition=Q(deleted=False)),
            models.Index(fields=["host"], name="compute_server_host", condition=Q(deleted=False)),
            models.Index(fields=["updated_at"], name="compute_server_changes"),
        ]

    def __str__(self):
        return f"{self.name} ({self.uuid})"

    @property
    def domain_name(self):
        return f"instance-{self.uuid.hex[:8]}"


class Allocation(models.Model):
    """What a server holds on its host (one per server)."""

    server = models.OneToOneField(Server, on_delete=models.CASCADE, related_name="allocation")
    node = models.ForeignKey(ComputeNode, on_delete=models.PROTECT, related_name="allocations")
    vcpus = models.PositiveIntegerField()
    memory_mb = models.PositiveBigIntegerField()
    disk_gb = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)


class InstanceAction(models.Model):
    """A user-visible action on a server (os-instance-actions), with its events."""

    server_uuid = models.UUIDField(db_index=True)
    action = models.CharField(max_length=64)
    request_id = models.CharField(max_length=64, blank=True, default="")
    user_id = models.CharField(max_length=64, blank=True, default="")
    project_id = models.CharField(max_length=64, blank=True, default="")
    start_time = models.DateTimeField(auto_now_add=True)
    finish_time = models.DateTimeField(null=True, blank=True)
    message = models.TextField(null=True, blank=True)

    class Meta:
        ordering = ["-start_time"]


class InstanceActionEvent(models.Model):
    action = models.ForeignKey(InstanceAction, on_delete=models.CASCADE, related_name="events")
    event = models.CharField(max_length=128)
    start_time = models.DateTimeField(auto_now_add=True)
    finish_time = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=16, null=True, blank=True)
    host = models.CharField(max_length=255, blank=True, default="")
    details = models.JSONField(default=dict, blank=True)  # the scheduler's per-filter reasons

    class Meta:
        ordering = ["start_time", "id"]
