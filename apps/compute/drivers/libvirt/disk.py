"""Instance disks and the config drive: qemu-img and genisoimage, confined to this module."""
import base64
import json
import os
import subprocess
import tempfile
from pathlib import Path

from ..base import ComputeDriverError


def _run(argv, timeout=120):
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise ComputeDriverError(f"{argv[0]} failed: {e}") from e
    if result.returncode != 0:
        raise ComputeDriverError(f"{' '.join(argv[:2])} failed: {result.stderr.strip()[:500]}")
    return result.stdout


def image_info(path):
    return json.loads(_run(["qemu-img", "info", "--output=json", str(path)]))


def create_overlay(path, *, base, base_format, size_bytes=None):
    """A qcow2 overlay on the cached image, grown to ``size_bytes`` (never shrunk)."""
    argv = ["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(base), "-F", base_format, str(path)]
    if size_bytes:
        argv.append(str(size_bytes))
    _run(argv)


def create_blank(path, *, size_bytes):
    _run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), str(size_bytes)])


def make_config_drive(path, files):
    """An ISO 9660 image labelled ``config-2`` holding ``files`` ({relative path: text})."""
    with tempfile.TemporaryDirectory(prefix="configdrive-") as tmp:
        root = Path(tmp)
        for rel, content in files.items():
            target = (root / rel).resolve()
            if root.resolve() not in target.parents:
                raise ComputeDriverError(f"config drive path {rel!r} escapes the drive")
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, dict):  # binary content travels as {"b64": ...} in the DTO
                data = base64.b64decode(content["b64"])
            else:
                data = content.encode() if isinstance(content, str) else bytes(content)
            target.write_bytes(data)
        _run(["genisoimage", "-o", str(path), "-ldots", "-allow-lowercase", "-allow-multidot", "-l",
              "-publisher", "Monostack", "-quiet", "-J", "-r", "-V", "config-2", str(root)])
    os.chmod(path, 0o644)
