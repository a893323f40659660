"""Reads of the shared machinery: hosts and Action rows."""
from .exceptions import NotFound
from .models import Action, Host


def host_list(*, state=None, enabled=None):
    """Hosts by name; ``state`` "up"/"down" filters on the heartbeat age in SQL."""
    hosts = Host.objects.all()
    if state == Host.UP:
        hosts = hosts.filter(last_heartbeat__gte=Host.alive_since())
    elif state == Host.DOWN:
        hosts = hosts.exclude(last_heartbeat__gte=Host.alive_since())
    if enabled is not None:
        hosts = hosts.filter(disabled=not enabled)
    return hosts


def host_get(*, hostname):
    try:
        return Host.objects.get(hostname=hostname)
    except Host.DoesNotExist:
        raise NotFound(f"Host {hostname} could not be found.") from None


def action_list(*, resource_type=None, resource_id=None, project_id=None):
    """Actions oldest first (os-instance-actions shows them per resource)."""
    actions = Action.objects.all()
    if resource_type is not None:
        actions = actions.filter(resource_type=resource_type)
    if resource_id is not None:
        actions = actions.filter(resource_id=str(resource_id))
    if project_id is not None:
        actions = actions.filter(project_id=project_id)
    return actions


def action_get(*, action_id):
    try:
        return Action.objects.get(pk=action_id)
    except (Action.DoesNotExist, ValueError):
        raise NotFound(f"Action {action_id} could not be found.") from None
