"""Servers on fake hosts: the boot and delete chains, actions, states, scheduling, permissions."""
import base64

import pytest

from apps.compute.drivers.fake import FakeComputeDriver
from apps.compute.models import InstanceActionEvent, Server
from apps.network.models import Port

from .conftest import add_host, boot, make_network


def _server(nova, server_id):
    r = nova.get(f"servers/{server_id}")
    assert r.status_code == 200, r.content
    return r.body["server"]


@pytest.mark.django_db
def test_boot_reaches_active_with_address_and_ports(hosts, alice, alice_net, image):
    nova = alice["nova"]
    created = boot(nova, image, networks=[{"uuid": str(alice_net.id)}])["server"]
    server = _server(nova, created["id"])
    assert server["status"] == "ACTIVE", (server["OS-EXT-STS:task_state"], Server.objects.get(pk=created["id"]).fault)
    assert server["OS-EXT-STS:vm_state"] == "active" and server["OS-EXT-STS:task_state"] is None
    assert server["OS-EXT-STS:power_state"] == 1
    assert "OS-EXT-SRV-ATTR:host" not in server
    addrs = server["addresses"]["private-net"]
    assert addrs[0]["version"] == 4 and addrs[0]["addr"].startswith("10.0.0.")
    port = Port.objects.get(device_id=created["id"])
    assert port.status == "ACTIVE" and port.binding_host_id == "node1"
    assert FakeComputeDriver.hosts["node1"][created["id"]]["spec"]["vifs"][0]["port_id"] == str(port.id)


@pytest.mark.django_db
def test_delete_removes_guest_ports_and_returns_quota(hosts, alice, alice_net, image):
    nova = alice["nova"]
    sid = boot(nova, image, networks=[{"uuid": str(alice_net.id)}])["server"]["id"]
    limits = nova.get("limits").body["limits"]["absolute"]
    assert limits["totalInstancesUsed"] == 1 and limits["totalRAMUsed"] == 512
    assert nova.delete(f"servers/{sid}").status_code == 204
    assert nova.get(f"servers/{sid}").status_code == 404
    assert not Port.objects.filter(device_id=sid).exists()
    assert sid not in FakeComputeDriver.hosts["node1"]
    assert nova.get("limits").body["limits"]["absolute"]["totalInstancesUsed"] == 0


@pytest.mark.django_db
def test_one_visible_network_is_used_and_several_are_ambiguous(hosts, alice, alice_net, image):
    nova = alice["nova"]
    sid = boot(nova, image)["server"]["id"]
    assert "private-net" in _server(nova, sid)["addresses"]
    make_network(alice["project"]["id"], name="second", cidr="10.1.0.0/24")
    r = nova.post("servers", {"server": {"name": "x", "imageRef": str(image.id), "flavorRef": "1"}})
    assert r.status_code == 409 and "Multiple possible networks" in r.body["conflictingRequest"]["message"]


@pytest.mark.django_db
def test_reboot_stop_start_and_wrong_state(hosts, alice, alice_net, image):
    nova = alice["nova"]
    sid = boot(nova, image)["server"]["id"]
    assert nova.post(f"servers/{sid}/action", {"reboot": {"type": "SOFT"}}).status_code == 202
    assert _server(nova, sid)["status"] == "ACTIVE"
    assert nova.post(f"servers/{sid}/action", {"os-stop": None}).status_code == 202
    server = _server(nova, sid)
    assert server["status"] == "SHUTOFF" and server["OS-EXT-STS:power_state"] == 4
    r = nova.post(f"servers/{sid}/action", {"os-stop": None})
    assert r.status_code == 409 and "vm_state stopped" in r.body["conflictingRequest"]["message"]
    assert nova.post(f"servers/{sid}/action", {"os-start": None}).status_code == 202
    assert _server(nova, sid)["status"] == "ACTIVE"
    r = nova.post(f"servers/{sid}/action", {"os-getConsoleOutput": {"length": 5}})
    assert r.status_code == 200 and "fake guest" in r.body["output"]


@pytest.mark.django_db
def test_full_cloud_goes_to_error_with_filter_reasons(db, alice, alice_net, image):
    add_host("small1", memory_mb=1024)
    add_host("small2", memory_mb=1024)
    nova = alice["nova"]
    sid = boot(nova, image, flavor="3")["server"]["id"]  # m1.medium: 4 GB
    server = _server(nova, sid)
    assert server["status"] == "ERROR"
    assert "No valid host was found" in server["fault"]["message"]
    event = InstanceActionEvent.objects.get(action__server_uuid=sid, event="compute_schedule_instances")
    assert event.result == "Error"
    assert set(event.details["reasons"]["RamFilter"]) == {"small1", "small2"}


@pytest.mark.django_db
def test_failed_spawn_is_rescheduled_to_another_host(db, alice, alice_net, image):
    add_host("node1")
    add_host("node2")
    FakeComputeDriver.fail_spawn_on.add("node1")
    FakeComputeDriver.fail_spawn_on.add("node2")
    add_host("node3", memory_mb=4096)
    nova = alice["nova"]
    sid = boot(nova, image)["server"]["id"]
    row = Server.objects.get(pk=sid)
    assert row.vm_state == "active" and row.host == "node3", (row.vm_state, row.host, row.fault)
    assert set(row.excluded_hosts) == {"node1", "node2"}
    assert Port.objects.get(device_id=sid).binding_host_id == "node3"
    # Each host the build failed on was told to remove whatever that spawn left there.
    from apps.core.models import Action
    cleanups = Action.objects.filter(resource_id=sid, kind="compute.server_destroy")
    assert sorted(a.host for a in cleanups) == ["node1", "node2"]
    assert all(a.payload["cleanup"] and a.status == Action.SUCCEEDED for a in cleanups)


@pytest.mark.django_db
def test_spawn_failing_everywhere_ends_in_error(hosts, alice, alice_net, image):
    FakeComputeDriver.fail_spawn_on.add("node1")
    sid = boot(alice["nova"], image)["server"]["id"]
    server = _server(alice["nova"], sid)
    assert server["status"] == "ERROR" and server["OS-EXT-STS:task_state"] is None
    assert Server.objects.get(pk=sid).attempts == 1
    assert alice["nova"].delete(f"servers/{sid}").status_code == 204
    assert not Port.objects.filter(device_id=sid).exists()


@pytest.mark.django_db
def test_other_project_gets_404_and_reader_403(hosts, alice, bob, alice_reader, alice_net, image):
    sid = boot(alice["nova"], image)["server"]["id"]
    for method, path, body in (("GET", f"servers/{sid}", None), ("DELETE", f"servers/{sid}", None),
                               ("POST", f"servers/{sid}/action", {"os-stop": None})):
        assert bob["nova"].call(method, path, body).status_code == 404
    assert alice_reader.get(f"servers/{sid}").status_code == 200
    r = alice_reader.post("servers", {"server": {"name": "x", "imageRef": str(image.id), "flavorRef": "1"}})
    assert r.status_code == 403 and "forbidden" in r.body
    assert alice_reader.post(f"servers/{sid}/action", {"os-stop": None}).status_code == 403
    assert alice_reader.delete(f"servers/{sid}").status_code == 403
    assert bob["nova"].get("servers").body["servers"] == []


@pytest.mark.django_db
@pytest.mark.parametrize("server, message", [
    ({"imageRef": "6f1b5a4e-0000-4000-8000-000000000000"}, "Image"),
    ({"flavorRef": "999"}, "Flavor 999 could not be found"),
    ({"networks": [{"uuid": "6f1b5a4e-0000-4000-8000-000000000000"}]}, "Network"),
    ({"networks": [{"uuid": "not-a-uuid"}]}, "uuid"),
    ({"name": " bad "}, "name"),
    ({"name": "x" * 256}, "too long"),
    ({"user_data": "!!!not base64!!!"}, "base 64"),
    ({"user_data": base64.b64encode(b"x" * 70000).decode()}, "too large"),
    ({"key_name": "nope"}, "key_name"),
    ({"security_groups": [{"name": "nope"}]}, "nope"),
    ({"block_device_mapping_v2": [{"source_type": "volume", "uuid": "x", "destination_type": "volume"}]}, "block"),
])
def test_bad_input_is_400(hosts, alice, alice_net, image, server, message):
    body = {"name": "vm", "imageRef": str(image.id), "flavorRef": "1", **server}
    r = alice["nova"].post("servers", {"server": body})
    assert r.status_code == 400, r.content
    assert message.lower() in r.body["badRequest"]["message"].lower()
    assert not Server.objects.exists()


@pytest.mark.django_db
def test_bad_ids_and_malformed_bodies(hosts, alice):
    nova = alice["nova"]
    assert nova.get("servers/not-a-uuid").status_code == 404
    assert nova.post("servers", raw="{not json").status_code == 400
    assert nova.post("servers", {"server": {"name": "x"}}).status_code == 400


@pytest.mark.django_db
def test_quota_is_checked_in_the_same_transaction(hosts, alice, alice_net, image, nova_admin):
    project_id = alice["project"]["id"]
    r = nova_admin.put(f"os-quota-sets/{project_id}", {"quota_set": {"instances": 1}})
    assert r.status_code == 200 and r.body["quota_set"]["instances"] == 1
    boot(alice["nova"], image)
    r = alice["nova"].post("servers", {"server": {"name": "y", "imageRef": str(image.id), "flavorRef": "1"}})
    assert r.status_code == 403 and "Quota exceeded" in r.body["forbidden"]["message"]
    assert Server.objects.count() == 1


@pytest.mark.django_db
def test_min_max_count_share_a_reservation(hosts, alice, alice_net, image):
    r = alice["nova"].post("servers", {"server": {"name": "many", "imageRef": str(image.id), "flavorRef": "1",
                                                  "min_count": 3, "max_count": 3, "return_reservation_id": True}})
    assert r.status_code == 202
    rid = r.body["reservation_id"]
    servers = alice["nova"].get(f"servers/detail?reservation_id={rid}").body["servers"]
    assert sorted(s["name"] for s in servers) == ["many-1", "many-2", "many-3"]
    assert all(s["status"] == "ACTIVE" for s in servers)


@pytest.mark.django_db
def test_list_filters_and_paging(hosts, alice, alice_net, image):
    nova = alice["nova"]
    ids = [boot(nova, image, name=f"web-{i}")["server"]["id"] for i in range(3)]
    boot(nova, image, name="db-1")
    assert len(nova.get("servers?name=^web").body["servers"]) == 3
    assert len(nova.get("servers/detail?status=ACTIVE").body["servers"]) == 4
    page = nova.get("servers?limit=2")
    assert len(page.body["servers"]) == 2 and page.body["servers_links"][0]["rel"] == "next"
    ip = Server.objects.get(pk=ids[0]).network_info[0]["ips"][0]["address"]
    found = nova.get(f"servers?ip={ip}$").body["servers"]
    assert [s["id"] for s in found] == [ids[0]]
    assert nova.get("servers?changes-since=2000-01-01T00:00:00Z").status_code == 200
    assert nova.get("servers?sort_key=bogus").status_code == 400


@pytest.mark.django_db
def test_admin_sees_host_attributes_and_all_tenants(hosts, alice, alice_net, image, nova_admin):
    sid = boot(alice["nova"], image)["server"]["id"]
    server = nova_admin.get(f"servers/{sid}").body["server"]
    assert server["OS-EXT-SRV-ATTR:host"] == "node1"
    assert server["OS-EXT-SRV-ATTR:instance_name"].startswith("instance-")
    listed = nova_admin.get("servers?all_tenants=1").body["servers"]
    assert sid in [s["id"] for s in listed]


@pytest.mark.django_db
def test_power_sync_marks_dead_guest_shutoff(hosts, alice, alice_net, image):
    from apps.compute import services
    sid = boot(alice["nova"], image)["server"]["id"]
    FakeComputeDriver.hosts["node1"][sid]["state"] = 4
    services.power_sync()
    assert _server(alice["nova"], sid)["status"] == "SHUTOFF"


@pytest.mark.django_db
def test_lost_spawn_is_failed_by_the_reaper(hosts, alice, alice_net, image, monkeypatch, settings):
    from datetime import timedelta

    from django.utils import timezone

    from apps.core import rpc
    from apps.core.models import Action
    from apps.core.services import actions_reap

    real = rpc.send_host_task

    def drop_spawns(host, task_name, dto):  # the host agent dies with the spawn in hand
        if task_name != "compute.server_spawn":
            return real(host, task_name, dto)

    monkeypatch.setattr(rpc, "send_host_task", drop_spawns)
    sid = boot(alice["nova"], image)["server"]["id"]
    assert Server.objects.get(pk=sid).task_state == "spawning", (Server.objects.get(pk=sid).vm_state, Server.objects.get(pk=sid).fault)
    settings.MONOSTACK["conductor"] = {**settings.MONOSTACK["conductor"], "max_redrives": 0}
    Action.objects.filter(resource_id=sid).update(deadline=timezone.now() - timedelta(seconds=1))
    actions_reap()
    row = Server.objects.get(pk=sid)
    assert row.vm_state == "error" and row.task_state is None
    assert Port.objects.get(device_id=sid).binding_host_id == ""



@pytest.mark.django_db
def test_empty_networks_list_means_none_asked(hosts, alice, alice_net, image):
    sid = boot(alice["nova"], image, networks=[])["server"]["id"]
    assert "private-net" in _server(alice["nova"], sid)["addresses"]


@pytest.mark.django_db
@pytest.mark.parametrize("networks", ["auto", "none"])
@pytest.mark.parametrize("version", [None, "2.1", "2.2", "2.3"])
def test_networks_auto_and_none_need_2_37(hosts, alice, alice_net, image, networks, version):
    body = {"server": {"name": "vm", "imageRef": str(image.id), "flavorRef": "1", "networks": networks}}
    r = alice["nova"].post("servers", body, version=version)
    assert r.status_code == 400, r.content
    assert "networks" in r.body["badRequest"]["message"]
    assert not Server.objects.exists()


EXTENDED_2_3 = {"OS-EXT-SRV-ATTR:reservation_id", "OS-EXT-SRV-ATTR:launch_index", "OS-EXT-SRV-ATTR:hostname",
                "OS-EXT-SRV-ATTR:kernel_id", "OS-EXT-SRV-ATTR:ramdisk_id", "OS-EXT-SRV-ATTR:root_device_name",
                "OS-EXT-SRV-ATTR:user_data"}


@pytest.mark.django_db
def test_extended_server_attributes_from_2_3_for_admins(hosts, alice, alice_net, nova_admin, image):
    user_data = base64.b64encode(b"#!/bin/sh\necho hi\n").decode()
    sid = boot(alice["nova"], image, user_data=user_data)["server"]["id"]
    for version in ("2.1", "2.2"):
        for body in (nova_admin.get(f"servers/{sid}", version=version).body["server"],
                     nova_admin.get("servers/detail?all_tenants=1", version=version).body["servers"][0]):
            assert not EXTENDED_2_3 & set(body)
    shown = nova_admin.get(f"servers/{sid}", version="2.3")
    assert shown["OpenStack-API-Version"] == "compute 2.3"
    server = shown.body["server"]
    row = Server.objects.get(pk=sid)
    assert {k: server[k] for k in EXTENDED_2_3} == {
        "OS-EXT-SRV-ATTR:reservation_id": row.reservation_id, "OS-EXT-SRV-ATTR:launch_index": 0,
        "OS-EXT-SRV-ATTR:hostname": "vm", "OS-EXT-SRV-ATTR:kernel_id": "", "OS-EXT-SRV-ATTR:ramdisk_id": "",
        "OS-EXT-SRV-ATTR:root_device_name": "/dev/vda", "OS-EXT-SRV-ATTR:user_data": user_data}
    assert row.reservation_id.startswith("r-")
    listed = nova_admin.get("servers/detail?all_tenants=1", version="2.3").body["servers"][0]
    assert EXTENDED_2_3 <= set(listed)
    # Not an admin: none of them, at any version.
    assert not EXTENDED_2_3 & set(alice["nova"].get(f"servers/{sid}", version="2.3").body["server"])
