#!/usr/bin/env python3
"""Token issue and validation figures against a running cloud (`./stack up`).

    .venv/bin/python bench/identity_tokens.py [--cloud monostack] [--seconds 10]

Prints: the bcrypt cost alone; token issue latency (1 and 8 clients); validate over HTTP
with wrk (1 and 8 connections: p50, p99, requests/s); validate in-process for a cached
token. Needs wrk (apt-get install wrk) and the clouds.yaml that ./stack up writes.
"""
import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import bcrypt
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, {platform.platform()}"


def load_cloud(name):
    path = os.environ.get("OS_CLIENT_CONFIG_FILE", "/etc/openstack/clouds.yaml")
    with open(path) as f:
        return yaml.safe_load(f)["clouds"][name]


def auth_body(cloud):
    a = cloud["auth"]
    return json.dumps({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": a["username"], "domain": {"name": a["user_domain_name"]}, "password": a["password"]}}},
        "scope": {"project": {"name": a["project_name"], "domain": {"name": a["project_domain_name"]}}}}}).encode()


def issue(url, body):
    req = urllib.request.Request(url + "/v3/auth/tokens", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        r.read()
        return r.headers["X-Subject-Token"]


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def bench_issue(url, body, clients, total):
    times, lock = [], threading.Lock()

    def worker(n):
        for _ in range(n):
            t0 = time.perf_counter()
            issue(url, body)
            with lock:
                times.append(time.perf_counter() - t0)

    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(total // clients,)) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    return {"clients": clients, "n": len(times), "p50_ms": statistics.median(times) * 1e3,
            "p99_ms": pct(times, 99) * 1e3, "rps": len(times) / wall}


def bench_wrk(url, token, connections, seconds):
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(f'wrk.method = "GET"\nwrk.headers["X-Auth-Token"] = "{token}"\n'
                f'wrk.headers["X-Subject-Token"] = "{token}"\n'
                'done = function(summary, latency, requests)\n'
                '  io.write(string.format("P50 %d\\nP99 %d\\nREQ %d\\nERR %d\\n", latency:percentile(50),\n'
                '    latency:percentile(99), summary.requests, summary.errors.status + summary.errors.connect))\n'
                'end\n')
        script = f.name
    threads = min(connections, 2)
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", script,
                          url + "/v3/auth/tokens"], capture_output=True, text=True, check=True).stdout
    os.unlink(script)
    vals = {k: int(v) for k, v in re.findall(r"^(P50|P99|REQ|ERR) (\d+)$", out, re.M)}
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return {"connections": connections, "p50_ms": vals["P50"] / 1e3, "p99_ms": vals["P99"] / 1e3, "rps": rps,
            "errors": vals["ERR"]}


def bench_inprocess(token):
    sys.path.insert(0, ROOT)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cloud.settings")
    os.environ.setdefault("MONOSTACK_PROCESS", "bench")
    import django

    django.setup()
    from apps.identity import services

    services.token_validate(token)  # fill the cache
    n = 200_000
    t0 = time.perf_counter()
    for _ in range(n):
        services.token_validate(token)
    return (time.perf_counter() - t0) / n * 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cloud", default="monostack")
    ap.add_argument("--seconds", type=int, default=10)
    args = ap.parse_args()
    cloud = load_cloud(args.cloud)
    url = cloud["auth"]["auth_url"].rstrip("/")
    body = auth_body(cloud)
    print(f"machine: {machine()}")
    t0 = time.perf_counter()
    hashed = bcrypt.hashpw(b"benchmark-password", bcrypt.gensalt(12))
    t1 = time.perf_counter()
    bcrypt.checkpw(b"benchmark-password", hashed)
    t2 = time.perf_counter()
    print(f"bcrypt cost 12: hash {(t1 - t0) * 1e3:.0f} ms, check {(t2 - t1) * 1e3:.0f} ms")
    for clients, total in ((1, 10), (8, 24)):
        r = bench_issue(url, body, clients, total)
        print(f"issue   {clients} client(s): p50 {r['p50_ms']:.0f} ms  p99 {r['p99_ms']:.0f} ms  "
              f"{r['rps']:.1f}/s  (n={r['n']})")
    token = issue(url, body)
    if shutil.which("wrk"):
        for connections in (1, 8):
            r = bench_wrk(url, token, connections, args.seconds)
            print(f"validate {connections} conn (HTTP, wrk): p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms  "
                  f"{r['rps']:.0f}/s  errors {r['errors']}")
    else:
        print("validate over HTTP: skipped (wrk not installed: apt-get install wrk)")
    print(f"validate in-process (cached): {bench_inprocess(token):.1f} us/op")


if __name__ == "__main__":
    main()
