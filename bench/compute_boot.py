#!/usr/bin/env python3
"""Boot figures of the tiny guest against a running cloud (`./stack up`, libvirt/QEMU).

    .venv/bin/python bench/compute_boot.py --image <tiny image> --network <net> [--boots 20]
        [--flavor m1.tiny] [--cloud monostack]

For each boot: POST /servers -> ACTIVE (status polled every 50 ms), and POST /servers -> the
guest answering on TCP port 80 (its console says "tiny-guest: ready" right after busybox
httpd listens; polled every 250 ms). Prints p50/p95 of both, with the machine. Each server
is deleted before the next boot. Build and upload the image first:
    openstack image create --disk-format qcow2 --container-format bare --file $(images/build-tiny-guest) tiny
"""
import argparse
import os
import platform
import statistics
import sys
import time

import openstack


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, {platform.platform()}"


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cloud", default=os.environ.get("OS_CLOUD", "monostack"))
    parser.add_argument("--image", required=True)
    parser.add_argument("--network", required=True)
    parser.add_argument("--flavor", default="m1.tiny")
    parser.add_argument("--boots", type=int, default=20)
    args = parser.parse_args()
    conn = openstack.connect(cloud=args.cloud)
    image = conn.image.find_image(args.image, ignore_missing=False)
    flavor = conn.compute.find_flavor(args.flavor, ignore_missing=False)
    network = conn.network.find_network(args.network, ignore_missing=False)
    print(machine())
    active, answering, made = [], [], []
    try:
        for i in range(args.boots):
            t0 = time.perf_counter()
            server = conn.compute.create_server(name=f"bench-{i}", image_id=image.id, flavor_id=flavor.id,
                                                networks=[{"uuid": network.id}])
            made.append(server.id)
            while True:
                server = conn.compute.get_server(server.id)
                if server.status in ("ACTIVE", "ERROR"):
                    break
                time.sleep(0.05)
            if server.status == "ACTIVE":
                active.append(time.perf_counter() - t0)
                deadline, answered = time.monotonic() + 120, float("nan")
                while time.monotonic() < deadline:
                    if "tiny-guest: ready" in (conn.compute.get_server_console_output(server)["output"] or ""):
                        answered = time.perf_counter() - t0
                        answering.append(answered)
                        break
                    time.sleep(0.25)
                print(f"boot {i}: ACTIVE after {active[-1]:.2f} s, answering after {answered:.2f} s", flush=True)
            else:
                print(f"boot {i} ended in {server.status}: {server.fault}", file=sys.stderr)
            # One guest at a time: each boot is measured alone, and the project's quota never ends the run.
            conn.compute.delete_server(server.id, ignore_missing=True)
            conn.compute.wait_for_delete(server, wait=300)
            made.remove(server.id)
    finally:
        for sid in made:
            conn.compute.delete_server(sid, ignore_missing=True)
        for sid in made:
            conn.compute.wait_for_delete(conn.compute.get_server(sid), wait=300) if conn.compute.find_server(
                sid) else None
    for label, values in (("POST /servers -> ACTIVE", active), ("POST /servers -> guest answering on :80", answering)):
        if values:
            print(f"{label:<42} n={len(values):<3} p50={statistics.median(values):6.2f} s  p95={pct(values, 95):6.2f} s")


if __name__ == "__main__":
    main()
