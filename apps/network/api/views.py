"""Neutron v2.0 API: parse, authorise (services do), call one service or selector, render."""
import uuid

from django.db import transaction
from django.db.models import Q
from rest_framework.response import Response

from apps.core.api.paging import paginate
from apps.core.api.validation import validate
from apps.core.api.versions import network_resources, network_versions
from apps.core.api.views import OpenStackAPIView
from apps.core.exceptions import BadRequest, Forbidden, NotFound
from apps.core.models import Host
from apps.core.quotas import quota_usage
from apps.identity.authentication import require_token

from .. import selectors, services
from ..context import NetContext
from ..models import NetworkAgentHost
from . import schemas
from . import serializers as ser
from .extensions import EXTENSIONS, extension_view


class NeutronView(OpenStackAPIView):
    service = "network"

    @property
    def ctx(self):
        ctx = getattr(self, "_ctx", None)
        if ctx is None:
            ctx = self._ctx = NetContext.from_token(require_token(self.request))
        return ctx

    def body(self, schema, key):
        validate(schema, self.request.data)
        return self.request.data[key]


class VersionsView(NeutronView):
    authentication_classes = []

    def get(self, request):
        return network_versions(request).response()


class V2View(NeutronView):
    authentication_classes = []

    def get(self, request):
        return network_resources(request).response()


# --- list machinery ---------------------------------------------------------------------------

TRUE = ("true", "1", "yes", "on")


def _bool(value):
    v = str(value).lower()
    if v in TRUE:
        return True
    if v in ("false", "0", "no", "off"):
        return False
    raise BadRequest(f"Invalid input for operation: '{value}' cannot be converted to boolean.",
                     type_name="InvalidInput")


def _uuid_list(values):
    out = []
    for v in values:
        try:
            out.append(uuid.UUID(v))
        except ValueError:
            out.append(None)
    return [v for v in out if v is not None] or [uuid.UUID(int=0)]


def filter_queryset(request, qs, filters):
    """Neutron filters: ``?name=a&name=b`` (any of), booleans, tags, tags-any, not-tags, not-tags-any.
    ``filters``: API name -> (field lookup, kind) where kind is "str", "bool", "uuid", "int"."""
    params = request.query_params
    for name, (field, kind) in filters.items():
        values = params.getlist(name)
        if not values:
            continue
        if kind == "bool":
            qs = qs.filter(**{field: _bool(values[-1])})
        elif kind == "uuid":
            qs = qs.filter(**{f"{field}__in": _uuid_list(values)})
        elif kind == "int":
            try:
                qs = qs.filter(**{f"{field}__in": [int(v) for v in values]})
            except ValueError:
                raise BadRequest(f"Invalid input for {name}: not an integer.") from None
        elif kind == "null":
            qs = qs.filter(**{f"{field}__in": values}) if values != ["null"] else qs.filter(**{f"{field}__isnull": True})
        else:
            qs = qs.filter(**{f"{field}__in": values})
    for param, mode in (("tags", "all"), ("tags-any", "any"), ("not-tags", "not-all"), ("not-tags-any", "not-any")):
        raw = params.get(param)
        if not raw:
            continue
        tags = [t for t in raw.split(",") if t]
        if mode == "all":
            qs = qs.filter(tags__contains=tags)
        elif mode == "any":
            cond = Q()
            for t in tags:
                cond |= Q(tags__contains=[t])
            qs = qs.filter(cond)
        elif mode == "not-all":
            qs = qs.exclude(tags__contains=tags)
        else:
            for t in tags:
                qs = qs.exclude(tags__contains=[t])
    return qs


def select_fields(request, body):
    fields = [f for value in request.query_params.getlist("fields") for f in value.split(",") if f]
    if not fields:
        return body
    return {k: v for k, v in body.items() if k in fields}


COMMON = {"id": ("id", "uuid"), "name": ("name", "str"), "description": ("description", "str"),
          "tenant_id": ("project_id", "str"), "project_id": ("project_id", "str"),
          "revision_number": ("revision_number", "int")}
SORT_COMMON = {"id": "id", "name": "name", "created_at": "created_at", "updated_at": "updated_at",
               "tenant_id": "project_id", "project_id": "project_id"}


class CollectionView(NeutronView):
    """GET list / POST create of one Neutron collection."""

    collection = member = None
    filters = {}
    sort_keys = {}
    create_schema = None

    def queryset(self):
        raise NotImplementedError

    def render(self, obj):
        raise NotImplementedError

    def annotate(self, qs):
        return qs

    def get(self, request, **kwargs):
        qs = filter_queryset(request, self.queryset(**kwargs), {**COMMON, **self.filters})
        page = paginate(request, self.annotate(qs), marker_lookup="pk", default_sort=(("id", "asc"),),
                        sort_keys_allowed={**SORT_COMMON, **self.sort_keys}, allow_page_reverse=True,
                        marker_not_found=lambda m: BadRequest(f"marker [{m}] not found"))
        items = [select_fields(request, self.render(o)) for o in page.items]
        return Response({self.collection: items, **page.neutron_links(self.collection)})

    def post(self, request, **kwargs):
        data = request.data
        if isinstance(data, dict) and self.collection in data:  # bulk create
            validate(schemas.bulk(self.collection, self.create_schema), data)
            with transaction.atomic():
                objs = [self.create(item, **kwargs) for item in data[self.collection]]
            return Response({self.collection: [self.render(self.reload(o)) for o in objs]}, status=201)
        validate(schemas.single(self.member, self.create_schema), data)
        obj = self.create(data[self.member], **kwargs)
        return Response({self.member: self.render(self.reload(obj))}, status=201)

    def reload(self, obj):
        return self.annotate(type(obj).objects.filter(pk=obj.pk)).first() or obj


class MemberView(NeutronView):
    member = None
    update_schema = None

    def access(self, pk):
        raise NotImplementedError

    def render(self, obj):
        raise NotImplementedError

    def annotate(self, qs):
        return qs

    def reload(self, obj):
        return self.annotate(type(obj).objects.filter(pk=obj.pk)).first() or obj

    def get(self, request, pk):
        return Response({self.member: select_fields(request, self.render(self.reload(self.access(pk))))})

    def put(self, request, pk):
        obj = self.access(pk)
        validate(schemas.single(self.member, self.update_schema), request.data)
        obj = self.update(obj, request.data[self.member])
        return Response({self.member: self.render(self.reload(obj))})

    def delete(self, request, pk):
        self.destroy(self.access(pk))
        return Response(status=204)


# --- networks ---------------------------------------------------------------------------------

NETWORK_FILTERS = {"admin_state_up": ("admin_state_up", "bool"), "shared": ("shared", "bool"),
                   "router:external": ("external", "bool"), "status": ("status", "str"), "mtu": ("mtu", "int"),
                   "is_default": ("is_default", "bool"), "port_security_enabled": ("port_security_enabled", "bool"),
                   "provider:network_type": ("network_type", "str"),
                   "provider:physical_network": ("physical_network", "str"),
                   "provider:segmentation_id": ("segmentation_id", "int")}


class NetworksView(CollectionView):
    collection, member, create_schema = "networks", "network", schemas.network_create
    filters = NETWORK_FILTERS
    sort_keys = {"status": "status", "mtu": "mtu", "shared": "shared", "admin_state_up": "admin_state_up"}

    def queryset(self):
        return selectors.network_queryset(self.ctx)

    def annotate(self, qs):
        return ser.annotate_networks(qs)

    def render(self, obj):
        return ser.network_view(obj, self.ctx)

    def create(self, data):
        return services.network_create(ctx=self.ctx, data=data)


class NetworkView(MemberView):
    member, update_schema = "network", schemas.network_update

    def access(self, pk):
        return selectors.access_network(self.ctx, pk)

    def annotate(self, qs):
        return ser.annotate_networks(qs)

    def render(self, obj):
        return ser.network_view(obj, self.ctx)

    def update(self, obj, data):
        return services.network_update(ctx=self.ctx, network=obj, data=data)

    def destroy(self, obj):
        services.network_delete(ctx=self.ctx, network=obj)


# --- subnets ----------------------------------------------------------------------------------

class SubnetsView(CollectionView):
    collection, member, create_schema = "subnets", "subnet", schemas.subnet_create
    filters = {"network_id": ("network_id", "uuid"), "ip_version": ("ip_version", "int"), "cidr": ("cidr", "str"),
               "gateway_ip": ("gateway_ip", "null"), "enable_dhcp": ("enable_dhcp", "bool"),
               "subnetpool_id": ("subnetpool_id", "uuid"), "ipv6_ra_mode": ("ipv6_ra_mode", "str"),
               "ipv6_address_mode": ("ipv6_address_mode", "str"), "segment_id": ("segment_id", "str")}
    sort_keys = {"cidr": "cidr", "ip_version": "ip_version", "network_id": "network_id"}

    def queryset(self):
        return selectors.subnet_queryset(self.ctx)

    def render(self, obj):
        return ser.subnet_view(obj, self.ctx)

    def create(self, data):
        return services.subnet_create(ctx=self.ctx, data=data)


class SubnetView(MemberView):
    member, update_schema = "subnet", schemas.subnet_update

    def access(self, pk):
        return selectors.access_subnet(self.ctx, pk)

    def render(self, obj):
        return ser.subnet_view(obj, self.ctx)

    def update(self, obj, data):
        return services.subnet_update(ctx=self.ctx, subnet=obj, data=data)

    def destroy(self, obj):
        services.subnet_delete(ctx=self.ctx, subnet=obj)


class SubnetPoolsView(CollectionView):
    collection, member, create_schema = "subnetpools", "subnetpool", schemas.subnetpool_create
    filters = {"ip_version": ("ip_version", "int"), "shared": ("shared", "bool"),
               "is_default": ("is_default", "bool"), "address_scope_id": ("address_scope_id", "str"),
               "default_prefixlen": ("default_prefixlen", "int")}

    def queryset(self):
        return selectors.subnetpool_queryset(self.ctx)

    def render(self, obj):
        return ser.subnetpool_view(obj, self.ctx)

    def create(self, data):
        return services.subnetpool_create(ctx=self.ctx, data=data)


class SubnetPoolView(MemberView):
    member, update_schema = "subnetpool", schemas.subnetpool_update

    def access(self, pk):
        return selectors.access_subnetpool(self.ctx, pk)

    def render(self, obj):
        return ser.subnetpool_view(obj, self.ctx)

    def update(self, obj, data):
        return services.subnetpool_update(ctx=self.ctx, pool=obj, data=data)

    def destroy(self, obj):
        services.subnetpool_delete(ctx=self.ctx, pool=obj)


# --- ports ------------------------------------------------------------------------------------

class PortsView(CollectionView):
    collection, member, create_schema = "ports", "port", schemas.port_create
    filters = {"network_id": ("network_id", "uuid"), "mac_address": ("mac_address", "str"),
               "device_id": ("device_id", "str"), "device_owner": ("device_owner", "str"),
               "status": ("status", "str"), "admin_state_up": ("admin_state_up", "bool"),
               "binding:host_id": ("binding_host_id", "str"), "binding:vnic_type": ("binding_vnic_type", "str"),
               "port_security_enabled": ("port_security_enabled", "bool"),
               "security_groups": ("security_groups", "uuid")}
    sort_keys = {"status": "status", "mac_address": "mac_address", "device_owner": "device_owner",
                 "device_id": "device_id", "network_id": "network_id"}

    def queryset(self):
        qs = selectors.port_queryset(self.ctx).select_related(None).prefetch_related(None)
        for value in self.request.query_params.getlist("fixed_ips"):
            key, _, wanted = value.partition("=")
            if key == "ip_address":
                qs = qs.filter(fixed_ips__ip_address=wanted)
            elif key == "subnet_id":
                qs = qs.filter(fixed_ips__subnet_id__in=_uuid_list([wanted]))
            elif key == "ip_address_substr":
                qs = qs.filter(fixed_ips__ip_address__contains=wanted)
            else:
                raise BadRequest(f"Invalid input for fixed_ips filter: '{value}'")
        return qs.distinct() if self.request.query_params.getlist("fixed_ips") else qs

    def annotate(self, qs):
        return ser.annotate_ports(qs)

    def render(self, obj):
        return ser.port_view(obj, self.ctx)

    def create(self, data):
        return services.port_create(ctx=self.ctx, data=data)


class PortView(MemberView):
    member, update_schema = "port", schemas.port_update

    def access(self, pk):
        return selectors.access_port(self.ctx, pk)

    def annotate(self, qs):
        return ser.annotate_ports(qs)

    def render(self, obj):
        return ser.port_view(obj, self.ctx)

    def update(self, obj, data):
        return services.port_update(ctx=self.ctx, port=obj, data=data)

    def destroy(self, obj):
        services.port_delete(ctx=self.ctx, port=obj)


# --- routers ----------------------------------------------------------------------------------

class RoutersView(CollectionView):
    collection, member, create_schema = "routers", "router", schemas.router_create
    filters = {"admin_state_up": ("admin_state_up", "bool"), "status": ("status", "str")}
    sort_keys = {"status": "status"}

    def queryset(self):
        return selectors.router_queryset(self.ctx).select_related(None).prefetch_related(None)

    def annotate(self, qs):
        return ser.annotate_routers(qs)

    def render(self, obj):
        return ser.router_view(obj, self.ctx)

    def create(self, data):
        return services.router_create(ctx=self.ctx, data=data)


class RouterView(MemberView):
    member, update_schema = "router", schemas.router_update

    def access(self, pk):
        return selectors.access_router(self.ctx, pk)

    def annotate(self, qs):
        return ser.annotate_routers(qs)

    def render(self, obj):
        return ser.router_view(obj, self.ctx)

    def update(self, obj, data):
        return services.router_update(ctx=self.ctx, router=obj, data=data)

    def destroy(self, obj):
        services.router_delete(ctx=self.ctx, router=obj)


class RouterInterfaceView(NeutronView):
    def put(self, request, pk, action):
        router = selectors.access_router(self.ctx, pk)
        validate(schemas.router_interface, request.data)
        if action == "add_router_interface":
            return Response(services.router_add_interface(ctx=self.ctx, router=router, data=request.data))
        return Response(services.router_remove_interface(ctx=self.ctx, router=router, data=request.data))


class RouterRoutesView(NeutronView):
    """PUT /routers/{id}/add_extraroutes and remove_extraroutes (extraroute-atomic)."""

    def put(self, request, pk, action):
        router = selectors.access_router(self.ctx, pk)
        validate(schemas.router_routes, request.data)
        routes = request.data["router"]["routes"]
        current = list(router.routes)
        if action == "add_extraroutes":
            current += [r for r in routes if r not in current]
        else:
            current = [r for r in current if r not in routes]
        router = services.router_update(ctx=self.ctx, router=router, data={"routes": current})
        router = ser.annotate_routers(type(router).objects.filter(pk=router.pk)).first()
        return Response({"router": ser.router_view(router, self.ctx)})


# --- floating IPs -----------------------------------------------------------------------------

class FloatingIPsView(CollectionView):
    collection, member, create_schema = "floatingips", "floatingip", schemas.floatingip_create
    filters = {"floating_network_id": ("floating_network_id", "uuid"), "router_id": ("router_id", "uuid"),
               "port_id": ("port_id", "uuid"), "status": ("status", "str"),
               "floating_ip_address": ("floating_ip_address", "str"), "fixed_ip_address": ("fixed_ip_address", "str")}
    sort_keys = {"floating_ip_address": "floating_ip_address", "status": "status"}

    def queryset(self):
        return selectors.floatingip_queryset(self.ctx)

    def render(self, obj):
        return ser.floatingip_view(obj, self.ctx)

    def create(self, data):
        return services.floatingip_create(ctx=self.ctx, data=data)


class FloatingIPView(MemberView):
    member, update_schema = "floatingip", schemas.floatingip_update

    def access(self, pk):
        return selectors.access_floatingip(self.ctx, pk)

    def render(self, obj):
        return ser.floatingip_view(obj, self.ctx)

    def update(self, obj, data):
        return services.floatingip_update(ctx=self.ctx, fip=obj, data=data)

    def destroy(self, obj):
        services.floatingip_delete(ctx=self.ctx, fip=obj)


class PortForwardingsView(NeutronView):
    def get(self, request, fip_id):
        fip = selectors.access_floatingip(self.ctx, fip_id)
        items = [select_fields(request, ser.port_forwarding_view(pf))
                 for pf in fip.port_forwardings.order_by("id")]
        return Response({"port_forwardings": items})

    def post(self, request, fip_id):
        fip = selectors.access_floatingip(self.ctx, fip_id)
        validate(schemas.single("port_forwarding", schemas.port_forwarding_create), request.data)
        pf = services.port_forwarding_create(ctx=self.ctx, fip=fip, data=request.data["port_forwarding"])
        return Response({"port_forwarding": ser.port_forwarding_view(pf)}, status=201)


class PortForwardingView(NeutronView):
    def get(self, request, fip_id, pk):
        fip = selectors.access_floatingip(self.ctx, fip_id)
        return Response({"port_forwarding": ser.port_forwarding_view(selectors.access_port_forwarding(fip, pk))})

    def put(self, request, fip_id, pk):
        fip = selectors.access_floatingip(self.ctx, fip_id)
        pf = selectors.access_port_forwarding(fip, pk)
        validate(schemas.single("port_forwarding", schemas.port_forwarding_update), request.data)
        pf = services.port_forwarding_update(ctx=self.ctx, fip=fip, pf=pf, data=request.data["port_forwarding"])
        return Response({"port_forwarding": ser.port_forwarding_view(pf)})

    def delete(self, request, fip_id, pk):
        fip = selectors.access_floatingip(self.ctx, fip_id)
        services.port_forwarding_delete(ctx=self.ctx, fip=fip, pf=selectors.access_port_forwarding(fip, pk))
        return Response(status=204)


# --- security groups --------------------------------------------------------------------------

class SecurityGroupsView(CollectionView):
    collection, member, create_schema = "security_groups", "security_group", schemas.security_group_create
    filters = {"stateful": ("stateful", "bool")}

    def queryset(self):
        if self.ctx.project_id:
            services.security_group_ensure_default(project_id=self.ctx.project_id)
        return selectors.security_group_queryset(self.ctx)

    def render(self, obj):
        return ser.security_group_view(obj, self.ctx)

    def create(self, data):
        return services.security_group_create(ctx=self.ctx, data=data)

    def reload(self, obj):
        return type(obj).objects.prefetch_related("rules").get(pk=obj.pk)


class SecurityGroupView(MemberView):
    member, update_schema = "security_group", schemas.security_group_update

    def access(self, pk):
        return selectors.access_security_group(self.ctx, pk)

    def render(self, obj):
        return ser.security_group_view(obj, self.ctx)

    def update(self, obj, data):
        return services.security_group_update(ctx=self.ctx, group=obj, data=data)

    def destroy(self, obj):
        services.security_group_delete(ctx=self.ctx, group=obj)


class SecurityGroupRulesView(CollectionView):
    collection, member, create_schema = "security_group_rules", "security_group_rule", schemas.rule_create
    filters = {"security_group_id": ("security_group_id", "uuid"), "direction": ("direction", "str"),
               "ethertype": ("ethertype", "str"), "protocol": ("protocol", "str"),
               "port_range_min": ("port_range_min", "int"), "port_range_max": ("port_range_max", "int"),
               "remote_ip_prefix": ("remote_ip_prefix", "str"), "remote_group_id": ("remote_group_id", "uuid")}
    sort_keys = {"direction": "direction", "protocol": "protocol"}

    def queryset(self):
        return selectors.security_group_rule_queryset(self.ctx).select_related("security_group")

    def render(self, obj):
        defaults = {obj.security_group_id} if obj.security_group.is_default else set()
        return ser.rule_view(obj, self.ctx, defaults)

    def create(self, data):
        return services.security_group_rule_create(ctx=self.ctx, data=data)

    def reload(self, obj):
        return type(obj).objects.select_related("security_group").get(pk=obj.pk)


class SecurityGroupRuleView(MemberView):
    member = "security_group_rule"

    def access(self, pk):
        return selectors.access_security_group_rule(self.ctx, pk)

    def render(self, obj):
        defaults = {obj.security_group_id} if obj.security_group.is_default else set()
        return ser.rule_view(obj, self.ctx, defaults)

    def put(self, request, pk):
        self.access(pk)
        raise BadRequest("Resource security_group_rule does not support update.")

    def destroy(self, obj):
        services.security_group_rule_delete(ctx=self.ctx, rule=obj)


# --- RBAC -------------------------------------------------------------------------------------

class RBACPoliciesView(CollectionView):
    collection, member, create_schema = "rbac_policies", "rbac_policy", schemas.rbac_create
    filters = {"object_type": ("object_type", "str"), "object_id": ("object_id", "uuid"),
               "action": ("action", "str"), "target_tenant": ("target_tenant", "str"),
               "target_project_id": ("target_tenant", "str")}
    sort_keys = {"action": "action", "object_type": "object_type", "target_tenant": "target_tenant"}

    def queryset(self):
        return selectors.rbac_queryset(self.ctx)

    def get(self, request, **kwargs):
        # RBAC policies have no name/description/timestamps: drop those common filters and sorts.
        return super().get(request, **kwargs)

    def render(self, obj):
        return ser.rbac_view(obj, self.ctx)

    def create(self, data):
        return services.rbac_policy_create(ctx=self.ctx, data=data)


class RBACPolicyView(MemberView):
    member, update_schema = "rbac_policy", schemas.rbac_update

    def access(self, pk):
        return selectors.access_rbac_policy(self.ctx, pk)

    def render(self, obj):
        return ser.rbac_view(obj, self.ctx)

    def update(self, obj, data):
        return services.rbac_policy_update(ctx=self.ctx, policy_row=obj, data=data)

    def destroy(self, obj):
        services.rbac_policy_delete(ctx=self.ctx, policy_row=obj)


# --- extensions, AZs, agents, quotas, auto-allocation -----------------------------------------

class ExtensionsView(NeutronView):
    def get(self, request):
        self.ctx
        return Response({"extensions": [extension_view(e) for e in EXTENSIONS]})


class ExtensionView(NeutronView):
    def get(self, request, alias):
        self.ctx
        for ext in EXTENSIONS:
            if ext["alias"] == alias:
                return Response({"extension": extension_view(ext)})
        raise NotFound(f"Extension with alias {alias} does not exist", type_name="HTTPNotFound")


class AvailabilityZonesView(NeutronView):
    def get(self, request):
        self.ctx
        zones = [{"name": "nova", "resource": r, "state": "available"} for r in ("network", "router")]
        for key in ("name", "resource", "state"):
            if key in request.query_params:
                zones = [z for z in zones if z[key] in request.query_params.getlist(key)]
        return Response({"availability_zones": zones})


AGENT_KINDS = (("Linux bridge agent", "neutron-linuxbridge-agent", "N/A", False),
               ("DHCP agent", "neutron-dhcp-agent", "dhcp_agent", True),
               ("L3 agent", "neutron-l3-agent", "l3_agent", True),
               ("Metadata agent", "neutron-metadata-agent", "N/A", True))


def _agents():
    from ..dataplane import network_host

    nh = network_host()
    rows = {r.hostname: r for r in NetworkAgentHost.objects.all()}
    out = []
    for host in Host.objects.order_by("hostname"):
        for kind in AGENT_KINDS:
            if kind[3] and host.hostname != nh:
                continue
            out.append(ser.agent_view(host, kind, rows.get(host.hostname)))
    return out


class AgentsView(NeutronView):
    def get(self, request):
        self.ctx.can("get_agent")
        agents = _agents()
        for key in ("host", "agent_type", "binary", "alive", "admin_state_up", "id"):
            values = request.query_params.getlist(key)
            if values:
                agents = [a for a in agents if str(a[key]).lower() in [v.lower() for v in values]]
        return Response({"agents": [select_fields(request, a) for a in agents]})


class AgentView(NeutronView):
    def _find(self, pk):
        self.ctx.can("get_agent")
        for agent in _agents():
            if agent["id"] == pk:
                return agent
        raise NotFound(f"Agent {pk} could not be found", type_name="AgentNotFound")

    def get(self, request, pk):
        return Response({"agent": select_fields(request, self._find(pk))})

    def put(self, request, pk):
        agent = self._find(pk)
        self.ctx.can("update_agent")
        validate(schemas.single("agent", schemas.agent_update), request.data)
        data = request.data["agent"]
        if "admin_state_up" in data:
            NetworkAgentHost.objects.update_or_create(hostname=agent["host"],
                                                      defaults={"admin_state_up": data["admin_state_up"]})
        return Response({"agent": self._find(pk)})

    def delete(self, request, pk):
        self._find(pk)
        raise Forbidden("Agents of live hosts are derived from host registration; remove the host instead.")


def _quota_body(project_id, details=False):
    usage = quota_usage(project_id, limits_default=services.QUOTA_DEFAULTS, resources=list(services.QUOTA_DEFAULTS))
    if details:
        return {r: {"used": v["in_use"], "limit": v["limit"], "reserved": 0} for r, v in usage.items()}
    return {r: v["limit"] for r, v in usage.items()}


class QuotasView(NeutronView):
    def get(self, request):
        self.ctx.can("update_quota")  # admin: every project with explicit limits
        from apps.core.models import QuotaLimit

        projects = sorted(set(QuotaLimit.objects.filter(resource__in=list(services.QUOTA_DEFAULTS))
                              .values_list("project_id", flat=True)))
        return Response({"quotas": [{**_quota_body(p), "project_id": p, "tenant_id": p} for p in projects]})


class QuotaView(NeutronView):
    def get(self, request, project_id, detail=None):
        self.ctx.enforce("get_quota", project_id)
        if detail == "default":
            return Response({"quota": dict(services.QUOTA_DEFAULTS)})
        return Response({"quota": _quota_body(project_id, details=detail == "details")})

    def put(self, request, project_id, detail=None):
        validate(schemas.quota_update, request.data)
        services.quota_update(ctx=self.ctx, project_id=project_id, data=request.data["quota"])
        return Response({"quota": _quota_body(project_id)})

    def delete(self, request, project_id, detail=None):
        services.quota_delete(ctx=self.ctx, project_id=project_id)
        return Response(status=204)


class AutoAllocatedTopologyView(NeutronView):
    def get(self, request, project_id):
        if "fields" in request.query_params and "dry-run" in request.query_params.getlist("fields"):
            return Response({"auto_allocated_topology": {"dry-run": "pass"}})
        topology = services.auto_allocated_topology_get(ctx=self.ctx, project_id=project_id)
        return Response({"auto_allocated_topology": topology})

    def delete(self, request, project_id):
        services.auto_allocated_topology_delete(ctx=self.ctx, project_id=project_id)
        return Response(status=204)


class TagsView(NeutronView):
    """/v2.0/{collection}/{id}/tags[/{tag}] (standard-attr-tag)."""

    ACCESS = {"networks": "access_network", "subnets": "access_subnet", "ports": "access_port",
              "routers": "access_router", "floatingips": "access_floatingip",
              "security-groups": "access_security_group", "subnetpools": "access_subnetpool"}
    UPDATE_RULE = {"networks": "update_network", "subnets": "update_subnet", "ports": "update_port",
                   "routers": "update_router", "floatingips": "update_floatingip",
                   "security-groups": "update_security_group", "subnetpools": "update_subnetpool"}

    def _obj(self, collection, pk):
        if collection not in self.ACCESS:
            raise NotFound("The resource could not be found.")
        return getattr(selectors, self.ACCESS[collection])(self.ctx, pk)

    def _save(self, collection, obj, tags):
        self.ctx.enforce(self.UPDATE_RULE[collection], obj.project_id)
        for tag in tags:
            if not isinstance(tag, str) or not tag or len(tag) > 255 or "," in tag or "/" in tag:
                raise BadRequest(f"Invalid input for tags. Reason: '{tag}' is not a valid tag.")
        obj.tags = sorted(set(tags))
        obj.bump()
        type(obj).objects.filter(pk=obj.pk).update(tags=obj.tags, revision_number=obj.revision_number)

    def get(self, request, collection, pk, tag=None):
        obj = self._obj(collection, pk)
        if tag is None:
            return Response({"tags": list(obj.tags)})
        if tag not in obj.tags:
            raise NotFound(f"Tag {tag} could not be found.", type_name="TagNotFound")
        return Response(status=204)

    def put(self, request, collection, pk, tag=None):
        obj = self._obj(collection, pk)
        if tag is None:
            validate(schemas.tags_replace, request.data)
            self._save(collection, obj, request.data["tags"])
            return Response({"tags": list(obj.tags)})
        self._save(collection, obj, list(obj.tags) + [tag])
        return Response(status=201)

    def delete(self, request, collection, pk, tag=None):
        obj = self._obj(collection, pk)
        if tag is None:
            self._save(collection, obj, [])
        else:
            if tag not in obj.tags:
                raise NotFound(f"Tag {tag} could not be found.", type_name="TagNotFound")
            self._save(collection, obj, [t for t in obj.tags if t != tag])
        return Response(status=204)
