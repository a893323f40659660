"""The metadata service behind the network's proxy, and the config drive's files."""
import base64
import hashlib
import hmac
import json

import pytest

from apps.compute.drivers.fake import FakeComputeDriver
from apps.compute.models import Flavor, Server

from .conftest import boot


def _signed(client, path, network_id, source, secret="s3cret"):
    sig = hmac.new(secret.encode(), f"{network_id}:{source}".encode(), hashlib.sha256).hexdigest()
    return client.get(f"/metadata{path}", HTTP_X_FORWARDED_FOR=source, HTTP_X_NEUTRON_NETWORK_ID=network_id,
                      HTTP_X_MONOSTACK_METADATA_SIGNATURE=sig)


@pytest.mark.django_db
def test_metadata_names_the_instance_by_network_and_address(client, hosts, alice, alice_net, image):
    user_data = base64.b64encode(b"#!/bin/sh\necho hi\n").decode()
    sid = boot(alice["nova"], image, user_data=user_data, metadata={"role": "web"})["server"]["id"]
    server = Server.objects.get(pk=sid)
    ip = server.network_info[0]["ips"][0]["address"]
    r = _signed(client, "/openstack/latest/meta_data.json", str(alice_net.id), ip)
    assert r.status_code == 200
    body = json.loads(r.content)
    assert body["uuid"] == sid and body["name"] == "vm" and body["hostname"] == "vm"
    assert body["project_id"] == alice["project"]["id"] and body["availability_zone"] == "nova"
    assert body["launch_index"] == 0 and body["meta"] == {"role": "web"} and body["public_keys"] == {}
    assert _signed(client, "/openstack/latest/user_data", str(alice_net.id), ip).content == b"#!/bin/sh\necho hi\n"
    assert b"meta_data.json" in _signed(client, "/openstack/latest", str(alice_net.id), ip).content
    assert b"latest" in _signed(client, "/openstack", str(alice_net.id), ip).content
    nd = json.loads(_signed(client, "/openstack/latest/network_data.json", str(alice_net.id), ip).content)
    assert nd["links"][0]["ethernet_mac_address"] == server.network_info[0]["mac"]
    assert _signed(client, "/latest/meta-data/local-ipv4", str(alice_net.id), ip).content.decode() == ip
    assert b"instance-id" in _signed(client, "/latest/meta-data/", str(alice_net.id), ip).content
    assert _signed(client, "/latest/user-data", str(alice_net.id), ip).status_code == 200
    # A wrong signature, or an address no server has, learns nothing.
    assert _signed(client, "/openstack/latest/meta_data.json", str(alice_net.id), ip, secret="x").status_code == 403
    assert _signed(client, "/openstack/latest/meta_data.json", str(alice_net.id), "10.9.9.9").status_code == 404


@pytest.mark.django_db
def test_config_drive_carries_the_same_meta_data(hosts, alice, alice_net, image):
    sid = boot(alice["nova"], image, config_drive=True)["server"]["id"]
    spec = FakeComputeDriver.hosts["node1"][sid]["spec"]
    files = spec["config_drive"]
    meta = json.loads(files["openstack/latest/meta_data.json"])
    assert meta["uuid"] == sid
    for version in ("2012-08-10", "2018-08-27", "latest"):
        assert f"openstack/{version}/meta_data.json" in files
    for name in ("network_data.json", "vendor_data.json", "vendor_data2.json"):
        assert f"openstack/latest/{name}" in files
    assert "ec2/latest/meta-data.json" in files and "ec2/2009-04-04/meta-data.json" in files
    assert spec["image"]["url"].startswith("http://cloud.test/compute/host-data/images/")


@pytest.mark.django_db
def test_host_image_url_is_signed_for_the_host(client, hosts, alice, alice_net, image):
    sid = boot(alice["nova"], image)["server"]["id"]
    url = FakeComputeDriver.hosts["node1"][sid]["spec"]["image"]["url"].replace("http://cloud.test", "")
    assert client.get(url.replace("host=node1", "host=node2")).status_code == 403
    assert client.get(url.replace("signature=", "signature=0")).status_code == 403
    assert client.get(url).status_code != 403


@pytest.mark.django_db
def test_default_flavors_come_with_migrations(db):
    assert list(Flavor.objects.order_by("flavorid").values_list("flavorid", "name")) == [
        ("1", "m1.tiny"), ("2", "m1.small"), ("3", "m1.medium"), ("4", "m1.large"), ("5", "m1.xlarge")]
