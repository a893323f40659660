"""Fernet key repository, laid out as Keystone's: files named 0..N in one directory;
0 is the staged key, the highest number is the primary (used to encrypt), the rest only
decrypt. Rotation promotes the staged key, stages a new one and drops the oldest beyond
``max_active_keys``, so every process can decrypt tokens issued before a rotation."""
import os
import threading

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings

_lock = threading.Lock()
_cache = {}  # path -> (mtime signature, MultiFernet)


def repository():
    return settings.MONOSTACK["identity"]["key_repository"]


def _key_files(path):
    try:
        names = [n for n in os.listdir(path) if n.isdigit()]
    except FileNotFoundError:
        return []
    return sorted(names, key=int)


def _write_key(path, name):
    tmp = os.path.join(path, f".{name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(Fernet.generate_key())
    os.replace(tmp, os.path.join(path, name))


def setup(path=None):
    """Create the repository with a staged and a primary key if it has none (idempotent)."""
    path = path or repository()
    os.makedirs(path, mode=0o700, exist_ok=True)
    if not _key_files(path):
        _write_key(path, "0")
        rotate(path)


def rotate(path=None, max_active=None):
    path = path or repository()
    max_active = max_active or settings.MONOSTACK["identity"]["max_active_keys"]
    names = _key_files(path)
    if not names:
        _write_key(path, "0")
        names = ["0"]
    primary = str(max(int(n) for n in names) + 1)
    os.replace(os.path.join(path, "0"), os.path.join(path, primary))
    _write_key(path, "0")
    names = _key_files(path)
    # Keep the staged key, the new primary and the newest secondaries.
    for name in [n for n in names if n != "0"][:-(max_active - 1)] if max_active > 1 else []:
        os.remove(os.path.join(path, name))
    return primary


def crypto(path=None):
    """MultiFernet over the repository, primary first; reloaded when the directory changes."""
    path = path or repository()
    try:
        signature = os.stat(path).st_mtime_ns
    except FileNotFoundError:
        raise RuntimeError(f"Fernet key repository {path} is missing: run `manage.py fernet_setup`.")
    cached = _cache.get(path)
    if cached and cached[0] == signature:
        return cached[1]
    with _lock:
        names = _key_files(path)
        if not names:
            raise RuntimeError(f"Fernet key repository {path} is empty: run `manage.py fernet_setup`.")
        ordered = sorted(names, key=int, reverse=True)  # primary (highest) first, staged (0) last
        keys = []
        for name in ordered:
            with open(os.path.join(path, name), "rb") as f:
                keys.append(Fernet(f.read().strip()))
        multi = MultiFernet(keys)
        _cache[path] = (signature, multi)
        return multi
