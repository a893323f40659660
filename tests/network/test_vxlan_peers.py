"""VXLAN head-end replication as hosts join and leave a network (DESIGN §6): hosts already
carrying the network are told of a new host's VTEP, and of one that leaves."""
import pytest
from django.utils import timezone

from apps.core import rpc
from apps.core.models import Action, Host
from apps.network import handlers, services
from apps.network.models import NetworkAgentHost, Port

VTEPS = {"node1": "192.0.2.1", "node2": "192.0.2.2", "node3": "192.0.2.3"}


@pytest.fixture
def hosts(db, monkeypatch):
    for name, vtep in VTEPS.items():
        Host.objects.create(hostname=name, last_heartbeat=timezone.now())
        NetworkAgentHost.objects.create(hostname=name, vtep=vtep)
    # One fake driver serves every "host" in this process: keep each host's own VTEP.
    monkeypatch.setattr(handlers, "_record_host", lambda hostname, data: None)
    # ... and let each step's result come from the host it ran for.
    send = rpc.send_result

    def send_as_its_host(result, *, sender_host):
        action = Action.objects.filter(pk=result.get("action_id")).first()
        return send(result, sender_host=action.host if action else sender_host)

    monkeypatch.setattr(rpc, "send_result", send_as_its_host)


def _peer_steps(since):
    return {a.host: a.payload["network"]["peers"]
            for a in Action.objects.filter(kind="network.vxlan_peers", created_at__gt=since).order_by("created_at")}


def _plug(port, host):
    services.port_bind(port=port, host=host)
    action = services.port_plug(port=port)
    action.refresh_from_db()
    assert action.status == "succeeded", action.error


def test_hosts_learn_of_a_joining_and_a_leaving_vtep(alice, admin_net, hosts, settings):
    settings.MONOSTACK = {**settings.MONOSTACK, "network": {**settings.MONOSTACK["network"], "network_host": "node1"}}
    _, a = alice
    n = a.make("networks", "network", name="her")
    a.make("subnets", "subnet", network_id=n["id"], cidr="10.9.0.0/24", ip_version=4)
    p2 = Port.objects.get(pk=a.make("ports", "port", network_id=n["id"])["id"])
    p2b = Port.objects.get(pk=a.make("ports", "port", network_id=n["id"])["id"])
    p3 = Port.objects.get(pk=a.make("ports", "port", network_id=n["id"])["id"])

    t = timezone.now()
    _plug(p2, "node2")  # node2 joins: the network host (node1, DHCP) learns its VTEP
    assert _peer_steps(t) == {"node1": ["192.0.2.2"]}
    t = timezone.now()
    _plug(p2b, "node2")  # a second port on node2: nothing changes, nothing is sent
    assert _peer_steps(t) == {}
    t = timezone.now()
    _plug(p3, "node3")
    assert _peer_steps(t) == {"node1": ["192.0.2.2", "192.0.2.3"], "node2": ["192.0.2.1", "192.0.2.3"]}
    for step in Action.objects.filter(kind="network.vxlan_peers", created_at__gt=t):
        assert step.status == "succeeded", step.error

    t = timezone.now()
    services.port_unplug(port=Port.objects.get(pk=p2.pk))  # node2 still has p2b: nobody is told
    assert _peer_steps(t) == {}
    t = timezone.now()
    assert a.delete(f"ports/{p2b.id}").status_code == 204  # node2's last port goes
    assert _peer_steps(t) == {"node1": ["192.0.2.3"], "node3": ["192.0.2.1"]}
    t = timezone.now()
    services.port_unplug(port=Port.objects.get(pk=p3.pk))
    assert _peer_steps(t) == {"node1": []}


def test_flat_networks_send_nothing(alice, admin_net, hosts):
    pub = admin_net.make("networks", "network", name="pub", **{"provider:network_type": "flat",
                                                                "provider:physical_network": "physnet1"})
    admin_net.make("subnets", "subnet", network_id=pub["id"], cidr="10.8.0.0/24", ip_version=4)
    port = Port.objects.get(pk=admin_net.make("ports", "port", network_id=pub["id"])["id"])
    t = timezone.now()
    _plug(port, "node2")
    services.port_unplug(port=Port.objects.get(pk=port.pk))
    assert _peer_steps(t) == {}
