"""Version documents, microversion headers, flavors (+ access, extra specs), key pairs, zones,
limits and quota sets: Nova's shapes and errors."""
import pytest

from .conftest import Nova


@pytest.mark.django_db
def test_version_documents(client):
    r = client.get("/compute/")
    assert r.status_code == 200
    versions = r.json()["versions"]
    assert [v["id"] for v in versions] == ["v2.0", "v2.1"]
    v21 = client.get("/compute/v2.1/").json()["version"]
    assert v21["min_version"] == "2.1" and v21["version"] == "2.3" and v21["status"] == "CURRENT"


@pytest.mark.django_db
def test_microversion_headers_are_honoured_and_echoed(alice):
    nova = alice["nova"]
    r = nova.get("flavors", version="2.2")
    assert r["OpenStack-API-Version"] == "compute 2.2" and r["X-OpenStack-Nova-API-Version"] == "2.2"
    assert r["X-Compute-Request-Id"].startswith("req-")
    r = nova.get("flavors", headers={"X-OpenStack-Nova-API-Version": "2.1"})
    assert r["X-OpenStack-Nova-API-Version"] == "2.1"
    assert nova.get("flavors", version="2.99").status_code == 406
    assert nova.get("flavors", version="latest")["OpenStack-API-Version"] == "compute 2.3"


@pytest.mark.django_db
def test_default_flavors_and_lookups(alice):
    nova = alice["nova"]
    flavors = nova.get("flavors").body["flavors"]
    assert [f["name"] for f in flavors] == ["m1.tiny", "m1.small", "m1.medium", "m1.large", "m1.xlarge"]
    assert [f["id"] for f in flavors] == ["1", "2", "3", "4", "5"]
    assert set(flavors[0]) == {"id", "name", "links"}
    detail = nova.get("flavors/2").body["flavor"]
    assert detail["ram"] == 2048 and detail["disk"] == 20 and detail["vcpus"] == 1 and detail["swap"] == ""
    assert {"OS-FLV-EXT-DATA:ephemeral", "OS-FLV-DISABLED:disabled", "os-flavor-access:is_public",
            "rxtx_factor", "links"} <= set(detail)
    assert nova.get("flavors/detail?is_public=None").status_code == 200
    assert nova.get("flavors/999").status_code == 404
    assert nova.get("flavors?minRam=4096").body["flavors"][0]["name"] == "m1.medium"


@pytest.mark.django_db
def test_private_flavor_access_and_extra_specs(alice, bob, nova_admin):
    r = nova_admin.post("flavors", {"flavor": {"name": "private", "ram": 256, "vcpus": 1, "disk": 1,
                                               "os-flavor-access:is_public": False, "id": "p1"}})
    assert r.status_code == 200 and r.body["flavor"]["os-flavor-access:is_public"] is False
    assert alice["nova"].get("flavors/p1").status_code == 404
    r = nova_admin.post("flavors/p1/action", {"addTenantAccess": {"tenant": alice["project"]["id"]}})
    assert r.status_code == 200 and r.body["flavor_access"] == [{"flavor_id": "p1",
                                                                 "tenant_id": alice["project"]["id"]}]
    assert alice["nova"].get("flavors/p1").status_code == 200
    assert bob["nova"].get("flavors/p1").status_code == 404
    assert nova_admin.post("flavors/p1/action", {"addTenantAccess": {"tenant": alice["project"]["id"]}}
                           ).status_code == 409
    r = nova_admin.post("flavors/p1/os-extra_specs", {"extra_specs": {"hw:cpu_policy": "shared"}})
    assert r.status_code == 200 and r.body == {"extra_specs": {"hw:cpu_policy": "shared"}}
    assert alice["nova"].get("flavors/p1/os-extra_specs/hw:cpu_policy").body == {"hw:cpu_policy": "shared"}
    assert alice["nova"].post("flavors/p1/os-extra_specs", {"extra_specs": {"a": "b"}}).status_code == 403
    assert nova_admin.delete("flavors/p1/os-extra_specs/hw:cpu_policy").status_code == 202
    assert nova_admin.get("flavors/p1/os-extra_specs/hw:cpu_policy").status_code == 404
    assert alice["nova"].post("flavors", {"flavor": {"name": "x", "ram": 1, "vcpus": 1, "disk": 1}}).status_code == 403
    assert nova_admin.post("flavors", {"flavor": {"name": "private", "ram": 1, "vcpus": 1, "disk": 1}}
                           ).status_code == 409
    assert nova_admin.post("flavors", {"flavor": {"name": "bad", "ram": -1, "vcpus": 1, "disk": 1}}).status_code == 400
    assert nova_admin.delete("flavors/p1").status_code == 202


SSH_KEY = ("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDx8nkQv/zgGgB4rMYmIf+6A4l6Rr+o/6lHBQdW5aG6"
           "0Q7Y5U7I4m5sbDkB5EhvbU8d1tYf7t9kBXj5K6bXjCrCVv2GNyPqK3r5y8Zbz9pP7Y3vF5Dc2u4W8Yh6G6sV1sDy"
           "P1FY1f6YwDE5fQXlwzKqF7kKcJq8J7Pkg2Y8hT5YhYbm7LUFqK8z5bK8LQ5Rg8L8D9bCGF6Q9cGnGk0rK2tB0c"
           "4dNtgm0OYQ1s8pOjTzGQnXr0Y0L5m2n4RS6j0cmfhcJt8MbcDgJa6wLyV8g2Xk7Hc8GWcfwT5qMq2bnHxvYsZ5"
           "cH7ZzBrT3jCq2cW5DgW9Gn3ZQ0L8nnDO5vHuYuFv alice@example")


@pytest.mark.django_db
def test_keypairs_import_generate_and_per_user(alice, bob):
    nova = alice["nova"]
    r = nova.post("os-keypairs", {"keypair": {"name": "imported", "public_key": SSH_KEY}}, version="2.2")
    assert r.status_code == 201 and r.body["keypair"]["type"] == "ssh" and "private_key" not in r.body["keypair"]
    assert r.body["keypair"]["fingerprint"].count(":") == 15
    r = nova.post("os-keypairs", {"keypair": {"name": "gen"}})
    assert r.status_code == 200 and r.body["keypair"]["private_key"].startswith("-----BEGIN")
    assert "type" not in r.body["keypair"]
    r = nova.post("os-keypairs", {"keypair": {"name": "cert", "type": "x509"}}, version="2.2")
    assert r.status_code == 201 and r.body["keypair"]["type"] == "x509"
    assert "BEGIN CERTIFICATE" in r.body["keypair"]["public_key"]
    names = [k["keypair"]["name"] for k in nova.get("os-keypairs").body["keypairs"]]
    assert names == ["cert", "gen", "imported"]
    shown = nova.get("os-keypairs/imported").body["keypair"]
    assert {"created_at", "deleted", "id", "user_id", "fingerprint", "public_key", "name"} <= set(shown)
    assert bob["nova"].get("os-keypairs/imported").status_code == 404
    assert nova.post("os-keypairs", {"keypair": {"name": "gen"}}).status_code == 409
    assert nova.post("os-keypairs", {"keypair": {"name": "bad", "public_key": "nonsense"}}).status_code == 400
    assert nova.post("os-keypairs", {"keypair": {"name": "b@d!"}}).status_code == 400
    assert nova.post("os-keypairs", {"keypair": {"name": "t", "type": "x509"}}, version="2.1").status_code == 400
    assert nova.delete("os-keypairs/gen").status_code == 202
    assert nova.delete("os-keypairs/gen").status_code == 404


@pytest.mark.django_db
def test_availability_zones(alice, nova_admin, hosts):
    r = alice["nova"].get("os-availability-zone")
    assert r.status_code == 200
    assert r.body["availabilityZoneInfo"][0]["zoneName"] == "nova"
    assert r.body["availabilityZoneInfo"][0]["hosts"] is None
    assert alice["nova"].get("os-availability-zone/detail").status_code == 403
    from apps.compute.scheduler import nodes_sync
    nodes_sync()
    detail = nova_admin.get("os-availability-zone/detail").body["availabilityZoneInfo"]
    assert [z["zoneName"] for z in detail] == ["internal", "nova"]
    assert "nova-compute" in detail[1]["hosts"]["node1"]


@pytest.mark.django_db
def test_limits_and_quota_sets(alice, nova_admin):
    project_id = alice["project"]["id"]
    absolute = alice["nova"].get("limits").body["limits"]["absolute"]
    assert absolute["maxTotalInstances"] == 10 and absolute["maxTotalCores"] == 20
    assert absolute["maxTotalRAMSize"] == 51200 and absolute["totalInstancesUsed"] == 0
    quota = alice["nova"].get(f"os-quota-sets/{project_id}").body["quota_set"]
    assert quota["id"] == project_id and quota["instances"] == 10 and quota["key_pairs"] == 100
    assert alice["nova"].put(f"os-quota-sets/{project_id}", {"quota_set": {"instances": 5}}).status_code == 403
    r = nova_admin.put(f"os-quota-sets/{project_id}", {"quota_set": {"cores": 4}})
    assert r.status_code == 200 and r.body["quota_set"]["cores"] == 4
    detail = nova_admin.get(f"os-quota-sets/{project_id}/detail").body["quota_set"]
    assert detail["cores"] == {"limit": 4, "in_use": 0, "reserved": 0}
    assert nova_admin.get(f"os-quota-sets/{project_id}/defaults").body["quota_set"]["cores"] == 20
    assert nova_admin.put(f"os-quota-sets/{project_id}", {"quota_set": {"cores": "x"}}).status_code == 400


@pytest.mark.django_db
def test_no_token_is_401_in_nova_shape(db):
    r = Nova(None).get("servers")
    assert r.status_code == 401 and "unauthorized" in r.body
