"""qemu-img, run with the format named and under CPU and address-space limits (as oslo's
processutils.ProcessLimits does for Glance and Nova), so a crafted image can neither make it
probe another format nor eat the API host."""
import json
import os
import resource
import shutil
import subprocess

from .base import ImageToolDriver, ImageToolError, ToolImageInfo

QEMU_IMG = "qemu-img"
# qemu-img names vhd "vpc".
QEMU_FORMAT = {"vhd": "vpc"}


class QemuImgDriver(ImageToolDriver):
    def __init__(self, cpu_seconds=30, memory_mb=1024, timeout=120, binary=QEMU_IMG):
        self.cpu_seconds = int(cpu_seconds)
        self.memory_bytes = int(memory_mb) * 1024 * 1024
        self.timeout = timeout
        self.binary = binary

    def available(self):
        return shutil.which(self.binary) is not None

    def _limits(self):
        resource.setrlimit(resource.RLIMIT_CPU, (self.cpu_seconds, self.cpu_seconds))
        resource.setrlimit(resource.RLIMIT_AS, (self.memory_bytes, self.memory_bytes))

    def info(self, path, *, disk_format):
        fmt = QEMU_FORMAT.get(disk_format, disk_format)
        cmd = [self.binary, "info", "-f", fmt, "--output=json", path]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=self.timeout, preexec_fn=self._limits,
                                  env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"},
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:
            raise ImageToolError("qemu-img info timed out") from e
        except OSError as e:
            raise ImageToolError(f"qemu-img could not run: {e.strerror}") from e
        if proc.returncode != 0:
            if proc.returncode < 0:
                raise ImageToolError(f"qemu-img info was killed (signal {-proc.returncode}): "
                                     "the image exceeds the CPU or memory limits")
            raise ImageToolError(f"qemu-img info failed: {proc.stderr.decode(errors='replace').strip()[:500]}")
        try:
            data = json.loads(proc.stdout)
        except ValueError as e:
            raise ImageToolError("qemu-img info printed no JSON") from e
        specific = (data.get("format-specific") or {}).get("data") or {}
        found = {v: k for k, v in QEMU_FORMAT.items()}.get(data.get("format"), data.get("format"))
        return ToolImageInfo(format=found, virtual_size=int(data.get("virtual-size") or 0),
                             backing_file=data.get("backing-filename") or data.get("full-backing-filename"),
                             data_file=specific.get("data-file"))
