"""Network host steps in a real agent process (no database) with the Linux driver, results
applied by a real conductor: plug a port (a tap on its bridge), ACTIVE, then unplug."""
import random
import time

import pytest
from django.db import transaction

from apps.network import services
from apps.network.context import NetContext
from apps.network.drivers.linux import privileged as priv
from apps.network.models import Port
from tests.host.test_agent_worker import _wait_for, cloud  # noqa: F401  (real agent + conductor)
from apps.core.models import Action, Host

pytestmark = pytest.mark.host


def _ctx():
    roles = ["admin", "member", "reader"]
    return NetContext(project_id="agent-test", user_id="u", roles=tuple(roles),
                      credentials={"project_id": "agent-test", "user_id": "u", "roles": roles})


def _finished(action):
    action.refresh_from_db()
    return action.finished and action


def test_plug_and_unplug_through_the_agent(cloud, settings):  # noqa: F811
    hostname, procs = cloud
    vni = 9_000_000 + random.randrange(1_000_000)  # no VXLAN device shared with another run on this host
    settings.MONOSTACK = {**settings.MONOSTACK, "network": {**settings.MONOSTACK["network"], "network_host": "",
                                                            "vni_ranges": f"{vni}:{vni + 10}"}}
    _wait_for(lambda: Host.objects.filter(hostname=hostname).exists(), 25, "the agent to register", procs)
    ctx = _ctx()
    with transaction.atomic():
        network = services.network_create(ctx=ctx, data={"name": "agent-net"})
        services.subnet_create(ctx=ctx, data={"network_id": str(network.id), "cidr": "10.66.0.0/24",
                                              "enable_dhcp": False})
        port = services.port_create(ctx=ctx, data={"network_id": str(network.id)})
        services.port_bind(port=port, host=hostname)
    tap, bridge = f"tap{str(port.id)[:11]}", f"brq{str(network.id)[:11]}"
    try:
        t0 = time.monotonic()
        with transaction.atomic():
            plug = services.port_plug(port=port)
        plug = _wait_for(lambda: _finished(plug), 30, "the plug's result", procs)
        assert plug.status == Action.SUCCEEDED, plug.error
        assert plug.result["vif"] == {"devname": tap, "bridge": bridge, "mac": port.mac_address, "mtu": 1450,
                                      "vif_type": "bridge"}
        assert Port.objects.get(pk=port.id).status == "ACTIVE"
        print(f"\nplug through broker, agent and conductor: {(time.monotonic() - t0) * 1000:.0f} ms")
        links = {link["name"]: link for link in priv.list_links()}
        assert links[tap]["master"] == bridge
        with transaction.atomic():
            unplug = services.port_unplug(port=Port.objects.get(pk=port.id))
        unplug = _wait_for(lambda: _finished(unplug), 30, "the unplug's result", procs)
        assert unplug.status == Action.SUCCEEDED, unplug.error
        assert not priv.link_exists(tap) and not priv.link_exists(bridge)
    finally:
        for name in (tap, bridge, f"vxlan-{network.segmentation_id}"):
            priv.delete_link(name)
        # The agent used the host's real table: remove it only if our port is still in it.
        listing = priv.run(["nft", "list", "table", "bridge", "monostack"], check=False).stdout
        if tap in listing:
            for family in ("bridge", "inet"):
                priv.nft_delete_table(family, "monostack")
