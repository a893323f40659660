"""Reads a disk image's header, in plain Python, before anything (qemu-img, a hypervisor) opens it.

The checks stop the class of attacks behind CVE-2022-47951 and CVE-2024-32498: a qcow2 with a
``backing_file`` or an external ``data-file``, or a VMDK whose extents name other files, makes
whatever opens it read a file of the host's choosing. ``inspect()`` finds the format, the
virtual size and whether the image is safe; it never trusts the declared disk_format.

Pure Python over a seekable binary file: compute's hosts use it on fetched images too.
"""
import re
import struct
import uuid
from dataclasses import dataclass

SECTOR = 512
HEAD = 64 * 1024
MAX_DESCRIPTOR = 1024 * 1024

# Formats we recognise by their magic; anything else is "raw".
INSPECTABLE = ("qcow2", "vmdk", "vhd", "vhdx", "vdi", "qed", "luks", "iso")
# Declared formats that cannot be recognised, so any unrecognised payload is accepted.
OPAQUE = ("raw", "ami", "ari", "aki", "ploop")

QCOW2_INCOMPAT_DATA_FILE = 1 << 2
QCOW2_INCOMPAT_KNOWN = 0b11111  # dirty, corrupt, external data file, compression type, extended L2
QCOW2_EXT_DATA_FILE = 0x44415441
VMDK_ALLOWED_TYPES = ("monolithicSparse", "streamOptimized")

VHDX_METADATA_REGION = uuid.UUID("8b7ca206-4790-4b9a-b8fe-575f050f886e")
VHDX_VIRTUAL_DISK_SIZE = uuid.UUID("2fa54224-cd1b-4876-b211-5dbed83bf4b8")


class ImageFormatError(ValueError):
    """The data is not what it claims, or cannot be read as any format."""


class SafetyCheckFailed(ValueError):
    """The image would make its reader open other files."""


@dataclass(frozen=True)
class ImageInfo:
    format: str
    virtual_size: int | None


def _read(f, offset, length):
    f.seek(offset)
    return f.read(length)


def _size(f):
    pos = f.tell()
    end = f.seek(0, 2)
    f.seek(pos)
    return end


def detect(f, size=None):
    """The format of the data in ``f`` ("qcow2", "vmdk", ..., or "raw")."""
    size = _size(f) if size is None else size
    head = _read(f, 0, HEAD)
    if head[:4] == b"QFI\xfb":
        return "qcow2"
    if head[:4] == b"KDMV" or head.lstrip().startswith(b"# Disk DescriptorFile"):
        return "vmdk"
    if head[:8] == b"vhdxfile":
        return "vhdx"
    if head[:4] == b"QED\x00":
        return "qed"
    if head[:6] == b"LUKS\xba\xbe":
        return "luks"
    if len(head) >= 0x44 and struct.unpack_from("<I", head, 0x40)[0] == 0xBEDA107F:
        return "vdi"
    if head[:8] == b"conectix" or (size >= SECTOR and _read(f, size - SECTOR, 8) == b"conectix"):
        return "vhd"
    if size > 0x8006 and any(_read(f, off, 6)[1:6] == b"CD001" for off in (0x8000, 0x8800, 0x9000)):
        return "iso"
    return "raw"


def inspect(f, *, disk_format, size=None):
    """Check the data in ``f`` against its declared ``disk_format``; return ImageInfo.

    Raises ImageFormatError when the data does not match (a declared qcow2 that is not one)
    and SafetyCheckFailed when the detected format would reach other files. As Glance does, a
    payload declared raw (or another opaque format) may be anything that passes the safety
    checks, and then its virtual size is its size.
    """
    size = _size(f) if size is None else size
    detected = detect(f, size)
    if detected == "qcow2":
        virtual_size = _qcow2(f)
    elif detected == "vmdk":
        virtual_size = _vmdk(f)
    elif detected == "vhd":
        virtual_size = _vhd(f, size)
    elif detected == "vhdx":
        virtual_size = _vhdx(f)
    elif detected == "vdi":
        virtual_size = _vdi(f)
    elif detected in ("qed", "luks"):
        virtual_size = None
    else:  # raw, iso
        virtual_size = size
    if detected == disk_format or (detected == "raw" and disk_format == "iso"):
        return ImageInfo(disk_format, virtual_size)
    if disk_format in OPAQUE or (disk_format == "iso" and detected == "raw"):
        return ImageInfo(disk_format, size)
    raise ImageFormatError(f"Image disk_format {disk_format} does not match stream data {detected}")


def _qcow2(f):
    header = _read(f, 0, 112)
    if len(header) < 72:
        raise ImageFormatError("qcow2 header is truncated")
    version, backing_offset, backing_size, cluster_bits, virtual_size = struct.unpack_from(">IQIIQ", header, 4)
    if version not in (2, 3):
        raise ImageFormatError(f"qcow2 version {version} is not supported")
    if not 9 <= cluster_bits <= 21:
        raise ImageFormatError("qcow2 cluster size is invalid")
    if backing_offset or backing_size:
        raise SafetyCheckFailed("qcow2 image has a backing file")
    if version == 3:
        if len(header) < 104:
            raise ImageFormatError("qcow2 v3 header is truncated")
        incompatible, = struct.unpack_from(">Q", header, 72)
        header_length, = struct.unpack_from(">I", header, 100)
        if incompatible & QCOW2_INCOMPAT_DATA_FILE:
            raise SafetyCheckFailed("qcow2 image has an external data file")
        if incompatible & ~QCOW2_INCOMPAT_KNOWN:
            raise SafetyCheckFailed("qcow2 image has unknown incompatible features")
        _qcow2_extensions(f, header_length, 1 << cluster_bits)
    else:
        _qcow2_extensions(f, 72, 1 << cluster_bits)
    return virtual_size


def _qcow2_extensions(f, offset, cluster_size):
    # Header extensions run from the end of the header to the end of the first cluster.
    data = _read(f, offset, max(0, min(cluster_size, HEAD) - offset))
    pos = 0
    while pos + 8 <= len(data):
        ext_type, length = struct.unpack_from(">II", data, pos)
        if ext_type == 0:
            return
        if ext_type == QCOW2_EXT_DATA_FILE:
            raise SafetyCheckFailed("qcow2 image names an external data file")
        pos += 8 + ((length + 7) & ~7)


_EXTENT = re.compile(r'^\s*(RW|RDONLY|NOACCESS)\s+(\d+)\s+(\S+)(?:\s+"([^"]*)")?', re.MULTILINE)
_CREATE_TYPE = re.compile(r'^\s*createType\s*=\s*"([^"]*)"', re.MULTILINE)


def _vmdk(f):
    header = _read(f, 0, SECTOR)
    if header[:4] != b"KDMV":
        # A bare descriptor file: every extent is another file.
        raise SafetyCheckFailed("VMDK descriptor names extents in other files")
    capacity, _grain, desc_offset, desc_size = struct.unpack_from("<QQQQ", header, 12)
    if not desc_offset or not desc_size:
        return capacity * SECTOR  # a lone sparse extent: it reads nothing but itself
    length = desc_size * SECTOR
    if length > MAX_DESCRIPTOR:
        raise ImageFormatError("VMDK descriptor is too large")
    text = _read(f, desc_offset * SECTOR, length).split(b"\0", 1)[0].decode("ascii", "replace")
    create_type = _CREATE_TYPE.search(text)
    if not create_type or create_type.group(1) not in VMDK_ALLOWED_TYPES:
        found = create_type.group(1) if create_type else "none"
        raise SafetyCheckFailed(f"VMDK createType {found} is not allowed")
    extents = _EXTENT.findall(text)
    if len(extents) > 1:
        raise SafetyCheckFailed("VMDK has more than one extent")
    for _access, _sectors, kind, _name in extents:
        if kind.upper() not in ("SPARSE", "VMFSSPARSE", "SESPARSE"):
            raise SafetyCheckFailed(f"VMDK extent of type {kind} names another file")
    return capacity * SECTOR


def _vhd(f, size):
    footer = _read(f, size - SECTOR, SECTOR) if size >= SECTOR else b""
    if footer[:8] != b"conectix":
        footer = _read(f, 0, SECTOR)
    if len(footer) < 56:
        raise ImageFormatError("VHD footer is truncated")
    return struct.unpack_from(">Q", footer, 48)[0]


def _vhdx(f):
    regions = _read(f, 192 * 1024, 64 * 1024)
    if regions[:4] != b"regi":
        raise ImageFormatError("VHDX region table is missing")
    count, = struct.unpack_from("<I", regions, 8)
    for i in range(min(count, 2047)):
        entry = regions[16 + 32 * i: 48 + 32 * i]
        if len(entry) < 32:
            break
        guid = uuid.UUID(bytes_le=entry[:16])
        offset, = struct.unpack_from("<Q", entry, 16)
        if guid == VHDX_METADATA_REGION:
            return _vhdx_metadata(f, offset)
    raise ImageFormatError("VHDX metadata region is missing")


def _vhdx_metadata(f, region_offset):
    table = _read(f, region_offset, 64 * 1024)
    if table[:8] != b"metadata":
        raise ImageFormatError("VHDX metadata table is missing")
    count, = struct.unpack_from("<H", table, 10)
    for i in range(min(count, 2047)):
        entry = table[32 + 32 * i: 64 + 32 * i]
        if len(entry) < 32:
            break
        if uuid.UUID(bytes_le=entry[:16]) == VHDX_VIRTUAL_DISK_SIZE:
            item_offset, = struct.unpack_from("<I", entry, 16)
            data = _read(f, region_offset + item_offset, 8)
            if len(data) < 8:
                raise ImageFormatError("VHDX virtual size is truncated")
            return struct.unpack("<Q", data)[0]
    raise ImageFormatError("VHDX virtual size is missing")


def _vdi(f):
    header = _read(f, 0, 0x178)
    if len(header) < 0x178:
        raise ImageFormatError("VDI header is truncated")
    return struct.unpack_from("<Q", header, 0x170)[0]
