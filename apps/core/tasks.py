"""Celery entry points of core; thin: decode the message, call one service or host function."""
from celery import shared_task

from . import services
from .hostagent import host_query, host_task
from .hostagent.facts import host_facts


@shared_task(name="core.apply_result")
def apply_result_task(result, sender_host):
    """Conductor: a host step's result DTO lands on its Action and resource."""
    services.action_apply_result(result=result, sender_host=sender_host)


@shared_task(name="core.host_report")
def host_report_task(report):
    """Reports queue: a host agent's registration or heartbeat."""
    facts = report.get("facts") or {}
    if report.get("type") == "register":
        services.host_register(hostname=report["hostname"],
                               **{k: facts[k] for k in services.HOST_FACTS})
    else:
        services.host_heartbeat(hostname=report["hostname"], facts=facts or None)


@shared_task(name="core.reap_actions")
def reap_actions_task():
    """Beat, every [conductor] reaper_interval: re-send or fail steps that never reported."""
    return services.actions_reap()


@host_task("core.host_probe")
def host_probe_task(dto):
    """Host: report the host's current facts (services applies them to the Host row)."""
    return host_facts()


@host_query("core.host_facts")
def host_facts_query(dto):
    """Host: the facts right now, answered synchronously (operators' `host show`)."""
    return host_facts()
