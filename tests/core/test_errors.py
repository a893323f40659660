import json

import pytest
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404
from django.test import RequestFactory
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory

from apps.core import exceptions as exc
from apps.core.api import errors
from apps.core.api.views import OpenStackAPIView
from apps.core.context import request_id_var


@pytest.mark.parametrize("path,service", [
    ("/identity", "identity"), ("/identity/v3/users", "identity"),
    ("/compute/v2.1/servers", "compute"), ("/network/v2.0/ports", "network"),
    ("/volume/v3/p/volumes", "volume"), ("/image/v2/images", "image"),
    ("/placement/resource_providers", "placement"), ("/object-store/v1/AUTH_p", "object-store"),
    ("/orchestration/v1/p/stacks", "orchestration"),
    ("/computer", "identity"), ("/", "identity"),  # a prefix must end at a path segment
])
def test_service_for_path(path, service):
    assert errors.service_for_path(path) == service


def test_nova_and_cinder_shape():
    assert errors.error_body("compute", 404, "Not Found", "Instance x could not be found.") == {
        "itemNotFound": {"code": 404, "message": "Instance x could not be found."}}
    assert errors.error_body("volume", 400, "Bad Request", "bad") == {"badRequest": {"code": 400, "message": "bad"}}
    assert errors.error_body("compute", 406, "Not Acceptable", "v") == {"computeFault": {"code": 406, "message": "v"}}
    assert errors.error_body("compute", 500, "Internal Server Error", "boom") == {
        "computeFault": {"code": 500, "message": "boom"}}


@pytest.mark.parametrize("status,name", [(400, "badRequest"), (401, "unauthorized"), (403, "forbidden"),
                                         (404, "itemNotFound"), (405, "badMethod"), (409, "conflictingRequest"),
                                         (413, "overLimit"), (415, "badMediaType"), (429, "overLimit"),
                                         (501, "notImplemented"), (503, "serviceUnavailable")])
def test_nova_fault_names(status, name):
    assert list(errors.error_body("compute", status, "", "m")) == [name]


def test_nova_retry_after_in_the_body():
    response = errors.error_response("compute", exc.OverQuota("Quota exceeded", headers={"Retry-After": "30"}))
    assert json.loads(response.content) == {"overLimit": {"code": 413, "message": "Quota exceeded",
                                                          "retryAfter": "30"}}
    assert response["Retry-After"] == "30"


def test_neutron_shape():
    assert errors.error_body("network", 404, "Not Found", "Network x could not be found.",
                             "NetworkNotFound") == {"NeutronError": {
                                 "type": "NetworkNotFound", "message": "Network x could not be found.",
                                 "detail": ""}}
    assert errors.error_body("network", 409, "Conflict", "m")["NeutronError"]["type"] == "HTTPConflict"


def test_keystone_shape_and_the_rest():
    body = {"error": {"code": 403, "title": "Forbidden", "message": "no"}}
    assert errors.error_body("identity", 403, "Forbidden", "no") == body
    assert errors.error_body("image", 403, "Forbidden", "no") == body


def test_placement_shape_carries_the_request_id():
    token = request_id_var.set("req-7d6a5a3e-28f3-4b0a-8d1f-1c1f1f1f1f1f")
    try:
        body = errors.error_body("placement", 404, "Not Found", "No provider")
    finally:
        request_id_var.reset(token)
    assert body == {"errors": [{"status": 404, "title": "Not Found", "detail": "No provider",
                                "request_id": "req-7d6a5a3e-28f3-4b0a-8d1f-1c1f1f1f1f1f"}]}


def test_error_response_status_type_and_headers():
    response = errors.error_response("compute", exc.Conflict("busy", headers={"X-Thing": "1"}))
    assert response.status_code == 409
    assert response["Content-Type"] == "application/json"
    assert response["X-Thing"] == "1"


def test_identity_401_names_where_to_authenticate():
    request = RequestFactory().get("/identity/v3/users")
    response = errors.error_response("identity", exc.Unauthorized("The request you have made requires "
                                                                  "authentication."), request)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Keystone uri="http://testserver/identity/v3"'
    assert "WWW-Authenticate" not in errors.error_response("compute", exc.Unauthorized(), request)


# --- DRF's exception handler ------------------------------------------------------------

class _Api(OpenStackAPIView):
    authentication_classes = []
    permission_classes = []
    raise_this = None

    def get(self, request):
        raise self.raise_this

    def post(self, request):
        return Response(request.data)


def _call(service, error, path="/compute/v2.1/servers", method="get", **kw):
    view = type("V", (_Api,), {"service": service, "raise_this": error}).as_view()
    response = view(getattr(APIRequestFactory(), method)(path, **kw))
    if hasattr(response, "render"):
        response.render()
    return response, json.loads(response.content) if response.content else None


def test_api_errors_render_in_the_views_service_shape():
    response, body = _call("network", exc.NotFound("Network x could not be found.", type_name="NetworkNotFound"))
    assert response.status_code == 404
    assert body["NeutronError"]["type"] == "NetworkNotFound"


def test_service_falls_back_to_the_path():
    response, body = _call(None, exc.BadRequest("nope"), path="/compute/v2.1/servers")
    assert body == {"badRequest": {"code": 400, "message": "nope"}}


@pytest.mark.parametrize("error,status,message", [
    (drf.NotAuthenticated(), 401, "The request you have made requires authentication."),
    (drf.AuthenticationFailed(), 401, "The request you have made requires authentication."),
    (drf.PermissionDenied("no"), 403, "no"),
    (drf.NotFound("gone"), 404, "gone"),
    (drf.MethodNotAllowed("PATCH"), 405, 'Method "PATCH" not allowed.'),
    (drf.ValidationError("bad thing"), 400, '["bad thing"]'),
    (drf.ValidationError({"name": ["required"]}), 400, '{"name": ["required"]}'),
])
def test_drf_exceptions(error, status, message):
    response, body = _call("identity", error)
    assert response.status_code == status
    assert body["error"]["code"] == status and body["error"]["message"] == message


def test_malformed_json_is_400():
    response, body = _call("compute", None, method="post", data=b"{not json",
                           content_type="application/json")
    assert response.status_code == 400
    assert body["badRequest"]["message"].startswith("Malformed request body: Malformed JSON")


def test_json_that_is_not_an_object_is_400():
    response, body = _call("compute", None, method="post", data=b"[1, 2]", content_type="application/json")
    assert response.status_code == 400
    assert "must be a JSON object" in body["badRequest"]["message"]


def test_unsupported_media_type_is_415():
    response, body = _call("compute", None, method="post", data=b"a=b", content_type="text/plain")
    assert response.status_code == 415
    assert list(body) == ["badMediaType"]


def test_throttled_keeps_its_status_title_and_retry_after():
    response, body = _call("identity", drf.Throttled(wait=12))
    assert response.status_code == 429
    assert body["error"]["title"] == "Too Many Requests"
    assert response["Retry-After"] == "12"


@pytest.mark.parametrize("error,status", [
    (Http404("no such thing"), 404),
    (PermissionDenied(), 403),
    (RequestDataTooBig("too big"), 413),
    (SuspiciousOperation("odd"), 400),
])
def test_django_exceptions_keep_their_meaning(error, status):
    response, body = _call("compute", error)
    assert response.status_code == status
    assert next(iter(body.values()))["code"] == status


def test_unexpected_exceptions_are_a_generic_500(caplog):
    response, body = _call("identity", RuntimeError("secret detail"))
    assert response.status_code == 500
    assert body == {"error": {"code": 500, "title": "Internal Server Error", "message": (
        "An unexpected error prevented the server from fulfilling your request.")}}
    assert "secret detail" not in response.content.decode()
    assert "Unexpected error" in caplog.text


def test_handler404_and_handler500_pick_the_shape_from_the_path():
    rf = RequestFactory()
    response = errors.handler404(rf.get("/network/v2.0/nothing"))
    assert response.status_code == 404
    assert json.loads(response.content)["NeutronError"]["type"] == "HTTPNotFound"
    response = errors.handler500(rf.get("/compute/v2.1/servers"))
    assert response.status_code == 500
    assert list(json.loads(response.content)) == ["computeFault"]
