"""Small disk-image headers built in Python, enough for the inspector (and, for qcow2, for qemu-img)."""
import struct

SECTOR = 512


def qcow2(virtual_size=1 << 30, *, backing=None, data_file_bit=False, data_file_ext=None, version=3,
          unknown_incompat=False):
    cluster_bits = 16
    cluster = 1 << cluster_bits
    header_length = 104 if version == 3 else 72
    backing_bytes = backing.encode() if backing else b""
    ext = b""
    if data_file_ext:
        name = data_file_ext.encode()
        ext = struct.pack(">II", 0x44415441, len(name)) + name + b"\0" * ((8 - len(name) % 8) % 8)
    ext += struct.pack(">II", 0, 0)
    backing_offset = header_length + len(ext) if backing else 0
    incompat = (4 if data_file_bit else 0) | (1 << 10 if unknown_incompat else 0)
    l1_entries = max(1, (virtual_size + (cluster * cluster // 8) - 1) // (cluster * cluster // 8))
    header = struct.pack(">4sIQIIQIIQQIIQ", b"QFI\xfb", version, backing_offset, len(backing_bytes),
                         cluster_bits, virtual_size, 0, l1_entries, 3 * cluster, cluster, 1, 0, 0)
    if version == 3:
        header += struct.pack(">QQQII", incompat, 0, 0, 4, header_length)
    first = (header + ext + backing_bytes).ljust(cluster, b"\0")
    refcount_table = struct.pack(">Q", 2 * cluster).ljust(cluster, b"\0")
    refcounts = (struct.pack(">H", 1) * 4).ljust(cluster, b"\0")
    l1 = b"\0" * cluster
    return first + refcount_table + refcounts + l1


def vmdk_sparse(capacity_sectors=2048, *, create_type="monolithicSparse", extents=None):
    extents = extents if extents is not None else ['RW 2048 SPARSE "disk.vmdk"']
    descriptor = ("# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"
                  f'createType="{create_type}"\n\n# Extent description\n' + "\n".join(extents) + "\n").encode()
    desc_sectors = (len(descriptor) + SECTOR - 1) // SECTOR
    header = struct.pack("<4sIIQQQQ", b"KDMV", 1, 3, capacity_sectors, 128, 1, desc_sectors)
    return header.ljust(SECTOR, b"\0") + descriptor.ljust(desc_sectors * SECTOR, b"\0")


def vmdk_descriptor_only():
    return (b'# Disk DescriptorFile\nversion=1\ncreateType="monolithicFlat"\n'
            b'RW 2048 FLAT "/etc/shadow" 0\n')


def vhd_fixed(size=1 << 20):
    footer = bytearray(SECTOR)
    footer[:8] = b"conectix"
    struct.pack_into(">Q", footer, 40, size)
    struct.pack_into(">Q", footer, 48, size)
    return b"\0" * size + bytes(footer)


def vdi(size=1 << 24):
    header = bytearray(0x200)
    header[:0x20] = b"<<< Oracle VM VirtualBox Disk Image >>>\n"[:0x20]
    struct.pack_into("<I", header, 0x40, 0xBEDA107F)
    struct.pack_into("<Q", header, 0x170, size)
    return bytes(header)


def iso():
    data = bytearray(0x9000)
    data[0x8001:0x8006] = b"CD001"
    return bytes(data)
