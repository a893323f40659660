"""Keystone v3 API: parse, authorise, call one service or selector, render."""
from django.http import HttpResponse
from rest_framework.response import Response

from apps.core import policy
from apps.core.api.validation import validate
from apps.core.api.views import OpenStackAPIView
from apps.core.exceptions import BadRequest, NotFound, Unauthorized

from .. import selectors, services
from ..authentication import require_token
from ..models import Domain, Endpoint, Group, Project, Region, Role, RoleAssignment, Service, User
from ..policies import RULES
from . import schemas
from . import serializers as ser

policy.register_rules({name: check for name, (check, _desc) in RULES.items()})

V3_UPDATED = "2024-04-01T00:00:00Z"
V3_ID = "v3.14"


def flag(params, name):
    """Keystone's query flags: present and not 0/false."""
    return name in params and str(params.get(name)).lower() not in ("0", "false")


def v3_version(request):
    return {"id": V3_ID, "status": "stable", "updated": V3_UPDATED,
            "links": [{"rel": "self", "href": request.build_absolute_uri("/identity/v3/")}],
            "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}]}


class IdentityView(OpenStackAPIView):
    service = "identity"
    rule_target = None

    def enforce(self, rule, **target):
        token = require_token(self.request)
        flat = {}
        for key, value in target.items():
            if isinstance(value, dict):
                for k, v in value.items():
                    flat[f"target.{key}.{k}"] = v
            else:
                flat[f"target.{key}"] = value
        policy.authorize(rule, token.credentials(), flat)
        return token

    def body(self, schema):
        validate(schema, self.request.data)
        return self.request.data


class VersionsView(OpenStackAPIView):
    service = "identity"
    authentication_classes = []

    def get(self, request):
        return Response({"versions": {"values": [v3_version(request)]}}, status=300)


class V3View(OpenStackAPIView):
    service = "identity"
    authentication_classes = []

    def get(self, request):
        return Response({"version": v3_version(request)})


# ---------------------------------------------------------------- auth

def _token_response(info, status, nocatalog):
    response = HttpResponse(info.body_nocatalog if nocatalog else info.body, status=status,
                            content_type="application/json")
    response["X-Subject-Token"] = info.token
    return response


class AuthTokensView(IdentityView):
    authentication_classes = []  # POST authenticates from the body; the others check X-Auth-Token themselves

    def _caller(self, request):
        token = request.META.get("HTTP_X_AUTH_TOKEN")
        if not token:
            raise Unauthorized("The request you have made requires authentication.")
        request.user = services.token_validate(token, unauthorized=True)
        subject = request.META.get("HTTP_X_SUBJECT_TOKEN")
        if not subject:
            raise NotFound("Failed to validate token")
        return subject

    def post(self, request):
        data = self.body(schemas.AUTH)
        info = services.token_issue(auth=data["auth"])
        return _token_response(info, 201, flag(request.GET, "nocatalog"))

    def get(self, request):
        subject = self._caller(request)
        info = services.token_validate(subject, allow_expired=flag(request.GET, "allow_expired"))
        self.enforce("identity:validate_token", token={"user_id": info.user_id})
        return _token_response(info, 200, flag(request.GET, "nocatalog"))

    def head(self, request):
        subject = self._caller(request)
        info = services.token_validate(subject, allow_expired=flag(request.GET, "allow_expired"))
        self.enforce("identity:validate_token", token={"user_id": info.user_id})
        response = HttpResponse(status=200)
        response["X-Subject-Token"] = info.token
        return response

    def delete(self, request):
        subject = self._caller(request)
        info = services.token_validate(subject)
        self.enforce("identity:revoke_token", token={"user_id": info.user_id})
        services.token_revoke(token=subject)
        return HttpResponse(status=204)


class AuthCatalogView(IdentityView):
    def get(self, request):
        token = require_token(request)
        if not (token.project_id or token.domain_id or token.system_scoped):
            raise Unauthorized("The service catalog is empty for an unscoped token.")
        return Response({"catalog": selectors.catalog(token.project_id),
                         "links": {"self": request.build_absolute_uri()}})


class AuthProjectsView(IdentityView):
    def get(self, request):
        token = require_token(request)
        projects = Project.objects.filter(id__in=selectors.user_project_ids(token.user_id), enabled=True,
                                          domain__enabled=True).order_by("name")
        return Response({"projects": [ser.project(request, p) for p in projects],
                         "links": ser.collection_links(request)})


class AuthDomainsView(IdentityView):
    def get(self, request):
        token = require_token(request)
        domains = Domain.objects.filter(id__in=selectors.user_domain_ids(token.user_id), enabled=True).order_by("name")
        return Response({"domains": [ser.domain(request, d) for d in domains], "links": ser.collection_links(request)})


class AuthSystemView(IdentityView):
    def get(self, request):
        token = require_token(request)
        system = [{"all": True}] if selectors.user_has_system_role(token.user_id) else []
        return Response({"system": system, "links": {"self": request.build_absolute_uri()}})


# ---------------------------------------------------------------- domains

class DomainsView(IdentityView):
    def get(self, request):
        token = self.enforce("identity:list_domains")
        domains = selectors.domain_list(request.GET)
        return Response({"domains": [ser.domain(request, d) for d in domains], "links": ser.collection_links(request)})


class DomainView(IdentityView):
    def get(self, request, domain_id):
        require_token(request)
        domain = selectors.get_or_404(Domain, domain_id, "domain")
        self.enforce("identity:get_domain", domain={"id": domain.id})
        return Response({"domain": ser.domain(request, domain)})


# ---------------------------------------------------------------- projects

class ProjectsView(IdentityView):
    def get(self, request):
        self.enforce("identity:list_projects", domain_id=request.GET.get("domain_id"))
        projects = selectors.project_list(request.GET)
        return Response({"projects": [ser.project(request, p) for p in projects],
                         "links": ser.collection_links(request)})

    def post(self, request):
        data = self.body(schemas.PROJECT_CREATE)["project"]
        token = require_token(request)
        domain_id = data.get("domain_id") or token.domain_id or (token.project["domain"]["id"] if token.project
                                                                 else "default")
        self.enforce("identity:create_project", project={"domain_id": domain_id})
        data = _split_extra(data, ("name", "description", "domain_id", "enabled", "is_domain", "parent_id",
                                   "tags", "options"))
        data["domain_id"] = domain_id
        project = services.project_create(actor=token, data=data)
        return Response({"project": ser.project(request, project)}, status=201)


def _split_extra(data, known):
    out = {k: v for k, v in data.items() if k in known}
    out["extra"] = {k: v for k, v in data.items() if k not in known and k not in ("id", "links")}
    return out


class ProjectView(IdentityView):
    def _project(self, project_id):
        require_token(self.request)
        return selectors.get_or_404(Project, project_id, "project")

    def get(self, request, project_id):
        project = self._project(project_id)
        self.enforce("identity:get_project", project={"id": project.id, "domain_id": project.domain_id})
        return Response({"project": ser.project(request, project)})

    def patch(self, request, project_id):
        project = self._project(project_id)
        data = self.body(schemas.PROJECT_UPDATE)["project"]
        token = self.enforce("identity:update_project", project={"id": project.id, "domain_id": project.domain_id})
        data = _split_extra(data, ("name", "description", "enabled", "tags", "options"))
        project = services.project_update(actor=token, project=project, data=data)
        return Response({"project": ser.project(request, project)})

    def delete(self, request, project_id):
        project = self._project(project_id)
        token = self.enforce("identity:delete_project", project={"id": project.id, "domain_id": project.domain_id})
        services.project_delete(actor=token, project=project)
        return HttpResponse(status=204)


# ---------------------------------------------------------------- users

class UsersView(IdentityView):
    def get(self, request):
        self.enforce("identity:list_users", domain_id=request.GET.get("domain_id"))
        users = selectors.user_list(request.GET)
        return Response({"users": [ser.user(request, u) for u in users], "links": ser.collection_links(request)})

    def post(self, request):
        data = self.body(schemas.USER_CREATE)["user"]
        token = require_token(request)
        domain_id = data.get("domain_id") or token.domain_id or (token.project["domain"]["id"] if token.project
                                                                 else "default")
        self.enforce("identity:create_user", user={"domain_id": domain_id})
        data = _split_extra(data, ("name", "domain_id", "default_project_id", "enabled", "password",
                                   "description", "email", "options"))
        data["domain_id"] = domain_id
        user = services.user_create(actor=token, data=data)
        return Response({"user": ser.user(request, user)}, status=201)


class UserView(IdentityView):
    def _user(self, user_id):
        require_token(self.request)
        return selectors.get_or_404(User, user_id, "user")

    def get(self, request, user_id):
        user = self._user(user_id)
        self.enforce("identity:get_user", user={"id": user.id, "domain_id": user.domain_id})
        return Response({"user": ser.user(request, user)})

    def patch(self, request, user_id):
        user = self._user(user_id)
        data = self.body(schemas.USER_UPDATE)["user"]
        token = self.enforce("identity:update_user", user={"id": user.id, "domain_id": user.domain_id})
        data = _split_extra(data, ("name", "default_project_id", "enabled", "password", "description",
                                   "email", "options"))
        user = services.user_update(actor=token, user=user, data=data)
        return Response({"user": ser.user(request, user)})

    def delete(self, request, user_id):
        user = self._user(user_id)
        token = self.enforce("identity:delete_user", user={"id": user.id, "domain_id": user.domain_id})
        services.user_delete(actor=token, user=user)
        return HttpResponse(status=204)


class UserProjectsView(IdentityView):
    def get(self, request, user_id):
        require_token(request)
        user = selectors.get_or_404(User, user_id, "user")
        self.enforce("identity:list_user_projects", user={"id": user.id, "domain_id": user.domain_id})
        projects = selectors.project_list(request.GET).filter(id__in=selectors.user_project_ids(user.id))
        return Response({"projects": [ser.project(request, p) for p in projects],
                         "links": ser.collection_links(request)})


# ---------------------------------------------------------------- roles

class RolesView(IdentityView):
    def get(self, request):
        self.enforce("identity:list_roles")
        roles = selectors.role_list(request.GET)
        return Response({"roles": [ser.role(request, r) for r in roles], "links": ser.collection_links(request)})

    def post(self, request):
        data = self.body(schemas.ROLE_CREATE)["role"]
        token = self.enforce("identity:create_role")
        role = services.role_create(actor=token, data=data)
        return Response({"role": ser.role(request, role)}, status=201)


class RoleView(IdentityView):
    def _role(self, role_id):
        require_token(self.request)
        return selectors.get_or_404(Role, role_id, "role")

    def get(self, request, role_id):
        role = self._role(role_id)
        self.enforce("identity:get_role")
        return Response({"role": ser.role(request, role)})

    def patch(self, request, role_id):
        role = self._role(role_id)
        data = self.body(schemas.ROLE_UPDATE)["role"]
        token = self.enforce("identity:update_role")
        return Response({"role": ser.role(request, services.role_update(actor=token, role=role, data=data))})

    def delete(self, request, role_id):
        role = self._role(role_id)
        token = self.enforce("identity:delete_role")
        services.role_delete(actor=token, role=role)
        return HttpResponse(status=204)


# ---------------------------------------------------------------- grants

_ACTORS = {"users": ("user", User), "groups": ("group", Group)}
_TARGETS = {"projects": ("project", Project), "domains": ("domain", Domain)}


class GrantView(IdentityView):
    """/v3/{projects|domains}/{target}/{users|groups}/{actor}/roles/{role}; /v3/system/... too."""

    def _resolve(self, target_kind, target_id, actor_kind, actor_id, role_id=None):
        require_token(self.request)
        tkind, tmodel = _TARGETS.get(target_kind, ("system", None))
        akind, amodel = _ACTORS[actor_kind]
        target_domain = None
        if tmodel is not None:
            target = selectors.get_or_404(tmodel, target_id, tkind)
            target_domain = target.domain_id if tkind == "project" else target.id
        else:
            target_id = RoleAssignment.SYSTEM_TARGET
        selectors.get_or_404(amodel, actor_id, akind)
        role = selectors.get_or_404(Role, role_id, "role") if role_id else None
        return tkind, target_id, akind, role, target_domain

    def get(self, request, target_kind, actor_kind, actor_id, role_id=None, target_id=None):
        tkind, target_id, akind, role, tdomain = self._resolve(target_kind, target_id, actor_kind, actor_id, role_id)
        if role is None:  # list the roles granted
            self.enforce("identity:list_grants", domain_id=tdomain)
            entries = selectors.role_assignment_list({f"{akind}.id": actor_id, **(
                {f"scope.{tkind}.id": target_id} if tkind != "system" else {"scope.system": "all"})})
            roles = {e["role"].id: e["role"] for e in entries if not e["inherited"]}
            return Response({"roles": [ser.role(request, r) for r in roles.values()],
                             "links": ser.collection_links(request)})
        self.enforce("identity:check_grant", domain_id=tdomain)
        exists = RoleAssignment.objects.filter(
            type=services.ASSIGNMENT_TYPES[(akind, tkind)], actor_id=actor_id, target_id=target_id, role=role,
            inherited=False).exists()
        if not exists:
            raise NotFound(f"Could not find role assignment with role: {role.id}, {akind}: {actor_id}, "
                           f"{tkind}: {target_id}.")
        return HttpResponse(status=204)

    def head(self, request, **kwargs):
        return self.get(request, **kwargs)

    def put(self, request, target_kind, actor_kind, actor_id, role_id, target_id=None):
        tkind, target_id, akind, role, tdomain = self._resolve(target_kind, target_id, actor_kind, actor_id, role_id)
        token = self.enforce("identity:create_grant", domain_id=tdomain)
        services.role_grant(actor=token, actor_kind=akind, actor_id=actor_id, target_kind=tkind,
                            target_id=target_id, role=role)
        return HttpResponse(status=204)

    def delete(self, request, target_kind, actor_kind, actor_id, role_id, target_id=None):
        tkind, target_id, akind, role, tdomain = self._resolve(target_kind, target_id, actor_kind, actor_id, role_id)
        token = self.enforce("identity:revoke_grant", domain_id=tdomain)
        services.role_revoke(actor=token, actor_kind=akind, actor_id=actor_id, target_kind=tkind,
                             target_id=target_id, role=role)
        return HttpResponse(status=204)


class RoleAssignmentsView(IdentityView):
    def get(self, request):
        params = request.GET
        self.enforce("identity:list_role_assignments", domain_id=params.get("scope.domain.id"))
        entries = selectors.role_assignment_list(params)
        names = selectors.names_for_assignments(entries) if flag(params, "include_names") else None
        return Response({"role_assignments": [ser.role_assignment(request, e, names) for e in entries],
                         "links": ser.collection_links(request)})


# ---------------------------------------------------------------- catalog resources

class _Collection(IdentityView):
    """List/create for the plain catalog resources (regions, services, endpoints)."""

    key = plural = model = None
    create_schema = update_schema = None
    list_selector = render = create_service = update_service = delete_service = None

    def get(self, request):
        self.enforce(f"identity:list_{self.plural}")
        items = type(self).list_selector(request.GET)
        return Response({self.plural: [type(self).render(request, i) for i in items],
                         "links": ser.collection_links(request)})

    def post(self, request):
        data = self.body(self.create_schema)[self.key]
        token = self.enforce(f"identity:create_{self.key}")
        obj = type(self).create_service(actor=token, data=data)
        return Response({self.key: type(self).render(request, obj)}, status=201)


class _Item(IdentityView):
    key = model = None
    update_schema = None
    render = update_service = delete_service = None

    def _obj(self, pk):
        require_token(self.request)
        return selectors.get_or_404(self.model, pk, self.key)

    def get(self, request, pk):
        obj = self._obj(pk)
        self.enforce(f"identity:get_{self.key}")
        return Response({self.key: type(self).render(request, obj)})

    def patch(self, request, pk):
        obj = self._obj(pk)
        if self.update_schema is None:
            raise BadRequest(f"{self.key} cannot be updated.")
        data = self.body(self.update_schema)[self.key]
        token = self.enforce(f"identity:update_{self.key}")
        obj = type(self).update_service(actor=token, **{self.key: obj}, data=data)
        return Response({self.key: type(self).render(request, obj)})

    def delete(self, request, pk):
        obj = self._obj(pk)
        token = self.enforce(f"identity:delete_{self.key}")
        type(self).delete_service(actor=token, **{self.key: obj})
        return HttpResponse(status=204)


class RegionsView(_Collection):
    key, plural, create_schema = "region", "regions", schemas.REGION_CREATE
    list_selector, render, create_service = selectors.region_list, ser.region, services.region_create


class RegionView(_Item):
    key, model = "region", Region
    render, delete_service = ser.region, services.region_delete


class ServicesView(_Collection):
    key, plural, create_schema = "service", "services", schemas.SERVICE_CREATE
    list_selector, render, create_service = selectors.service_list, ser.service, services.service_create


class ServiceView(_Item):
    key, model, update_schema = "service", Service, schemas.SERVICE_UPDATE
    render, update_service, delete_service = ser.service, services.service_update, services.service_delete


class EndpointsView(_Collection):
    key, plural, create_schema = "endpoint", "endpoints", schemas.ENDPOINT_CREATE
    list_selector, render, create_service = selectors.endpoint_list, ser.endpoint, services.endpoint_create


class EndpointView(_Item):
    key, model, update_schema = "endpoint", Endpoint, schemas.ENDPOINT_UPDATE
    render, update_service, delete_service = ser.endpoint, services.endpoint_update, services.endpoint_delete
