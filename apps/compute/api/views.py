"""The Nova v2.1 surface: parse, call one service or selector, render (DESIGN §2)."""
import re

from django.db import transaction
from django.http import HttpResponse, StreamingHttpResponse
from django.utils.dateparse import parse_datetime
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.response import Response

from apps.core import exceptions as exc
from apps.core import quotas
from apps.core.api.microversions import MicroversionMixin
from apps.core.api.paging import paginate
from apps.core.api.validation import is_uuid_like, validate
from apps.core.api.views import OpenStackAPIView
from apps.core.models import Host
from apps.identity.authentication import require_token

from .. import selectors, services
from ..models import ComputeNode, Flavor, FlavorAccess, KeyPair, Server
from ..policies import authorize, is_admin
from . import schemas, serializers

MIN_VERSION, MAX_VERSION = "2.1", "2.3"


class JSONAlways(BaseContentNegotiation):
    """Nova answers JSON whatever Accept says (the SDK's console action sends a non-JSON one)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ComputeApi(MicroversionMixin, OpenStackAPIView):
    service, min_version, max_version = "compute", MIN_VERSION, MAX_VERSION
    content_negotiation_class = JSONAlways

    def token(self):
        return require_token(self.request)

    def body(self, schema):
        validate(schema, self.request.data)
        return self.request.data


def _target(token, project_id=None):
    return {"project_id": project_id or token.project_id, "user_id": token.user_id}


# ============================================================================ flavors

def _flavor_list(request, token, detail):
    qs = selectors.flavor_queryset(token).filter(disabled=False)
    params = request.query_params
    admin = is_admin(token)
    is_public = params.get("is_public")
    if is_public is not None and admin:
        value = is_public.strip().lower()
        if value in ("none", ""):
            qs = selectors.flavor_queryset(token).filter(disabled=False)
        elif value in ("true", "1", "yes", "t", "on"):
            qs = qs.filter(is_public=True)
        elif value in ("false", "0", "no", "f", "off"):
            qs = qs.filter(is_public=False)
        else:
            raise exc.BadRequest(f"Invalid is_public filter [{is_public}]")
    elif not admin:
        pass
    else:
        qs = qs.filter(is_public=True) | Flavor.objects.filter(disabled=False, is_public=False,
                                                               projects__project_id=token.project_id)
    for key, field in (("minRam", "memory_mb__gte"), ("minDisk", "root_gb__gte")):
        if key in params:
            try:
                qs = qs.filter(**{field: int(params[key])})
            except ValueError:
                raise exc.BadRequest(f"Invalid {key} filter [{params[key]}]") from None
    page = paginate(request, qs.distinct(), marker_lookup="flavorid", sort_keys_allowed={
        "flavorid": "flavorid", "name": "name", "memory_mb": "memory_mb", "root_gb": "root_gb", "vcpus": "vcpus",
        "created_at": "created_at", "id": "id"}, default_sort=[("flavorid", "asc")],
        marker_not_found=lambda m: exc.BadRequest(f"marker [{m}] not found"))
    render = serializers.flavor_detail if detail else serializers.flavor_brief
    return Response({"flavors": [render(request, f) for f in page.items], **page.nova_links("flavors")})


class FlavorsApi(ComputeApi):
    def get(self, request):
        return _flavor_list(request, self.token(), False)

    def post(self, request):
        token = self.token()
        authorize(token, "os_compute_api:os-flavor-manage:create", _target(token))
        data = self.body(schemas.FLAVOR_CREATE)["flavor"]
        flavor = services.flavor_create(data=data)
        return Response({"flavor": serializers.flavor_detail(request, flavor)})


class FlavorsDetailApi(ComputeApi):
    def get(self, request):
        return _flavor_list(request, self.token(), True)


class FlavorApi(ComputeApi):
    def get(self, request, flavor_id):
        flavor = selectors.access_flavor(self.token(), flavor_id)
        return Response({"flavor": serializers.flavor_detail(request, flavor)})

    def put(self, request, flavor_id):
        raise exc.NotFound("The resource could not be found.")  # description updates come at 2.55

    def delete(self, request, flavor_id):
        token = self.token()
        authorize(token, "os_compute_api:os-flavor-manage:delete", _target(token))
        services.flavor_delete(flavor=selectors.access_flavor(token, flavor_id))
        return Response(status=202)


class FlavorAccessApi(ComputeApi):
    def get(self, request, flavor_id):
        token = self.token()
        authorize(token, "os_compute_api:os-flavor-access", _target(token))
        flavor = selectors.access_flavor(token, flavor_id)
        if flavor.is_public:
            raise exc.NotFound("Access list not available for public flavors.")
        return Response({"flavor_access": _access_list(flavor)})


def _access_list(flavor):
    return [{"flavor_id": flavor.flavorid, "tenant_id": p}
            for p in FlavorAccess.objects.filter(flavor=flavor).values_list("project_id", flat=True)]


class FlavorActionApi(ComputeApi):
    def post(self, request, flavor_id):
        token = self.token()
        data = request.data if isinstance(request.data, dict) else {}
        flavor = selectors.access_flavor(token, flavor_id)
        if "addTenantAccess" in data:
            authorize(token, "os_compute_api:os-flavor-access:add_tenant_access", _target(token))
            validate(schemas.ADD_TENANT, data)
            services.flavor_access_add(flavor=flavor, project_id=data["addTenantAccess"]["tenant"])
        elif "removeTenantAccess" in data:
            authorize(token, "os_compute_api:os-flavor-access:remove_tenant_access", _target(token))
            validate(schemas.REMOVE_TENANT, data)
            services.flavor_access_remove(flavor=flavor, project_id=data["removeTenantAccess"]["tenant"])
        else:
            raise exc.BadRequest("There is no such action: " + ", ".join(data) if data else "Malformed request body")
        return Response({"flavor_access": _access_list(flavor)})


class ExtraSpecsApi(ComputeApi):
    def get(self, request, flavor_id):
        token = self.token()
        authorize(token, "os_compute_api:os-flavor-extra-specs:index", _target(token))
        return Response({"extra_specs": selectors.access_flavor(token, flavor_id).extra_specs})

    def post(self, request, flavor_id):
        token = self.token()
        authorize(token, "os_compute_api:os-flavor-extra-specs:create", _target(token))
        specs = self.body(schemas.EXTRA_SPECS)["extra_specs"]
        flavor = services.flavor_extra_specs_set(flavor=selectors.access_flavor(token, flavor_id), specs=specs)
        return Response({"extra_specs": {k: flavor.extra_specs[k] for k in specs}})


class ExtraSpecApi(ComputeApi):
    def get(self, request, flavor_id, key):
        token = self.token()
        authorize(token, "os_compute_api:os-flavor-extra-specs:show", _target(token))
        flavor = selectors.access_flavor(token, flavor_id)
        if key not in flavor.extra_specs:
            raise exc.NotFound(f"Flavor {flavor_id} has no extra specs with key {key}.")
        return Response({key: flavor.extra_specs[key]})

    def put(self, request, flavor_id, key):
        token = self.token()
        authorize(token, "os_compute_api:os-flavor-extra-specs:update", _target(token))
        body = self.body(schemas.EXTRA_SPEC_ONE)
        if key not in body:
            raise exc.BadRequest("Request body and URI mismatch")
        services.flavor_extra_specs_set(flavor=selectors.access_flavor(token, flavor_id), specs=body)
        return Response({key: str(body[key])})

    def delete(self, request, flavor_id, key):
        token = self.token()
        authorize(token, "os_compute_api:os-flavor-extra-specs:delete", _target(token))
        services.flavor_extra_spec_delete(flavor=selectors.access_flavor(token, flavor_id), key=key)
        return Response(status=202)


# ============================================================================ key pairs

def _keypair_user(request, token):
    user_id = request.query_params.get("user_id")
    if user_id and user_id != token.user_id and not is_admin(token):
        raise exc.Forbidden("Policy doesn't allow os_compute_api:os-keypairs to be performed.")
    return user_id or token.user_id


class KeypairsApi(ComputeApi):
    def get(self, request):
        token = self.token()
        user_id = _keypair_user(request, token)
        authorize(token, "os_compute_api:os-keypairs:index", {"user_id": user_id})
        keypairs = KeyPair.objects.filter(user_id=user_id).order_by("name")
        return Response({"keypairs": [{"keypair": serializers.keypair_view(k, version=request.api_version,
                                                                           index=True)} for k in keypairs]})

    def post(self, request):
        token = self.token()
        version = request.api_version
        data = self.body(schemas.KEYPAIR_CREATE_22 if version >= "2.2" else schemas.KEYPAIR_CREATE_21)["keypair"]
        authorize(token, "os_compute_api:os-keypairs:create", {"user_id": token.user_id})
        keypair, private = services.keypair_create(user_id=token.user_id, name=data["name"],
                                                   key_type=data.get("type", "ssh"),
                                                   public_key=data.get("public_key"))
        status = 201 if version >= "2.2" else 200
        return Response({"keypair": serializers.keypair_view(keypair, version=version, private_key=private)},
                        status=status)


class KeypairApi(ComputeApi):
    def get(self, request, name):
        token = self.token()
        user_id = _keypair_user(request, token)
        authorize(token, "os_compute_api:os-keypairs:show", {"user_id": user_id})
        keypair = selectors.access_keypair(user_id, name)
        return Response({"keypair": serializers.keypair_view(keypair, version=request.api_version, detail=True)})

    def delete(self, request, name):
        token = self.token()
        user_id = _keypair_user(request, token)
        authorize(token, "os_compute_api:os-keypairs:delete", {"user_id": user_id})
        services.keypair_delete(keypair=selectors.access_keypair(user_id, name))
        return Response(status=202 if request.api_version < "2.2" else 204)


# ============================================================================ zones, limits, quotas

class AvailabilityZonesApi(ComputeApi):
    def get(self, request):
        token = self.token()
        authorize(token, "os_compute_api:os-availability-zone:list", _target(token))
        zones = sorted(set(ComputeNode.objects.values_list("availability_zone", flat=True))
                       or {services.conf()["default_availability_zone"]})
        return Response({"availabilityZoneInfo": [{"zoneName": z, "zoneState": {"available": True}, "hosts": None}
                                                  for z in zones]})


class AvailabilityZonesDetailApi(ComputeApi):
    def get(self, request):
        token = self.token()
        authorize(token, "os_compute_api:os-availability-zone:detail", _target(token))
        zones = {}
        hosts = {h.hostname: h for h in Host.objects.all()}
        for node in ComputeNode.objects.all():
            host = hosts.get(node.hostname)
            zones.setdefault(node.availability_zone, {})[node.hostname] = {"nova-compute": {
                "available": bool(host and host.state == Host.UP), "active": bool(host and not host.disabled),
                "updated_at": host.last_heartbeat.strftime("%Y-%m-%dT%H:%M:%S.%f") if host and host.last_heartbeat
                else None}}
        info = [{"zoneName": "internal", "zoneState": {"available": True}, "hosts": {
            h: {"nova-conductor": {"available": True, "active": True, "updated_at": None},
                "nova-scheduler": {"available": True, "active": True, "updated_at": None}} for h in sorted(hosts)[:1]}}]
        for zone, zone_hosts in sorted(zones.items()):
            info.append({"zoneName": zone, "zoneState": {"available": True}, "hosts": zone_hosts})
        return Response({"availabilityZoneInfo": info})


QUOTA_NAMES = ("instances", "cores", "ram", "key_pairs")
FIXED_QUOTAS = {"metadata_items": 128, "injected_files": 5, "injected_file_content_bytes": 10240,
                "injected_file_path_bytes": 255, "server_groups": 10, "server_group_members": 10}
LEGACY_QUOTAS = {"floating_ips": -1, "fixed_ips": -1, "security_groups": -1, "security_group_rules": -1}


def _project_quotas(project_id):
    usage = quotas.quota_usage(project_id, limits_default=services.quota_defaults(),
                               resources=["instances", "cores", "ram"])
    return usage


class LimitsApi(ComputeApi):
    def get(self, request):
        token = self.token()
        project_id = request.query_params.get("tenant_id") or token.project_id
        if project_id != token.project_id:
            authorize(token, "os_compute_api:limits:other_project", _target(token, project_id))
        usage = _project_quotas(project_id)
        key_limit = quotas.quota_usage(f"user:{token.user_id}", limits_default=services.quota_defaults(),
                                       resources=["key_pairs"])["key_pairs"]["limit"]
        absolute = {"maxTotalInstances": usage["instances"]["limit"], "maxTotalCores": usage["cores"]["limit"],
                    "maxTotalRAMSize": usage["ram"]["limit"], "maxTotalKeypairs": key_limit,
                    "maxServerMeta": FIXED_QUOTAS["metadata_items"], "maxImageMeta": 128,
                    "maxPersonality": FIXED_QUOTAS["injected_files"],
                    "maxPersonalitySize": FIXED_QUOTAS["injected_file_content_bytes"],
                    "maxServerGroups": FIXED_QUOTAS["server_groups"],
                    "maxServerGroupMembers": FIXED_QUOTAS["server_group_members"],
                    "totalInstancesUsed": usage["instances"]["in_use"], "totalCoresUsed": usage["cores"]["in_use"],
                    "totalRAMUsed": usage["ram"]["in_use"], "totalServerGroupsUsed": 0,
                    "maxTotalFloatingIps": -1, "totalFloatingIpsUsed": 0, "maxSecurityGroups": -1,
                    "totalSecurityGroupsUsed": 0, "maxSecurityGroupRules": -1}
        return Response({"limits": {"rate": [], "absolute": absolute}})


def _quota_set(project_id, *, detail=False, defaults_only=False, user_id=None):
    defaults = services.quota_defaults()
    body = {"id": project_id}
    if defaults_only:
        values = {k: {"limit": defaults[k], "in_use": 0} for k in QUOTA_NAMES}
    else:
        values = dict(_project_quotas(project_id))
        values["key_pairs"] = quotas.quota_usage(f"user:{user_id}" if user_id else project_id,
                                                 limits_default=defaults, resources=["key_pairs"])["key_pairs"]
    for name in QUOTA_NAMES:
        v = values[name]
        body[name] = {"limit": v["limit"], "in_use": v["in_use"], "reserved": 0} if detail else v["limit"]
    for name, limit in {**FIXED_QUOTAS, **LEGACY_QUOTAS}.items():
        body[name] = {"limit": limit, "in_use": 0, "reserved": 0} if detail else limit
    return body


class QuotaSetApi(ComputeApi):
    def get(self, request, project_id):
        token = self.token()
        authorize(token, "os_compute_api:os-quota-sets:show", _target(token, project_id))
        return Response({"quota_set": _quota_set(project_id, user_id=token.user_id)})

    def put(self, request, project_id):
        token = self.token()
        authorize(token, "os_compute_api:os-quota-sets:update", _target(token, project_id))
        data = dict(self.body(schemas.QUOTA_UPDATE)["quota_set"])
        data.pop("force", None)
        services.quota_set_update(project_id=project_id, data=data)
        body = _quota_set(project_id, user_id=token.user_id)
        body.pop("id")
        return Response({"quota_set": body})

    def delete(self, request, project_id):
        token = self.token()
        authorize(token, "os_compute_api:os-quota-sets:delete", _target(token, project_id))
        services.quota_set_delete(project_id=project_id)
        return Response(status=202)


class QuotaSetDetailApi(ComputeApi):
    def get(self, request, project_id):
        token = self.token()
        authorize(token, "os_compute_api:os-quota-sets:show", _target(token, project_id))
        return Response({"quota_set": _quota_set(project_id, detail=True, user_id=token.user_id)})


class QuotaSetDefaultsApi(ComputeApi):
    def get(self, request, project_id):
        self.token()
        return Response({"quota_set": _quota_set(project_id, defaults_only=True)})


# ============================================================================ servers

STATUS_TO_VM_STATE = {"ACTIVE": "active", "BUILD": "building", "SHUTOFF": "stopped", "ERROR": "error",
                      "DELETED": "deleted", "REBOOT": "active", "HARD_REBOOT": "active"}
SORT_KEYS = {"created_at": "created_at", "display_name": "name", "updated_at": "updated_at", "uuid": "uuid",
             "vm_state": "vm_state", "task_state": "task_state", "launched_at": "launched_at",
             "host": "host", "hostname": "hostname", "availability_zone": "availability_zone"}


def _server_list(request, token, detail):
    params = request.query_params
    admin = is_admin(token)
    all_tenants = admin and params.get("all_tenants", "0").lower() not in ("0", "false", "no", "off") \
        if "all_tenants" in params else False
    rule = "os_compute_api:servers:detail" if detail else "os_compute_api:servers:index"
    authorize(token, rule, _target(token))
    if all_tenants:
        authorize(token, rule + ":get_all_tenants", _target(token))
    qs = selectors.server_queryset(token, all_tenants=all_tenants)
    if admin and params.get("project_id") or admin and params.get("tenant_id"):
        qs = qs.filter(project_id=params.get("project_id") or params.get("tenant_id"))
    if "name" in params:
        try:
            re.compile(params["name"])
        except re.error:
            raise exc.BadRequest(f"Invalid filter name: {params['name']}") from None
        qs = qs.filter(name__regex=params["name"])
    if "status" in params:
        status = params["status"].upper()
        if status not in STATUS_TO_VM_STATE:
            if admin:
                raise exc.BadRequest(f"Invalid status value")
            qs = qs.none()
        else:
            qs = qs.filter(vm_state=STATUS_TO_VM_STATE[status])
            if status == "ACTIVE":
                qs = qs.exclude(task_state__in=("rebooting", "rebooting_hard"))
            elif status == "REBOOT":
                qs = qs.filter(task_state="rebooting")
            elif status == "HARD_REBOOT":
                qs = qs.filter(task_state="rebooting_hard")
    if "image" in params:
        qs = qs.filter(image_ref=params["image"].rstrip("/").rsplit("/", 1)[-1])
    if "flavor" in params:
        qs = qs.filter(flavor__flavorid=params["flavor"].rstrip("/").rsplit("/", 1)[-1])
    if "reservation_id" in params:
        qs = qs.filter(reservation_id=params["reservation_id"])
    if admin and "host" in params:
        qs = qs.filter(host=params["host"])
    if "changes-since" in params:
        since = parse_datetime(params["changes-since"].replace(" ", "+"))
        if since is None:
            raise exc.BadRequest("Invalid input for query parameters changes-since.")
        qs = qs.filter(updated_at__gte=since)
    if "ip" in params:
        try:
            re.compile(params["ip"])
        except re.error:
            raise exc.BadRequest(f"Invalid filter ip: {params['ip']}") from None
        qs = qs.extra(where=["EXISTS (SELECT 1 FROM jsonb_array_elements(compute_server.network_info) nic, "
                             "jsonb_array_elements(nic->'ips') ip WHERE ip->>'address' ~ %s)"], params=[params["ip"]])
    page = paginate(request, qs, marker_lookup="uuid", sort_keys_allowed=SORT_KEYS,
                    default_sort=[("created_at", "desc")],
                    marker_not_found=lambda m: exc.BadRequest(f"marker [{m}] not found"))
    if detail:
        items = [serializers.server_detail(request, s, admin=admin) for s in page.items]
    else:
        items = [serializers.server_brief(request, s) for s in page.items]
    return Response({"servers": items, **page.nova_links("servers")})


class ServersApi(ComputeApi):
    def get(self, request):
        return _server_list(request, self.token(), False)

    def post(self, request):
        token = self.token()
        authorize(token, "os_compute_api:servers:create", _target(token))
        body = self.body(schemas.SERVER_CREATE)
        data = body["server"]
        networks = data.get("networks")
        if isinstance(networks, str) and request.api_version < "2.37":
            # "auto" and "none" came with 2.37; before, networks is a list (nova's schema).
            raise exc.BadRequest(f"Invalid input for field/attribute networks. Value: {networks}. "
                                 f"'{networks}' is not of type 'array'")
        servers, reservation_id = services.server_create(ctx=token, data=data, version=request.api_version,
                                                         admin=is_admin(token))
        if str(data.get("return_reservation_id", "")).lower() in ("true", "1", "yes", "on"):
            return Response({"reservation_id": reservation_id}, status=202)
        server = servers[0]
        response = Response({"server": {"id": str(server.uuid), "links": serializers.server_links(request, server),
                                        "OS-DCF:diskConfig": "MANUAL", "adminPass": "",
                                        "security_groups": [{"name": n} for n in server.security_groups]}},
                            status=202)
        response["Location"] = serializers.server_links(request, server)[0]["href"]
        return response


class ServersDetailApi(ComputeApi):
    def get(self, request):
        return _server_list(request, self.token(), True)


class ServerApi(ComputeApi):
    def get(self, request, server_id):
        token = self.token()
        server = selectors.access_server(token, server_id)
        authorize(token, "os_compute_api:servers:show", _target(token, server.project_id))
        return Response({"server": serializers.server_detail(request, server, admin=is_admin(token))})

    def put(self, request, server_id):
        token = self.token()
        server = selectors.access_server(token, server_id)
        authorize(token, "os_compute_api:servers:update", _target(token, server.project_id))
        data = self.body(schemas.SERVER_UPDATE)["server"]
        server = services.server_update(server=server, data=data)
        return Response({"server": serializers.server_detail(request, server, admin=is_admin(token))})

    def delete(self, request, server_id):
        token = self.token()
        server = selectors.access_server(token, server_id)
        authorize(token, "os_compute_api:servers:delete", _target(token, server.project_id))
        services.server_delete(ctx=token, server=server)
        return Response(status=204)


class ServerActionApi(ComputeApi):
    def post(self, request, server_id):
        token = self.token()
        server = selectors.access_server(token, server_id)
        data = request.data if isinstance(request.data, dict) else {}
        if len(data) != 1:
            raise exc.BadRequest("Malformed request body")
        name, value = next(iter(data.items()))
        target = _target(token, server.project_id)
        if name == "reboot":
            validate(schemas.REBOOT, value)
            authorize(token, "os_compute_api:servers:reboot", target)
            op = "reboot_hard" if value["type"].upper() == "HARD" else "reboot_soft"
            services.server_power_action(ctx=token, server=server, op=op)
            return Response(status=202)
        if name in ("os-stop", "os-start"):
            authorize(token, f"os_compute_api:servers:{name[3:]}", target)
            services.server_power_action(ctx=token, server=server, op=name[3:])
            return Response(status=202)
        if name == "os-getConsoleOutput":
            validate(schemas.CONSOLE_OUTPUT, value or {})
            authorize(token, "os_compute_api:os-console-output", target)
            length = (value or {}).get("length")
            length = None if length in (None, "") else int(length)
            if length is not None and length < -1:
                raise exc.BadRequest("Invalid input for field/attribute length.")
            output = services.server_console_output(server=server, length=None if length == -1 else length)
            return Response({"output": output})
        if name == "forceDelete":
            authorize(token, "os_compute_api:os-deferred-delete:force", target)
            services.server_delete(ctx=token, server=server, force=True)
            return Response(status=202)
        raise exc.BadRequest(f"There is no such action: {name}")


class ServerIpsApi(ComputeApi):
    def get(self, request, server_id, network=None):
        token = self.token()
        server = selectors.access_server(token, server_id)
        authorize(token, "os_compute_api:ips:index", _target(token, server.project_id))
        addresses = {name: [{"version": a["version"], "addr": a["addr"]} for a in addrs]
                     for name, addrs in serializers.addresses(server).items()}
        if network is None:
            return Response({"addresses": addresses})
        if network not in addresses:
            raise exc.NotFound("Instance is not a member of specified network")
        return Response({network: addresses[network]})


# ============================================================================ host data and metadata

def host_image_data(request, image_id):
    """GET /compute/host-data/images/<id>: image data for a host agent, authorised by the
    URL the conductor signed for that host (the host's credential, DESIGN §1)."""
    import hmac as hmac_module
    import time

    from apps.image import services as image_services

    host = request.GET.get("host", "")
    expires = request.GET.get("expires", "")
    signature = request.GET.get("signature", "")
    path = request.path
    try:
        fresh = int(expires) >= time.time()
    except ValueError:
        fresh = False
    wanted = services.host_data_signature(host, path, expires)
    if not (host and fresh and hmac_module.compare_digest(wanted, signature)) or not is_uuid_like(image_id):
        return HttpResponse(status=403)

    class HostCtx:
        project_id, user_id, role_names = None, f"host:{host}", ["admin", "member", "reader", "service"]

        def credentials(self):
            return {"user_id": self.user_id, "project_id": None, "roles": self.role_names, "system_scope": "all"}

    try:
        image, data = image_services.image_download(ctx=HostCtx(), image_id=image_id)
    except exc.ApiError as e:
        return HttpResponse(status=e.status)
    if data is None:
        return HttpResponse(status=204)
    response = StreamingHttpResponse(iter(lambda: data.read(1 << 20), b""), content_type="application/octet-stream")
    if image.size is not None:
        response["Content-Length"] = str(image.size)
    if image.checksum:
        response["Content-MD5"] = image.checksum
    return response


def metadata_view(request, path=""):
    """The metadata service behind the networking service's proxy: the instance is named by
    network (or router) and source address, signed with the shared secret."""
    import hashlib
    import hmac as hmac_module

    from django.conf import settings
    from apps.network.models import Port

    from ..metadata import metadata_response

    source = request.headers.get("X-Forwarded-For", "").split(",")[0].strip()
    network_id = request.headers.get("X-Neutron-Network-ID")
    router_id = request.headers.get("X-Neutron-Router-ID")
    owner = network_id or router_id
    secret = settings.MONOSTACK["network"]["metadata_secret"]
    signature = request.headers.get("X-Monostack-Metadata-Signature", "")
    wanted = hmac_module.new(secret.encode(), f"{owner}:{source}".encode(), hashlib.sha256).hexdigest()
    if not (source and owner and hmac_module.compare_digest(wanted, signature)):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    ports = Port.objects.filter(fixed_ips__ip_address=source, device_owner__startswith="compute:")
    if network_id:
        ports = ports.filter(network_id=network_id if is_uuid_like(network_id) else None)
    else:
        router_nets = Port.objects.filter(device_id=router_id, device_owner="network:router_interface").values(
            "network_id")
        ports = ports.filter(network_id__in=router_nets)
    device = ports.values_list("device_id", flat=True).first()
    server = Server.objects.filter(pk=device, deleted=False).first() if device and is_uuid_like(device) else None
    if server is None:
        return HttpResponse("Not Found\n", status=404, content_type="text/plain")
    status, ctype, body = metadata_response(server, path)
    return HttpResponse(body, status=status, content_type=ctype)
