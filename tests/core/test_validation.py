import json

import jsonschema
import pytest
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory

from apps.core import exceptions as exc
from apps.core.api import validation as v
from apps.core.api.views import OpenStackAPIView

SERVER = v.object_schema({
    "server": v.object_schema({
        "name": v.name,
        "imageRef": v.uuid,
        "description": v.description,
        "min_count": v.positive_integer,
        "config_drive": v.boolean,
        "accessIPv4": v.ipv4,
        "accessIPv6": v.ipv6,
        "cidr": v.cidr,
        "metadata": v.metadata,
    }, required=["name"]),
}, required=["server"])


def _error(schema, body, **kw):
    with pytest.raises(exc.BadRequest) as e:
        v.validate(schema, body, **kw)
    return e.value.message


def test_valid_body_passes_and_is_returned():
    body = {"server": {"name": "web 1", "imageRef": "70a599e0-31e7-49b7-b260-868f441e862b",
                       "min_count": "2", "config_drive": "yes", "accessIPv4": "192.0.2.1",
                       "accessIPv6": "2001:db8::1", "cidr": "10.0.0.0/24",
                       "description": None, "metadata": {"role": "web"}}}
    assert v.validate(SERVER, body) is body


def test_too_long_names_the_field_in_novas_words():
    long = "x" * 256
    assert _error(SERVER, {"server": {"name": long}}) == (
        f"Invalid input for field/attribute name. Value: {long}. '{long}' is too long")


def test_keystone_wording():
    assert _error(SERVER, {"server": {"name": 5}}, style="keystone") == (
        "Invalid input for field 'server/name': 5 is not of type 'string'")


def test_unknown_fields_are_refused_by_default():
    assert _error(SERVER, {"server": {"name": "a", "flavor": "x"}}) == (
        "Invalid input for field/attribute server. Value: {'name': 'a', 'flavor': 'x'}. "
        "Additional properties are not allowed ('flavor' was unexpected)")
    assert v.object_schema({}, additional_properties=True)["additionalProperties"] is True


def test_missing_required_member():
    assert _error(SERVER, {}) == "'server' is a required property"


@pytest.mark.parametrize("name", [" lead", "trail ", "tab\t", "new\nline", "\x00nul", "\u2028sep"])
def test_name_refused_like_nova(name):
    assert _error(SERVER, {"server": {"name": name}}) == (
        "An invalid 'name' value was provided. The name must be: printable characters. "
        "Can not start or end with whitespace.")


@pytest.mark.parametrize("name", ["a", "web server", "ünïcode", "名前", "x" * 255, "a-b_c.d"])
def test_names_nova_accepts(name):
    v.validate(SERVER, {"server": {"name": name}})


def test_empty_name_is_too_short_not_invalid():
    assert _error(SERVER, {"server": {"name": ""}}) == (
        "Invalid input for field/attribute name. Value: . '' should be non-empty")


def test_name_with_leading_trailing_spaces():
    schema = v.object_schema({"name": v.name_with_leading_trailing_spaces})
    v.validate(schema, {"name": "  padded  "})
    assert "at least one non space character" in _error(schema, {"name": "   "})


TRUTHY = ["True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes"]
FALSY = ["False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no"]


@pytest.mark.parametrize("value", [True, False, *TRUTHY, *FALSY])
def test_boolean_accepts_novas_variants(value):
    v.validate(v.object_schema({"flag": v.boolean}), {"flag": value})


@pytest.mark.parametrize("value", ["maybe", "tRuE", "", "2", 1, 0, None])
def test_boolean_refuses_anything_else(value):
    _error(v.object_schema({"flag": v.boolean}), {"flag": value})


def test_to_bool():
    assert all(v.to_bool(x) is True for x in [True, *TRUTHY])
    assert all(v.to_bool(x) is False for x in [False, *FALSY])
    with pytest.raises(exc.BadRequest):
        v.to_bool("maybe")


@pytest.mark.parametrize("value,ok", [
    ("70a599e0-31e7-49b7-b260-868f441e862b", True),
    ("70A599E0-31E7-49B7-B260-868F441E862B", True),
    ("70a599e031e749b7b260868f441e862b", True),
    ("70a599e0-31e7-49b7-b260-868f441e862", False),
    ("not-a-uuid", False),
    ("", False),
])
def test_uuid(value, ok):
    schema = v.object_schema({"id": v.uuid})
    if ok:
        v.validate(schema, {"id": value})
    else:
        assert "is not a 'uuid'" in _error(schema, {"id": value})


@pytest.mark.parametrize("fragment,good,bad", [
    (v.ipv4, ["192.0.2.1", "0.0.0.0"], ["256.0.0.1", "192.0.2", "192.0.02.1", "2001:db8::1", " 1.2.3.4"]),
    (v.ipv6, ["2001:db8::1", "::", "fe80::1"], ["2001:db8:::1", "192.0.2.1", "g::1"]),
    (v.ip_address, ["192.0.2.1", "2001:db8::1"], ["nope"]),
    (v.cidr, ["10.0.0.0/8", "10.0.0.1/24", "2001:db8::/64"], ["10.0.0.0", "10.0.0.0/33", "10.0.0.0/ 8", "x/8"]),
    (v.mac_address, ["fa:16:3e:00:00:01"], ["fa:16:3e:00:00", "fa-16-3e-00-00-01", "zz:16:3e:00:00:01"]),
    (v.date_time, ["2024-01-01T00:00:00Z", "2024-01-01T00:00:00.123+02:00"], ["2024-13-01T00:00:00Z", "yesterday"]),
])
def test_address_and_time_formats(fragment, good, bad):
    schema = v.object_schema({"x": fragment})
    for value in good:
        v.validate(schema, {"x": value})
    for value in bad:
        _error(schema, {"x": value})


@pytest.mark.parametrize("value,ok", [(0, True), ("0", True), ("10", True), (5, True),
                                      (-1, False), ("-1", False), ("abc", False), ("", False),
                                      (1.5, False), (True, False)])
def test_non_negative_integer_takes_numeric_strings(value, ok):
    schema = v.object_schema({"n": v.non_negative_integer})
    if ok:
        v.validate(schema, {"n": value})
    else:
        _error(schema, {"n": value})


def test_positive_integer_minimum_applies_to_strings():
    assert _error(v.object_schema({"n": v.positive_integer}), {"n": "0"}) == (
        "Invalid input for field/attribute n. Value: 0. 0 is less than the minimum of 1")


def test_description_refuses_control_characters():
    schema = v.object_schema({"d": v.description})
    v.validate(schema, {"d": "A web server, with spaces."})
    v.validate(schema, {"d": ""})
    _error(schema, {"d": "bell\x07"})
    _error(schema, {"d": "x" * 256})


def test_broken_schema_fails_when_compiled():
    with pytest.raises(jsonschema.SchemaError):
        v.compile_schema({"type": "objekt"})
    with pytest.raises(jsonschema.SchemaError):
        v.schema({"type": 12})


def test_compiled_once_per_schema():
    schema = v.object_schema({"a": {"type": "string"}})
    first = v.compile_schema(schema)
    assert v.compile_schema(schema) is first


def test_schema_with_its_own_draft():
    draft4 = {"$schema": "http://json-schema.org/draft-04/schema#", "type": "object",
              "properties": {"n": {"type": "integer", "minimum": 1, "exclusiveMinimum": True}}}
    v.validate(draft4, {"n": 2})
    _error(draft4, {"n": 1})


# --- decorators -------------------------------------------------------------------------

class ServersApi(OpenStackAPIView):
    service = "compute"
    authentication_classes = []
    permission_classes = []

    @v.schema(SERVER)
    def post(self, request):
        return Response({"name": request.data["server"]["name"]}, status=202)


class NetworksApi(OpenStackAPIView):
    service = "network"
    authentication_classes = []
    permission_classes = []

    @v.query_schema(v.object_schema({"limit": {"type": "array", "items": v.non_negative_integer}},
                                    additional_properties=True))
    def get(self, request):
        return Response({"networks": []})


def _post(view, body, path="/compute/v2.1/servers"):
    request = APIRequestFactory().post(path, json.dumps(body) if not isinstance(body, bytes) else body,
                                       content_type="application/json")
    response = view.as_view()(request)
    if hasattr(response, "render"):
        response.render()
    return response, json.loads(response.content)


def test_decorated_view_accepts_a_valid_body():
    response, body = _post(ServersApi, {"server": {"name": "a"}})
    assert response.status_code == 202 and body == {"name": "a"}


def test_decorated_view_answers_400_in_the_service_shape():
    response, body = _post(ServersApi, {"server": {"name": " a"}})
    assert response.status_code == 400
    assert body == {"badRequest": {"code": 400, "message": (
        "An invalid 'name' value was provided. The name must be: printable characters. "
        "Can not start or end with whitespace.")}}


def test_empty_body_is_refused_by_required():
    response, body = _post(ServersApi, b"")
    assert response.status_code == 400
    assert body["badRequest"]["message"] == "'server' is a required property"


def test_query_schema():
    request = APIRequestFactory().get("/network/v2.0/networks?limit=-3")
    response = NetworksApi.as_view()(request)
    assert response.status_code == 400
    assert json.loads(response.content)["NeutronError"]["message"].startswith(
        "Invalid input for query parameters limit. Value: -3.")
    ok = NetworksApi.as_view()(APIRequestFactory().get("/network/v2.0/networks?limit=3&name=x"))
    assert ok.status_code == 200
