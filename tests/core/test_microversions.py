import json

import pytest
from django.http import JsonResponse
from django.test import RequestFactory
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory

from apps.core import exceptions as exc
from apps.core.api.microversions import (
    APIVersionRequest, InvalidVersion, MicroversionMixin, VersionedFieldsMixin, api_version,
    filter_fields, microversioned, negotiate, requested_version,
)
from apps.core.api.views import OpenStackAPIView


# --- APIVersionRequest ------------------------------------------------------------------

def test_version_parses_and_prints():
    v = APIVersionRequest("2.10")
    assert (v.major, v.minor) == (2, 10)
    assert str(v) == "2.10"
    assert repr(v) == "APIVersionRequest('2.10')"
    assert APIVersionRequest(2, 10) == v == APIVersionRequest((2, 10)) == APIVersionRequest(v)


@pytest.mark.parametrize("bad", ["2", "2.", ".1", "2.01", "02.1", "0.1", "a.b", "2.1.1",
                                 " 2.1", "2.1 ", "-2.1", "2.-1", "", "latest",
                                 "2.1\n", "\uff12.1"])
def test_version_refuses_what_nova_refuses(bad):
    with pytest.raises(InvalidVersion, match="is of invalid format"):
        APIVersionRequest(bad)


def test_versions_compare_numerically_and_with_strings():
    assert APIVersionRequest("2.9") < APIVersionRequest("2.10")
    assert APIVersionRequest("2.10") > "2.9"
    assert APIVersionRequest("2.47") >= "2.47"
    assert APIVersionRequest("2.47") <= (2, 47)
    assert APIVersionRequest("3.0") > "2.99"
    assert APIVersionRequest("2.1") == "2.1"
    assert APIVersionRequest("2.1") != "2.2"
    assert APIVersionRequest("2.1") != "garbage"  # not a version: unequal, no exception
    assert len({APIVersionRequest("2.1"), APIVersionRequest(2, 1)}) == 1
    assert sorted([APIVersionRequest("2.10"), APIVersionRequest("2.2")])[0] == "2.2"


def test_matches_with_open_ends():
    v = APIVersionRequest("2.47")
    assert v.matches("2.1", "2.47")
    assert v.matches("2.47", None)
    assert v.matches(None, "2.50")
    assert v.matches()
    assert not v.matches("2.48", None)
    assert not v.matches(None, "2.46")


# --- reading the headers ----------------------------------------------------------------

def test_standard_header_with_several_services_case_insensitive():
    headers = {"openstack-api-version": "volume 3.5, Compute 2.10 , placement 1.2"}
    assert requested_version(headers, "compute") == "2.10"
    assert requested_version(headers, "placement") == "1.2"
    assert requested_version(headers, "volume") == "3.5"
    assert requested_version(headers, "network") is None


def test_last_entry_for_the_service_wins():
    assert requested_version({"OpenStack-API-Version": "compute 2.1,compute 2.5"}, "compute") == "2.5"


def test_entries_without_a_version_are_ignored():
    assert requested_version({"OpenStack-API-Version": "compute"}, "compute") is None


def test_legacy_headers_only_when_the_standard_one_names_no_version():
    assert requested_version({"X-OpenStack-Nova-API-Version": "2.3"}, "compute") == "2.3"
    assert requested_version({"x-openstack-nova-api-version": "2.3",
                              "OpenStack-API-Version": "compute 2.7"}, "compute") == "2.7"
    assert requested_version({"X-OpenStack-Nova-API-Version": "2.3",
                              "OpenStack-API-Version": "volume 3.7"}, "compute") == "2.3"
    # The legacy header of one service is not read for another.
    assert requested_version({"X-OpenStack-Nova-API-Version": "2.3"}, "placement") is None


def test_volume_accepts_catalog_aliases_and_legacy_spellings():
    assert requested_version({"OpenStack-API-Version": "block-storage 3.40"}, "volume") == "3.40"
    assert requested_version({"OpenStack-API-Version": "volumev3 3.41"}, "volume") == "3.41"
    assert requested_version({"X-OpenStack-Volume-API-Version": "3.42"}, "volume") == "3.42"
    assert requested_version({"OpenStack-Volume-microversion": "3.43"}, "volume") == "3.43"


def test_reads_django_request_headers():
    request = RequestFactory().get("/", HTTP_OPENSTACK_API_VERSION="compute 2.9")
    assert requested_version(request, "compute") == "2.9"


# --- negotiation ------------------------------------------------------------------------

def test_no_header_means_the_minimum():
    assert negotiate({}, "compute", "2.1", "2.90") == "2.1"


@pytest.mark.parametrize("latest", ["latest", "Latest", "LATEST"])
def test_latest_means_the_maximum(latest):
    assert negotiate({"OpenStack-API-Version": f"compute {latest}"}, "compute", "2.1", "2.90") == "2.90"


def test_version_in_range_is_served():
    v = negotiate({"OpenStack-API-Version": "compute 2.47"}, "compute", "2.1", "2.90")
    assert isinstance(v, APIVersionRequest) and v == "2.47"


@pytest.mark.parametrize("asked", ["2.0", "2.91", "3.1", "1.5"])
def test_outside_the_range_is_406_naming_the_range(asked):
    with pytest.raises(exc.NotAcceptable) as e:
        negotiate({"OpenStack-API-Version": f"compute {asked}"}, "compute", "2.1", "2.90")
    assert e.value.message == (f"Version {asked} is not supported by the API. "
                               "Minimum is 2.1 and maximum is 2.90.")


@pytest.mark.parametrize("asked", ["2", "2.1.1", "abc", "2.01"])
def test_malformed_is_400(asked):
    with pytest.raises(exc.BadRequest) as e:
        negotiate({"OpenStack-API-Version": f"compute {asked}"}, "compute", "2.1", "2.90")
    assert e.value.message == (f"API Version String {asked} is of invalid format. "
                               "Must be of format MajorNum.MinorNum.")


# --- DRF mixin --------------------------------------------------------------------------

class _Base(MicroversionMixin, OpenStackAPIView):
    authentication_classes = []
    permission_classes = []


class ServerApi(_Base):
    service, min_version, max_version = "compute", "2.1", "2.90"

    def get(self, request):
        if request.query_params.get("fail"):
            raise exc.NotFound("Instance x could not be found.")
        return Response({"version": str(request.api_version),
                         "new": request.api_version >= "2.47"})

    @api_version("2.26")
    def put(self, request):
        return Response({"ok": True})

    @api_version("2.1", "2.10")
    def delete(self, request):
        return Response(status=204)


class VolumeApi(_Base):
    service, min_version, max_version = "volume", "3.0", "3.70"

    def get(self, request):
        return Response({"version": str(request.api_version)})


class PlainApi(_Base):
    service = "network"

    def get(self, request):
        return Response({"version": request.api_version})


def _call(view, method="get", fail=False, **headers):
    path = "/compute/v2.1/servers" + ("?fail=1" if fail else "")
    meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
    response = view.as_view()(getattr(APIRequestFactory(), method)(path, **meta))
    if hasattr(response, "render"):  # DRF responses render lazily; error responses come rendered
        response.render()
    return response


def test_view_reads_the_negotiated_version_and_echoes_it():
    response = _call(ServerApi, **{"OpenStack-API-Version": "compute 2.50"})
    assert response.status_code == 200
    assert json.loads(response.content) == {"version": "2.50", "new": True}
    assert response["OpenStack-API-Version"] == "compute 2.50"
    assert response["X-OpenStack-Nova-API-Version"] == "2.50"
    vary = [v.strip() for v in response["Vary"].split(",")]
    assert "OpenStack-API-Version" in vary and "X-OpenStack-Nova-API-Version" in vary


def test_view_without_header_gets_the_minimum():
    response = _call(ServerApi)
    assert json.loads(response.content)["version"] == "2.1"
    assert response["OpenStack-API-Version"] == "compute 2.1"


def test_legacy_header_request():
    response = _call(ServerApi, **{"X-OpenStack-Nova-API-Version": "2.12"})
    assert json.loads(response.content)["version"] == "2.12"


def test_cinder_echoes_only_the_standard_header():
    response = _call(VolumeApi, **{"OpenStack-API-Version": "volume 3.27"})
    assert response["OpenStack-API-Version"] == "volume 3.27"
    assert "X-OpenStack-Nova-API-Version" not in response
    assert response["Vary"] == "OpenStack-API-Version"


def test_406_in_nova_shape_without_version_headers():
    response = _call(ServerApi, **{"OpenStack-API-Version": "compute 2.200"})
    assert response.status_code == 406
    assert json.loads(response.content) == {"computeFault": {
        "code": 406,
        "message": "Version 2.200 is not supported by the API. Minimum is 2.1 and maximum is 2.90."}}
    assert "OpenStack-API-Version" not in response


def test_malformed_is_400_bad_request_body():
    response = _call(ServerApi, **{"OpenStack-API-Version": "compute two"})
    assert response.status_code == 400
    assert list(json.loads(response.content)) == ["badRequest"]


def test_errors_after_negotiation_still_name_the_version():
    response = _call(ServerApi, fail=True, **{"OpenStack-API-Version": "compute 2.5"})
    assert response.status_code == 404
    assert json.loads(response.content)["itemNotFound"]["message"] == "Instance x could not be found."
    assert response["OpenStack-API-Version"] == "compute 2.5"


def test_method_gated_below_its_version_is_404():
    assert _call(ServerApi, "put", **{"OpenStack-API-Version": "compute 2.25"}).status_code == 404
    assert _call(ServerApi, "put", **{"OpenStack-API-Version": "compute 2.26"}).status_code == 200
    assert _call(ServerApi, "delete", **{"OpenStack-API-Version": "compute 2.10"}).status_code == 204
    assert _call(ServerApi, "delete", **{"OpenStack-API-Version": "compute 2.11"}).status_code == 404


def test_unversioned_view_sets_none_and_adds_no_headers():
    response = _call(PlainApi, **{"OpenStack-API-Version": "network 2.5"})
    assert json.loads(response.content) == {"version": None}
    assert "OpenStack-API-Version" not in response


# --- versioned fields -------------------------------------------------------------------

class FlavorSerializer(VersionedFieldsMixin, serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    extra_specs = serializers.DictField()

    class Meta:
        versioned_fields = {"description": ("2.55", None), "extra_specs": ("2.61", "2.80")}


class _Req:
    def __init__(self, version):
        self.api_version = APIVersionRequest(version)


@pytest.mark.parametrize("version,fields", [
    ("2.1", {"name"}),
    ("2.55", {"name", "description"}),
    ("2.61", {"name", "description", "extra_specs"}),
    ("2.81", {"name", "description"}),
])
def test_serializer_fields_follow_the_version(version, fields):
    flavor = {"name": "m1", "description": "d", "extra_specs": {}}
    data = FlavorSerializer(flavor, context={"request": _Req(version)}).data
    assert set(data) == fields


def test_serializer_without_request_keeps_every_field():
    assert set(FlavorSerializer({"name": "m1", "description": "d", "extra_specs": {}}).data) == {
        "name", "description", "extra_specs"}


def test_filter_fields_on_plain_dicts():
    body = {"id": "x", "locked_reason": None, "tags": []}
    ranges = {"locked_reason": ("2.73", None), "tags": ("2.26", None)}
    assert filter_fields(dict(body), APIVersionRequest("2.30"), ranges) == {"id": "x", "tags": []}
    assert filter_fields(dict(body), APIVersionRequest("2.73"), ranges) == body


# --- plain Django views -----------------------------------------------------------------

@microversioned("placement", "1.0", "1.39")
def placement_view(request):
    if request.GET.get("fail"):
        raise exc.NotFound("No resource provider with uuid x found")
    return JsonResponse({"version": str(request.api_version)})


def test_plain_view_negotiates_and_renders_errors_in_its_shape():
    rf = RequestFactory()
    ok = placement_view(rf.get("/placement/", HTTP_OPENSTACK_API_VERSION="placement 1.20"))
    assert json.loads(ok.content) == {"version": "1.20"}
    assert ok["OpenStack-API-Version"] == "placement 1.20"
    assert ok["Vary"] == "OpenStack-API-Version"

    bad = placement_view(rf.get("/placement/", HTTP_OPENSTACK_API_VERSION="placement 1.99"))
    assert bad.status_code == 406
    assert json.loads(bad.content)["errors"][0]["status"] == 406

    missing = placement_view(rf.get("/placement/?fail=1"))
    assert missing.status_code == 404
    assert missing["OpenStack-API-Version"] == "placement 1.0"
