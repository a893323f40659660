#!/usr/bin/env python3
"""Compute figures on fake hosts, in-process against a throwaway PostgreSQL database.

    .venv/bin/python bench/compute_fake.py [--servers 200] [--hosts 10] [--list 10000]

Prints, with the machine:
- --servers POST /servers on --hosts fake hosts (fake compute and network drivers, the whole
  chain run eagerly: schedule + claim, port create/bind/plug, spawn): failures and throughput;
- GET /servers/detail?limit=1000 over --list servers: time per page and SQL queries per page.
"""
import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cloud.test_settings")
os.environ.setdefault("MONOSTACK_DATABASE_NAME", "monostack_bench_compute")


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, {platform.platform()}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--servers", type=int, default=200)
    parser.add_argument("--hosts", type=int, default=10)
    parser.add_argument("--list", type=int, default=10000)
    args = parser.parse_args()

    import django

    django.setup()
    from celery import current_app
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    state = tempfile.mkdtemp(prefix="bench-compute-")
    settings.MONOSTACK = {
        **settings.MONOSTACK,
        "DEFAULT": {**settings.MONOSTACK["DEFAULT"], "state_dir": state, "hostname": "fake0",
                    "public_url": "http://cloud.test"},
        "identity": {**settings.MONOSTACK["identity"], "key_repository": f"{state}/keys", "password_hash_rounds": 4},
        "network": {**settings.MONOSTACK["network"], "network_host": "fake0",
                    "driver": "apps.network.drivers.fake.FakeNetworkDriver"},
        "compute": {**settings.MONOSTACK["compute"], "driver": "apps.compute.drivers.fake.FakeComputeDriver",
                    "default_instances": -1, "default_cores": -1, "default_ram": -1},
    }
    current_app.conf.task_always_eager = True
    import logging
    logging.disable(logging.WARNING)
    try:
        run(args)
    finally:
        connection.creation.destroy_test_db(test_db, verbosity=0)


def run(args):
    import apps.core.tasks  # noqa: F401
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from apps.compute.models import Flavor, Server
    from apps.core import rpc
    from apps.core.services import host_register
    from apps.identity import fernet, services as identity
    from apps.image.models import Image
    from apps.network import services as net
    from apps.network.context import NetContext

    print(machine())
    fernet.setup()
    identity.bootstrap(admin_password="bench-admin", catalog=[])
    client = Client()
    r = client.post("/identity/v3/auth/tokens", data=json.dumps({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"name": "Default"},
                                                                    "password": "bench-admin"}}},
        "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}), content_type="application/json")
    token = r["X-Subject-Token"]
    project_id = json.loads(r.content)["token"]["project"]["id"]
    h = {"HTTP_X_AUTH_TOKEN": token}

    real_send = rpc.send_host_task

    def send_on_host(host, task_name, dto):  # each fake host answers as itself
        default = settings.MONOSTACK["DEFAULT"]
        saved, default["hostname"] = default["hostname"], getattr(host, "hostname", host)
        try:
            return real_send(host, task_name, dto)
        finally:
            default["hostname"] = saved

    rpc.send_host_task = send_on_host
    for i in range(args.hosts):
        host_register(hostname=f"fake{i}", cpus=64, memory_mb=256 * 1024, disk_gb=10000, hypervisor_type="QEMU")
    image = Image.objects.create(name="bench", status="active", visibility="public", disk_format="qcow2",
                                 container_format="bare", size=1024, location="fake://bench")
    ctx = NetContext.admin(project_id)
    network = net.network_create(ctx=ctx, data={"name": "bench-net", "project_id": project_id})
    net.subnet_create(ctx=ctx, data={"network_id": str(network.id), "ip_version": 4, "cidr": "10.200.0.0/16",
                                     "project_id": project_id})

    def boot(name):
        body = {"server": {"name": name, "imageRef": str(image.id), "flavorRef": "1",
                           "networks": [{"uuid": str(network.id)}]}}
        resp = client.post("/compute/v2.1/servers", data=json.dumps(body), content_type="application/json", **h)
        assert resp.status_code == 202, resp.content
        return json.loads(resp.content)["server"]["id"]

    boot("warm")
    t0 = time.perf_counter()
    ms = []
    for i in range(args.servers):
        t = time.perf_counter()
        boot(f"s{i}")
        ms.append((time.perf_counter() - t) * 1000)
    total = time.perf_counter() - t0
    states = dict.fromkeys(["active", "error", "building"], 0)
    for vm_state in Server.objects.filter(name__startswith="s").values_list("vm_state", flat=True):
        states[vm_state] = states.get(vm_state, 0) + 1
    spread = sorted(Server.objects.filter(name__startswith="s").values_list("host", flat=True).distinct())
    print(f"{args.servers} servers on {args.hosts} fake hosts (whole chain, eager): {states}, hosts used {len(spread)}; "
          f"{args.servers / total:.1f} servers/s, per boot p50={statistics.median(ms):.1f} ms "
          f"max={max(ms):.1f} ms")

    # --- list: 10,000 servers, detail pages of 1,000 --------------------------------------
    flavor = Flavor.objects.get(flavorid="1")
    have = Server.objects.filter(deleted=False).count()
    nic = Server.objects.filter(deleted=False, vm_state="active").first().network_info
    rows = [Server(project_id=project_id, user_id="bench", name=f"l{i}", hostname=f"l{i}", image_ref=str(image.id),
                   flavor=flavor, flavor_info=flavor.snapshot(), vm_state="active", power_state=1, host="fake0",
                   availability_zone="nova", network_info=nic, security_groups=["default"])
            for i in range(max(0, args.list - have))]
    Server.objects.bulk_create(rows, batch_size=2000)
    url = "/compute/v2.1/servers/detail?limit=1000"
    client.get(url, **h)
    times, queries, pages = [], [], 0
    while url:
        with CaptureQueriesContext(connection) as q:
            t = time.perf_counter()
            resp = client.get(url, **h)
            times.append((time.perf_counter() - t) * 1000)
        assert resp.status_code == 200, resp.content
        body = json.loads(resp.content)
        queries.append(len(q.captured_queries))
        pages += 1
        links = body.get("servers_links") or []
        url = links[0]["href"].replace("http://testserver", "") if links else None
    print(f"GET /servers/detail?limit=1000 over {Server.objects.filter(deleted=False).count()} servers: "
          f"{pages} pages, per page p50={statistics.median(times):.1f} ms max={max(times):.1f} ms, "
          f"SQL queries per page {sorted(set(queries))}")


if __name__ == "__main__":
    main()
