"""Celery entry points of the network service; thin: decode the DTO, call the driver or a service.

Host tasks run in the agent (no database): each returns plain data that handlers.py applies.
"""

import time

from celery import shared_task
from django.conf import settings

from apps.core.drivers import load_driver
from apps.core.hostagent import host_task

from .drivers.base import NetworkDriver, NetworkSpec, PortSpec

_driver = None


def get_driver():
    """The configured driver, built once per process (its init_host runs then)."""
    global _driver
    path = settings.MONOSTACK["network"]["driver"]
    if _driver is None or _driver[0] != path or _driver[3] != settings.MONOSTACK["DEFAULT"]["state_dir"]:
        driver = load_driver(path, NetworkDriver, conf=settings.MONOSTACK["network"],
                             state_dir=settings.MONOSTACK["DEFAULT"]["state_dir"],
                             hostname=settings.MONOSTACK["DEFAULT"]["hostname"])
        _driver = (path, driver, driver.init_host(), settings.MONOSTACK["DEFAULT"]["state_dir"])
    return _driver[1]


def _host_facts():
    get_driver()
    return _driver[2]


@host_task("network.port_plug")
def port_plug_task(dto):
    driver = get_driver()
    t0 = time.perf_counter()
    vif = driver.plug(PortSpec.from_dict(dto["port"]))
    t1 = time.perf_counter()
    fw = driver.firewall_apply(dto["firewall"]) if dto.get("firewall") else None
    t2 = time.perf_counter()
    return {"vif": vif.as_dict(), "firewall": fw, **_host_facts(),
            "timings_ms": {"plug": round((t1 - t0) * 1000, 2), "firewall": round((t2 - t1) * 1000, 2)}}


@host_task("network.port_unplug")
def port_unplug_task(dto):
    get_driver().unplug(PortSpec.from_dict(dto["port"]))
    return {"unplugged": dto["port"]["devname"]}


@host_task("network.dhcp_sync")
def dhcp_sync_task(dto):
    return {**get_driver().dhcp_sync(dto["dhcp"]), **_host_facts()}


@host_task("network.router_sync")
def router_sync_task(dto):
    return {**get_driver().router_sync(dto["router"]), **_host_facts()}


@host_task("network.firewall_sync")
def firewall_sync_task(dto):
    return get_driver().firewall_apply(dto["firewall"], flush=dto.get("flush") or ())


@host_task("network.vxlan_peers")
def vxlan_peers_task(dto):
    """Another host joined or left a network this host carries: its flood list follows."""
    network = NetworkSpec.from_dict(dto["network"])
    get_driver().set_vxlan_peers(network, network.peers)
    return {"peers": list(network.peers)}


@host_task("network.host_sync")
def host_sync_task(dto):
    return {"removed": get_driver().host_sync(dto), **_host_facts()}


@shared_task(name="network.sync_hosts")
def sync_hosts_task():
    """Beat: every host that is up gets its whole desired network state (drift repair)."""
    from . import handlers

    return handlers.sync_all_hosts()


@shared_task(name="network.refresh")
def refresh_task(step, args):
    """Conductor: build a data plane step (DHCP, router, firewall) from committed rows and start it."""
    from . import dataplane

    dataplane.refresh(step, args)
