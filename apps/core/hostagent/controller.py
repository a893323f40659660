"""HTTP to the controller with this host's own service credential (DESIGN §1: hosts reach
controller data over HTTP, never through the ORM). The token is kept until shortly before it
expires; a 401 refreshes it once. Downloads stream to disk and verify their checksum."""
import hashlib
import json
import os
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone

from django.conf import settings

REFRESH_MARGIN = 120  # seconds before expiry when a new token is fetched
CHUNK = 1 << 20


class ControllerError(Exception):
    pass


class ControllerClient:
    def __init__(self, credential_file=None):
        self.credential_file = credential_file or settings.MONOSTACK["agent"]["credential_file"]
        self._token = None
        self._expires = 0.0
        self._lock = threading.Lock()

    def _credential(self):
        try:
            with open(self.credential_file) as f:
                return json.load(f)
        except (OSError, ValueError) as e:
            raise ControllerError(f"no usable host credential in {self.credential_file}: {e}")

    @property
    def base_url(self):
        """The cloud's public URL (the identity endpoint without its path)."""
        return self._credential()["auth_url"].rstrip("/").rsplit("/identity", 1)[0]

    def token(self, *, refresh=False):
        with self._lock:
            if refresh or not self._token or time.time() > self._expires - REFRESH_MARGIN:
                c = self._credential()
                body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
                    "name": c["username"], "domain": {"id": c["user_domain_id"]}, "password": c["password"]}}},
                    "scope": {"project": {"name": c["project_name"], "domain": {"id": c["project_domain_id"]}}}}}
                req = urllib.request.Request(c["auth_url"].rstrip("/") + "/v3/auth/tokens?nocatalog",
                                             data=json.dumps(body).encode(), method="POST",
                                             headers={"Content-Type": "application/json"})
                try:
                    with urllib.request.urlopen(req, timeout=30) as r:
                        token = r.headers["X-Subject-Token"]
                        expires = json.loads(r.read())["token"]["expires_at"]
                except urllib.error.URLError as e:
                    raise ControllerError(f"could not authenticate to {c['auth_url']}: {e}")
                self._token = token
                self._expires = datetime.strptime(expires, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                    tzinfo=timezone.utc).timestamp()
            return self._token

    def open(self, path, *, method="GET", headers=None, data=None, timeout=60):
        """A streaming response for ``path`` (relative to the cloud's URL, or absolute)."""
        url = path if "://" in path else self.base_url + path
        for attempt in (0, 1):
            req = urllib.request.Request(url, data=data, method=method,
                                         headers={**(headers or {}), "X-Auth-Token": self.token(refresh=attempt > 0)})
            try:
                return urllib.request.urlopen(req, timeout=timeout)
            except urllib.error.HTTPError as e:
                if e.code == 401 and attempt == 0:
                    continue
                raise ControllerError(f"{method} {url}: {e.code} {e.reason}")
            except urllib.error.URLError as e:
                raise ControllerError(f"{method} {url}: {e.reason}")

    def download(self, path, dest, *, md5=None, sha512=None):
        """Stream ``path`` into ``dest`` (atomically: a failed or mismatching download leaves
        nothing at ``dest``) and verify the checksums given. Returns size and md5."""
        tmp = f"{dest}.part.{os.getpid()}"
        digest, strong, size = hashlib.md5(), hashlib.sha512() if sha512 else None, 0
        try:
            with self.open(path) as response, open(tmp, "wb") as out:
                while True:
                    chunk = response.read(CHUNK)
                    if not chunk:
                        break
                    out.write(chunk)
                    digest.update(chunk)
                    if strong is not None:
                        strong.update(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            if md5 and digest.hexdigest() != md5:
                raise ControllerError(f"checksum mismatch for {path}: expected md5 {md5}, got {digest.hexdigest()}")
            if sha512 and strong.hexdigest() != sha512:
                raise ControllerError(f"checksum mismatch for {path}: sha512 differs")
            os.replace(tmp, dest)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return {"size": size, "md5": digest.hexdigest()}
