"""Version-discovery documents, shaped as each service's own (keystoneauth, openstacksdk and
tempest read them strictly).

Every builder takes the request (links are absolute, built by Django, so they follow
USE_X_FORWARDED_HOST / SECURE_PROXY_SSL_HEADER when those are set) and the facts the
service knows (its prefix, microversion range), and returns a VersionDocument: body,
status and headers. An app's urls then need one line per document::

    path("compute", version_view(compute_versions, min_version="2.1", max_version="2.60")),
    path("compute/v2.1/", version_view(compute_version, min_version="2.1", max_version="2.60")),

Advertise only what is implemented: tempest gates its tests on the advertised maximum.
"""
import json
from dataclasses import dataclass, field

from django.http import HttpResponse
from django.urls import get_script_prefix
from django.views.decorators.csrf import csrf_exempt

from apps.core import exceptions as exc
from apps.core.api.errors import error_response

# The dates and ids the real services publish for the versions we mirror.
KEYSTONE_V3 = {"id": "v3.14", "updated": "2020-04-07T00:00:00Z"}
NOVA_V20_UPDATED = "2025-07-04T12:00:00Z"
NOVA_V21_UPDATED = "2013-07-23T11:33:21Z"
CINDER_V3_UPDATED = "2023-08-31T00:00:00Z"
DOCS_LINK = {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"}


@dataclass
class VersionDocument:
    body: dict
    status: int = 200
    headers: dict = field(default_factory=dict)

    def response(self):
        response = HttpResponse(json.dumps(self.body), status=self.status,
                                content_type="application/json")
        for key, value in self.headers.items():
            response[key] = value
        return response


def service_url(request, prefix, *parts, slash=True):
    """Absolute URL of ``prefix``/parts as the client reached us: "http://h/compute/v2.1/"."""
    path = "/".join(p.strip("/") for p in (prefix, *parts) if p.strip("/"))
    url = request.build_absolute_uri(get_script_prefix() + path)
    return url.rstrip("/") + "/" if slash else url.rstrip("/")


# --- identity (keystone) ----------------------------------------------------------------

def _identity_v3(request, prefix, version, updated):
    return {
        "id": version,
        "status": "stable",
        "updated": updated,
        "links": [{"rel": "self", "href": service_url(request, prefix, "v3")}],
        "media-types": [{"base": "application/json",
                         "type": "application/vnd.openstack.identity-v3+json"}],
    }


def identity_versions(request, *, prefix="/identity", version=KEYSTONE_V3["id"],
                      updated=KEYSTONE_V3["updated"]):
    """GET /identity: 300 ``{"versions": {"values": [v3]}}`` with a Location header."""
    v3 = _identity_v3(request, prefix, version, updated)
    return VersionDocument({"versions": {"values": [v3]}}, 300,
                           {"Location": v3["links"][0]["href"]})


def identity_version(request, *, prefix="/identity", version=KEYSTONE_V3["id"],
                     updated=KEYSTONE_V3["updated"]):
    """GET /identity/v3: 200 ``{"version": v3}``."""
    return VersionDocument({"version": _identity_v3(request, prefix, version, updated)})


# --- compute (nova) ---------------------------------------------------------------------

def _nova_version(request, prefix, version_id, min_version, max_version):
    legacy = version_id == "v2.0"
    return {
        "id": version_id,
        "status": "DEPRECATED" if legacy else "CURRENT",
        "version": "" if legacy else str(max_version),
        "min_version": "" if legacy else str(min_version),
        "updated": NOVA_V20_UPDATED if legacy else NOVA_V21_UPDATED,
        "links": [{"rel": "self", "href": service_url(request, prefix, "v2" if legacy else "v2.1")}],
    }


def compute_versions(request, *, min_version, max_version, prefix="/compute", include_v2=True):
    """GET /compute: 200 ``{"versions": [v2.0, v2.1]}`` (nova's list; no media-types).

    tempest expects v2.0 first and follows every self link, so with ``include_v2`` the
    app must also serve ``compute_version(..., legacy_v2=True)`` at /compute/v2/.
    """
    ids = ["v2.0", "v2.1"] if include_v2 else ["v2.1"]
    return VersionDocument({"versions": [
        _nova_version(request, prefix, i, min_version, max_version) for i in ids]})


def compute_version(request, *, min_version, max_version, prefix="/compute", legacy_v2=False):
    """GET /compute/v2.1/ (or /v2/): 200 ``{"version": {...}}`` with describedby link and
    media-types."""
    version_id = "v2.0" if legacy_v2 else "v2.1"
    doc = _nova_version(request, prefix, version_id, min_version, max_version)
    doc["links"].append(dict(DOCS_LINK))
    doc["media-types"] = [{"base": "application/json",
                           "type": "application/vnd.openstack.compute+json;version="
                                   + ("2" if legacy_v2 else "2.1")}]
    return VersionDocument({"version": doc})


# --- network (neutron) ------------------------------------------------------------------

def network_versions(request, *, prefix="/network"):
    """GET /network: 200 ``{"versions": [{"id": "v2.0", "status": "CURRENT", "links": [...]}]}``."""
    return VersionDocument({"versions": [{
        "id": "v2.0",
        "status": "CURRENT",
        "links": [{"rel": "self", "href": service_url(request, prefix, "v2.0")}],
    }]})


NEUTRON_CORE_RESOURCES = (("network", "networks"), ("subnet", "subnets"),
                          ("subnetpool", "subnetpools"), ("port", "ports"))


def network_resources(request, *, prefix="/network", resources=NEUTRON_CORE_RESOURCES):
    """GET /network/v2.0/: 200 ``{"resources": [{"name", "collection", "links"}]}``."""
    return VersionDocument({"resources": [{
        "name": name,
        "collection": collection,
        "links": [{"rel": "self",
                   "href": service_url(request, prefix, "v2.0", collection, slash=False)}],
    } for name, collection in resources]})


# --- image (glance) ---------------------------------------------------------------------

def _minor_versions(min_version, max_version):
    major, lo = (int(x) for x in str(min_version).split("."))
    _, hi = (int(x) for x in str(max_version).split("."))
    return [f"{major}.{minor}" for minor in range(hi, lo - 1, -1)]


def image_versions(request, *, max_version, min_version="2.0", prefix="/image", explicit=False):
    """GET /image: 300 (GET /image/versions: 200, ``explicit``) ``{"versions": [...]}``,
    one entry per minor version, newest first and CURRENT, all linking to /image/v2/."""
    href = service_url(request, prefix, "v2")
    versions = _minor_versions(min_version, max_version)
    return VersionDocument({"versions": [{
        "id": f"v{v}",
        "status": "CURRENT" if i == 0 else "SUPPORTED",
        "links": [{"rel": "self", "href": href}],
    } for i, v in enumerate(versions)]}, 200 if explicit else 300)


# --- volume (cinder) --------------------------------------------------------------------

def volume_versions(request, *, max_version, min_version="3.0", prefix="/volume",
                    updated=CINDER_V3_UPDATED, explicit=False):
    """GET /volume: 300 (GET /volume/v3/: 200, ``explicit``) ``{"versions": [v3.0]}``."""
    return VersionDocument({"versions": [{
        "id": "v3.0",
        "status": "CURRENT",
        "version": str(max_version),
        "min_version": str(min_version),
        "updated": updated,
        "links": [{"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"},
                  {"rel": "self", "href": service_url(request, prefix, "v3")}],
        "media-types": [{"base": "application/json",
                         "type": "application/vnd.openstack.volume+json;version=3"}],
    }]}, 200 if explicit else 300)


# --- placement --------------------------------------------------------------------------

def placement_versions(request, *, max_version, min_version="1.0"):
    """GET /placement: 200 ``{"versions": [{"id": "v1.0", "min_version", "max_version",
    "status", "links": [{"rel": "self", "href": ""}]}]}`` (placement's self link is
    deliberately relative and empty)."""
    return VersionDocument({"versions": [{
        "id": f"v{min_version}",
        "max_version": str(max_version),
        "min_version": str(min_version),
        "status": "CURRENT",
        "links": [{"rel": "self", "href": ""}],
    }]})


# --- views ------------------------------------------------------------------------------

SERVICE_OF_BUILDER = {
    identity_versions: "identity", identity_version: "identity",
    compute_versions: "compute", compute_version: "compute",
    network_versions: "network", network_resources: "network",
    image_versions: "image", volume_versions: "volume", placement_versions: "placement",
}


def version_view(builder, **facts):
    """A Django view serving ``builder(request, **facts)`` to GET and HEAD; other methods
    get the service's 405. No authentication: discovery comes before a token."""
    service = SERVICE_OF_BUILDER.get(builder, "identity")

    @csrf_exempt
    def view(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            response = error_response(service, exc.MethodNotAllowed(
                "The method is not allowed for the requested URL."), request)
            response["Allow"] = "GET, HEAD"
            return response
        return builder(request, **facts).response()

    view.version_builder = builder
    return view
