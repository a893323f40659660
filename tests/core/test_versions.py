import json

import jsonschema
import pytest
from django.test import RequestFactory, override_settings
from django.urls import set_script_prefix

from apps.core.api import versions as v

# Response schemas the clients check, after tempest's and nova's own.
_LINK = {"type": "object", "required": ["href", "rel"], "additionalProperties": False,
         "properties": {"href": {"type": "string"}, "rel": {"type": "string"}, "type": {"type": "string"}}}
_MEDIA = {"type": "array", "items": {"type": "object", "required": ["base", "type"],
                                     "additionalProperties": False,
                                     "properties": {"base": {"type": "string"}, "type": {"type": "string"}}}}
NOVA_VERSION = {
    "type": "object",
    "properties": {"id": {"type": "string"},
                   "status": {"enum": ["CURRENT", "SUPPORTED", "DEPRECATED"]},
                   "links": {"type": "array", "items": _LINK},
                   "min_version": {"type": "string"}, "version": {"type": "string"},
                   "updated": {"type": "string"}, "media-types": _MEDIA},
    "required": ["id", "status", "links", "min_version", "updated"],
    "additionalProperties": False,
}
NOVA_INDEX = {"type": "object", "required": ["versions"], "additionalProperties": False,
              "properties": {"versions": {"type": "array", "items": {
                  **NOVA_VERSION, "not": {"required": ["media-types"]}}}}}
NOVA_SHOW = {"type": "object", "required": ["version"], "additionalProperties": False,
             "properties": {"version": {**NOVA_VERSION, "required": NOVA_VERSION["required"] + ["media-types"]}}}
CINDER_LIST = {"type": "object", "required": ["versions"], "properties": {"versions": {
    "type": "array", "items": {"type": "object", "properties": {"links": {"type": "array", "items": _LINK}},
                               "required": ["status", "updated", "id", "links", "min_version",
                                            "version", "media-types"]}}}}


def _request(path="/", **extra):
    return RequestFactory().get(path, **extra)


def test_identity_root_is_300_with_location():
    doc = v.identity_versions(_request("/identity"))
    assert doc.status == 300
    assert doc.body == {"versions": {"values": [{
        "id": "v3.14",
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": "http://testserver/identity/v3/"}],
        "media-types": [{"base": "application/json",
                         "type": "application/vnd.openstack.identity-v3+json"}],
    }]}}
    assert doc.headers == {"Location": "http://testserver/identity/v3/"}


def test_identity_v3_is_the_same_entry():
    root = v.identity_versions(_request()).body["versions"]["values"][0]
    doc = v.identity_version(_request("/identity/v3"))
    assert doc.status == 200 and doc.body == {"version": root}


def test_compute_root_lists_v20_first_then_v21():
    doc = v.compute_versions(_request("/compute"), min_version="2.1", max_version="2.60")
    assert doc.status == 200
    jsonschema.validate(doc.body, NOVA_INDEX)
    v20, v21 = doc.body["versions"]
    assert v20 == {"id": "v2.0", "status": "DEPRECATED", "version": "", "min_version": "",
                   "updated": "2025-07-04T12:00:00Z",
                   "links": [{"rel": "self", "href": "http://testserver/compute/v2/"}]}
    assert v21 == {"id": "v2.1", "status": "CURRENT", "version": "2.60", "min_version": "2.1",
                   "updated": "2013-07-23T11:33:21Z",
                   "links": [{"rel": "self", "href": "http://testserver/compute/v2.1/"}]}


def test_compute_root_without_v2():
    doc = v.compute_versions(_request(), min_version="2.1", max_version="2.60", include_v2=False)
    assert [x["id"] for x in doc.body["versions"]] == ["v2.1"]


@pytest.mark.parametrize("legacy", [False, True])
def test_compute_version_documents_keep_the_self_link_tempest_followed(legacy):
    # tempest: GET every self link of the list, the document there has the same self link.
    listed = v.compute_versions(_request(), min_version="2.1", max_version="2.60").body["versions"]
    doc = v.compute_version(_request(), min_version="2.1", max_version="2.60", legacy_v2=legacy)
    jsonschema.validate(doc.body, NOVA_SHOW)
    version = doc.body["version"]
    entry = listed[0 if legacy else 1]
    assert [x for x in version["links"] if x["rel"] == "self"] == entry["links"]
    assert version["links"][1] == {"rel": "describedby", "type": "text/html",
                                   "href": "http://docs.openstack.org/"}
    assert version["media-types"] == [{"base": "application/json",
                                       "type": "application/vnd.openstack.compute+json;version="
                                               + ("2" if legacy else "2.1")}]


def test_network_root_and_resources():
    doc = v.network_versions(_request("/network"))
    assert doc.status == 200
    assert doc.body == {"versions": [{"id": "v2.0", "status": "CURRENT", "links": [
        {"rel": "self", "href": "http://testserver/network/v2.0/"}]}]}
    resources = v.network_resources(_request("/network/v2.0/")).body["resources"]
    assert {r["name"] for r in resources} >= {"network", "subnet", "port"}
    assert resources[0] == {"name": "network", "collection": "networks", "links": [
        {"rel": "self", "href": "http://testserver/network/v2.0/networks"}]}


def test_image_lists_each_minor_version_newest_first():
    doc = v.image_versions(_request("/image"), max_version="2.3")
    assert doc.status == 300
    assert doc.body == {"versions": [
        {"id": f"v2.{n}", "status": "CURRENT" if n == 3 else "SUPPORTED",
         "links": [{"rel": "self", "href": "http://testserver/image/v2/"}]} for n in (3, 2, 1, 0)]}
    assert v.image_versions(_request("/image/versions"), max_version="2.3", explicit=True).status == 200


def test_volume_root_is_300_and_v3_200():
    doc = v.volume_versions(_request("/volume"), max_version="3.60")
    assert doc.status == 300
    jsonschema.validate(doc.body, CINDER_LIST)
    (entry,) = doc.body["versions"]
    assert entry["id"] == "v3.0" and entry["version"] == "3.60" and entry["min_version"] == "3.0"
    assert entry["updated"] == "2023-08-31T00:00:00Z"
    assert entry["links"] == [
        {"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"},
        {"rel": "self", "href": "http://testserver/volume/v3/"}]
    assert entry["media-types"] == [{"base": "application/json",
                                     "type": "application/vnd.openstack.volume+json;version=3"}]
    assert v.volume_versions(_request("/volume/v3/"), max_version="3.60", explicit=True).status == 200


def test_placement_root():
    doc = v.placement_versions(_request("/placement"), max_version="1.36")
    assert doc.status == 200
    assert doc.body == {"versions": [{"id": "v1.0", "max_version": "1.36", "min_version": "1.0",
                                      "status": "CURRENT", "links": [{"rel": "self", "href": ""}]}]}


# --- URLs as the client reached us ------------------------------------------------------

@override_settings(USE_X_FORWARDED_HOST=True, SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
def test_links_follow_the_proxy_when_django_is_told():
    request = _request(HTTP_X_FORWARDED_HOST="cloud.example.com:8443", HTTP_X_FORWARDED_PROTO="https")
    doc = v.compute_versions(request, min_version="2.1", max_version="2.60")
    assert doc.body["versions"][1]["links"][0]["href"] == "https://cloud.example.com:8443/compute/v2.1/"


def test_forwarded_headers_ignored_unless_django_is_told():
    request = _request(HTTP_X_FORWARDED_HOST="evil.example.com", HTTP_X_FORWARDED_PROTO="https")
    assert v.network_versions(request).body["versions"][0]["links"][0]["href"] == \
        "http://testserver/network/v2.0/"


def test_script_prefix_is_kept():
    set_script_prefix("/cloud/")
    try:
        assert v.service_url(_request(), "/identity", "v3") == "http://testserver/cloud/identity/v3/"
    finally:
        set_script_prefix("/")


# --- views ------------------------------------------------------------------------------

def test_version_view_serves_get_and_head():
    view = v.version_view(v.identity_versions)
    response = view(_request("/identity"))
    assert response.status_code == 300
    assert response["Content-Type"] == "application/json"
    assert response["Location"] == "http://testserver/identity/v3/"
    assert json.loads(response.content)["versions"]["values"][0]["id"] == "v3.14"
    assert view(RequestFactory().head("/identity")).status_code == 300


def test_version_view_passes_facts():
    view = v.version_view(v.compute_version, min_version="2.1", max_version="2.42")
    assert json.loads(view(_request("/compute/v2.1/")).content)["version"]["version"] == "2.42"


def test_version_view_refuses_other_methods_in_the_service_shape():
    response = v.version_view(v.network_versions)(RequestFactory().post("/network"))
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert json.loads(response.content)["NeutronError"]["type"] == "HTTPMethodNotAllowed"
