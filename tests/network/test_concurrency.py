"""Parallel port creates against one subnet: no duplicate address, exact 409s, nothing half-made."""
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import close_old_connections, connections

from apps.core.quotas import quota_set_limit
from apps.network import services
from apps.network.context import NetContext
from apps.network.models import IPAllocation, Port

pytestmark = pytest.mark.django_db(transaction=True)

PROJECT = "p-concurrency"


def _ctx():
    return NetContext(project_id=PROJECT, user_id="u", roles=("member", "reader"),
                      credentials={"project_id": PROJECT, "user_id": "u", "roles": ["member", "reader"]})


def _network(pool_size):
    ctx = _ctx()
    network = services.network_create(ctx=ctx, data={"name": "busy"})
    last = 1 + pool_size
    subnet = services.subnet_create(ctx=ctx, data={
        "network_id": str(network.id), "cidr": "10.60.0.0/24", "ip_version": 4, "enable_dhcp": False,
        "allocation_pools": [{"start": "10.60.0.2", "end": f"10.60.0.{last}"}]})
    return network, subnet


def _create_many(network, count):
    def one(_):
        close_old_connections()
        try:
            services.port_create(ctx=_ctx(), data={"network_id": str(network.id)})
            return "ok"
        except Exception as e:  # ApiError subclasses carry the Neutron type
            return getattr(e, "type_name", None) or type(e).__name__
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(one, range(count)))


def test_200_parallel_creates_on_a_150_address_pool():
    network, subnet = _network(150)
    outcomes = _create_many(network, 200)
    assert outcomes.count("ok") == 150
    assert outcomes.count("IpAddressGenerationFailure") == 50
    ips = list(IPAllocation.objects.filter(subnet=subnet).values_list("ip_address", flat=True))
    assert len(ips) == len(set(ips)) == 150
    assert Port.objects.filter(network=network).count() == 150  # nothing half-created
    assert not Port.objects.filter(network=network, fixed_ips__isnull=True).exists()


def test_parallel_creates_stop_at_the_port_quota():
    network, _subnet = _network(200)
    quota_set_limit(project_id=PROJECT, resource="port", limit=100)
    outcomes = _create_many(network, 130)
    assert outcomes.count("ok") == 100 and outcomes.count("OverQuota") == 30
    assert Port.objects.filter(network=network).count() == 100
