"""LibvirtDriver: KVM/QEMU guests through libvirt (DESIGN §6).

Per guest, under ``instances_path/<uuid>/``: ``disk`` (qcow2 overlay on the cached image,
sized to the flavor), ``disk.eph0`` and ``disk.swap`` when the flavor asks, ``disk.config``
(the config drive) and ``console.log`` (the serial console, kept by virtlogd). The serial
port is a TCP chardev on ``console_host``, bound to a free port of ``serial_port_range``.
"""
import fcntl
import shutil
import socket
from contextlib import contextmanager
from pathlib import Path

from ..base import (ComputeDriver, ComputeDriverError, InstanceExists, InstanceInfo, InstanceSpec, RUNNING)
from . import disk as disk_ops
from .config import GuestConfig, GuestDisk, GuestGraphics, GuestInterface, GuestSerial, parse_serial_port
from .host import Host
from .imagecache import ImageCache

GiB = 1024 ** 3
CONSOLE_TAIL = 100 * 1024
DEFAULTS = {"connection_uri": "qemu:///system", "virt_type": "qemu", "instances_path": "/var/lib/monostack/instances",
            "image_cache_dir": "", "console_host": "127.0.0.1", "serial_port_range": "10000:20000",
            "vnc_listen": "127.0.0.1", "shutdown_timeout": 10, "image_fetch_timeout": 60}


class LibvirtDriver(ComputeDriver):
    def __init__(self, conf=None):
        super().__init__({**DEFAULTS, **{k: v for k, v in (conf or {}).items() if v not in (None, "")}})
        self.instances = Path(self.conf["instances_path"])
        self.image_cache = ImageCache(self.conf["image_cache_dir"] or self.instances / "_base",
                                      timeout=int(self.conf["image_fetch_timeout"]))
        self._host = Host(self.conf["connection_uri"])

    def init_host(self, host):
        self.host = host
        self.instances.mkdir(parents=True, exist_ok=True)
        self._host.get_connection()
        return self.get_available_resource()

    # --- helpers ---------------------------------------------------------------------
    def _dir(self, uuid):
        return self.instances / uuid

    @contextmanager
    def _host_lock(self):
        self.instances.mkdir(parents=True, exist_ok=True)
        with open(self.instances / ".define.lock", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            yield

    def _free_serial_port(self):
        lo, hi = (int(x) for x in str(self.conf["serial_port_range"]).split(":"))
        used = set()
        for guest in self._host.list_guests():
            try:
                port = parse_serial_port(guest.xml())
            except ComputeDriverError:
                continue
            if port:
                used.add(port)
        for port in range(lo, hi + 1):
            if port in used:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                try:
                    probe.bind((self.conf["console_host"], port))
                except OSError:
                    continue
            return port
        raise ComputeDriverError(f"no free serial console port in {self.conf['serial_port_range']}")

    def _build_disks(self, instance, directory):
        disks = []
        if instance.image is None:
            raise ComputeDriverError("booting without an image needs block storage")
        base = self.image_cache.fetch(instance.image)
        base_format = disk_ops.image_info(base)["format"]
        if base_format not in ("qcow2", "raw"):
            raise ComputeDriverError(f"cached image {instance.image.id} has format {base_format}")
        virtual = int(disk_ops.image_info(base).get("virtual-size") or 0)
        wanted = instance.root_gb * GiB
        if wanted and wanted < virtual:
            raise ComputeDriverError(f"flavor's disk ({instance.root_gb} GB) is smaller than the image "
                                     f"({virtual} bytes)")
        root = directory / "disk"
        disk_ops.create_overlay(root, base=base, base_format=base_format, size_bytes=max(wanted, virtual) or None)
        disks.append(GuestDisk(path=str(root), target_dev="vda"))
        letters = iter("bcdefgh")
        if instance.ephemeral_gb:
            eph = directory / "disk.eph0"
            disk_ops.create_blank(eph, size_bytes=instance.ephemeral_gb * GiB)
            disks.append(GuestDisk(path=str(eph), target_dev=f"vd{next(letters)}"))
        if instance.swap_mb:
            swap = directory / "disk.swap"
            disk_ops.create_blank(swap, size_bytes=instance.swap_mb * 1024 * 1024)
            disks.append(GuestDisk(path=str(swap), target_dev=f"vd{next(letters)}"))
        if instance.config_drive is not None:
            drive = directory / "disk.config"
            disk_ops.make_config_drive(drive, instance.config_drive)
            disks.append(GuestDisk(path=str(drive), target_dev=f"vd{next(letters)}", driver_format="raw",
                                   readonly=True))
        return disks

    def guest_config(self, instance: InstanceSpec, disks, serial_port):
        config = GuestConfig(virt_type=self.conf["virt_type"], uuid=instance.uuid, name=instance.name,
                             memory_mb=instance.memory_mb, vcpus=instance.vcpus,
                             metadata={"hostname": instance.hostname, "host": getattr(self, "host", "")})
        for d in disks:
            config.add_device(d)
        for vif in instance.vifs:
            vif_type = "bridge" if vif.vif_type == "libvirt-bridge" else "ethernet"
            config.add_device(GuestInterface(mac=vif.mac, devname=vif.devname, vif_type=vif_type, bridge=vif.bridge,
                                             mtu=vif.mtu))
        config.add_device(GuestSerial(host=self.conf["console_host"], port=serial_port,
                                      log_path=str(self._dir(instance.uuid) / "console.log")))
        config.add_device(GuestGraphics(listen=self.conf["vnc_listen"]))
        return config

    # --- the driver interface --------------------------------------------------------
    def spawn(self, instance: InstanceSpec):
        existing = self._host.find_guest(instance.uuid)
        directory = self._dir(instance.uuid)
        if existing is not None:
            if not (directory / "disk").exists():
                raise InstanceExists(f"Instance {instance.uuid} already exists.")
            existing.launch()  # a re-sent spawn of a guest that was made: just make sure it runs
            return {"power_state": existing.info().state, "console": self._console_of(existing)}
        directory.mkdir(parents=True, exist_ok=True)
        try:
            disks = self._build_disks(instance, directory)
            with self._host_lock():
                port = self._free_serial_port()
                guest = self._host.define_guest(self.guest_config(instance, disks, port).to_xml())
            guest.launch()
            return {"power_state": RUNNING, "console": {"type": "serial", "host": self.conf["console_host"],
                                                        "port": port}}
        except Exception:
            self.destroy(instance.uuid)
            raise

    def _console_of(self, guest):
        return {"type": "serial", "host": self.conf["console_host"], "port": parse_serial_port(guest.xml())}

    def destroy(self, instance_uuid, *, cleanup=True):
        guest = self._host.find_guest(instance_uuid)
        if guest is not None:
            guest.poweroff()
            guest.undefine()
        if cleanup:
            shutil.rmtree(self._dir(instance_uuid), ignore_errors=True)

    def reboot(self, instance_uuid, *, hard=False):
        guest = self._host.get_guest(instance_uuid)
        if not hard and guest.is_active() and guest.reboot_soft(float(self.conf["shutdown_timeout"])):
            return
        guest.poweroff()
        guest.launch()

    def power_off(self, instance_uuid, *, timeout=None):
        guest = self._host.get_guest(instance_uuid)
        timeout = float(self.conf["shutdown_timeout"] if timeout is None else timeout)
        if timeout <= 0 or not guest.shutdown(timeout):
            guest.poweroff()

    def power_on(self, instance_uuid):
        self._host.get_guest(instance_uuid).launch()

    def get_info(self, instance_uuid) -> InstanceInfo:
        return self._host.get_guest(instance_uuid).info()

    def list_instances(self):
        return sorted(g.uuid for g in self._host.list_guests())

    def get_console_output(self, instance_uuid):
        self._host.get_guest(instance_uuid)
        log = self._dir(instance_uuid) / "console.log"
        try:
            with open(log, "rb") as fh:
                fh.seek(0, 2)
                fh.seek(max(0, fh.tell() - CONSOLE_TAIL))
                return fh.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def get_available_resource(self):
        capacity = self._host.get_capacity()
        usage = shutil.disk_usage(self.instances)
        return {"vcpus": capacity["vcpus"], "memory_mb": capacity["memory_mb"], "local_gb": usage.total // GiB,
                "hypervisor_type": "QEMU" if self.conf["virt_type"] == "qemu" else "KVM",
                "hypervisor_version": capacity["hypervisor_version"], "cpu_arch": capacity["cpu_arch"]}

    def instance_files(self, instance_uuid):
        directory = self._dir(instance_uuid)
        return sorted(str(p) for p in directory.rglob("*")) if directory.exists() else []
