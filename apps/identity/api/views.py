"""Keystone v3 API: parse, authorise, call one service or selector, render."""
import json

from django.http import HttpResponse
from rest_framework.response import Response

from apps.core import policy
from apps.core.api.validation import validate
from apps.core.api.views import OpenStackAPIView
from apps.core.exceptions import BadRequest, Forbidden, MethodNotAllowed, NotFound, Unauthorized

from .. import selectors, services
from ..authentication import require_token
from ..models import (AccessRule, ApplicationCredential, Credential, Domain, Endpoint, Group, ImpliedRole, Project,
                      Region, Role, RoleAssignment, Service, User)
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
        validate(schema, self.request.data, style="keystone")
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


# ---------------------------------------------------------------- helpers

def _split_extra(data, known):
    out = {k: v for k, v in data.items() if k in known}
    out["extra"] = {k: v for k, v in data.items() if k not in known and k not in ("id", "links")}
    return out


def _token_domain(token):
    """The domain a request acts in by default: a domain-scoped token's, else the project's, else Default."""
    return token.domain_id or (token.project["domain"]["id"] if token.project else "default")


def _list_params(request, token):
    """A domain-scoped token lists within its domain unless it names one (as Keystone filters)."""
    params = request.GET.copy()
    if token.domain_id and not params.get("domain_id"):
        params["domain_id"] = token.domain_id
    return params


def _collection(request, key, items, render):
    return Response({key: [render(request, i) for i in items], "links": ser.collection_links(request)})


# ---------------------------------------------------------------- domains

class DomainsView(IdentityView):
    def get(self, request):
        self.enforce("identity:list_domains")
        return _collection(request, "domains", selectors.domain_list(request.GET), ser.domain)

    def post(self, request):
        data = self.body(schemas.DOMAIN_CREATE)["domain"]
        token = self.enforce("identity:create_domain")
        data = _split_extra(data, ("name", "description", "enabled", "tags", "options"))
        return Response({"domain": ser.domain(request, services.domain_create(actor=token, data=data))}, status=201)


class DomainView(IdentityView):
    def _domain(self, domain_id):
        require_token(self.request)
        return selectors.get_or_404(Domain, domain_id, "domain")

    def get(self, request, domain_id):
        domain = self._domain(domain_id)
        self.enforce("identity:get_domain", domain={"id": domain.id})
        return Response({"domain": ser.domain(request, domain)})

    def patch(self, request, domain_id):
        domain = self._domain(domain_id)
        data = self.body(schemas.DOMAIN_UPDATE)["domain"]
        token = self.enforce("identity:update_domain", domain={"id": domain.id})
        data = _split_extra(data, ("name", "description", "enabled", "tags", "options"))
        return Response({"domain": ser.domain(request, services.domain_update(actor=token, domain=domain,
                                                                             data=data))})

    def delete(self, request, domain_id):
        domain = self._domain(domain_id)
        token = self.enforce("identity:delete_domain", domain={"id": domain.id})
        services.domain_delete(actor=token, domain=domain)
        return HttpResponse(status=204)


# ---------------------------------------------------------------- projects

class ProjectsView(IdentityView):
    def get(self, request):
        token = require_token(request)
        params = _list_params(request, token)
        self.enforce("identity:list_projects", domain_id=params.get("domain_id"))
        if flag(params, "is_domain") and str(params.get("is_domain")).lower() == "true":
            return _collection(request, "projects", selectors.domain_list(params), ser.domain_as_project)
        return _collection(request, "projects", selectors.project_list(params), ser.project)

    def post(self, request):
        data = self.body(schemas.PROJECT_CREATE)["project"]
        token = require_token(request)
        domain_id = data.get("domain_id")
        if not domain_id and data.get("parent_id"):
            parent = Project.objects.filter(id=data["parent_id"]).values_list("domain_id", flat=True).first()
            domain_id = parent or data["parent_id"]
        domain_id = domain_id or _token_domain(token)
        if data.get("is_domain"):
            self.enforce("identity:create_domain")
        else:
            self.enforce("identity:create_project", project={"domain_id": domain_id})
        data = _split_extra(data, ("name", "description", "domain_id", "enabled", "is_domain", "parent_id",
                                   "tags", "options"))
        data["domain_id"] = domain_id
        created = services.project_create(actor=token, data=data)
        render = ser.domain_as_project if isinstance(created, Domain) else ser.project
        return Response({"project": render(request, created)}, status=201)


class ProjectView(IdentityView):
    def _project(self, project_id):
        require_token(self.request)
        return selectors.get_or_404(Project, project_id, "project")

    def get(self, request, project_id):
        require_token(request)
        project = Project.objects.filter(id=project_id).first()
        if project is None:
            domain = Domain.objects.filter(id=project_id).first()  # a domain is a project acting as one
            if domain is None:
                raise NotFound(f"Could not find project: {project_id}.")
            self.enforce("identity:get_domain", domain={"id": domain.id})
            return Response({"project": ser.domain_as_project(request, domain)})
        self.enforce("identity:get_project", project={"id": project.id, "domain_id": project.domain_id})
        return Response({"project": ser.project(request, project)})

    def patch(self, request, project_id):
        project = self._project(project_id)
        data = self.body(schemas.PROJECT_UPDATE)["project"]
        token = self.enforce("identity:update_project", project={"id": project.id, "domain_id": project.domain_id})
        data = _split_extra(data, ("name", "description", "enabled", "tags", "options", "parent_id"))
        if "parent_id" in data and data.pop("parent_id") not in (project.parent_id, project.domain_id, None):
            raise BadRequest("Invalid input for field 'parent_id': a project cannot be moved.")
        project = services.project_update(actor=token, project=project, data=data)
        return Response({"project": ser.project(request, project)})

    def delete(self, request, project_id):
        project = self._project(project_id)
        token = self.enforce("identity:delete_project", project={"id": project.id, "domain_id": project.domain_id})
        services.project_delete(actor=token, project=project)
        return HttpResponse(status=204)


def _tags_response(request, project):
    return Response({"tags": project.tags, "links": {"self": request.build_absolute_uri()}})


class ProjectTagsView(IdentityView):
    def _project(self, project_id, rule):
        require_token(self.request)
        project = selectors.get_or_404(Project, project_id, "project")
        token = self.enforce(rule, project={"id": project.id, "domain_id": project.domain_id})
        return project, token

    def get(self, request, project_id):
        project, _ = self._project(project_id, "identity:list_project_tags")
        return _tags_response(request, project)

    def put(self, request, project_id):
        require_token(request)
        selectors.get_or_404(Project, project_id, "project")
        data = self.body(schemas.TAGS_UPDATE)
        project, token = self._project(project_id, "identity:update_project_tags")
        return _tags_response(request, services.project_tags_set(actor=token, project=project, tags=data["tags"]))

    def delete(self, request, project_id):
        project, token = self._project(project_id, "identity:delete_project_tags")
        services.project_tags_set(actor=token, project=project, tags=[])
        return HttpResponse(status=204)


class ProjectTagView(ProjectTagsView):
    def get(self, request, project_id, tag):
        project, _ = self._project(project_id, "identity:get_project_tag")
        if tag not in project.tags:
            raise NotFound(f"Tag {tag} not found for project {project.id}.")
        return HttpResponse(status=204)

    def head(self, request, project_id, tag):
        return self.get(request, project_id, tag)

    def put(self, request, project_id, tag):
        project, token = self._project(project_id, "identity:create_project_tag")
        validate(schemas._tag, tag, style="keystone")
        services.project_tag_add(actor=token, project=project, tag=tag)
        response = HttpResponse(status=201)
        response["Location"] = request.build_absolute_uri()
        return response

    def delete(self, request, project_id, tag):
        project, token = self._project(project_id, "identity:delete_project_tag")
        services.project_tag_delete(actor=token, project=project, tag=tag)
        return HttpResponse(status=204)


# ---------------------------------------------------------------- users

class UsersView(IdentityView):
    def get(self, request):
        token = require_token(request)
        params = _list_params(request, token)
        self.enforce("identity:list_users", domain_id=params.get("domain_id"))
        return _collection(request, "users", selectors.user_list(params), ser.user)

    def post(self, request):
        data = self.body(schemas.USER_CREATE)["user"]
        token = require_token(request)
        domain_id = data.get("domain_id") or _token_domain(token)
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


class UserPasswordView(IdentityView):
    """POST /v3/users/{id}/password: proven by the original password, no token needed (Keystone)."""

    def get(self, request, user_id):
        raise MethodNotAllowed("Method GET is not allowed: use POST.")

    def post(self, request, user_id):
        data = self.body(schemas.PASSWORD_CHANGE)["user"]
        services.user_password_change(user_id=user_id, original_password=data["original_password"],
                                      password=data["password"])
        return HttpResponse(status=204)


class UserProjectsView(IdentityView):
    def get(self, request, user_id):
        require_token(request)
        user = selectors.get_or_404(User, user_id, "user")
        self.enforce("identity:list_user_projects", user={"id": user.id, "domain_id": user.domain_id})
        projects = selectors.project_list(request.GET).filter(id__in=selectors.user_project_ids(user.id))
        return _collection(request, "projects", projects, ser.project)


class UserGroupsView(IdentityView):
    def get(self, request, user_id):
        require_token(request)
        user = selectors.get_or_404(User, user_id, "user")
        self.enforce("identity:list_groups_for_user", user={"id": user.id, "domain_id": user.domain_id})
        return _collection(request, "groups", selectors.user_groups(user.id, request.GET), ser.group)


# ---------------------------------------------------------------- groups

class GroupsView(IdentityView):
    def get(self, request):
        token = require_token(request)
        params = _list_params(request, token)
        self.enforce("identity:list_groups", domain_id=params.get("domain_id"))
        return _collection(request, "groups", selectors.group_list(params), ser.group)

    def post(self, request):
        data = self.body(schemas.GROUP_CREATE)["group"]
        token = require_token(request)
        domain_id = data.get("domain_id") or _token_domain(token)
        self.enforce("identity:create_group", group={"domain_id": domain_id})
        data = dict(data, domain_id=domain_id)
        return Response({"group": ser.group(request, services.group_create(actor=token, data=data))}, status=201)


class GroupView(IdentityView):
    def _group(self, group_id):
        require_token(self.request)
        return selectors.get_or_404(Group, group_id, "group")

    def get(self, request, group_id):
        group = self._group(group_id)
        self.enforce("identity:get_group", group={"id": group.id, "domain_id": group.domain_id})
        return Response({"group": ser.group(request, group)})

    def patch(self, request, group_id):
        group = self._group(group_id)
        data = self.body(schemas.GROUP_UPDATE)["group"]
        token = self.enforce("identity:update_group", group={"id": group.id, "domain_id": group.domain_id})
        return Response({"group": ser.group(request, services.group_update(actor=token, group=group, data=data))})

    def delete(self, request, group_id):
        group = self._group(group_id)
        token = self.enforce("identity:delete_group", group={"id": group.id, "domain_id": group.domain_id})
        services.group_delete(actor=token, group=group)
        return HttpResponse(status=204)


class GroupUsersView(IdentityView):
    def get(self, request, group_id):
        require_token(request)
        group = selectors.get_or_404(Group, group_id, "group")
        self.enforce("identity:list_users_in_group", group={"id": group.id, "domain_id": group.domain_id})
        return _collection(request, "users", selectors.group_users(group.id, request.GET), ser.user)


class GroupUserView(IdentityView):
    def _resolve(self, group_id, user_id, rule):
        require_token(self.request)
        group = selectors.get_or_404(Group, group_id, "group")
        user = selectors.get_or_404(User, user_id, "user")
        token = self.enforce(rule, group={"id": group.id, "domain_id": group.domain_id},
                             user={"id": user.id, "domain_id": user.domain_id})
        return group, user, token

    def get(self, request, group_id, user_id):
        group, user, _ = self._resolve(group_id, user_id, "identity:check_user_in_group")
        if not group.users.filter(pk=user.pk).exists():
            raise NotFound(f"User '{user.id}' not found in group '{group.id}'")
        return HttpResponse(status=204)

    def head(self, request, group_id, user_id):
        return self.get(request, group_id, user_id)

    def put(self, request, group_id, user_id):
        group, user, token = self._resolve(group_id, user_id, "identity:add_user_to_group")
        services.group_add_user(actor=token, group=group, user=user)
        return HttpResponse(status=204)

    def delete(self, request, group_id, user_id):
        group, user, token = self._resolve(group_id, user_id, "identity:remove_user_from_group")
        services.group_remove_user(actor=token, group=group, user=user)
        return HttpResponse(status=204)


# ---------------------------------------------------------------- roles

def _role_rule(verb, role=None, domain_id=None):
    """Domain-specific roles have their own rules, as in Keystone."""
    if (role is not None and role.domain_id) or domain_id:
        return f"identity:{verb}_domain_role"
    return f"identity:{verb}_role"


class RolesView(IdentityView):
    def get(self, request):
        domain_id = request.GET.get("domain_id")
        self.enforce("identity:list_domain_roles" if domain_id else "identity:list_roles", domain_id=domain_id)
        return _collection(request, "roles", selectors.role_list(request.GET), ser.role)

    def post(self, request):
        data = self.body(schemas.ROLE_CREATE)["role"]
        token = self.enforce(_role_rule("create", domain_id=data.get("domain_id")))
        role = services.role_create(actor=token, data=data)
        return Response({"role": ser.role(request, role)}, status=201)


class RoleView(IdentityView):
    def _role(self, role_id):
        require_token(self.request)
        return selectors.get_or_404(Role, role_id, "role")

    def get(self, request, role_id):
        role = self._role(role_id)
        self.enforce(_role_rule("get", role), role={"id": role.id, "domain_id": role.domain_id})
        return Response({"role": ser.role(request, role)})

    def patch(self, request, role_id):
        role = self._role(role_id)
        data = self.body(schemas.ROLE_UPDATE)["role"]
        token = self.enforce(_role_rule("update", role), role={"id": role.id, "domain_id": role.domain_id})
        return Response({"role": ser.role(request, services.role_update(actor=token, role=role, data=data))})

    def delete(self, request, role_id):
        role = self._role(role_id)
        token = self.enforce(_role_rule("delete", role), role={"id": role.id, "domain_id": role.domain_id})
        services.role_delete(actor=token, role=role)
        return HttpResponse(status=204)


class ImpliedRolesView(IdentityView):
    """GET /v3/roles/{prior}/implies: the roles one role implies directly."""

    def get(self, request, prior_id):
        require_token(request)
        prior = selectors.get_or_404(Role, prior_id, "role")
        self.enforce("identity:list_implied_roles")
        implied = [ir.implied_role for ir in ImpliedRole.objects.filter(prior_role=prior)
                   .select_related("implied_role").order_by("implied_role__name")]
        return Response({"role_inference": {"prior_role": ser.role_ref(request, prior),
                                            "implies": [ser.role_ref(request, r) for r in implied]},
                         "links": {"self": request.build_absolute_uri()}})


class ImpliedRoleView(IdentityView):
    def _pair(self, prior_id, implied_id):
        require_token(self.request)
        return selectors.get_or_404(Role, prior_id, "role"), selectors.get_or_404(Role, implied_id, "role")

    def _body(self, request, prior, implied, status):
        return Response({"role_inference": ser.role_inference(request, prior, implied),
                         "links": {"self": request.build_absolute_uri()}}, status=status)

    def get(self, request, prior_id, implied_id):
        prior, implied = self._pair(prior_id, implied_id)
        self.enforce("identity:get_implied_role")
        if not ImpliedRole.objects.filter(prior_role=prior, implied_role=implied).exists():
            raise NotFound(f"{prior.id} does not imply {implied.id}.")
        return self._body(request, prior, implied, 200)

    def head(self, request, prior_id, implied_id):
        prior, implied = self._pair(prior_id, implied_id)
        self.enforce("identity:check_implied_role")
        if not ImpliedRole.objects.filter(prior_role=prior, implied_role=implied).exists():
            raise NotFound(f"{prior.id} does not imply {implied.id}.")
        return HttpResponse(status=204)

    def put(self, request, prior_id, implied_id):
        prior, implied = self._pair(prior_id, implied_id)
        token = self.enforce("identity:create_implied_role")
        services.implied_role_create(actor=token, prior=prior, implied=implied)
        return self._body(request, prior, implied, 201)

    def delete(self, request, prior_id, implied_id):
        prior, implied = self._pair(prior_id, implied_id)
        token = self.enforce("identity:delete_implied_role")
        services.implied_role_delete(actor=token, prior=prior, implied=implied)
        return HttpResponse(status=204)


class RoleInferencesView(IdentityView):
    def get(self, request):
        self.enforce("identity:list_role_inference_rules")
        rules = [{"prior_role": ser.role_ref(request, prior), "implies": [ser.role_ref(request, r) for r in implied]}
                 for prior, implied in selectors.role_inferences()]
        return Response({"role_inferences": rules, "links": {"self": request.build_absolute_uri()}})


# ---------------------------------------------------------------- grants

_ACTORS = {"users": ("user", User), "groups": ("group", Group)}
_TARGETS = {"projects": ("project", Project), "domains": ("domain", Domain)}


class GrantView(IdentityView):
    """/v3/{projects|domains}/{target}/{users|groups}/{actor}/roles[/{role}], /v3/system/..., and the
    OS-INHERIT forms ending in /inherited_to_projects."""

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
        actor = selectors.get_or_404(amodel, actor_id, akind)
        role = selectors.get_or_404(Role, role_id, "role") if role_id else None
        target = {"domain_id": target_domain, "actor_domain_id": actor.domain_id,
                  "role": {"id": role.id, "name": role.name, "domain_id": role.domain_id} if role else {}}
        return tkind, target_id, akind, role, target

    def get(self, request, target_kind, actor_kind, actor_id, role_id=None, target_id=None, inherited=False):
        tkind, target_id, akind, role, target = self._resolve(target_kind, target_id, actor_kind, actor_id, role_id)
        if role is None:  # list the roles granted
            self.enforce("identity:list_grants", **target)
            rows = RoleAssignment.objects.filter(
                type=services.ASSIGNMENT_TYPES[(akind, tkind)], actor_id=actor_id, target_id=target_id,
                inherited=inherited).select_related("role").order_by("role__name")
            return _collection(request, "roles", [a.role for a in rows], ser.role)
        self.enforce("identity:check_grant", **target)
        exists = RoleAssignment.objects.filter(
            type=services.ASSIGNMENT_TYPES[(akind, tkind)], actor_id=actor_id, target_id=target_id, role=role,
            inherited=inherited).exists()
        if not exists:
            raise NotFound(f"Could not find role assignment with role: {role.id}, {akind}: {actor_id}, "
                           f"{tkind}: {target_id}.")
        return HttpResponse(status=204)

    def head(self, request, **kwargs):
        return self.get(request, **kwargs)

    def put(self, request, target_kind, actor_kind, actor_id, role_id=None, target_id=None, inherited=False):
        if role_id is None:
            raise MethodNotAllowed("Method PUT is not allowed on a list of roles.")
        tkind, target_id, akind, role, target = self._resolve(target_kind, target_id, actor_kind, actor_id, role_id)
        token = self.enforce("identity:create_grant", **target)
        services.role_grant(actor=token, actor_kind=akind, actor_id=actor_id, target_kind=tkind,
                            target_id=target_id, role=role, inherited=inherited,
                            target_domain_id=target["domain_id"])
        return HttpResponse(status=204)

    def delete(self, request, target_kind, actor_kind, actor_id, role_id=None, target_id=None, inherited=False):
        if role_id is None:
            raise MethodNotAllowed("Method DELETE is not allowed on a list of roles.")
        tkind, target_id, akind, role, target = self._resolve(target_kind, target_id, actor_kind, actor_id, role_id)
        token = self.enforce("identity:revoke_grant", **target)
        services.role_revoke(actor=token, actor_kind=akind, actor_id=actor_id, target_kind=tkind,
                             target_id=target_id, role=role, inherited=inherited)
        return HttpResponse(status=204)


class InheritedGrantView(GrantView):
    def get(self, request, **kwargs):
        return super().get(request, inherited=True, **kwargs)

    def head(self, request, **kwargs):
        return super().get(request, inherited=True, **kwargs)

    def put(self, request, **kwargs):
        return super().put(request, inherited=True, **kwargs)

    def delete(self, request, **kwargs):
        return super().delete(request, inherited=True, **kwargs)


class RoleAssignmentsView(IdentityView):
    def get(self, request):
        token = require_token(request)
        params = request.GET
        subtree = flag(params, "include_subtree")
        if subtree:
            project = Project.objects.filter(id=params.get("scope.project.id") or "").first()
            if params.get("scope.project.id") and project is None:
                raise NotFound(f"Could not find project: {params.get('scope.project.id')}.")
            self.enforce("identity:list_role_assignments_for_tree",
                         domain_id=project.domain_id if project else None, project={"id": project and project.id})
        else:
            self.enforce("identity:list_role_assignments",
                         domain_id=token.domain_id or params.get("scope.domain.id"))
        entries = selectors.role_assignment_list(params, include_subtree=subtree)
        if token.domain_id:
            entries = _within_domain(entries, token.domain_id)
        names = selectors.names_for_assignments(entries) if flag(params, "include_names") else None
        return _collection(request, "role_assignments", entries,
                           lambda req, e: ser.role_assignment(req, e, names))


def _within_domain(entries, domain_id):
    """A domain-scoped caller sees the assignments on its domain and its projects (Keystone)."""
    project_ids = {e["scope"][1] for e in entries if e["scope"][0] == "project"}
    inside = set(Project.objects.filter(id__in=project_ids, domain_id=domain_id).values_list("id", flat=True))
    return [e for e in entries if e["scope"] == ("domain", domain_id)
            or (e["scope"][0] == "project" and e["scope"][1] in inside)]


# ---------------------------------------------------------------- catalog resources

class _Collection(IdentityView):
    """List/create for the plain catalog resources (regions, services, endpoints)."""

    key = plural = model = None
    create_schema = update_schema = None
    list_selector = render = create_service = update_service = delete_service = None

    def get(self, request):
        self.enforce(f"identity:list_{self.plural}")
        return _collection(request, self.plural, type(self).list_selector(request.GET), type(self).render)

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
            raise MethodNotAllowed(f"{self.key} cannot be updated.")
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
    key, model, update_schema = "region", Region, schemas.REGION_UPDATE
    render, update_service, delete_service = ser.region, services.region_update, services.region_delete

    def put(self, request, pk):
        """PUT /v3/regions/{id}: create with that id (Keystone)."""
        require_token(request)
        data = self.body(schemas.REGION_CREATE)["region"]
        if data.get("id") not in (None, pk):
            raise BadRequest("Conflicting region IDs specified: the body names another region.")
        token = self.enforce("identity:create_region")
        region = services.region_create(actor=token, data=dict(data, id=pk))
        return Response({"region": ser.region(request, region)}, status=201)


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


# ---------------------------------------------------------------- application credentials

class ApplicationCredentialsView(IdentityView):
    def _user(self, user_id, rule):
        require_token(self.request)
        user = selectors.get_or_404(User, user_id, "user")
        token = self.enforce(rule, user={"id": user.id, "domain_id": user.domain_id})
        return user, token

    def get(self, request, user_id):
        user, _ = self._user(user_id, "identity:list_application_credentials")
        return _collection(request, "application_credentials",
                           selectors.application_credential_list(user.id, request.GET), ser.application_credential)

    def post(self, request, user_id):
        require_token(request)
        data = self.body(schemas.APPLICATION_CREDENTIAL_CREATE)["application_credential"]
        user, token = self._user(user_id, "identity:create_application_credential")
        cred = services.application_credential_create(token=token, user=user, data=data)
        return Response({"application_credential": ser.application_credential(request, cred, secret=cred.secret)},
                        status=201)


class ApplicationCredentialView(ApplicationCredentialsView):
    def _cred(self, user, cred_id):
        cred = ApplicationCredential.objects.filter(id=cred_id, user=user).first()
        if cred is None:
            raise NotFound(f"Could not find application credential: {cred_id}.")
        return cred

    def get(self, request, user_id, cred_id):
        user, _ = self._user(user_id, "identity:get_application_credential")
        return Response({"application_credential": ser.application_credential(request, self._cred(user, cred_id))})

    def delete(self, request, user_id, cred_id):
        user, token = self._user(user_id, "identity:delete_application_credential")
        services.application_credential_delete(token=token, cred=self._cred(user, cred_id))
        return HttpResponse(status=204)


class AccessRulesView(ApplicationCredentialsView):
    def get(self, request, user_id):
        user, _ = self._user(user_id, "identity:list_access_rules")
        return _collection(request, "access_rules", selectors.access_rule_list(user.id, request.GET), ser.access_rule)

    def post(self, request, user_id):
        raise MethodNotAllowed("Access rules are created with an application credential.")


class AccessRuleView(ApplicationCredentialsView):
    def _rule(self, user, rule_id):
        rule = AccessRule.objects.filter(id=rule_id, user=user).first()
        if rule is None:
            raise NotFound(f"Could not find access rule: {rule_id}.")
        return rule

    def get(self, request, user_id, rule_id):
        user, _ = self._user(user_id, "identity:get_access_rule")
        return Response({"access_rule": ser.access_rule(request, self._rule(user, rule_id))})

    def post(self, request, user_id, rule_id):
        raise MethodNotAllowed("Method POST is not allowed.")

    def delete(self, request, user_id, rule_id):
        user, token = self._user(user_id, "identity:delete_access_rule")
        services.access_rule_delete(token=token, rule=self._rule(user, rule_id))
        return HttpResponse(status=204)


# ---------------------------------------------------------------- credentials

def _blob_or_none(cred):
    try:
        return services.credential_blob(cred)
    except Exception:
        return None


class CredentialsView(IdentityView):
    def get(self, request):
        token = require_token(request)
        # Keystone filters the list to what the caller may see: everything for readers of the
        # system, their own credentials for anyone else.
        if policy.authorize("identity:list_credentials", token.credentials(), {}, do_raise=False):
            creds = selectors.credential_list(request.GET)
        else:
            creds = selectors.credential_list(request.GET, user_id=token.user_id)
        return _collection(request, "credentials", creds, lambda req, c: ser.credential(req, c, _blob_or_none(c)))

    def post(self, request):
        data = self.body(schemas.CREDENTIAL_CREATE)["credential"]
        token = self.enforce("identity:create_credential", credential={"user_id": data["user_id"]})
        data = _split_extra(data, ("blob", "project_id", "type", "user_id"))
        cred = services.credential_create(actor=token, data=data)
        return Response({"credential": ser.credential(request, cred, data["blob"])}, status=201)


class CredentialView(IdentityView):
    def _cred(self, cred_id, rule):
        require_token(self.request)
        cred = selectors.get_or_404(Credential, cred_id, "credential")
        token = self.enforce(rule, credential={"user_id": cred.user_id})
        return cred, token

    def get(self, request, cred_id):
        cred, _ = self._cred(cred_id, "identity:get_credential")
        return Response({"credential": ser.credential(request, cred, _blob_or_none(cred))})

    def patch(self, request, cred_id):
        require_token(request)
        selectors.get_or_404(Credential, cred_id, "credential")
        data = self.body(schemas.CREDENTIAL_UPDATE)["credential"]
        cred, token = self._cred(cred_id, "identity:update_credential")
        if "user_id" in data:  # moving it to another user needs the right over that user too
            self.enforce("identity:update_credential", credential={"user_id": data["user_id"]})
        data = _split_extra(data, ("blob", "project_id", "type", "user_id"))
        cred = services.credential_update(actor=token, cred=cred, data=data)
        return Response({"credential": ser.credential(request, cred, _blob_or_none(cred))})

    def delete(self, request, cred_id):
        cred, token = self._cred(cred_id, "identity:delete_credential")
        services.credential_delete(actor=token, cred=cred)
        return HttpResponse(status=204)


class Ec2CredentialsView(IdentityView):
    def get(self, request, user_id):
        require_token(request)
        user = selectors.get_or_404(User, user_id, "user")
        self.enforce("identity:ec2_list_credentials", user={"id": user.id, "domain_id": user.domain_id})
        creds = selectors.credential_list({"type": services.EC2}, user_id=user.id)
        items = []
        for c in creds:
            blob = _blob_or_none(c)
            if blob is not None:
                items.append(ser.ec2_credential(request, c, json.loads(blob)))
        return Response({"credentials": items, "links": ser.collection_links(request)})

    def post(self, request, user_id):
        require_token(request)
        user = selectors.get_or_404(User, user_id, "user")
        data = self.body(schemas.EC2_CREATE)
        token = self.enforce("identity:ec2_create_credential", credential={"user_id": user.id})
        cred = services.ec2_credential_create(token=token, user=user, project_id=data["tenant_id"])
        return Response({"credential": ser.ec2_credential(request, cred, json.loads(services.credential_blob(cred)))},
                        status=201)


class Ec2CredentialView(IdentityView):
    def _cred(self, user_id, access, rule):
        require_token(self.request)
        user = selectors.get_or_404(User, user_id, "user")
        cred = Credential.objects.filter(id=services.hash_access_key(access), type=services.EC2).first()
        token = self.enforce(rule, credential={"user_id": cred.user_id if cred else user.id})
        if cred is None or cred.user_id != user.id:
            raise NotFound("EC2 access key not found.") if cred is None else \
                Forbidden("You are not authorized to perform the requested action: credential belongs to another "
                          "user.")
        return cred, token

    def get(self, request, user_id, access):
        cred, _ = self._cred(user_id, access, "identity:ec2_get_credential")
        return Response({"credential": ser.ec2_credential(request, cred, json.loads(services.credential_blob(cred)))})

    def delete(self, request, user_id, access):
        cred, token = self._cred(user_id, access, "identity:ec2_delete_credential")
        services.credential_delete(actor=token, cred=cred)
        return HttpResponse(status=204)


class Ec2TokensView(IdentityView):
    authentication_classes = []  # the signature is the credential

    def get(self, request):
        raise MethodNotAllowed("Method GET is not allowed: use POST.")

    def post(self, request):
        if not request.data:
            raise BadRequest("request must include a request body")
        data = self.body(schemas.EC2_TOKENS)
        credentials = data.get("credentials") or data.get("credential") or data.get("ec2Credentials") or {}
        info = services.ec2_token_issue(credentials=credentials)
        response = HttpResponse(info.body, status=200, content_type="application/json")
        response["X-Subject-Token"] = info.token
        return response
