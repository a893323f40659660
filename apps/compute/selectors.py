"""Reads of the Compute service: what a caller may see; access_* are 404 for missing and forbidden."""
from django.db.models import Q

from apps.core.api.validation import is_uuid_like
from apps.core.exceptions import NotFound

from .models import Flavor, KeyPair, Server
from .policies import is_admin


def flavor_queryset(token):
    qs = Flavor.objects.all()
    if token is not None and is_admin(token):
        return qs
    project = getattr(token, "project_id", None)
    return qs.filter(Q(is_public=True) | Q(projects__project_id=project)).distinct()


def access_flavor(token, flavor_id):
    flavor = flavor_queryset(token).filter(flavorid=str(flavor_id)).first()
    if flavor is None:
        raise NotFound(f"Flavor {flavor_id} could not be found.")
    return flavor


def server_queryset(token, *, all_tenants=False):
    qs = Server.objects.filter(deleted=False).select_related("flavor")
    if all_tenants and is_admin(token):
        return qs
    return qs.filter(project_id=token.project_id)


def access_server(token, server_id, *, for_update=False):
    if not is_uuid_like(str(server_id)):
        raise NotFound(f"Instance {server_id} could not be found.")
    qs = Server.objects.filter(deleted=False).select_related("flavor")
    if not is_admin(token):
        qs = qs.filter(project_id=token.project_id)
    if for_update:
        qs = qs.select_for_update(of=("self",))
    server = qs.filter(pk=server_id).first()
    if server is None:
        raise NotFound(f"Instance {server_id} could not be found.")
    return server


def access_keypair(user_id, name):
    keypair = KeyPair.objects.filter(user_id=user_id, name=name).first()
    if keypair is None:
        raise NotFound(f"Keypair {name} not found for user {user_id}")
    return keypair


def server_status(server):
    """Nova's status from vm_state and task_state."""
    vm, task = server.vm_state, server.task_state
    if server.deleted or vm == Server.DELETED:
        return "DELETED"
    if vm == Server.BUILDING:
        return "BUILD"
    if vm == Server.ERROR:
        return "ERROR"
    if vm == Server.STOPPED:
        return "SHUTOFF" if task not in ("powering-on",) else "SHUTOFF"
    if vm == Server.ACTIVE:
        if task in ("rebooting", "reboot_pending", "reboot_started"):
            return "REBOOT"
        if task in ("rebooting_hard", "reboot_pending_hard", "reboot_started_hard"):
            return "HARD_REBOOT"
        return "ACTIVE"
    return "UNKNOWN"
