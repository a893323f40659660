"""Encryption of credential blobs (``/v3/credentials``, EC2 secrets) at rest.

A dedicated Fernet key, derived (HKDF-SHA256) from the deployment's secret_key, so that
rotating the token keys never makes a stored credential unreadable. Each row records the
hash of the key that encrypted it, as Keystone's credential table does; a row written with
another key is reported, not silently garbled.
"""
import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_INFO = b"monostack identity credential blobs v1"
_cache = {}


class CredentialKeyMismatch(Exception):
    pass


def _key():
    secret = settings.SECRET_KEY
    hit = _cache.get(secret)
    if hit is None:
        raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret.encode())
        key = base64.urlsafe_b64encode(raw)
        hit = (Fernet(key), hashlib.sha256(key).hexdigest())
        _cache.clear()
        _cache[secret] = hit
    return hit


def key_hash():
    return _key()[1]


def encrypt(blob):
    """(ciphertext, key hash) for a str blob."""
    fernet, digest = _key()
    return fernet.encrypt(blob.encode()).decode(), digest


def decrypt(ciphertext, digest):
    fernet, current = _key()
    if digest != current:
        raise CredentialKeyMismatch("credential was encrypted with another key")
    try:
        return fernet.decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise CredentialKeyMismatch("credential cannot be decrypted with the current key")
