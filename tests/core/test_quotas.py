import threading

import pytest
from django.db import connection, transaction

from apps.core.exceptions import BadRequest, OverQuota
from apps.core.models import QuotaUsage
from apps.core.quotas import quota_consume, quota_release, quota_set_limit, quota_usage

DEFAULTS = {"instances": 2, "cores": 4, "ram": -1}


def usage(project_id="p1"):
    return {r: u["in_use"] for r, u in quota_usage(project_id, limits_default=DEFAULTS).items()}


@pytest.mark.django_db
def test_consume_within_limits_then_refuse_with_a_clear_message():
    quota_consume(project_id="p1", deltas={"instances": 1, "cores": 3}, limits_default=DEFAULTS)
    with pytest.raises(OverQuota) as exc:
        quota_consume(project_id="p1", deltas={"instances": 1, "cores": 2}, limits_default=DEFAULTS)
    assert exc.value.message == "Quota exceeded for cores: requested 2, but already used 3 of 4 cores"
    # All or nothing: instances was within its limit but is not consumed either.
    assert usage() == {"instances": 1, "cores": 3, "ram": 0}


@pytest.mark.django_db
def test_unlimited_explicit_limit_and_config_fallback(settings):
    quota_consume(project_id="p1", deltas={"ram": 10 ** 9}, limits_default=DEFAULTS)
    quota_set_limit(project_id="p1", resource="ram", limit=512)
    with pytest.raises(OverQuota):
        quota_consume(project_id="p1", deltas={"ram": 1}, limits_default=DEFAULTS)
    quota_set_limit(project_id="p1", resource="instances", limit=-1)
    quota_consume(project_id="p1", deltas={"instances": 50}, limits_default=DEFAULTS)
    settings.MONOSTACK = {**settings.MONOSTACK, "quota": {"default_limit": 1}}
    with pytest.raises(OverQuota, match="gadgets"):
        quota_consume(project_id="p1", deltas={"gadgets": 2}, limits_default=DEFAULTS)
    assert quota_usage("p1", limits_default=DEFAULTS) == {
        "cores": {"in_use": 0, "limit": 4},
        "instances": {"in_use": 50, "limit": -1}, "ram": {"in_use": 10 ** 9, "limit": 512}}


@pytest.mark.django_db
def test_release_and_shrink_never_go_below_zero():
    quota_consume(project_id="p1", deltas={"cores": 4}, limits_default=DEFAULTS)
    quota_consume(project_id="p1", deltas={"cores": -1, "instances": 0}, limits_default=DEFAULTS)
    assert usage()["cores"] == 3
    quota_release(project_id="p1", deltas={"cores": 10})
    assert usage()["cores"] == 0


@pytest.mark.django_db
def test_usage_rolls_back_with_the_callers_transaction():
    with pytest.raises(RuntimeError), transaction.atomic():
        quota_consume(project_id="p1", deltas={"instances": 2}, limits_default=DEFAULTS)
        raise RuntimeError("the counted row failed to insert")
    assert usage()["instances"] == 0


@pytest.mark.django_db
def test_set_limit_validates():
    with pytest.raises(BadRequest):
        quota_set_limit(project_id="p1", resource="cores", limit=-2)


@pytest.mark.django_db(transaction=True)
def test_concurrent_consumers_never_exceed_the_limit():
    # Both start before any usage row exists (the ON CONFLICT path); the first holds its
    # transaction open while the second must wait on the row lock, then see the new usage.
    barrier, outcomes = threading.Barrier(2), []

    def consume():
        try:
            barrier.wait(5)
            with transaction.atomic():
                quota_consume(project_id="p1", deltas={"instances": 2}, limits_default={"instances": 3})
                outcomes.append("ok")
                threading.Event().wait(0.3)  # commit late: the other consumer is blocked meanwhile
        except OverQuota:
            outcomes.append("over")
        finally:
            connection.close()

    threads = [threading.Thread(target=consume) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(outcomes) == ["ok", "over"]
    assert QuotaUsage.objects.get(project_id="p1", resource="instances").in_use == 2
