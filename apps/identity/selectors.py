"""Reads of identity data: effective roles, the catalog, lists with Keystone's filters."""
import re

from django.db.models import Q

from apps.core.exceptions import NotFound

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
        if project.parent_id:  # OS-INHERIT grants on a parent project reach its subtree
            ancestors = project_ancestor_ids(project)
            q |= (Q(type=RA.USER_PROJECT, actor_id=user_id, target_id__in=ancestors, inherited=True)
                  | Q(type=RA.GROUP_PROJECT, actor_id__in=groups, target_id__in=ancestors, inherited=True))
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
    tags = lambda key: [t for t in str(params.get(key) or "").split(",") if t]  # noqa: E731
    if tags("tags"):
        qs = qs.filter(tags__contains=tags("tags"))
    if tags("tags-any"):
        any_q = Q()
        for t in tags("tags-any"):
            any_q |= Q(tags__contains=[t])
        qs = qs.filter(any_q)
    if tags("not-tags"):
        qs = qs.exclude(tags__contains=tags("not-tags"))
    if tags("not-tags-any"):
        for t in tags("not-tags-any"):
            qs = qs.exclude(tags__contains=[t])
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


def project_subtree_ids(project_id):
    """The project and every project below it (one query per level; flat clouds pay one)."""
    ids, level = [project_id], [project_id]
    while level:
        level = list(Project.objects.filter(parent_id__in=level).values_list("id", flat=True))
        ids.extend(level)
    return ids


def project_ancestor_ids(project):
    """Parents of a project, nearest first (no query for a top-level project)."""
    ids, parent_id = [], project.parent_id
    while parent_id and parent_id not in ids:
        ids.append(parent_id)
        parent_id = Project.objects.filter(id=parent_id).values_list("parent_id", flat=True).first()
    return ids


def _bad(message):
    from apps.core.exceptions import BadRequest

    raise BadRequest(message)


def _kind(a):
    actor = "user" if a.type.startswith("User") else "group"
    scope = "project" if a.type.endswith("Project") else "domain" if a.type.endswith("Domain") else "system"
    return actor, scope


def role_assignment_list(params, *, include_subtree=False):
    """Rows of GET /v3/role_assignments as plain dicts {actor, scope, role, inherited, indirect}.

    Every filter that can be is pushed into the one assignments query; effective mode then
    expands in memory (groups to their members, inherited grants to the projects below,
    implied roles), loading only the memberships and projects those rows need."""
    flag = lambda name: name in params and str(params.get(name)).lower() not in ("0", "false")  # noqa: E731
    effective = flag("effective")
    user_id, group_id, role_id = params.get("user.id"), params.get("group.id"), params.get("role.id")
    project_id, domain_id = params.get("scope.project.id"), params.get("scope.domain.id")
    system = params.get("scope.system")
    inherited = None
    if "scope.OS-INHERIT:inherited_to" in params:
        inherited = params.get("scope.OS-INHERIT:inherited_to") == "projects"
    if domain_id and project_id:
        _bad("Specify a domain or project, not both")
    if domain_id and system:
        _bad("Specify system or domain, not both")
    if project_id and system:
        _bad("Specify system or project, not both")
    if user_id and group_id:
        _bad("Specify a user or group, not both")
    if effective and group_id:
        _bad("Combining effective and group filter will always result in an empty list.")
    if effective and inherited and domain_id:
        _bad("Combining effective, domain and inherited filters will always result in an empty list.")
    if include_subtree and not project_id:
        _bad("scope.project.id must be specified if include_subtree is also specified")

    roles_by_id, implies = role_graph() if effective else ({}, {})
    q = Q()
    # -- actor
    if user_id:
        q &= (Q(type__startswith="User", actor_id=user_id)
              | Q(type__startswith="Group", actor_id__in=_group_ids(user_id))) if effective else \
            Q(type__startswith="User", actor_id=user_id)
    if group_id:
        q &= Q(type__startswith="Group", actor_id=group_id)
    # -- target
    projects = {}
    if project_id:
        pids = project_subtree_ids(project_id) if include_subtree else [project_id]
        projects = {p.id: p for p in Project.objects.filter(id__in=pids)}
        if effective:
            ancestors = {a for p in projects.values() for a in project_ancestor_ids(p)}
            domains = {p.domain_id for p in projects.values()}
            q &= (Q(type__endswith="Project", target_id__in=list(projects), inherited=False)
                  | Q(type__endswith="Project", target_id__in=list(ancestors | set(projects)), inherited=True)
                  | Q(type__endswith="Domain", target_id__in=list(domains), inherited=True))
        else:
            q &= Q(type__endswith="Project", target_id__in=pids)
    elif domain_id:
        q &= Q(type__endswith="Domain", target_id=domain_id)
        if effective:
            q &= Q(inherited=False)
    elif system:
        q &= Q(type__endswith="System")
    if inherited is not None and not effective:
        q &= Q(inherited=inherited)
    # -- role: with effective, any role implying the wanted one may grant it
    if role_id:
        if effective:
            priors = [rid for rid in roles_by_id if role_id in expand_implied([rid], implies)]
            q &= Q(role_id__in=priors)
        else:
            q &= Q(role_id=role_id)
    rows = list(RA.objects.filter(q).select_related("role").order_by("type", "actor_id", "target_id", "role__name"))

    if not effective:
        out = []
        for a in rows:
            actor_kind, scope_kind = _kind(a)
            out.append({"actor": (actor_kind, a.actor_id), "scope": (scope_kind, a.target_id), "role": a.role,
                        "inherited": a.inherited, "indirect": {}})
        return out

    # -- effective expansion
    group_ids = {a.actor_id for a in rows if a.type.startswith("Group")}
    members = {}
    member_q = Group.users.through.objects.filter(group_id__in=group_ids)
    if user_id:
        member_q = member_q.filter(user_id=user_id)
    for gid, uid in member_q.values_list("group_id", "user_id"):
        members.setdefault(gid, []).append(uid)
    inherited_domains = {a.target_id for a in rows if a.inherited and a.type.endswith("Domain")}
    inherited_projects = {a.target_id for a in rows if a.inherited and a.type.endswith("Project")}
    by_domain, children = {}, {}
    if inherited_domains or inherited_projects:
        for pid, did, parent in Project.objects.filter(
                Q(domain_id__in=inherited_domains) | Q(domain_id__in=Project.objects.filter(
                    id__in=inherited_projects).values("domain_id")), is_domain=False
        ).values_list("id", "domain_id", "parent_id"):
            by_domain.setdefault(did, []).append(pid)
            if parent:
                children.setdefault(parent, []).append(pid)

    def below(pid):
        out, stack = [], list(children.get(pid, ()))
        while stack:
            p = stack.pop()
            out.append(p)
            stack.extend(children.get(p, ()))
        return out

    entries = []
    for a in rows:
        actor_kind, scope_kind = _kind(a)
        users = [(a.actor_id, None)] if actor_kind == "user" else [(u, a.actor_id) for u in members.get(a.actor_id, [])]
        if a.inherited:
            source = {"domain_id": a.target_id} if scope_kind == "domain" else {"project_id": a.target_id}
            targets = [("project", p) for p in (by_domain.get(a.target_id, []) if scope_kind == "domain"
                                                else below(a.target_id))]
        else:
            source, targets = {}, [(scope_kind, a.target_id)]
        for uid, via_group in users:
            for target in targets:
                indirect = dict(source)
                if via_group:
                    indirect["group_id"] = via_group
                entries.append({"actor": ("user", uid), "scope": target, "role": a.role,
                                "inherited": bool(source), "indirect": indirect})
    expanded = []
    for e in entries:
        expanded.append(e)
        for rid in expand_implied([e["role"].id], implies) - {e["role"].id}:
            role = roles_by_id.get(rid)
            if role is not None:
                expanded.append(dict(e, role=role, indirect=dict(e["indirect"], role_id=e["role"].id)))

    def keep(e):
        if e["role"].domain_id is not None:  # never effective by themselves, as in tokens
            return False
        if user_id and e["actor"] != ("user", user_id):
            return False
        if role_id and e["role"].id != role_id:
            return False
        if project_id and (e["scope"][0] != "project" or e["scope"][1] not in projects):
            return False
        if domain_id and e["scope"] != ("domain", domain_id):
            return False
        if inherited is not None and e["inherited"] != inherited:
            return False
        return True

    seen, result = set(), []
    for e in filter(keep, expanded):
        key = (e["actor"], e["scope"], e["role"].id, tuple(sorted(e["indirect"].items())))
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


def role_inferences(prior_id=None):
    """{prior role: [implied roles]} for /v3/role_inferences (the whole closure) or one prior role."""
    roles, implies = role_graph()
    priors = [prior_id] if prior_id else sorted(implies, key=lambda r: roles[r].name if r in roles else r)
    out = []
    for pid in priors:
        if pid not in roles:
            continue
        direct = implies.get(pid, [])
        if prior_id:
            implied = direct
        else:
            implied = sorted(expand_implied(direct, implies) - {pid})
        out.append((roles[pid], [roles[i] for i in implied if i in roles]))
    return out


# ---------------------------------------------------------------- groups, credentials

def group_list(params, *, restrict_domain_id=None):
    qs = Group.objects.order_by("name", "id")
    if params.get("name"):
        qs = qs.filter(name=params["name"])
    if params.get("domain_id"):
        qs = qs.filter(domain_id=params["domain_id"])
    if restrict_domain_id:
        qs = qs.filter(domain_id=restrict_domain_id)
    return qs


def user_groups(user_id, params=None):
    qs = Group.objects.filter(users__id=user_id).order_by("name", "id")
    if params and params.get("name"):
        qs = qs.filter(name=params["name"])
    return qs


def group_users(group_id, params=None):
    qs = User.objects.filter(groups__id=group_id).select_related("domain").order_by("name", "id")
    if params and "enabled" in params:
        qs = qs.filter(enabled=_truthy(params["enabled"]))
    return qs


def application_credential_list(user_id, params):
    from .models import ApplicationCredential

    qs = (ApplicationCredential.objects.filter(user_id=user_id).prefetch_related("roles", "access_rules")
          .order_by("name", "id"))
    if params.get("name"):
        qs = qs.filter(name=params["name"])
    return qs


def access_rule_list(user_id, params):
    from .models import AccessRule

    qs = AccessRule.objects.filter(user_id=user_id).order_by("service", "path", "method", "id")
    for key in ("service", "path", "method"):
        if params.get(key):
            qs = qs.filter(**{key: params[key]})
    return qs


def credential_list(params, *, user_id=None):
    from .models import Credential

    qs = Credential.objects.order_by("created_at", "id")
    if params.get("user_id"):
        qs = qs.filter(user_id=params["user_id"])
    if params.get("type"):
        qs = qs.filter(type=params["type"])
    if user_id is not None:
        qs = qs.filter(user_id=user_id)
    return qs
