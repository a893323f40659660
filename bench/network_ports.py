#!/usr/bin/env python3
"""Networking figures, in-process against a throwaway PostgreSQL database (root for the plug part).

    .venv/bin/python bench/network_ports.py [--creates 300] [--plugs 30] [--ports 10000]

Prints, with the machine:
- port create through the API view (request parsing, policy, IPAM, quota, rows): p50/p99;
- bind + plug on this host through the host task and the Linux driver (a tap on the
  network's bridge, nftables update, result applied): p50/p99 (skipped when not root);
- GET /v2.0/ports?limit=1000 over --ports ports: time per page and SQL queries per page.
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
os.environ.setdefault("MONOSTACK_DATABASE_NAME", "monostack_bench")


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


def report(label, ms):
    print(f"{label:<48} n={len(ms):<6} p50={statistics.median(ms):8.2f} ms  p99={pct(ms, 99):8.2f} ms")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--creates", type=int, default=300)
    parser.add_argument("--plugs", type=int, default=30)
    parser.add_argument("--ports", type=int, default=10000)
    args = parser.parse_args()

    import django

    django.setup()
    from celery import current_app
    from django.conf import settings
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    setup_test_environment()
    test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    state = tempfile.mkdtemp(prefix="bench-net-")
    settings.MONOSTACK = {**settings.MONOSTACK,
                          "DEFAULT": {**settings.MONOSTACK["DEFAULT"], "state_dir": state, "hostname": "node1"},
                          "identity": {**settings.MONOSTACK["identity"], "key_repository": f"{state}/keys",
                                       "password_hash_rounds": 4},
                          "network": {**settings.MONOSTACK["network"], "network_host": "node1",
                                      "driver": "apps.network.drivers.fake.FakeNetworkDriver",
                                      "bridge_mappings": "", "external_bridge_cidr": "", "local_ip": "127.0.0.1"}}
    current_app.conf.task_always_eager = True
    try:
        run(args, CaptureQueriesContext, connection, transaction)
    finally:
        connection.creation.destroy_test_db(test_db, verbosity=0)


def run(args, CaptureQueriesContext, connection, transaction):
    import apps.core.tasks  # noqa: F401
    from django.test import Client

    from apps.identity import fernet, services as identity
    from apps.network import services, tasks
    from apps.network.context import NetContext
    from apps.network.models import IPAllocation, Port

    print(machine())
    fernet.setup()
    identity.bootstrap(admin_password="bench-admin", catalog=[])
    client = Client()
    r = client.post("/identity/v3/auth/tokens", data=json.dumps({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"name": "Default"},
                                                                    "password": "bench-admin"}}},
        "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}), content_type="application/json")
    token = r["X-Subject-Token"]
    h = {"HTTP_X_AUTH_TOKEN": token}

    def post(path, body):
        resp = client.post(f"/network/v2.0/{path}", data=json.dumps(body), content_type="application/json", **h)
        assert resp.status_code == 201, resp.content
        return json.loads(resp.content)

    net = post("networks", {"network": {"name": "bench"}})["network"]
    post("subnets", {"subnet": {"network_id": net["id"], "cidr": "10.128.0.0/16", "ip_version": 4,
                                "enable_dhcp": False}})
    post("ports", {"port": {"network_id": net["id"]}})  # warm caches
    # As in production, the API only queues its follow-up work (the conductor builds the
    # DHCP/firewall steps): messages go to an in-memory broker nobody consumes.
    from celery import current_app

    conf = current_app.conf
    saved = conf.broker_url, conf.task_always_eager
    conf.broker_url, conf.task_always_eager = "memory://", False
    current_app._pool = None
    current_app.amqp._producer_pool = None
    ms = []
    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        for _ in range(50):
            post("ports", {"port": {"network_id": net["id"]}})
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(40)
        from django.db import connection as c
        from django.test.utils import CaptureQueriesContext as Q

        with Q(c) as q:
            post("ports", {"port": {"network_id": net["id"]}})
        for x in q.captured_queries:
            print(x["time"], x["sql"][:150])
    for _ in range(args.creates):
        t = time.perf_counter()
        post("ports", {"port": {"network_id": net["id"]}})
        ms.append((time.perf_counter() - t) * 1000)
    report("port create (API view + DB)", ms)
    conf.broker_url, conf.task_always_eager = saved
    current_app._pool = None
    current_app.amqp._producer_pool = None

    if os.geteuid() == 0:
        from django.conf import settings

        settings.MONOSTACK["network"]["driver"] = "apps.network.drivers.linux.LinuxNetworkDriver"
        tasks._driver = None
        ctx = NetContext.admin(project_id=json.loads(client.get("/network/v2.0/networks", **h).content)
                               ["networks"][0]["project_id"])
        ports = list(Port.objects.filter(network_id=net["id"])[: args.plugs])
        bind_ms, plug_ms, host_plug, host_fw = [], [], [], []
        try:
            for port in ports:
                t = time.perf_counter()
                with transaction.atomic():
                    services.port_bind(port=port, host="node1")
                bind_ms.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                with transaction.atomic():
                    action = services.port_plug(port=port)
                plug_ms.append((time.perf_counter() - t) * 1000)
                action.refresh_from_db()
                assert action.status == "succeeded", action.error
                host_plug.append(action.result["timings_ms"]["plug"])
                host_fw.append(action.result["timings_ms"]["firewall"])
            report("bind (conductor: binding rows)", bind_ms)
            report("plug step end to end (DTO, host task, result)", plug_ms)
            report("  host: tap on the bridge (driver.plug)", host_plug)
            report("  host: nftables update (firewall_apply)", host_fw)
            driver = tasks.get_driver()
            t = time.perf_counter()
            for port in ports:
                with transaction.atomic():
                    services.port_unplug(port=port)
            report("unplug (per port)", [(time.perf_counter() - t) * 1000 / len(ports)])
        finally:
            from apps.network.drivers.linux import privileged as priv

            for port in ports:
                priv.delete_link(f"tap{str(port.id)[:11]}")
            priv.delete_link(f"brq{net['id'][:11]}")
            for family in ("bridge", "inet"):
                priv.nft_delete_table(family, "monostack")
            del driver
        del ctx
    else:
        print("plug: skipped (needs root)")

    existing = Port.objects.filter(network_id=net["id"]).count()
    missing = max(0, args.ports - existing)
    from apps.network.models import Network, Subnet

    network = Network.objects.get(pk=net["id"])
    subnet = Subnet.objects.get(network=network)
    project = network.project_id
    rows, allocs = [], []
    import ipaddress
    import uuid

    base = int(ipaddress.ip_address("10.128.100.0"))
    for i in range(missing):
        port = Port(id=uuid.uuid4(), project_id=project, network=network,
                    mac_address=f"fa:16:3f:{i >> 16:02x}:{(i >> 8) & 255:02x}:{i & 255:02x}")
        rows.append(port)
        allocs.append(IPAllocation(port=port, subnet=subnet, network=network,
                                   ip_address=str(ipaddress.ip_address(base + i))))
    Port.objects.bulk_create(rows, batch_size=2000)
    IPAllocation.objects.bulk_create(allocs, batch_size=2000)
    total = Port.objects.count()
    page_ms, queries, marker = [], [], None
    for _ in range(3):
        marker = None
        while True:
            url = "/network/v2.0/ports?limit=1000" + (f"&marker={marker}" if marker else "")
            with CaptureQueriesContext(connection) as q:
                t = time.perf_counter()
                resp = client.get(url, **h)
                page_ms.append((time.perf_counter() - t) * 1000)
            body = json.loads(resp.content)
            queries.append(len([x for x in q.captured_queries if "network_port" in x["sql"]]))
            if not body["ports"] or len(body["ports"]) < 1000:
                break
            marker = body["ports"][-1]["id"]
    report(f"GET /v2.0/ports?limit=1000 ({total} ports)", page_ms)
    print(f"{'SQL queries on ports per page':<48} max={max(queries)}")


if __name__ == "__main__":
    main()
