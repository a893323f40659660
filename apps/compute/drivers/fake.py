"""In-memory compute driver: the default in unit tests and a scale rig (DESIGN §2, STYLE 9).

State lives in a class-level dict keyed by host name, so many fake hosts can share one
process (eager unit tests, the 200-server benchmark). It raises the same errors as the
real driver and claims resources: a host with too little memory left refuses a spawn.
Failure injection: ``FakeComputeDriver.fail_spawn_on`` (host names whose spawns fail),
``FakeFailingSpawnDriver`` (every spawn fails), or an instance whose ``extra`` carries
``{"fake_fail": "spawn"}``.
"""
import threading

from .base import (CRASHED, RUNNING, SHUTDOWN, ComputeDriver, ComputeDriverError, InstanceExists, InstanceInfo,
                   InstanceNotFound, InsufficientResources, InstanceSpec)


class FakeComputeDriver(ComputeDriver):
    _lock = threading.Lock()
    hosts = {}            # host -> {uuid: {"spec": dict, "state": int, "console": [str]}}
    fail_spawn_on = set()

    @classmethod
    def reset(cls):
        with cls._lock:
            cls.hosts.clear()
            cls.fail_spawn_on.clear()

    def init_host(self, host):
        self.host = host
        with self._lock:
            self.hosts.setdefault(host, {})
        return self.get_available_resource()

    @property
    def _guests(self):
        return self.hosts.setdefault(getattr(self, "host", None) or self.conf.get("host", "fake-host"), {})

    def _get(self, uuid):
        guest = self._guests.get(uuid)
        if guest is None:
            raise InstanceNotFound(f"Instance {uuid} could not be found.")
        return guest

    def _fits(self, spec):
        used = sum(g["spec"]["memory_mb"] for g in self._guests.values())
        return used + spec.memory_mb <= int(self.conf.get("fake_memory_mb", 1024 * 1024))

    def spawn(self, instance: InstanceSpec):
        with self._lock:
            if instance.uuid in self._guests:
                raise InstanceExists(f"Instance {instance.uuid} already exists.")
            if self.host in self.fail_spawn_on or instance.extra.get("fake_fail") == "spawn":
                raise ComputeDriverError(f"injected spawn failure on {self.host}")
            if not self._fits(instance):
                raise InsufficientResources(f"not enough memory on {self.host} for {instance.memory_mb} MB")
            if instance.image is not None and not instance.image.url:
                raise ComputeDriverError("image has no URL to fetch it from")
            self._guests[instance.uuid] = {"spec": instance.as_dict(), "state": RUNNING,
                                           "console": [f"fake guest {instance.name} booting",
                                                       f"hostname {instance.hostname}"]}
        return {"power_state": RUNNING, "console": {"type": "fake"}}

    def destroy(self, instance_uuid, *, cleanup=True):
        with self._lock:
            self._guests.pop(instance_uuid, None)

    def reboot(self, instance_uuid, *, hard=False):
        with self._lock:
            guest = self._get(instance_uuid)
            guest["state"] = RUNNING
            guest["console"].append("reboot (hard)" if hard else "reboot")

    def power_off(self, instance_uuid, *, timeout=0):
        with self._lock:
            self._get(instance_uuid)["state"] = SHUTDOWN

    def power_on(self, instance_uuid):
        with self._lock:
            guest = self._get(instance_uuid)
            guest["state"] = RUNNING
            guest["console"].append("power on")

    def get_info(self, instance_uuid):
        guest = self._get(instance_uuid)
        spec = guest["spec"]
        return InstanceInfo(state=guest["state"], max_mem_kb=spec["memory_mb"] * 1024,
                            mem_kb=spec["memory_mb"] * 1024, num_cpu=spec["vcpus"])

    def list_instances(self):
        return sorted(self._guests)

    def get_console_output(self, instance_uuid):
        return "\n".join(self._get(instance_uuid)["console"]) + "\n"

    def get_available_resource(self):
        return {"vcpus": int(self.conf.get("fake_vcpus", 64)),
                "memory_mb": int(self.conf.get("fake_memory_mb", 1024 * 1024)),
                "local_gb": int(self.conf.get("fake_disk_gb", 10000)),
                "hypervisor_type": "fake", "hypervisor_version": 1000, "cpu_arch": "x86_64"}

    # test helpers ---------------------------------------------------------------------
    def crash(self, instance_uuid):
        """The guest died behind our back (power-state sync tests)."""
        self._get(instance_uuid)["state"] = CRASHED

    def kill(self, instance_uuid):
        self._get(instance_uuid)["state"] = SHUTDOWN


class FakeFailingSpawnDriver(FakeComputeDriver):
    """Every spawn fails (reschedule and ERROR paths)."""

    def spawn(self, instance):
        raise ComputeDriverError(f"injected spawn failure on {self.host}")
