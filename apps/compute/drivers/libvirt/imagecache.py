"""The host's image cache: images fetched over HTTP with the host's credential, checksums
verified, headers inspected before anything opens them (DESIGN §6)."""
import fcntl
import hashlib
import os
import struct
import urllib.error
import urllib.request
from pathlib import Path

from ..base import ImageError

CHUNK = 1 << 20
QCOW2_MAGIC = b"QFI\xfb"
QCOW2_INCOMPAT_DATA_FILE = 1 << 2


def inspect_header(path, disk_format):
    """Refuse what could make QEMU open host files: qcow2 backing files or external data
    files, VMDK extents; and data that does not match its declared format."""
    with open(path, "rb") as fh:
        head = fh.read(512)
    if head[:4] == QCOW2_MAGIC:
        if disk_format != "qcow2":
            raise ImageError(f"image data is qcow2 but its disk_format is {disk_format}")
        if len(head) < 72:
            raise ImageError("truncated qcow2 header")
        version, = struct.unpack(">I", head[4:8])
        backing_offset, = struct.unpack(">Q", head[8:16])
        if backing_offset:
            raise ImageError("qcow2 image names a backing file: refused")
        if version >= 3 and len(head) >= 80:
            incompatible, = struct.unpack(">Q", head[72:80])
            if incompatible & QCOW2_INCOMPAT_DATA_FILE:
                raise ImageError("qcow2 image uses an external data file: refused")
        return "qcow2"
    if disk_format == "qcow2":
        raise ImageError("image is declared qcow2 but has no qcow2 header")
    if head[:4] == b"KDMV" or b"# Disk DescriptorFile" in head:
        raise ImageError("VMDK images are not accepted by this host")
    if disk_format not in ("raw", "iso"):
        raise ImageError(f"disk_format {disk_format} is not supported by this host")
    return "raw"


class ImageCache:
    def __init__(self, cache_dir, *, timeout=60):
        self.dir = Path(cache_dir)
        self.timeout = timeout

    def path_for(self, image_id):
        return self.dir / str(image_id)

    def fetch(self, image):
        """The cached, verified file of ``image`` (ImageSpec), downloading it once."""
        self.dir.mkdir(parents=True, exist_ok=True)
        target = self.path_for(image.id)
        with open(self.dir / f".{image.id}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if target.exists():
                os.utime(target)  # recently used
                return target
            tmp = self.dir / f".{image.id}.part"
            md5 = hashlib.md5(usedforsecurity=False)
            digest = hashlib.new(image.hash_algo) if image.hash_algo else None
            size = 0
            request = urllib.request.Request(image.url, headers=image.headers)
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response, open(tmp, "wb") as out:
                    while chunk := response.read(CHUNK):
                        out.write(chunk)
                        md5.update(chunk)
                        if digest is not None:
                            digest.update(chunk)
                        size += len(chunk)
            except (urllib.error.URLError, OSError) as e:
                tmp.unlink(missing_ok=True)
                raise ImageError(f"could not fetch image {image.id}: {e}") from e
            try:
                if image.size is not None and size != image.size:
                    raise ImageError(f"image {image.id}: got {size} bytes, expected {image.size}")
                if image.checksum and md5.hexdigest() != image.checksum:
                    raise ImageError(f"image {image.id}: checksum mismatch")
                if digest is not None and image.hash_value and digest.hexdigest() != image.hash_value:
                    raise ImageError(f"image {image.id}: {image.hash_algo} mismatch")
                inspect_header(tmp, image.disk_format)
            except ImageError:
                tmp.unlink(missing_ok=True)
                raise
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
            return target

    def remove_unused(self, in_use, *, max_age=86400):
        """Drop cached images no guest uses that were not used for ``max_age`` seconds."""
        import time
        removed = []
        for path in self.dir.glob("*"):
            if path.name.startswith(".") or path.name in in_use:
                continue
            if time.time() - path.stat().st_mtime > max_age:
                path.unlink(missing_ok=True)
                removed.append(path.name)
        return removed
