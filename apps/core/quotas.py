"""Quota engine (DESIGN §5): checked and consumed in the transaction that writes the counted row.

Counting rows and then inserting races under READ COMMITTED, so each project+resource has a
usage row that is locked (SELECT ... FOR UPDATE) while it is checked and changed. Limits
come from QuotaLimit rows, else from the caller's defaults, else [quota] default_limit;
-1 means unlimited.
"""
from django.conf import settings
from django.db import transaction

from .exceptions import BadRequest, OverQuota
from .models import QuotaLimit, QuotaUsage

UNLIMITED = -1


def _limits(project_id, resources, limits_default):
    fallback = settings.MONOSTACK["quota"]["default_limit"]
    explicit = dict(QuotaLimit.objects.filter(project_id=project_id, resource__in=resources)
                    .values_list("resource", "limit"))
    return {r: explicit.get(r, (limits_default or {}).get(r, fallback)) for r in resources}


def _locked_usage(project_id, resources):
    # Rows first (ON CONFLICT DO NOTHING: a concurrent creator simply wins), then lock them
    # in one stable order so two transactions never wait on each other crosswise.
    QuotaUsage.objects.bulk_create([QuotaUsage(project_id=project_id, resource=r) for r in resources],
                                   ignore_conflicts=True)
    rows = (QuotaUsage.objects.select_for_update()
            .filter(project_id=project_id, resource__in=resources).order_by("resource"))
    return {row.resource: row for row in rows}


def quota_consume(*, project_id, deltas, limits_default):
    """Add ``deltas`` ({resource: amount}) to the project's usage or raise OverQuota.

    Call inside the transaction that creates (or resizes) the counted rows, so a rollback
    returns the quota too. Negative amounts (a resize down) are never refused.
    """
    deltas = {r: int(d) for r, d in deltas.items() if d}
    if not deltas:
        return
    resources = sorted(deltas)
    with transaction.atomic():
        usage = _locked_usage(project_id, resources)
        limits = _limits(project_id, resources, limits_default)
        for resource in resources:
            delta, in_use, limit = deltas[resource], usage[resource].in_use, limits[resource]
            if delta > 0 and limit != UNLIMITED and in_use + delta > limit:
                raise OverQuota(f"Quota exceeded for {resource}: requested {delta}, "
                                f"but already used {in_use} of {limit} {resource}")
        for resource in resources:
            usage[resource].in_use = max(0, usage[resource].in_use + deltas[resource])
        QuotaUsage.objects.bulk_update(usage.values(), ["in_use"])


def quota_release(*, project_id, deltas):
    """Give back ``deltas`` ({resource: amount}) when counted rows go; never below zero."""
    quota_consume(project_id=project_id, deltas={r: -abs(int(d)) for r, d in deltas.items()},
                  limits_default=None)


def quota_usage(project_id, *, limits_default=None, resources=None):
    """{resource: {"in_use": n, "limit": l}} for the given resources, or every known one."""
    in_use = dict(QuotaUsage.objects.filter(project_id=project_id).values_list("resource", "in_use"))
    if resources is None:
        known = set(in_use) | set(limits_default or {})
        known |= set(QuotaLimit.objects.filter(project_id=project_id).values_list("resource", flat=True))
        resources = sorted(known)
    limits = _limits(project_id, resources, limits_default)
    return {r: {"in_use": in_use.get(r, 0), "limit": limits[r]} for r in resources}


def quota_set_limit(*, project_id, resource, limit):
    """Set a project's limit (-1 = unlimited); it may sit below current usage, as in Nova."""
    limit = int(limit)
    if limit < UNLIMITED:
        raise BadRequest(f"Quota limit {limit} for {resource} must be -1 or greater.")
    QuotaLimit.objects.update_or_create(project_id=project_id, resource=resource, defaults={"limit": limit})
