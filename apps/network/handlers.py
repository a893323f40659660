"""Results of network host steps, applied in the conductor (registered at app start)."""
import logging

from apps.core.models import Host
from apps.core.services import register_failure_handler, register_result_handler

from . import dataplane
from .models import NetworkAgentHost, Port

log = logging.getLogger(__name__)


def _record_host(hostname, data):
    vtep = (data or {}).get("vtep")
    if vtep is None:
        return
    row, created = NetworkAgentHost.objects.get_or_create(hostname=hostname, defaults={"vtep": vtep})
    if not created and row.vtep != vtep:
        row.vtep = vtep
        row.save(update_fields=["vtep", "updated_at"])


def _plugged(action, data):
    _record_host(action.host, data)
    vif = data.get("vif") or {}
    dataplane.vxlan_member_joined(action.resource_id, action.host)  # before this port counts as ACTIVE
    Port.objects.filter(pk=action.resource_id, binding_host_id=action.host).update(
        status=Port.ACTIVE, plugged_devname=vif.get("devname", ""))


def _plug_failed(action, error):
    log.warning("plugging port %s on %s failed: %s", action.resource_id, action.host, error)
    Port.objects.filter(pk=action.resource_id, binding_host_id=action.host).update(status=Port.ERROR)


def _synced(action, data):
    _record_host(action.host, data)


register_result_handler("network.port_plug", _plugged)
register_failure_handler("network.port_plug", _plug_failed)
register_result_handler("network.dhcp_sync", _synced)
register_result_handler("network.router_sync", _synced)
register_result_handler("network.host_sync", _synced)


def sync_all_hosts():
    hosts = list(Host.objects.filter(last_heartbeat__gte=Host.alive_since()).values_list("hostname", flat=True))
    for hostname in hosts:
        dataplane.host_sync(hostname)
    return {"hosts": hosts}
