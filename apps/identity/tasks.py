from celery import shared_task

from . import services


@shared_task(name="identity.prune_revocations")
def prune_revocations_task():
    return services.revocations_prune()
