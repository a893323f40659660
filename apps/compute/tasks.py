"""Celery entry points of compute; thin. Host tasks run in the agent (no database): they
decode the DTO, call the driver and return plain data that handlers apply."""
import os

from celery import shared_task
from django.conf import settings

from apps.core.drivers import load_driver
from apps.core.hostagent import host_query, host_task

from .drivers.base import ComputeDriver, InstanceNotFound, InstanceSpec

_driver = None


def driver_conf():
    conf = settings.MONOSTACK["compute"]
    instances = conf["instances_path"] or os.path.join(settings.MONOSTACK["DEFAULT"]["state_dir"], "instances")
    return {"connection_uri": conf["connection_uri"], "virt_type": conf["virt_type"], "instances_path": instances,
            "image_cache_dir": conf["image_cache_dir"], "console_host": conf["console_host"],
            "serial_port_range": conf["serial_port_range"], "vnc_listen": conf["console_host"],
            "shutdown_timeout": conf["shutdown_timeout"]}


def get_driver():
    """The configured driver, built once per process for this host."""
    global _driver
    path = settings.MONOSTACK["compute"]["driver"]
    host = settings.MONOSTACK["DEFAULT"]["hostname"]
    if _driver is None or _driver[0] != path or _driver[2] != host:
        driver = load_driver(path, ComputeDriver, driver_conf())
        driver.init_host(host)
        _driver = (path, driver, host)
    return _driver[1]


_controllers = {}


def _controller_for(credential):
    """One client per credential file and process: its token is reused until it nears expiry
    (a password authentication per spawn cost a good part of the boot)."""
    from apps.core.hostagent.controller import ControllerClient
    client = _controllers.get(credential)
    if client is None:
        client = _controllers[credential] = ControllerClient(credential)
    return client


def _with_host_credential(instance):
    """Fetch the image with this host's own service credential when it has one (the
    image service's download URL and a token); else the URL the conductor signed for it."""
    image = instance.get("image")
    path = (image or {}).get("service_path")
    credential = settings.MONOSTACK["agent"].get("credential_file")
    if not path or not credential or not os.path.exists(credential):
        return instance
    from apps.core.hostagent.controller import ControllerError
    try:
        client = _controller_for(credential)
        image = {**image, "url": client.base_url + path, "headers": {"X-Auth-Token": client.token()}}
    except ControllerError:
        return instance
    return {**instance, "image": image}


@host_task("compute.server_spawn")
def server_spawn_task(dto):
    return get_driver().spawn(InstanceSpec.from_dict(_with_host_credential(dto["instance"])))


@host_task("compute.server_destroy")
def server_destroy_task(dto):
    get_driver().destroy(dto["uuid"])
    return {"destroyed": dto["uuid"]}


@host_task("compute.server_power")
def server_power_task(dto):
    driver, uuid, op = get_driver(), dto["uuid"], dto["op"]
    if op in ("reboot_soft", "reboot_hard"):
        driver.reboot(uuid, hard=op == "reboot_hard")
    elif op == "stop":
        driver.power_off(uuid, timeout=dto.get("shutdown_timeout"))
    elif op == "start":
        driver.power_on(uuid)
    else:
        raise ValueError(f"unknown power operation {op!r}")
    return {"power_state": driver.get_info(uuid).state}


@host_task("compute.host_sync")
def host_sync_task(dto):
    driver = get_driver()
    known = set(dto.get("known") or ())
    states, unknown, removed = {}, [], []
    for uuid in driver.list_instances():
        try:
            states[uuid] = driver.get_info(uuid).state
        except InstanceNotFound:
            continue
        if uuid not in known:
            unknown.append(uuid)
            if dto.get("remove_unknown"):
                driver.destroy(uuid)
                removed.append(uuid)
    return {"states": states, "unknown": unknown, "removed": removed}


@host_query("compute.console_output")
def console_output_query(dto):
    return {"output": get_driver().get_console_output(dto["uuid"])}


@shared_task(name="compute.server_build")
def server_build_task(server_id):
    from . import services
    return services.server_build_step(server_id=server_id)


@shared_task(name="compute.power_sync")
def power_sync_task():
    from . import services
    return services.power_sync()


@shared_task(name="compute.servers_reap")
def servers_reap_task():
    from . import services
    return services.servers_reap()
