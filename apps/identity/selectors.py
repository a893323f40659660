"""Reads of identity data: effective roles, the catalog, lists with Keystone's filters."""
import re

from django.conf import settings
from django.db.models import Q

from apps.core.exceptions import Forbidden, NotFound

from .models import (Domain, Endpoint, Group, ImpliedRole, Project, Region, RevocationEvent, Role,
                     RoleAssignment, Service, User)

RA = RoleAssignment


# ---------------------------------------------------------------- lookups

def get_or_404(model, pk, what=None):
    """Keystone's 404 for an id that names nothing."""
    try:
        return model.objects.get(pk=pk)
    except (model.DoesNotExist, ValueError):
        raise NotFound(f"Could not find {what or model.__name__.lower()}: {pk}.")


def find_domain(ref):
    """A domain from an auth/scope reference {"id"} or {"name"}."""
    if not isinstance(ref, dict) or not (ref.get("id") or ref.get("name")):
        return None
    q = Domain.objects.filter(id=ref["id"]) if ref.get("id") else Domain.objects.filter(name=ref["name"])
    return q.first()


# ---------------------------------------------------------------- roles

def role_graph():
    """(roles by id, implications prior -> [implied]); both small and read per token build."""
    roles = {r.id: r for r in Role.objects.all()}
    implies = {}
    for prior, implied in ImpliedRole.objects.values_list("prior_role_id", "implied_role_id"):
        implies.setdefault(prior, []).append(implied)
    return roles, implies


def expand_implied(role_ids, implies):
    seen, stack = set(), list(role_ids)
    while stack:
        rid = stack.pop()
        if rid in seen:
            continue
        seen.add(rid)
        stack.extend(implies.get(rid, ()))
    return seen


def _group_ids(user_id):
    return Group.users.through.objects.filter(user_id=user_id).values("group_id")


def assignment_role_ids(*, user_id, project=None, domain_id=None, system=False):
    """Role ids granted directly, through groups, and inherited from the project's domain."""
    groups = _group_ids(user_id)
    if system:
        q = Q(type=RA.USER_SYSTEM, actor_id=user_id) | Q(type=RA.GROUP_SYSTEM, actor_id__in=groups)
    elif project is not None:
        q = (Q(type=RA.USER_PROJECT, actor_id=user_id, target_id=project.id, inherited=False)
             | Q(type=RA.GROUP_PROJECT, actor_id__in=groups, target_id=project.id, inherited=False)
             | Q(type=RA.USER_DOMAIN, actor_id=user_id, target_id=project.domain_id, inherited=True)
             | Q(type=RA.GROUP_DOMAIN, actor_id__in=groups, target_id=project.domain_id, inherited=True))
    else:
        q = (Q(type=RA.USER_DOMAIN, actor_id=user_id, target_id=domain_id, inherited=False)
             | Q(type=RA.GROUP_DOMAIN, actor_id__in=groups, target_id=domain_id, inherited=False))
    return set(RA.objects.filter(q).values_list("role_id", flat=True))


def effective_roles(*, user_id, project=None, domain_id=None, system=False, graph=None):
    """[{"id", "name"}] as tokens carry them: implied roles added, domain-specific roles left out."""
    direct = assignment_role_ids(user_id=user_id, project=project, domain_id=domain_id, system=system)
    if not direct:
        return []
    roles, implies = graph or role_graph()
    ids = expand_implied(direct, implies)
    return sorted(({"id": r.id, "name": r.name} for r in (roles.get(i) for i in ids)
                   if r is not None and r.domain_id is None), key=lambda r: r["name"])


# ---------------------------------------------------------------- catalog

_TEMPLATE = re.compile(r"\$\((\w+)\)s|%\((\w+)\)s")


def catalog(project_id=None):
    """The v3 catalog; URLs may name $(project_id)s, left out when the token has no project."""
    services = {}
    rows = (Endpoint.objects.filter(enabled=True, service__enabled=True)
            .select_related("service").order_by("service__type", "interface"))
    for ep in rows:
        url = ep.url
        if _TEMPLATE.search(url):
            if not project_id:
                continue
            url = _TEMPLATE.sub(lambda m: project_id if (m.group(1) or m.group(2)) in ("project_id", "tenant_id")
                                else m.group(0), url)
        svc = services.setdefault(ep.service_id, {
            "endpoints": [], "id": ep.service_id, "type": ep.service.type, "name": ep.service.name})
        svc["endpoints"].append({"id": ep.id, "interface": ep.interface, "region": ep.region_id,
                                 "region_id": ep.region_id, "url": url})
    return list(services.values())


# ---------------------------------------------------------------- revocations

def revocation_events():
    """Events that can still match a live token, as plain dicts for the in-process index."""
    from django.utils import timezone

    rows = RevocationEvent.objects.filter(expires_at__gt=timezone.now()).values()
    return [_event_dict(r) for r in rows]


def _event_dict(row):
    event = {f: row.get(f) for f in ("user_id", "project_id", "domain_id", "audit_id", "audit_chain_id",
                                      "application_credential_id") if row.get(f)}
    event["revoked_at"] = row["revoked_at"].timestamp()
    return event


def revoked_in_db(info):
    """The slow path while the push channel is down: ask the database directly."""
    from .tokens import RevocationIndex

    index = RevocationIndex()
    p = info.payload
    domains = [info.user["domain"]["id"]] + ([info.project["domain"]["id"]] if info.project else []) + (
        [p.domain_id] if p.domain_id else [])
    q = (Q(user_id=p.user_id) | Q(audit_id=p.audit_ids[0]) | Q(audit_chain_id=p.audit_ids[-1])
         | Q(domain_id__in=domains))
    if p.project_id:
        q |= Q(project_id=p.project_id)
    if p.app_cred_id:
        q |= Q(application_credential_id=p.app_cred_id)
    for row in RevocationEvent.objects.filter(q).values():
        index.add(_event_dict(row))
    return index.is_revoked(info)


# ---------------------------------------------------------------- lists

def _truthy(value):
    return str(value).lower() in ("1", "true", "yes", "on")


def project_list(params, *, restrict_ids=None):
    qs = Project.objects.filter(is_domain=False).select_related("domain").order_by("name", "id")
    if params.get("name"):
        qs = qs.filter(name=params["name"])
    if params.get("domain_id"):
        qs = qs.filter(domain_id=params["domain_id"])
    if params.get("parent_id"):
        qs = qs.filter(parent_id=params["parent_id"])
    if "enabled" in params:
        qs = qs.filter(enabled=_truthy(params["enabled"]))
    if params.get("is_domain") is not None and _truthy(params.get("is_domain")):
        qs = Project.objects.none()
    if restrict_ids is not None:
        qs = qs.filter(id__in=restrict_ids)
    return qs


def user_project_ids(user_id):
    """Projects a user has any role on, directly, through groups, or inherited from a domain."""
    groups = _group_ids(user_id)
    actor = Q(actor_id=user_id) | Q(actor_id__in=groups)
    direct = RA.objects.filter(actor, type__in=[RA.USER_PROJECT, RA.GROUP_PROJECT]).values("target_id")
    inherited = RA.objects.filter(actor, type__in=[RA.USER_DOMAIN, RA.GROUP_DOMAIN], inherited=True).values("target_id")
    return Project.objects.filter(Q(id__in=direct) | Q(domain_id__in=inherited), is_domain=False).values("id")


def user_domain_ids(user_id):
    groups = _group_ids(user_id)
    return RA.objects.filter(Q(actor_id=user_id) | Q(actor_id__in=groups),
                             type__in=[RA.USER_DOMAIN, RA.GROUP_DOMAIN], inherited=False).values("target_id")


def user_has_system_role(user_id):
    groups = _group_ids(user_id)
    return RA.objects.filter(Q(type=RA.USER_SYSTEM, actor_id=user_id)
                             | Q(type=RA.GROUP_SYSTEM, actor_id__in=groups)).exists()


def user_list(params):
    qs = User.objects.select_related("domain").order_by("name", "id")
    if params.get("name"):
        qs = qs.filter(name=params["name"])
    if params.get("domain_id"):
        qs = qs.filter(domain_id=params["domain_id"])
    if "enabled" in params:
        qs = qs.filter(enabled=_truthy(params["enabled"]))
    return qs


def domain_list(params, *, restrict_ids=None):
    qs = Domain.objects.order_by("name")
    if params.get("name"):
        qs = qs.filter(name=params["name"])
    if "enabled" in params:
        qs = qs.filter(enabled=_truthy(params["enabled"]))
    if restrict_ids is not None:
        qs = qs.filter(id__in=restrict_ids)
    return qs


def role_list(params):
    qs = Role.objects.order_by("name")
    if params.get("name"):
        qs = qs.filter(name=params["name"])
    qs = qs.filter(domain_id=params["domain_id"]) if params.get("domain_id") else qs.filter(domain__isnull=True)
    return qs


def service_list(params):
    qs = Service.objects.order_by("type", "id")
    if params.get("type"):
        qs = qs.filter(type=params["type"])
    if params.get("name"):
        qs = qs.filter(name=params["name"])
    return qs


def endpoint_list(params):
    qs = Endpoint.objects.order_by("service_id", "interface", "id")
    for key in ("service_id", "interface", "region_id"):
        if params.get(key):
            qs = qs.filter(**{key: params[key]})
    return qs


def region_list(params):
    qs = Region.objects.order_by("id")
    if params.get("parent_region_id"):
        qs = qs.filter(parent_region_id=params["parent_region_id"])
    return qs


# ---------------------------------------------------------------- role assignments

_SCOPE_TYPES = {
    "project": (RA.USER_PROJECT, RA.GROUP_PROJECT),
    "domain": (RA.USER_DOMAIN, RA.GROUP_DOMAIN),
    "system": (RA.USER_SYSTEM, RA.GROUP_SYSTEM),
}


def role_assignment_list(params):
    """Rows of GET /v3/role_assignments as plain dicts, with effective expansion in memory
    (groups to members, implied roles, domain-inherited grants to the domain's projects).
    One query for the assignments plus one each for the lookups it needs."""
    effective = "effective" in params and params.get("effective") not in ("0", "false", "False")
    qs = RA.objects.select_related("role")
    user_id, group_id, role_id = params.get("user.id"), params.get("group.id"), params.get("role.id")
    project_id, domain_id = params.get("scope.project.id"), params.get("scope.domain.id")
    system = params.get("scope.system")
    inherited_only = params.get("scope.OS-INHERIT:inherited_to") == "projects"
    if effective and group_id:
        raise_bad = "Combining effective and group filter will always result in an empty list."
        from apps.core.exceptions import BadRequest

        raise BadRequest(raise_bad)
    if sum(bool(x) for x in (project_id, domain_id, system)) > 1:
        from apps.core.exceptions import BadRequest

        raise BadRequest("Specify one of domain, project or system scope.")
    if user_id and group_id:
        from apps.core.exceptions import BadRequest

        raise BadRequest("Specify one of user or group, not both.")

    rows = list(qs)
    groups_of = {}
    members = {}
    for gid, uid in Group.users.through.objects.values_list("group_id", "user_id"):
        members.setdefault(gid, []).append(uid)
        groups_of.setdefault(uid, []).append(gid)
    projects_by_domain = {}
    if effective or inherited_only or project_id:
        for pid, did in Project.objects.filter(is_domain=False).values_list("id", "domain_id"):
            projects_by_domain.setdefault(did, []).append(pid)

    out = []
    for a in rows:
        actor_kind = "user" if a.type.startswith("User") else "group"
        scope_kind = "project" if a.type.endswith("Project") else "domain" if a.type.endswith("Domain") else "system"
        entries = []
        if effective:
            users = [a.actor_id] if actor_kind == "user" else members.get(a.actor_id, [])
            if a.inherited and scope_kind == "domain":
                targets = [("project", p) for p in projects_by_domain.get(a.target_id, [])]
            else:
                targets = [(scope_kind, a.target_id)]
            for u in users:
                for kind, target in targets:
                    entry = {"actor": ("user", u), "scope": (kind, target), "role": a.role, "inherited": False,
                             "via": a}
                    entries.append(entry)
        else:
            entries.append({"actor": (actor_kind, a.actor_id), "scope": (scope_kind, a.target_id), "role": a.role,
                            "inherited": a.inherited, "via": None})
        out.extend(entries)

    if effective:
        roles, implies = role_graph()
        expanded = []
        for e in out:
            for rid in expand_implied([e["role"].id], implies):
                role = roles.get(rid)
                if role is not None:
                    expanded.append(dict(e, role=role))
        out = expanded

    def keep(e):
        if user_id and e["actor"] != ("user", user_id):
            return False
        if group_id and e["actor"] != ("group", group_id):
            return False
        if role_id and e["role"].id != role_id:
            return False
        if project_id and e["scope"] != ("project", project_id):
            return False
        if domain_id and e["scope"] != ("domain", domain_id):
            return False
        if system and e["scope"][0] != "system":
            return False
        if inherited_only and not e["inherited"]:
            return False
        return True

    seen, result = set(), []
    for e in filter(keep, out):
        key = (e["actor"], e["scope"], e["role"].id, e["inherited"])
        if key not in seen:
            seen.add(key)
            result.append(e)
    return result


def names_for_assignments(entries):
    """Names for include_names, fetched in one query per kind."""
    user_ids = {e["actor"][1] for e in entries if e["actor"][0] == "user"}
    group_ids = {e["actor"][1] for e in entries if e["actor"][0] == "group"}
    project_ids = {e["scope"][1] for e in entries if e["scope"][0] == "project"}
    domain_ids = {e["scope"][1] for e in entries if e["scope"][0] == "domain"}
    users = {u.id: u for u in User.objects.filter(id__in=user_ids).select_related("domain")}
    groups = {g.id: g for g in Group.objects.filter(id__in=group_ids).select_related("domain")}
    projects = {p.id: p for p in Project.objects.filter(id__in=project_ids).select_related("domain")}
    domain_ids |= {r.domain_id for e in entries for r in [e["role"]] if r.domain_id}
    domains = {d.id: d for d in Domain.objects.filter(id__in=domain_ids)}
    return {"user": users, "group": groups, "project": projects, "domain": domains}


def check_scope_access(token_info, target_user_id):
    if token_info.user_id != target_user_id:
        raise Forbidden("You are not authorized to perform the requested action.")


def identity_endpoint_url():
    return settings.MONOSTACK["DEFAULT"]["public_url"].rstrip("/") + "/identity"
