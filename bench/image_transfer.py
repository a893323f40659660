#!/usr/bin/env python3
"""Image upload and download throughput next to a plain file copy on the same disk.

    .venv/bin/python bench/image_transfer.py [--cloud monostack] [--size-mib 1024] [--dir DIR]

Against a running cloud (`./stack up`; clouds.yaml as it writes it). Makes a file of random
bytes in DIR (default: the [DEFAULT] state_dir, the disk the image store is on), then:
  copy      `cp --reflink=never` of that file beside it (the baseline; in-kernel copy),
  dd        `dd bs=1M` of it (a user-space copy),
  hashes    md5 and sha512 of it in two threads, the work every Glance-compatible upload must
            add to a copy (checksum, os_hash_value): the ceiling of the upload on this machine,
  upload    PUT /v2/images/{id}/file, streamed from the file with a Content-Length,
  chunked   the same with Transfer-Encoding: chunked,
  download  GET /v2/images/{id}/file written to a file beside it (then its md5 is checked
            against Content-MD5, outside the timing).
Prints MiB/s and the ratio to the copy for each, the largest RSS growth of any API process
during the transfer (flat memory: a few MiB whatever the size), and the machine.
"""
import argparse
import hashlib
import http.client
import json
import os
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from image_common import MemoryWatch, api_pids, load_cloud, machine, token_and_image_url  # noqa: E402

CHUNK = 1 << 20


def connection(url):
    parts = urllib.parse.urlsplit(url)
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    return cls(parts.hostname, parts.port, timeout=600), parts.path


def call(url, token, method, path, body=None, headers=None):
    conn, base = connection(url)
    hdrs = {"X-Auth-Token": token, **(headers or {})}
    if isinstance(body, dict):
        body = json.dumps(body)
        hdrs["Content-Type"] = "application/json"
    conn.request(method, base + path, body=body, headers=hdrs)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    if r.status >= 400:
        raise SystemExit(f"{method} {path}: {r.status} {data[:300]!r}")
    return json.loads(data) if data else None


def upload(url, token, image_id, path, chunked):
    conn, base = connection(url)
    size = os.path.getsize(path)
    conn.putrequest("PUT", f"{base}/v2/images/{image_id}/file")
    conn.putheader("X-Auth-Token", token)
    conn.putheader("Content-Type", "application/octet-stream")
    if chunked:
        conn.putheader("Transfer-Encoding", "chunked")
    else:
        conn.putheader("Content-Length", str(size))
    conn.endheaders()
    with open(path, "rb") as f:
        if chunked:
            while chunk := f.read(CHUNK):
                conn.send(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            conn.send(b"0\r\n\r\n")
        else:
            conn.sock.sendfile(f)
    r = conn.getresponse()
    r.read()
    conn.close()
    if r.status != 204:
        raise SystemExit(f"upload: HTTP {r.status}")


def download(url, token, image_id, out):
    conn, base = connection(url)
    conn.request("GET", f"{base}/v2/images/{image_id}/file", headers={"X-Auth-Token": token})
    r = conn.getresponse()
    buf = memoryview(bytearray(CHUNK))
    with open(out, "wb", buffering=0) as f:
        while n := r.readinto(buf):
            f.write(buf[:n])
    conn.close()
    return r.status, r.getheader("Content-MD5")


def check_download(out, status, md5_header):
    """Checked after the timing: the client's own hashing is not the server's throughput."""
    md5 = hashlib.md5()
    with open(out, "rb") as f:
        while chunk := f.read(CHUNK):
            md5.update(chunk)
    if status != 200 or md5.hexdigest() != md5_header:
        raise SystemExit(f"download: HTTP {status}, md5 {md5.hexdigest()} vs {md5_header}")


def hash_file(path):
    import threading

    def run(name):
        h = hashlib.new(name)
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                h.update(chunk)

    threads = [threading.Thread(target=run, args=(n,)) for n in ("md5", "sha512")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cloud", default="monostack")
    p.add_argument("--size-mib", type=int, default=1024)
    p.add_argument("--dir", default=None)
    p.add_argument("--runs", type=int, default=2)
    args = p.parse_args()

    token, url = token_and_image_url(load_cloud(args.cloud))
    workdir = args.dir or os.environ.get("MONOSTACK_DEFAULT_STATE_DIR", "/var/lib/monostack")
    os.makedirs(workdir, exist_ok=True)
    src, dst = os.path.join(workdir, "bench-image.src"), os.path.join(workdir, "bench-image.dst")
    size = args.size_mib << 20
    with open(src, "wb") as f:
        for _ in range(args.size_mib):
            f.write(os.urandom(CHUNK))
    pids = api_pids(url)
    results = {k: [] for k in ("copy", "dd", "hashes", "upload", "chunked", "download")}
    memory = {}
    images = []
    try:
        for _ in range(args.runs):
            results["copy"].append(timed(lambda: subprocess.run(["cp", "--reflink=never", src, dst], check=True)))
            os.unlink(dst)
            results["dd"].append(timed(lambda: subprocess.run(["dd", f"if={src}", f"of={dst}", "bs=1M", "status=none"],
                                                              check=True)))
            os.unlink(dst)
            results["hashes"].append(timed(lambda: hash_file(src)))
            for kind in ("upload", "chunked"):
                image = call(url, token, "POST", "/v2/images", {"name": f"bench-{kind}", "disk_format": "raw",
                                                                 "container_format": "bare"})
                images.append(image["id"])
                watch = MemoryWatch(pids)
                results[kind].append(timed(lambda: upload(url, token, image["id"], src, kind == "chunked")))
                memory[kind] = max(memory.get(kind, 0), watch.stop().growth_mib)
            watch = MemoryWatch(pids)
            got = []
            results["download"].append(timed(lambda: got.append(download(url, token, images[-1], dst))))
            memory["download"] = max(memory.get("download", 0), watch.stop().growth_mib)
            check_download(dst, *got[0])
            os.unlink(dst)
    finally:
        for image_id in images:
            call(url, token, "DELETE", f"/v2/images/{image_id}")
        for path in (src, dst):
            if os.path.exists(path):
                os.unlink(path)

    print(f"machine: {machine()}")
    print(f"image: {args.size_mib} MiB of random bytes, best of {args.runs} runs, {workdir}; "
          f"API processes watched: {len(pids)}; load average before: {os.getloadavg()[0]:.2f}")
    base = size / min(results["copy"]) / (1 << 20)
    for kind, times in results.items():
        rate = size / min(times) / (1 << 20)
        mem = f"   API RSS growth {memory[kind]:6.1f} MiB" if kind in memory else ""
        print(f"{kind:9s} {rate:8.1f} MiB/s   {rate / base:5.2f}x copy{mem}")


if __name__ == "__main__":
    main()
