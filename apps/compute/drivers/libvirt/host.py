"""The libvirt connection of a host: one shared connection per URI, reopened when it dies."""
import threading

import libvirt

from ..base import ComputeDriverError, InstanceNotFound
from .guest import Guest

_connections = {}
_lock = threading.Lock()


def _quiet(ctx, err):  # libvirt prints every error to stderr by default; we raise instead
    pass


libvirt.registerErrorHandler(_quiet, None)


class Host:
    def __init__(self, uri="qemu:///system"):
        self.uri = uri

    def get_connection(self):
        with _lock:
            conn = _connections.get(self.uri)
            if conn is not None:
                try:
                    if conn.isAlive():
                        return conn
                except libvirt.libvirtError:
                    pass
            try:
                conn = libvirt.open(self.uri)
            except libvirt.libvirtError as e:
                raise ComputeDriverError(f"cannot connect to libvirt at {self.uri}: {e}") from e
            _connections[self.uri] = conn
            return conn

    def get_guest(self, uuid):
        try:
            return Guest(self.get_connection().lookupByUUIDString(uuid))
        except libvirt.libvirtError as e:
            if e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                raise InstanceNotFound(f"Instance {uuid} could not be found.") from e
            raise ComputeDriverError(str(e)) from e

    def find_guest(self, uuid):
        try:
            return self.get_guest(uuid)
        except InstanceNotFound:
            return None

    def define_guest(self, xml):
        try:
            return Guest(self.get_connection().defineXML(xml))
        except libvirt.libvirtError as e:
            raise ComputeDriverError(f"libvirt refused the domain: {e}") from e

    def list_guests(self):
        return [Guest(d) for d in self.get_connection().listAllDomains(0)]

    def get_capacity(self):
        model, memory_mb, cpus, *_ = self.get_connection().getInfo()
        return {"cpu_arch": model, "memory_mb": memory_mb, "vcpus": cpus,
                "hypervisor_version": self.get_connection().getVersion()}
