"""Second opinion on uploaded disk images, after apps.image.format_inspector passed them.

Drivers take a path and a format and return plain data; they never import Django. The real
one runs qemu-img under CPU and memory limits, always with the format given (``-f``), never
letting it probe.
"""
import abc
from dataclasses import dataclass


class ImageToolError(Exception):
    """The tool refused the image, failed, or exceeded its limits."""


@dataclass(frozen=True)
class ToolImageInfo:
    format: str
    virtual_size: int
    backing_file: str | None = None
    data_file: str | None = None


class ImageToolDriver(abc.ABC):
    # Formats the tool can read; others (iso, ami, ...) are not handed to it.
    FORMATS = ("qcow2", "vmdk", "vhd", "vhdx", "vdi", "raw")

    @abc.abstractmethod
    def available(self):
        """Whether the tool can run on this host."""

    @abc.abstractmethod
    def info(self, path, *, disk_format):
        """ToolImageInfo for the file at ``path`` read as ``disk_format``; ImageToolError if not."""
