"""The driver contract against the fake driver, plus the fake's own failure injection."""
import uuid

import pytest

from apps.compute.drivers.base import ComputeDriverError, InstanceSpec, InsufficientResources
from apps.compute.drivers.fake import FakeComputeDriver, FakeFailingSpawnDriver

from .driver_contract import DriverContract


def _spec(**overrides):
    u = str(uuid.uuid4())
    spec = {"uuid": u, "name": "instance-00000001", "vcpus": 1, "memory_mb": 128, "root_gb": 1,
            "image": {"id": str(uuid.uuid4()), "url": "http://image.test/file", "disk_format": "qcow2"},
            "vifs": [], "config_drive": {"openstack/latest/meta_data.json": "{}"}, "hostname": "vm"}
    spec.update(overrides)
    return spec


@pytest.fixture
def instance_spec():
    return _spec


@pytest.fixture
def driver():
    FakeComputeDriver.reset()
    d = FakeComputeDriver({"fake_memory_mb": 4096})
    d.init_host("fake1")
    yield d
    FakeComputeDriver.reset()


class TestFakeDriverContract(DriverContract):
    pass


def test_fake_claims_memory(driver):
    driver.spawn(InstanceSpec.from_dict(_spec(memory_mb=4000)))
    with pytest.raises(InsufficientResources):
        driver.spawn(InstanceSpec.from_dict(_spec(memory_mb=200)))


def test_failure_injection(driver):
    FakeComputeDriver.fail_spawn_on.add("fake1")
    with pytest.raises(ComputeDriverError):
        driver.spawn(InstanceSpec.from_dict(_spec()))
    failing = FakeFailingSpawnDriver()
    failing.init_host("fake2")
    with pytest.raises(ComputeDriverError):
        failing.spawn(InstanceSpec.from_dict(_spec()))


def test_hosts_are_separate():
    FakeComputeDriver.reset()
    a, b = FakeComputeDriver(), FakeComputeDriver()
    a.init_host("a")
    b.init_host("b")
    spec = InstanceSpec.from_dict(_spec())
    a.spawn(spec)
    assert a.list_instances() == [spec.uuid] and b.list_instances() == []
    FakeComputeDriver.reset()


def test_spawn_uses_the_host_credential_when_there_is_one(settings, tmp_path, monkeypatch):
    from apps.compute import tasks
    from apps.core.hostagent import controller

    instance = {"uuid": "u", "image": {"id": "i", "url": "http://signed/url", "service_path": "/image/v2/images/i/file"}}
    settings.MONOSTACK = {**settings.MONOSTACK, "agent": {**settings.MONOSTACK["agent"],
                                                          "credential_file": str(tmp_path / "missing.json")}}
    assert tasks._with_host_credential(instance) == instance
    cred = tmp_path / "cred.json"
    cred.write_text("{}")
    settings.MONOSTACK = {**settings.MONOSTACK, "agent": {**settings.MONOSTACK["agent"], "credential_file": str(cred)}}
    monkeypatch.setattr(controller.ControllerClient, "base_url", property(lambda self: "http://cloud"))
    monkeypatch.setattr(controller.ControllerClient, "token", lambda self, refresh=False: "tok")
    image = tasks._with_host_credential(instance)["image"]
    assert image["url"] == "http://cloud/image/v2/images/i/file" and image["headers"] == {"X-Auth-Token": "tok"}
    # One client (and so one cached token) per credential file, not a password login per spawn.
    assert tasks._controller_for(str(cred)) is tasks._controller_for(str(cred))
