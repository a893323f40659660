"""Image data as plain files in one directory (Glance's filesystem store).

A write goes to a hidden ``.<key>.<random>.partial`` file beside the final one and is renamed
into place only once complete, so a crash or a refused upload never leaves a file that looks
like image data; ``locations()`` ignores partial files, and ``sweep_partials()`` removes old ones.
"""
import errno
import os
import secrets
import time

from .base import ImageStore, StoredData, StoreError, StoreFull, StoreNotFound

PARTIAL_SUFFIX = ".partial"


class FilesystemStore(ImageStore):
    def __init__(self, directory):
        self.directory = os.path.abspath(directory)

    def _path(self, location):
        name = os.path.basename(location)
        if not name or name.startswith(".") or name != location:
            raise StoreNotFound(f"Invalid location {location!r}")
        return os.path.join(self.directory, name)

    def _ensure_dir(self):
        os.makedirs(self.directory, mode=0o750, exist_ok=True)

    def add(self, key, chunks):
        self._ensure_dir()
        final = self._path(key)
        partial = os.path.join(self.directory, f".{key}.{secrets.token_hex(4)}{PARTIAL_SUFFIX}")
        size = 0
        try:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        except OSError as e:
            raise _write_error(e) from e
        try:
            with os.fdopen(fd, "wb", buffering=0) as f:
                # Errors of the chunk source (quota, the client) propagate unchanged.
                for chunk in chunks:
                    try:
                        view = memoryview(chunk)
                        while view:
                            view = view[f.write(view):]
                    except OSError as e:
                        raise _write_error(e) from e
                    size += len(chunk)
            try:
                os.replace(partial, final)
            except OSError as e:
                raise _write_error(e) from e
        except BaseException:
            _unlink(partial)
            raise
        return StoredData(location=key, size=size)

    def open(self, location):
        try:
            return open(self._path(location), "rb")
        except FileNotFoundError as e:
            raise StoreNotFound(f"No image data at {location!r}") from e

    def size(self, location):
        try:
            return os.stat(self._path(location)).st_size
        except FileNotFoundError as e:
            raise StoreNotFound(f"No image data at {location!r}") from e

    def delete(self, location):
        try:
            _unlink(self._path(location))
        except StoreNotFound:
            pass

    def locations(self):
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        return sorted(n for n in names if not n.startswith("."))

    def sweep_partials(self, older_than=3600):
        """Remove partial files left by a process that died mid-write; returns how many."""
        removed = 0
        cutoff = time.time() - older_than
        try:
            entries = list(os.scandir(self.directory))
        except FileNotFoundError:
            return 0
        for entry in entries:
            if entry.name.startswith(".") and entry.name.endswith(PARTIAL_SUFFIX):
                try:
                    if entry.stat().st_mtime < cutoff:
                        os.unlink(entry.path)
                        removed += 1
                except FileNotFoundError:
                    pass
        return removed

    def local_path(self, location):
        return self._path(location)

    def modified_at(self, location):
        try:
            return os.stat(self._path(location)).st_mtime
        except FileNotFoundError:
            return None


def _write_error(e):
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return StoreFull(f"Image store is full: {e.strerror}")
    return StoreError(f"Image store write failed: {e.strerror}")


def _unlink(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
