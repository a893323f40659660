"""Lists cost one SQL query per page whatever the page size (DESIGN §3)."""
from django.db import connection
from django.test.utils import CaptureQueriesContext


def _page_queries(net, path):
    with CaptureQueriesContext(connection) as q:
        r = net.get(path)
    assert r.status_code == 200, r.content
    return [x["sql"] for x in q.captured_queries if '"network_' in x["sql"]]


def test_ports_networks_routers_one_query_per_page(alice):
    _, net = alice
    n = net.make("networks", "network", name="n")
    net.make("subnets", "subnet", network_id=n["id"], cidr="10.0.0.0/24", ip_version=4, enable_dhcp=False)
    for _ in range(5):
        net.make("ports", "port", network_id=n["id"])
    net.make("routers", "router", name="r")
    net.get("security-groups")  # the default group exists
    first = net.get("ports?limit=2").body["ports"]
    for path in ("ports?limit=3", "ports", "networks", "routers", "subnets", f"ports?limit=2&marker={first[-1]['id']}"):
        queries = _page_queries(net, path)
        assert len(queries) == 1, (path, queries)
