"""Errors every service raises; apps/core/api/errors.py renders them in each service's shape."""


class ApiError(Exception):
    status = 500
    title = "Internal Server Error"

    def __init__(self, message=None, *, status=None, title=None, type_name=None, headers=None):
        self.message = message or self.title
        if status is not None:
            self.status = status
        if title is not None:
            self.title = title
        # Neutron names its errors by type ("NetworkNotFound"); others ignore it.
        self.type_name = type_name
        self.headers = headers or {}
        super().__init__(self.message)


class BadRequest(ApiError):
    status, title = 400, "Bad Request"


class Unauthorized(ApiError):
    status, title = 401, "Unauthorized"


class Forbidden(ApiError):
    status, title = 403, "Forbidden"


class NotFound(ApiError):
    status, title = 404, "Not Found"


class MethodNotAllowed(ApiError):
    status, title = 405, "Method Not Allowed"


class NotAcceptable(ApiError):
    status, title = 406, "Not Acceptable"


class Conflict(ApiError):
    status, title = 409, "Conflict"


class PayloadTooLarge(ApiError):
    status, title = 413, "Request Entity Too Large"


class UnsupportedMediaType(ApiError):
    status, title = 415, "Unsupported Media Type"


class OverQuota(ApiError):
    status, title = 413, "Over Quota"
