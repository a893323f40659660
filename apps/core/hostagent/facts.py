"""Facts a host reports about itself, read from the kernel (no commands, no database)."""
import os

from django.conf import settings


def _meminfo():
    values = {}
    with open("/proc/meminfo") as fh:
        for line in fh:
            key, _, rest = line.partition(":")
            values[key] = int(rest.split()[0])  # kB
    return values


def host_facts():
    """What the conductor records on the Host row, plus current free capacity."""
    conf = settings.MONOSTACK
    state_dir = conf["DEFAULT"]["state_dir"]
    os.makedirs(state_dir, exist_ok=True)  # the agent keeps its step records there anyway
    mem = _meminfo()
    disk = os.statvfs(state_dir)
    gib = 1024 ** 3
    return {
        "hostname": conf["DEFAULT"]["hostname"],
        "cpus": os.cpu_count() or 1,
        "memory_mb": mem["MemTotal"] // 1024,
        "memory_available_mb": mem.get("MemAvailable", mem.get("MemFree", 0)) // 1024,
        "disk_gb": disk.f_blocks * disk.f_frsize // gib,
        "disk_available_gb": disk.f_bavail * disk.f_frsize // gib,
        "hypervisor_type": conf["agent"]["hypervisor_type"],
        "load_average": list(os.getloadavg()),
    }
