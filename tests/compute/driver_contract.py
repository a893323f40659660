"""The compute driver contract: one suite, run against the fake (unit tier) and the libvirt
driver (host tier, tests/host/test_compute_libvirt.py). A subclass provides ``driver`` and
``instance_spec(**overrides)`` fixtures."""
import uuid

import pytest

from apps.compute.drivers.base import (RUNNING, SHUTDOWN, ComputeDriver, InstanceExists, InstanceNotFound,
                                       InstanceSpec)


class DriverContract:
    def make_spec(self, instance_spec, **overrides):
        return InstanceSpec.from_dict(instance_spec(**overrides))

    def test_is_a_compute_driver(self, driver):
        assert isinstance(driver, ComputeDriver)
        resources = driver.get_available_resource()
        assert {"vcpus", "memory_mb", "local_gb", "hypervisor_type"} <= set(resources)
        assert resources["vcpus"] > 0 and resources["memory_mb"] > 0

    def test_spawn_runs_and_lists_the_guest(self, driver, instance_spec):
        spec = self.make_spec(instance_spec)
        result = driver.spawn(spec)
        assert result["power_state"] == RUNNING
        assert spec.uuid in driver.list_instances()
        assert driver.get_info(spec.uuid).state == RUNNING
        driver.destroy(spec.uuid)
        assert spec.uuid not in driver.list_instances()
        assert driver.instance_files(spec.uuid) == []

    def test_spawn_twice_is_instance_exists_or_idempotent(self, driver, instance_spec):
        spec = self.make_spec(instance_spec)
        driver.spawn(spec)
        try:
            try:
                again = driver.spawn(spec)
            except InstanceExists:
                pass
            else:
                assert again["power_state"] == RUNNING
            assert driver.list_instances().count(spec.uuid) == 1
        finally:
            driver.destroy(spec.uuid)

    def test_power_off_on_and_reboot(self, driver, instance_spec):
        spec = self.make_spec(instance_spec)
        driver.spawn(spec)
        try:
            driver.power_off(spec.uuid, timeout=0)
            assert driver.get_info(spec.uuid).state == SHUTDOWN
            driver.power_on(spec.uuid)
            assert driver.get_info(spec.uuid).state == RUNNING
            driver.reboot(spec.uuid, hard=True)
            assert driver.get_info(spec.uuid).state == RUNNING
        finally:
            driver.destroy(spec.uuid)

    def test_missing_guest_errors(self, driver):
        missing = str(uuid.uuid4())
        for call in (driver.get_info, driver.power_on, driver.get_console_output):
            with pytest.raises(InstanceNotFound):
                call(missing)
        with pytest.raises(InstanceNotFound):
            driver.reboot(missing, hard=True)
        driver.destroy(missing)  # destroying what is gone succeeds

    def test_console_output_is_text(self, driver, instance_spec):
        spec = self.make_spec(instance_spec)
        driver.spawn(spec)
        try:
            assert isinstance(driver.get_console_output(spec.uuid), str)
        finally:
            driver.destroy(spec.uuid)

    def test_failed_spawn_leaves_nothing(self, driver, instance_spec):
        spec = self.make_spec(instance_spec, image={"id": str(uuid.uuid4()), "url": "", "disk_format": "qcow2"})
        with pytest.raises(Exception):
            driver.spawn(spec)
        assert spec.uuid not in driver.list_instances()
        assert driver.instance_files(spec.uuid) == []
