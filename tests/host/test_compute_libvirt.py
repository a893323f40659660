"""Host tier: the compute driver contract against the real LibvirtDriver (QEMU/TCG here),
booting the tiny guest from images/build-tiny-guest, served over HTTP as the image service
would. Every test removes its domains and files."""
import hashlib
import http.server
import os
import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from apps.compute.drivers.base import ImageError, InstanceSpec
from tests.compute.driver_contract import DriverContract

pytestmark = pytest.mark.host

ROOT = Path(__file__).resolve().parents[2]

libvirt = pytest.importorskip("libvirt")


def _libvirt_up():
    try:
        libvirt.open("qemu:///system").close()
        return True
    except libvirt.libvirtError:
        return False


if os.geteuid() != 0 or not _libvirt_up() or not shutil.which("qemu-system-x86_64"):
    pytest.skip("needs root, a running libvirtd and QEMU", allow_module_level=True)


@pytest.fixture(scope="module")
def tiny_image():
    out = subprocess.run([str(ROOT / "images" / "build-tiny-guest")], capture_output=True, text=True, check=True)
    path = Path(out.stdout.strip().splitlines()[-1])
    data = path.read_bytes()
    return {"path": path, "size": len(data), "md5": hashlib.md5(data).hexdigest(),
            "sha512": hashlib.sha512(data).hexdigest()}


@pytest.fixture(scope="module")
def image_server(tiny_image):
    directory = tiny_image["path"].parent

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(directory), **kw)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture
def driver(tmp_path):
    from apps.compute.drivers.libvirt.driver import LibvirtDriver

    d = LibvirtDriver({"instances_path": str(tmp_path / "instances"), "image_cache_dir": str(tmp_path / "cache"),
                       "virt_type": "qemu", "shutdown_timeout": 2, "serial_port_range": "21000:21999"})
    d.init_host("test-host")
    made = set(d.list_instances())
    yield d
    for leftover in set(d.list_instances()) - made:
        d.destroy(leftover)


@pytest.fixture
def instance_spec(tiny_image, image_server):
    image_id = str(uuid.uuid4())

    def make(**overrides):
        spec = {"uuid": str(uuid.uuid4()), "name": f"test-{uuid.uuid4().hex[:8]}", "vcpus": 1, "memory_mb": 128,
                "root_gb": 1, "image": {"id": image_id, "url": image_server + tiny_image["path"].name,
                                        "disk_format": "qcow2", "size": tiny_image["size"],
                                        "checksum": tiny_image["md5"], "hash_algo": "sha512",
                                        "hash_value": tiny_image["sha512"]},
                "config_drive": {"openstack/latest/meta_data.json": '{"uuid": "contract"}'}, "hostname": "vm"}
        spec.update(overrides)
        return spec
    return make


class TestLibvirtDriverContract(DriverContract):
    pass


def test_guest_boots_and_reads_its_config_drive(driver, instance_spec):
    spec = InstanceSpec.from_dict(instance_spec(
        config_drive={"openstack/latest/meta_data.json": '{"uuid": "cd-check"}'}))
    driver.spawn(spec)
    try:
        deadline = time.monotonic() + 60
        output = ""
        while time.monotonic() < deadline and "cd-check" not in output:
            time.sleep(0.5)
            output = driver.get_console_output(spec.uuid)
        assert "tiny-guest: booting" in output
        assert "cd-check" in output, output[-2000:]
        files = driver.instance_files(spec.uuid)
        assert any(f.endswith("/disk") for f in files) and any(f.endswith("disk.config") for f in files)
    finally:
        driver.destroy(spec.uuid)
    assert driver.instance_files(spec.uuid) == []


def test_bad_checksum_is_refused_and_leaves_nothing(driver, instance_spec):
    spec = instance_spec()
    spec["image"] = {**spec["image"], "id": str(uuid.uuid4()), "checksum": "0" * 32}
    spec = InstanceSpec.from_dict(spec)
    with pytest.raises(ImageError):
        driver.spawn(spec)
    assert spec.uuid not in driver.list_instances()
    assert not driver.image_cache.path_for(spec.image.id).exists()


def test_qcow2_with_backing_file_is_refused(tmp_path):
    from apps.compute.drivers.libvirt.imagecache import inspect_header

    base = tmp_path / "base.qcow2"
    top = tmp_path / "top.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(base), "1M"], check=True)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(base), "-F", "qcow2", str(top)], check=True)
    assert inspect_header(base, "qcow2") == "qcow2"
    with pytest.raises(ImageError):
        inspect_header(top, "qcow2")
    with pytest.raises(ImageError):
        inspect_header(base, "raw")
