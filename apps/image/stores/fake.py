"""In-memory store for unit tests: same contract and errors as the filesystem store.

Instances with the same ``directory`` share their data within the process, as API workers
share one directory; ``FakeStore.reset()`` empties every one. ``fail_after`` (bytes) makes the next writes fail like a full
device, to test cleanup.
"""
import io

from .base import ImageStore, StoredData, StoreFull, StoreNotFound


class FakeStore(ImageStore):
    _spaces = {}
    fail_after = None

    def __init__(self, directory=None):
        self.directory = directory
        self._blobs = FakeStore._spaces.setdefault(directory or "", {})

    @classmethod
    def reset(cls):
        for blobs in cls._spaces.values():
            blobs.clear()
        cls.fail_after = None

    def add(self, key, chunks):
        buf = bytearray()
        for chunk in chunks:
            buf += chunk
            if self.fail_after is not None and len(buf) > self.fail_after:
                raise StoreFull("Image store is full: fake device")
        self._blobs[key] = bytes(buf)
        return StoredData(location=key, size=len(buf))

    def open(self, location):
        try:
            return io.BytesIO(self._blobs[location])
        except KeyError:
            raise StoreNotFound(f"No image data at {location!r}") from None

    def size(self, location):
        try:
            return len(self._blobs[location])
        except KeyError:
            raise StoreNotFound(f"No image data at {location!r}") from None

    def delete(self, location):
        self._blobs.pop(location, None)

    def locations(self):
        return sorted(self._blobs)
