"""The image store interface: where image bytes live. Stores take and return plain data and
never import Django, so another backend (Swift, Ceph) can come later behind the same calls.

Contract (tests/image/test_store_contract.py runs it against every store):
- ``add(key, chunks)`` consumes an iterable of bytes and stores it under a new location. It is
  atomic: if iterating ``chunks`` raises (a quota refusal, a client that went away) or the
  write fails, nothing of the partial data remains and the exception propagates unchanged.
- ``open(location)`` returns a binary, seekable file object; ``size(location)`` its length.
- ``delete(location)`` removes the data; deleting what is not there is not an error.
- Missing data raises ``StoreNotFound``; a full device ``StoreFull``.
"""
import abc
from dataclasses import dataclass


class StoreError(Exception):
    pass


class StoreNotFound(StoreError):
    pass


class StoreFull(StoreError):
    pass


@dataclass(frozen=True)
class StoredData:
    location: str
    size: int


class ImageStore(abc.ABC):
    """A place for image data, addressed by opaque location strings."""

    @abc.abstractmethod
    def add(self, key, chunks):
        """Store the bytes of ``chunks`` under a location derived from ``key`` (an image id);
        return StoredData. Atomic (see the module docstring)."""

    @abc.abstractmethod
    def open(self, location):
        """A binary, seekable file object over the data at ``location``."""

    @abc.abstractmethod
    def size(self, location):
        """Bytes stored at ``location``."""

    @abc.abstractmethod
    def delete(self, location):
        """Remove the data at ``location``; absent data is fine."""

    @abc.abstractmethod
    def locations(self):
        """Every location the store holds (for the orphan sweep)."""

    def local_path(self, location):
        """A filesystem path to the data if the store has one (qemu-img needs a file), else None."""
        return None

    def modified_at(self, location):
        """When the data at ``location`` was last written (epoch seconds), or None if unknown."""
        return None

    def sweep_partials(self, older_than=3600):
        """Remove leftovers of writes that never finished (a process killed mid-upload); returns
        how many. Stores whose writes leave nothing behind have nothing to do."""
        return 0
