"""The scheduler: inventories per host, filters with per-filter reasons, weighers, and
atomic claims (one conditional UPDATE per try, so two builds never both take the last slot)."""
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import F

from apps.core.models import Host

from .models import Allocation, ComputeNode


def _conf():
    return settings.MONOSTACK["compute"]


def nodes_sync():
    """One ComputeNode per registered host, its totals from the host's own report."""
    conf = _conf()
    hosts = list(Host.objects.all())
    known = {n.hostname: n for n in ComputeNode.objects.filter(hostname__in=[h.hostname for h in hosts])}
    for host in hosts:
        node = known.get(host.hostname)
        totals = {"vcpus": host.cpus, "memory_mb": host.memory_mb, "local_gb": host.disk_gb,
                  "hypervisor_type": host.hypervisor_type or "QEMU"}
        if node is None:
            ComputeNode.objects.get_or_create(hostname=host.hostname, defaults={
                **totals, "cpu_allocation_ratio": conf["cpu_allocation_ratio"],
                "ram_allocation_ratio": conf["ram_allocation_ratio"],
                "disk_allocation_ratio": conf["disk_allocation_ratio"],
                "reserved_host_memory_mb": conf["reserved_host_memory_mb"],
                "availability_zone": conf["default_availability_zone"]})
        elif any(getattr(node, k) != v for k, v in totals.items()):
            ComputeNode.objects.filter(pk=node.pk).update(**totals)


@dataclass
class Request:
    vcpus: int
    memory_mb: int
    disk_gb: int
    availability_zone: str = ""
    image_properties: dict = field(default_factory=dict)
    excluded_hosts: tuple = ()
    force_host: str = ""


def _cap(total, ratio, reserved=0):
    return int((total - reserved) * ratio) if total else 0


def _free(node):
    return {"vcpus": _cap(node.vcpus, node.cpu_allocation_ratio) - node.vcpus_used,
            "memory_mb": _cap(node.memory_mb, node.ram_allocation_ratio, node.reserved_host_memory_mb) - node.memory_mb_used,
            "disk_gb": _cap(node.local_gb, node.disk_allocation_ratio) - node.local_gb_used}


def _filters(request, hosts_by_name):
    """(name, fn(node) -> None or the reason it does not fit), in Nova's order."""
    def compute(node):
        host = hosts_by_name.get(node.hostname)
        if host is None:
            return "host is not registered"
        if host.disabled:
            return "host is disabled"
        if host.state != Host.UP:
            return "host is down (no heartbeat)"

    def retry(node):
        if node.hostname in request.excluded_hosts:
            return "a build already failed on this host"

    def forced(node):
        if request.force_host and node.hostname != request.force_host:
            return f"not the requested host {request.force_host}"

    def zone(node):
        if request.availability_zone and node.availability_zone != request.availability_zone:
            return f"in zone {node.availability_zone}, not {request.availability_zone}"

    def ram(node):
        free = _free(node)["memory_mb"]
        if free < request.memory_mb:
            return f"{free} MB usable RAM, {request.memory_mb} MB requested"

    def core(node):
        free = _free(node)["vcpus"]
        if free < request.vcpus:
            return f"{free} usable vCPUs, {request.vcpus} requested"

    def disk(node):
        free = _free(node)["disk_gb"]
        if free < request.disk_gb:
            return f"{free} GB usable disk, {request.disk_gb} GB requested"

    def image_props(node):
        arch = request.image_properties.get("architecture") or request.image_properties.get("hw_architecture")
        if arch and arch not in (node.cpu_arch, "x86_64" if node.cpu_arch == "amd64" else node.cpu_arch):
            return f"image needs architecture {arch}, host is {node.cpu_arch}"
        hv = request.image_properties.get("hypervisor_type")
        if hv and hv.lower() not in (node.hypervisor_type.lower(), "qemu" if node.hypervisor_type == "KVM" else ""):
            return f"image needs hypervisor {hv}, host runs {node.hypervisor_type}"

    return [("RetryFilter", retry), ("ComputeFilter", compute), ("ForcedHostFilter", forced),
            ("AvailabilityZoneFilter", zone), ("RamFilter", ram), ("CoreFilter", core), ("DiskFilter", disk),
            ("ImagePropertiesFilter", image_props)]


def select_hosts(request):
    """(fitting nodes ordered by the weigher, {filter: {host: reason}})."""
    nodes_sync()
    nodes = list(ComputeNode.objects.all())
    hosts = {h.hostname: h for h in Host.objects.filter(hostname__in=[n.hostname for n in nodes])}
    reasons = {}
    for name, check in _filters(request, hosts):
        kept = []
        for node in nodes:
            why = check(node)
            if why:
                reasons.setdefault(name, {})[node.hostname] = why
            else:
                kept.append(node)
        nodes = kept
    spread = _conf()["weigher"] != "stack"
    nodes.sort(key=lambda n: (_free(n)["memory_mb"], -n.running_vms), reverse=spread)
    return nodes, reasons


def claim(server, node, request):
    """Take ``request``'s resources on ``node`` if they still fit; the Allocation or None."""
    with transaction.atomic():
        taken = ComputeNode.objects.filter(
            pk=node.pk,
            vcpus_used__lte=F("vcpus") * F("cpu_allocation_ratio") - request.vcpus,
            memory_mb_used__lte=(F("memory_mb") - F("reserved_host_memory_mb")) * F("ram_allocation_ratio")
            - request.memory_mb,
            local_gb_used__lte=F("local_gb") * F("disk_allocation_ratio") - request.disk_gb,
        ).update(vcpus_used=F("vcpus_used") + request.vcpus, memory_mb_used=F("memory_mb_used") + request.memory_mb,
                 local_gb_used=F("local_gb_used") + request.disk_gb, running_vms=F("running_vms") + 1)
        if not taken:
            return None
        return Allocation.objects.create(server=server, node=node, vcpus=request.vcpus, memory_mb=request.memory_mb,
                                         disk_gb=request.disk_gb)


def select_and_claim(server, request):
    """The claimed node, or (None, reasons) when no host fits."""
    nodes, reasons = select_hosts(request)
    for node in nodes:
        allocation = claim(server, node, request)
        if allocation is not None:
            return node, reasons
        reasons.setdefault("Claim", {})[node.hostname] = "resources taken by a concurrent claim"
    return None, reasons


def release(server):
    """Give back the server's allocation (idempotent)."""
    with transaction.atomic():
        allocation = Allocation.objects.select_for_update().filter(server=server).first()
        if allocation is None:
            return
        ComputeNode.objects.filter(pk=allocation.node_id).update(
            vcpus_used=F("vcpus_used") - allocation.vcpus, memory_mb_used=F("memory_mb_used") - allocation.memory_mb,
            local_gb_used=F("local_gb_used") - allocation.disk_gb, running_vms=F("running_vms") - 1)
        allocation.delete()
