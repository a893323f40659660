"""OpenStack error bodies, one shape per service, for DRF views and plain Django views alike."""
import http
import json
import logging

from django.core import exceptions as django_exc
from django.http import Http404, HttpResponse
from rest_framework import exceptions as drf

from apps.core import exceptions as exc
from apps.core.context import current_request_id

log = logging.getLogger(__name__)

# Path prefix -> service (DESIGN §3); decides the error shape when no view says.
SERVICE_BY_PREFIX = (
    ("/identity", "identity"),
    ("/compute", "compute"),
    ("/placement", "placement"),
    ("/network", "network"),
    ("/volume", "volume"),
    ("/image", "image"),
    ("/object-store", "object-store"),
    ("/orchestration", "orchestration"),
)

# Nova and Cinder name the fault after the status (nova/api/openstack/wsgi.py's table).
NOVA_FAULT_NAMES = {
    400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
    405: "badMethod", 409: "conflictingRequest", 413: "overLimit", 415: "badMediaType",
    429: "overLimit", 501: "notImplemented", 503: "serviceUnavailable",
}
NEUTRON_TYPES = {
    400: "HTTPBadRequest", 401: "HTTPUnauthorized", 403: "HTTPForbidden", 404: "HTTPNotFound",
    405: "HTTPMethodNotAllowed", 406: "HTTPNotAcceptable", 409: "HTTPConflict",
    413: "HTTPRequestEntityTooLarge", 415: "HTTPUnsupportedMediaType", 500: "HTTPInternalServerError",
}


def service_for_path(path):
    for prefix, service in SERVICE_BY_PREFIX:
        if path == prefix or path.startswith(prefix + "/"):
            return service
    return "identity"


def error_body(service, status, title, message, type_name=None, retry_after=None):
    if service in ("compute", "volume"):
        fault = {"code": status, "message": message}
        if retry_after is not None and status in (413, 429):
            fault["retryAfter"] = str(retry_after)  # nova copies Retry-After into the body
        return {NOVA_FAULT_NAMES.get(status, "computeFault"): fault}
    if service == "network":
        return {"NeutronError": {"type": type_name or NEUTRON_TYPES.get(status, "HTTPError"),
                                 "message": message, "detail": ""}}
    if service == "placement":
        return {"errors": [{"status": status, "title": title, "detail": message,
                            "request_id": current_request_id()}]}
    # Keystone's shape; Glance and the rest use the same fields.
    return {"error": {"code": status, "title": title, "message": message}}


def error_response(service, error, request=None):
    body = error_body(service, error.status, error.title, error.message, error.type_name,
                      retry_after=error.headers.get("Retry-After"))
    response = HttpResponse(json.dumps(body), status=error.status, content_type="application/json")
    for key, value in error.headers.items():
        response[key] = value
    if error.status == 401 and service == "identity" and request is not None:
        # keystoneauth reads this to find where to authenticate; keystone names its v3 root.
        response["WWW-Authenticate"] = f'Keystone uri="{request.build_absolute_uri("/identity/v3")}"'
    return response


def _from_drf(e):
    if isinstance(e, drf.ParseError):
        return exc.BadRequest(f"Malformed request body: {e.detail}")
    if isinstance(e, (drf.NotAuthenticated, drf.AuthenticationFailed)):
        return exc.Unauthorized("The request you have made requires authentication.")
    if isinstance(e, drf.PermissionDenied):
        return exc.Forbidden(str(e.detail))
    if isinstance(e, drf.NotFound):
        return exc.NotFound(str(e.detail))
    if isinstance(e, drf.MethodNotAllowed):
        return exc.MethodNotAllowed(str(e.detail))
    if isinstance(e, drf.UnsupportedMediaType):
        return exc.UnsupportedMediaType(str(e.detail))
    if isinstance(e, drf.NotAcceptable):
        return exc.NotAcceptable(str(e.detail))
    if isinstance(e, drf.ValidationError):
        return exc.BadRequest(json.dumps(e.detail) if not isinstance(e.detail, str) else e.detail)
    headers = {"Retry-After": str(int(e.wait))} if getattr(e, "wait", None) else None
    return exc.ApiError(str(getattr(e, "detail", e)), status=e.status_code,
                        title=_phrase(e.status_code), headers=headers)


def _phrase(status):
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _from_django(e):
    """Django's own exceptions raised inside DRF views (get_object_or_404, oversize bodies)."""
    if isinstance(e, Http404):
        return exc.NotFound("The resource could not be found.")
    if isinstance(e, django_exc.PermissionDenied):
        return exc.Forbidden("You are not authorized to perform the requested action.")
    if isinstance(e, django_exc.RequestDataTooBig):
        return exc.PayloadTooLarge("Request is too large.")
    if isinstance(e, django_exc.SuspiciousOperation):
        return exc.BadRequest(str(e) or "Bad request.")
    return None


def exception_handler(e, context):
    """DRF's EXCEPTION_HANDLER: every error, expected or not, leaves in the service's shape."""
    view = context.get("view")
    request = context.get("request")
    service = getattr(view, "service", None) or service_for_path(request.path if request else "")
    if isinstance(e, exc.ApiError):
        error = e
    elif isinstance(e, drf.APIException):
        error = _from_drf(e)
    else:
        error = _from_django(e)
        if error is None:
            log.exception("Unexpected error")
            error = exc.ApiError(
                "An unexpected error prevented the server from fulfilling your request.")
    return error_response(service, error, request)


def handler404(request, exception=None):
    return error_response(service_for_path(request.path),
                          exc.NotFound("The resource could not be found."), request)


def handler500(request):
    return error_response(service_for_path(request.path), exc.ApiError(
        "An unexpected error prevented the server from fulfilling your request."), request)
