import pytest

from apps.core.drivers import DriverLoadError, load_driver


class WidgetDriver:
    pass


class FakeWidgetDriver(WidgetDriver):
    def __init__(self, size, *, colour="red"):
        self.size, self.colour = size, colour


class Unrelated:
    pass


def not_a_class():
    return FakeWidgetDriver(1)


def test_loads_and_builds_the_driver():
    driver = load_driver("tests.core.test_drivers.FakeWidgetDriver", WidgetDriver, 3, colour="blue")
    assert isinstance(driver, FakeWidgetDriver) and (driver.size, driver.colour) == (3, "blue")


@pytest.mark.parametrize("path, message", [
    ("tests.core.no_such_module.Driver", "cannot load driver 'tests.core.no_such_module.Driver'"),
    ("tests.core.test_drivers.Missing", "cannot load driver 'tests.core.test_drivers.Missing'"),
    ("nodots", "cannot load driver 'nodots'"),
    ("tests.core.test_drivers.Unrelated", "is not a tests.core.test_drivers.WidgetDriver"),
    ("tests.core.test_drivers.not_a_class", "is not a tests.core.test_drivers.WidgetDriver"),
])
def test_refuses_with_a_clear_message(path, message):
    with pytest.raises(DriverLoadError, match=message.replace(".", r"\.")):
        load_driver(path, WidgetDriver)
