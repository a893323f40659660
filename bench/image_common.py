"""Helpers shared by the image benchmarks: the machine, clouds.yaml, a token, API processes' memory."""
import json
import os
import platform
import re
import subprocess
import urllib.parse
import urllib.request

import yaml


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            mem = f"{int(f.readline().split()[1]) // 1024} MiB RAM, "
    except (OSError, ValueError, IndexError):
        pass
    return f"{os.cpu_count()} cores, {mem}{cpu}, Python {platform.python_version()}, {platform.platform()}"


def load_cloud(name):
    path = os.environ.get("OS_CLIENT_CONFIG_FILE", "/etc/openstack/clouds.yaml")
    with open(path) as f:
        return yaml.safe_load(f)["clouds"][name]


def token_and_image_url(cloud):
    """(token, image endpoint) from the cloud's identity service and catalog."""
    a = cloud["auth"]
    body = json.dumps({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": a["username"], "domain": {"name": a.get("user_domain_name", "Default")}, "password": a["password"]}}},
        "scope": {"project": {"name": a["project_name"],
                              "domain": {"name": a.get("project_domain_name", "Default")}}}}}).encode()
    auth_url = a["auth_url"].rstrip("/")
    if not auth_url.endswith("/v3"):
        auth_url += "/v3"
    req = urllib.request.Request(auth_url + "/auth/tokens", data=body,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        token = r.headers["X-Subject-Token"]
        catalog = json.loads(r.read())["token"]["catalog"]
    image = next(s for s in catalog if s["type"] == "image")
    url = next(e["url"] for e in image["endpoints"] if e["interface"] == "public")
    return token, url.rstrip("/")


def api_pids(url):
    """Pids of the processes listening on the API's port (gunicorn master and workers)."""
    port = urllib.parse.urlsplit(url).port or 80
    out = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True).stdout
    return sorted({int(p) for p in re.findall(r"pid=(\d+)", out)})


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return 0
    return 0


class MemoryWatch:
    """Samples the RSS of ``pids`` every 50 ms; ``growth_mib`` is the largest rise of any one."""

    def __init__(self, pids):
        import threading

        self.pids = pids
        self.base = {p: rss_kib(p) for p in pids}
        self.peak = dict(self.base)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(0.05):
            for p in self.pids:
                self.peak[p] = max(self.peak[p], rss_kib(p))

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self

    @property
    def growth_mib(self):
        return max((self.peak[p] - self.base[p]) / 1024 for p in self.pids) if self.pids else float("nan")

    @property
    def peak_mib(self):
        return max(self.peak.values()) / 1024 if self.pids else float("nan")
