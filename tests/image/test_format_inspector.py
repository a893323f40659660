"""Header inspection: formats, virtual sizes, and refusal of images that reach other files
(qcow2 backing_file / data-file, VMDK extents naming other files)."""
import io

import pytest

from apps.image import format_inspector as fi

from . import diskimages


def inspect(data, disk_format):
    return fi.inspect(io.BytesIO(data), disk_format=disk_format)


def test_qcow2_virtual_size():
    assert inspect(diskimages.qcow2(5 << 30), "qcow2") == fi.ImageInfo("qcow2", 5 << 30)
    assert inspect(diskimages.qcow2(1 << 20, version=2), "qcow2").virtual_size == 1 << 20


@pytest.mark.parametrize("data,reason", [
    (diskimages.qcow2(backing="/etc/passwd"), "backing file"),
    (diskimages.qcow2(data_file_bit=True), "external data file"),
    (diskimages.qcow2(data_file_ext="/dev/sda"), "external data file"),
    (diskimages.qcow2(unknown_incompat=True), "unknown incompatible"),
])
def test_unsafe_qcow2_is_refused(data, reason):
    with pytest.raises(fi.SafetyCheckFailed, match=reason):
        inspect(data, "qcow2")
    # Declaring it raw does not get it past the checks.
    with pytest.raises(fi.SafetyCheckFailed):
        inspect(data, "raw")


def test_vmdk():
    assert inspect(diskimages.vmdk_sparse(4096), "vmdk") == fi.ImageInfo("vmdk", 4096 * 512)
    assert inspect(diskimages.vmdk_sparse(create_type="streamOptimized"), "vmdk").format == "vmdk"


@pytest.mark.parametrize("data", [
    diskimages.vmdk_descriptor_only(),
    diskimages.vmdk_sparse(extents=['RW 2048 SPARSE "a.vmdk"', 'RW 2048 SPARSE "b.vmdk"']),
    diskimages.vmdk_sparse(extents=['RW 2048 FLAT "/etc/shadow" 0']),
    diskimages.vmdk_sparse(create_type="twoGbMaxExtentFlat"),
    diskimages.vmdk_sparse(create_type="monolithicFlat"),
])
def test_vmdk_naming_other_files_is_refused(data):
    with pytest.raises(fi.SafetyCheckFailed):
        inspect(data, "vmdk")
    with pytest.raises(fi.SafetyCheckFailed):
        inspect(data, "raw")


def test_other_formats():
    assert inspect(diskimages.vhd_fixed(1 << 20), "vhd") == fi.ImageInfo("vhd", 1 << 20)
    assert inspect(diskimages.vdi(1 << 24), "vdi") == fi.ImageInfo("vdi", 1 << 24)
    assert inspect(diskimages.iso(), "iso") == fi.ImageInfo("iso", 0x9000)
    assert inspect(b"\0" * 4096, "raw") == fi.ImageInfo("raw", 4096)
    assert inspect(b"kernel bytes", "aki") == fi.ImageInfo("aki", 12)
    assert inspect(b"", "raw") == fi.ImageInfo("raw", 0)


@pytest.mark.parametrize("data,declared", [
    (b"just some bytes" * 100, "qcow2"),
    (b"just some bytes" * 100, "vmdk"),
    (diskimages.qcow2(), "vmdk"),
    (diskimages.vdi(), "qcow2"),
])
def test_format_mismatch(data, declared):
    with pytest.raises(fi.ImageFormatError):
        inspect(data, declared)


def test_safe_qcow2_declared_raw_is_raw_sized():
    data = diskimages.qcow2(1 << 30)
    assert inspect(data, "raw") == fi.ImageInfo("raw", len(data))


def test_truncated_qcow2():
    with pytest.raises(fi.ImageFormatError):
        inspect(b"QFI\xfb\0\0\0\3", "qcow2")
