"""Fake image tool for unit tests: answers from apps.image.format_inspector, no process."""
from .. import format_inspector
from .base import ImageToolDriver, ImageToolError, ToolImageInfo


class FakeImageToolDriver(ImageToolDriver):
    calls = []

    def __init__(self, *args, **kwargs):
        pass

    def available(self):
        return True

    def info(self, path, *, disk_format):
        FakeImageToolDriver.calls.append((path, disk_format))
        try:
            with open(path, "rb") as f:
                info = format_inspector.inspect(f, disk_format=disk_format)
        except (OSError, ValueError) as e:
            raise ImageToolError(str(e)) from e
        return ToolImageInfo(format=info.format, virtual_size=info.virtual_size or 0)
