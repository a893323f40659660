"""One contract for every image store: atomic adds, errors of the chunk source propagate
unchanged and leave nothing, reads, deletes."""
import os

import pytest

from apps.image.stores.base import StoreNotFound
from apps.image.stores.fake import FakeStore
from apps.image.stores.filesystem import FilesystemStore


@pytest.fixture(params=["filesystem", "fake"])
def store(request, tmp_path):
    if request.param == "fake":
        FakeStore.reset()
        return FakeStore(str(tmp_path))
    return FilesystemStore(str(tmp_path / "images"))


def test_add_open_size_delete(store):
    stored = store.add("abc", iter([b"hello ", b"world"]))
    assert stored.size == 11 and store.size(stored.location) == 11
    with store.open(stored.location) as f:
        f.seek(6)
        assert f.read() == b"world"
    assert store.locations() == [stored.location]
    store.delete(stored.location)
    store.delete(stored.location)
    assert store.locations() == []
    with pytest.raises(StoreNotFound):
        store.open(stored.location)


class Refused(Exception):
    pass


def test_failing_source_leaves_nothing(store, tmp_path):
    def chunks():
        yield b"x" * 1000
        raise Refused()

    with pytest.raises(Refused):
        store.add("abc", chunks())
    assert store.locations() == []
    if isinstance(store, FilesystemStore):
        assert os.listdir(store.directory) == []


def test_bad_locations(store):
    for location in ("../etc/passwd", ".hidden", "", "a/b"):
        with pytest.raises(StoreNotFound):
            store.open(location)


def test_sweep_partials(tmp_path):
    tmp_path = tmp_path / "store"
    tmp_path.mkdir()
    store = FilesystemStore(str(tmp_path))
    old = tmp_path / ".abc.1234.partial"
    old.write_bytes(b"x")
    os.utime(old, (0, 0))
    (tmp_path / ".new.5678.partial").write_bytes(b"y")
    assert store.sweep_partials() == 1
    assert sorted(os.listdir(tmp_path)) == [".new.5678.partial"]
