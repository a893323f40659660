"""One libvirt domain (Nova's Guest): start, stop, reboot, state, undefine."""
import time

import libvirt

from ..base import CRASHED, NOSTATE, PAUSED, RUNNING, SHUTDOWN, SUSPENDED, ComputeDriverError, InstanceInfo

# libvirt's domain states -> Nova's power states
_POWER = {libvirt.VIR_DOMAIN_NOSTATE: NOSTATE, libvirt.VIR_DOMAIN_RUNNING: RUNNING,
          libvirt.VIR_DOMAIN_BLOCKED: RUNNING, libvirt.VIR_DOMAIN_PAUSED: PAUSED,
          libvirt.VIR_DOMAIN_SHUTDOWN: SHUTDOWN, libvirt.VIR_DOMAIN_SHUTOFF: SHUTDOWN,
          libvirt.VIR_DOMAIN_CRASHED: CRASHED, libvirt.VIR_DOMAIN_PMSUSPENDED: SUSPENDED}


def _call(fn, *args):
    try:
        return fn(*args)
    except libvirt.libvirtError as e:
        raise ComputeDriverError(str(e)) from e


class Guest:
    def __init__(self, domain):
        self._domain = domain

    @property
    def uuid(self):
        return self._domain.UUIDString()

    @property
    def name(self):
        return self._domain.name()

    @property
    def id(self):
        return self._domain.ID()

    def xml(self):
        return _call(self._domain.XMLDesc, 0)

    def is_active(self):
        return bool(_call(self._domain.isActive))

    def info(self):
        state, max_mem, mem, ncpu, cpu_time = _call(self._domain.info)
        return InstanceInfo(state=_POWER.get(state, NOSTATE), max_mem_kb=max_mem, mem_kb=mem, num_cpu=ncpu,
                            cpu_time_ns=cpu_time)

    def launch(self):
        if not self.is_active():
            _call(self._domain.create)

    def poweroff(self):
        """Force off (virDomainDestroy); a guest that is already off is fine."""
        try:
            if self._domain.isActive():
                self._domain.destroy()
        except libvirt.libvirtError as e:
            if e.get_error_code() != libvirt.VIR_ERR_OPERATION_INVALID:
                raise ComputeDriverError(str(e)) from e

    def shutdown(self, timeout):
        """ACPI shutdown, waiting up to ``timeout`` seconds; True if the guest went off."""
        if not self.is_active():
            return True
        try:
            self._domain.shutdown()
        except libvirt.libvirtError:
            return False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.is_active():
                return True
            time.sleep(0.2)
        return not self.is_active()

    def reboot_soft(self, timeout):
        """ACPI reboot; True if the guest restarted in time (its domain id changes on a
        reset only when QEMU is restarted, so we watch the guest's run time instead)."""
        try:
            before = self._domain.info()[4]
            self._domain.reboot(libvirt.VIR_DOMAIN_REBOOT_ACPI_POWER_BTN)
        except libvirt.libvirtError:
            return False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(0.2)
            try:
                if self._domain.info()[4] < before:
                    return True
            except libvirt.libvirtError:
                return False
        return False

    def undefine(self):
        try:
            self._domain.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)
        except libvirt.libvirtError as e:
            if e.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                raise ComputeDriverError(str(e)) from e
