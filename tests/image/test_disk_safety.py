"""Uploads of disk images: the header is inspected before qemu-img ever sees the data; unsafe or
mismatched data is refused and leaves nothing; qemu-img runs under CPU/memory limits."""
import os
import shutil
import subprocess

import pytest

from apps.image.drivers.base import ImageToolError
from apps.image.drivers.fake import FakeImageToolDriver
from apps.image.drivers.qemu_img import QemuImgDriver

from . import diskimages

QEMU_IMG = shutil.which("qemu-img")
needs_qemu_img = pytest.mark.skipif(not QEMU_IMG, reason="qemu-img (qemu-utils) is not installed")


def files(image_conf):
    d = image_conf["store_dir"]
    return os.listdir(d) if os.path.isdir(d) else []


@pytest.mark.django_db
def test_qcow2_upload_gets_virtual_size(u1, image_conf):
    FakeImageToolDriver.calls.clear()
    image = u1.create(name="q", disk_format="qcow2")
    data = diskimages.qcow2(3 << 30)
    assert u1.upload(image["id"], data).status_code == 204
    body = u1.get(f"images/{image['id']}").json_body
    assert body["status"] == "active" and body["virtual_size"] == 3 << 30 and body["size"] == len(data)
    assert [fmt for _path, fmt in FakeImageToolDriver.calls] == ["qcow2"]


@pytest.mark.django_db
@pytest.mark.parametrize("data,disk_format,status", [
    (diskimages.qcow2(backing="/etc/passwd"), "qcow2", 400),
    (diskimages.qcow2(data_file_bit=True), "qcow2", 400),
    (diskimages.qcow2(backing="/etc/passwd"), "raw", 400),
    (diskimages.vmdk_descriptor_only(), "vmdk", 400),
    (diskimages.vmdk_sparse(extents=['RW 1 SPARSE "a"', 'RW 1 SPARSE "b"']), "vmdk", 400),
    (b"not a qcow2 at all" * 100, "qcow2", 415),
])
def test_unsafe_or_mismatched_upload_is_refused_before_qemu_img(u1, image_conf, data, disk_format, status):
    FakeImageToolDriver.calls.clear()
    image = u1.create(name="bad", disk_format=disk_format)
    r = u1.upload(image["id"], data)
    assert r.status_code == status, r.content
    assert FakeImageToolDriver.calls == []  # refused by the header, qemu-img never ran
    assert u1.get(f"images/{image['id']}").json_body["status"] == "queued"
    assert files(image_conf) == []


@pytest.mark.django_db
def test_non_bare_containers_are_not_inspected(u1):
    image = u1.create(name="ova", disk_format="vmdk", container_format="ova")
    assert u1.upload(image["id"], b"tar archive bytes").status_code == 204


@needs_qemu_img
def test_qemu_img_reads_a_safe_qcow2(tmp_path):
    path = tmp_path / "disk.qcow2"
    path.write_bytes(diskimages.qcow2(2 << 30))
    info = QemuImgDriver().info(str(path), disk_format="qcow2")
    assert info.format == "qcow2" and info.virtual_size == 2 << 30 and info.backing_file is None


@needs_qemu_img
@pytest.mark.parametrize("fmt", ["vmdk", "vhd", "vhdx", "vdi"])
def test_qemu_img_and_inspector_agree(tmp_path, fmt):
    from apps.image import format_inspector

    path = tmp_path / f"disk.{fmt}"
    qemu_fmt = {"vhd": "vpc"}.get(fmt, fmt)
    subprocess.run([QEMU_IMG, "create", "-q", "-f", qemu_fmt, str(path), "64M"], check=True)
    with open(path, "rb") as f:
        inspected = format_inspector.inspect(f, disk_format=fmt)
    tool = QemuImgDriver().info(str(path), disk_format=fmt)
    assert inspected.format == tool.format == fmt
    assert inspected.virtual_size == tool.virtual_size


@needs_qemu_img
def test_qemu_img_memory_limit_kills_it(tmp_path):
    path = tmp_path / "disk.qcow2"
    path.write_bytes(diskimages.qcow2(1 << 20))
    with pytest.raises(ImageToolError):
        QemuImgDriver(memory_mb=8).info(str(path), disk_format="qcow2")


@needs_qemu_img
def test_qemu_img_is_told_the_format(tmp_path):
    path = tmp_path / "disk.raw"
    path.write_bytes(diskimages.qcow2(1 << 20))
    info = QemuImgDriver().info(str(path), disk_format="raw")
    assert info.format == "raw"  # never probed into qcow2


@needs_qemu_img
@pytest.mark.django_db
def test_upload_with_real_qemu_img(u1, image_conf, tmp_path):
    image_conf["image_tool_driver"] = "apps.image.drivers.qemu_img.QemuImgDriver"
    path = tmp_path / "real.qcow2"
    subprocess.run([QEMU_IMG, "create", "-q", "-f", "qcow2", str(path), "1G"], check=True)
    image = u1.create(name="real", disk_format="qcow2")
    assert u1.upload(image["id"], path.read_bytes()).status_code == 204
    assert u1.get(f"images/{image['id']}").json_body["virtual_size"] == 1 << 30
