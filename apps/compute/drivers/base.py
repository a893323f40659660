"""The compute backend: Nova's ComputeDriver, trimmed, with its DTOs (DESIGN §2, STYLE 8).

Drivers take plain data (dicts the conductor builds, read through the dataclasses here)
and return plain data; they never import Django or touch the database. Every method is
idempotent where Nova's is: destroying a guest that is gone succeeds, spawning one that
already runs with the same uuid raises InstanceExists.
"""
import abc
from dataclasses import asdict, dataclass, field

# Power states as Nova numbers them (nova/compute/power_state.py).
NOSTATE, RUNNING, PAUSED, SHUTDOWN, CRASHED, SUSPENDED = 0, 1, 3, 4, 6, 7
POWER_STATE_NAMES = {NOSTATE: "NOSTATE", RUNNING: "RUNNING", PAUSED: "PAUSED", SHUTDOWN: "SHUTDOWN",
                     CRASHED: "CRASHED", SUSPENDED: "SUSPENDED"}


class ComputeDriverError(Exception):
    """A host operation failed; the message says what and why."""


class InstanceNotFound(ComputeDriverError):
    pass


class InstanceExists(ComputeDriverError):
    pass


class InsufficientResources(ComputeDriverError):
    """The host cannot fit the guest now (a reason to reschedule)."""


class ImageError(ComputeDriverError):
    """The image could not be fetched, its checksum does not match, or its headers are unsafe."""


@dataclass(frozen=True)
class ImageSpec:
    id: str
    url: str                      # where the host fetches the data (HTTP, with ``headers``)
    disk_format: str = "qcow2"
    size: int | None = None
    checksum: str | None = None   # md5, Glance's legacy checksum
    hash_algo: str | None = None  # os_hash_algo (sha512)
    hash_value: str | None = None
    headers: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d):
        return cls(id=d["id"], url=d.get("url", ""), disk_format=d.get("disk_format") or "qcow2",
                   size=d.get("size"), checksum=d.get("checksum"), hash_algo=d.get("hash_algo"),
                   hash_value=d.get("hash_value"), headers=dict(d.get("headers") or {}))


@dataclass(frozen=True)
class VifSpec:
    """One guest NIC, as the network service's plug step described it (VifInfo)."""

    port_id: str
    devname: str
    mac: str
    bridge: str = ""
    mtu: int = 1500
    vif_type: str = "bridge"

    @classmethod
    def from_dict(cls, d):
        return cls(port_id=d["port_id"], devname=d["devname"], mac=d["mac"], bridge=d.get("bridge") or "",
                   mtu=int(d.get("mtu") or 1500), vif_type=d.get("vif_type") or "bridge")


@dataclass(frozen=True)
class InstanceSpec:
    uuid: str
    name: str                     # the domain name, "instance-0000002a"
    vcpus: int
    memory_mb: int
    root_gb: int
    ephemeral_gb: int = 0
    swap_mb: int = 0
    image: ImageSpec | None = None
    vifs: tuple = ()
    # Files of the config drive, {"openstack/latest/meta_data.json": "<text>"}; None: no drive.
    config_drive: dict | None = None
    hostname: str = ""
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d):
        return cls(uuid=d["uuid"], name=d["name"], vcpus=int(d["vcpus"]), memory_mb=int(d["memory_mb"]),
                   root_gb=int(d.get("root_gb") or 0), ephemeral_gb=int(d.get("ephemeral_gb") or 0),
                   swap_mb=int(d.get("swap_mb") or 0),
                   image=ImageSpec.from_dict(d["image"]) if d.get("image") else None,
                   vifs=tuple(VifSpec.from_dict(v) for v in d.get("vifs") or ()),
                   config_drive=d.get("config_drive"), hostname=d.get("hostname") or "",
                   extra=dict(d.get("extra") or {}))

    def as_dict(self):
        return asdict(self)


@dataclass(frozen=True)
class InstanceInfo:
    state: int
    max_mem_kb: int = 0
    mem_kb: int = 0
    num_cpu: int = 0
    cpu_time_ns: int = 0

    def as_dict(self):
        return {**asdict(self), "state_name": POWER_STATE_NAMES.get(self.state, "NOSTATE")}


class ComputeDriver(abc.ABC):
    """A hypervisor backend. One instance per host agent process, built from a plain ``conf``
    dict (instances_path, image_cache_dir, virt_type, console_host, ...)."""

    def __init__(self, conf=None):
        self.conf = dict(conf or {})

    @abc.abstractmethod
    def init_host(self, host):
        """Prepare the host (directories, connection); ``host`` is this host's name."""

    @property
    def capabilities(self):
        return {"has_imagecache": True, "supports_config_drive": True, "supports_attach_interface": False,
                "supports_multiattach": False}

    @abc.abstractmethod
    def spawn(self, instance: InstanceSpec):
        """Create and start the guest: fetch the image into the host's cache (verified),
        make its disks (qcow2 overlay sized to the flavor, ephemeral, swap), the config drive
        when asked, define and start the domain. On failure nothing of the guest is left.
        Returns ``{"power_state": ..., "console": {...}}``."""

    @abc.abstractmethod
    def destroy(self, instance_uuid, *, cleanup=True):
        """Stop and undefine the guest and (``cleanup``) remove its files. A missing guest
        is not an error."""

    @abc.abstractmethod
    def reboot(self, instance_uuid, *, hard=False):
        """Soft: ask the guest (ACPI), falling back to hard when it does not comply."""

    @abc.abstractmethod
    def power_off(self, instance_uuid, *, timeout=0):
        """Ask the guest to shut down, waiting up to ``timeout`` seconds, then force it off."""

    @abc.abstractmethod
    def power_on(self, instance_uuid):
        """Start a defined guest that is off."""

    @abc.abstractmethod
    def get_info(self, instance_uuid) -> InstanceInfo:
        """The guest's power state; InstanceNotFound when there is none."""

    @abc.abstractmethod
    def list_instances(self):
        """uuids of every guest this driver runs on the host."""

    @abc.abstractmethod
    def get_console_output(self, instance_uuid):
        """The serial console log as text (possibly empty)."""

    @abc.abstractmethod
    def get_available_resource(self):
        """{"vcpus", "memory_mb", "local_gb", "hypervisor_type", "hypervisor_version", "cpu_arch"}."""

    def instance_files(self, instance_uuid):
        """Paths of files the driver keeps for the guest (for leak checks); [] by default."""
        return []

    # Volumes and interfaces come with block storage and part 2 of compute.
    def attach_volume(self, instance_uuid, connection_info, mountpoint):
        raise NotImplementedError

    def detach_volume(self, instance_uuid, connection_info, mountpoint):
        raise NotImplementedError

    def attach_interface(self, instance_uuid, vif):
        raise NotImplementedError

    def detach_interface(self, instance_uuid, vif):
        raise NotImplementedError
