"""Microversions: negotiation per the API-WG spec, with the quirks clients rely on.

A request names the version it wants in ``OpenStack-API-Version: <service> X.Y`` (several
services comma-separated, ``latest`` for the maximum) or, for older clients, a legacy
header (``X-OpenStack-Nova-API-Version: X.Y``). No header means the minimum. A malformed
version is a 400 and a version outside the range a 406, as nova, cinder and placement
answer; the response names the version served and ``Vary``s on the headers.

A DRF view declares ``service``, ``min_version`` and ``max_version`` and reads
``request.api_version``::

    class ServerListApi(MicroversionMixin, OpenStackAPIView):
        service, min_version, max_version = "compute", "2.1", "2.96"

        def get(self, request):
            if request.api_version >= "2.47": ...

        @api_version("2.26")          # 404 below 2.26, as nova does
        def put(self, request): ...
"""
import functools
import re

from django.http.request import HttpHeaders
from django.utils.cache import patch_vary_headers

from apps.core import exceptions as exc

STANDARD_HEADER = "OpenStack-API-Version"

# Other spellings of a service type that clients put in the standard header:
# keystoneauth sends "volume" for block-storage/volumev3 endpoints, "shared-file-system"
# for sharev2, but other clients send the catalog type as is.
SERVICE_ALIASES = {
    "volume": ("volume", "block-storage", "block_storage", "volumev3"),
    "shared-file-system": ("shared-file-system", "sharev2"),
}

# Headers read when the standard header names no version for the service. Cinder itself
# reads only the standard one, but gophercloud and some SDKs send only these.
LEGACY_HEADERS = {
    "compute": ("X-OpenStack-Nova-API-Version",),
    "volume": ("OpenStack-Volume-microversion", "X-OpenStack-Volume-API-Version"),
    "shared-file-system": ("X-OpenStack-Manila-API-Version",),
    "baremetal": ("X-OpenStack-Ironic-API-Version",),
}

# The legacy header a service also answers with (nova: both, cinder/placement: standard only).
ECHOED_LEGACY_HEADER = {
    "compute": "X-OpenStack-Nova-API-Version",
    "shared-file-system": "X-OpenStack-Manila-API-Version",
    "baremetal": "X-OpenStack-Ironic-API-Version",
}

# Nova's grammar: no leading zeros, no signs, no spaces inside.
_VERSION_RE = re.compile(r"([1-9][0-9]*)\.([1-9][0-9]*|0)")


class InvalidVersion(ValueError):
    pass


@functools.total_ordering
class APIVersionRequest:
    """A microversion "X.Y"; compares with other versions, "X.Y" strings and (X, Y) tuples."""

    __slots__ = ("major", "minor")

    def __init__(self, major, minor=None):
        if minor is None:
            if isinstance(major, APIVersionRequest):
                major, minor = major.major, major.minor
            elif isinstance(major, tuple):
                major, minor = major
            else:
                match = _VERSION_RE.fullmatch(major) if isinstance(major, str) else None
                if not match:
                    raise InvalidVersion(f"API Version String {major} is of invalid format. "
                                         "Must be of format MajorNum.MinorNum.")
                major, minor = match.groups()
        self.major, self.minor = int(major), int(minor)

    @classmethod
    def coerce(cls, value):
        return value if value is None or isinstance(value, cls) else cls(value)

    def _key(self):
        return self.major, self.minor

    def __eq__(self, other):
        try:
            other = self.coerce(other)
        except (InvalidVersion, TypeError, ValueError):
            return NotImplemented
        return other is not None and self._key() == other._key()

    def __lt__(self, other):
        try:
            other = self.coerce(other)
        except (InvalidVersion, TypeError, ValueError):
            return NotImplemented
        if other is None:
            return NotImplemented
        return self._key() < other._key()

    def __hash__(self):
        return hash(self._key())

    def __str__(self):
        return f"{self.major}.{self.minor}"

    def __repr__(self):
        return f"APIVersionRequest('{self}')"

    def matches(self, min_version=None, max_version=None):
        """Inside [min_version, max_version]; None leaves that end open."""
        lo, hi = self.coerce(min_version), self.coerce(max_version)
        return (lo is None or lo <= self) and (hi is None or self <= hi)


def _header_lookup(source):
    """name -> value, case-insensitive, for a Django/DRF request or a plain mapping."""
    headers = getattr(source, "headers", source)
    if isinstance(headers, HttpHeaders):
        return headers.get  # already case-insensitive
    lowered = {k.lower(): v for k, v in headers.items()}
    return lambda name: lowered.get(name.lower())


def requested_version(headers, service):
    """The raw version string the request asks of ``service`` ("X.Y" or "latest"), or None.

    Repeated headers arrive comma-joined; the last entry for the service wins, as in
    microversion-parse. Entries that do not parse as "<service> <version>" are ignored.
    """
    get = _header_lookup(headers)
    names = SERVICE_ALIASES.get(service, (service,))
    standard = get(STANDARD_HEADER)
    if standard:
        for item in reversed(standard.split(",")):
            parts = item.split(None, 1)
            if len(parts) == 2 and parts[0].lower() in names:
                return parts[1].strip()
    for legacy in LEGACY_HEADERS.get(service, ()):
        value = get(legacy)
        if value:
            return value.split(",")[-1].strip()
    return None


def negotiate(headers, service, min_version, max_version):
    """The version to serve: the minimum when none is asked, else the asked one if supported.

    Raises BadRequest for a malformed version and NotAcceptable (with the supported range
    in the message) for one outside [min_version, max_version].
    """
    lo, hi = APIVersionRequest.coerce(min_version), APIVersionRequest.coerce(max_version)
    raw = requested_version(headers, service)
    if raw is None:
        return lo
    if raw.lower() == "latest":
        return hi
    try:
        version = APIVersionRequest(raw)
    except InvalidVersion as e:
        raise exc.BadRequest(str(e))
    if not version.matches(lo, hi):
        raise exc.NotAcceptable(f"Version {version} is not supported by the API. "
                                f"Minimum is {lo} and maximum is {hi}.")
    return version


def add_version_headers(response, service, version):
    """Name the version served (on errors too, as nova does) and let caches key on it."""
    response[STANDARD_HEADER] = f"{service} {version}"
    vary = [STANDARD_HEADER]
    legacy = ECHOED_LEGACY_HEADER.get(service)
    if legacy:
        response[legacy] = str(version)
        vary.append(legacy)
    patch_vary_headers(response, vary)
    return response


def _set_version(request, version):
    request.api_version = version
    inner = getattr(request, "_request", None)  # DRF Request: keep the HttpRequest in step
    if inner is not None:
        inner.api_version = version


class MicroversionMixin:
    """DRF view mixin: negotiates before authentication, so every handler sees
    ``request.api_version``; answers with the version headers, error responses included.

    A view without ``min_version`` is unversioned (``request.api_version`` is None).
    """

    service = None
    min_version = None
    max_version = None

    def initial(self, request, *args, **kwargs):
        _set_version(request, None)
        if self.min_version is not None:
            _set_version(request, negotiate(request, self.service, self.min_version,
                                            self.max_version))
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        version = getattr(request, "api_version", None)
        if version is not None:
            add_version_headers(response, self.service, version)
        return response


def api_version(min_version=None, max_version=None):
    """Gate a view method on a version range: outside it the method does not exist (404),
    which is what nova answers for a method added in a later microversion."""
    lo, hi = APIVersionRequest.coerce(min_version), APIVersionRequest.coerce(max_version)

    def decorator(method):
        @functools.wraps(method)
        def wrapper(self, request, *args, **kwargs):
            version = getattr(request, "api_version", None)
            if version is None or not version.matches(lo, hi):
                raise exc.NotFound("The resource could not be found.")
            return method(self, request, *args, **kwargs)

        wrapper.api_version_range = (lo, hi)
        return wrapper

    return decorator


def microversioned(service, min_version, max_version):
    """The same negotiation for a plain Django view function ``view(request, ...)``."""
    from apps.core.api.errors import error_response  # errors needs nothing from here

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            try:
                _set_version(request, negotiate(request, service, min_version, max_version))
                response = view(request, *args, **kwargs)
            except exc.ApiError as e:
                response = error_response(service, e, request)
            version = getattr(request, "api_version", None)
            if version is not None:
                add_version_headers(response, service, version)
            return response

        return wrapper

    return decorator


def in_range(version, version_range):
    lo, hi = version_range
    return version is not None and version.matches(lo, hi)


def filter_fields(data, version, ranges):
    """Drop the keys of ``data`` whose (min, max) range in ``ranges`` excludes ``version``.

    ``filter_fields(body, request.api_version, {"locked_reason": ("2.73", None)})``
    """
    for key, version_range in ranges.items():
        if key in data and not in_range(version, version_range):
            del data[key]
    return data


class VersionedFieldsMixin:
    """DRF serializer mixin: ``Meta.versioned_fields = {"field": ("2.47", None)}`` shows a
    field only to requests inside its range. Without a request in the context (a serializer
    used outside the API) every field stays."""

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request") if hasattr(self, "context") else None
        if request is None:
            return fields
        version = getattr(request, "api_version", None)
        for name, version_range in getattr(self.Meta, "versioned_fields", {}).items():
            if name in fields and not in_range(version, version_range):
                del fields[name]
        return fields
