"""Keystone v3 JSON shapes."""


def _link(request, path):
    return request.build_absolute_uri(f"/identity/v3/{path}")


def collection_links(request):
    return {"self": request.build_absolute_uri(), "previous": None, "next": None}


def domain(request, d):
    return {"id": d.id, "name": d.name, "description": d.description, "enabled": d.enabled,
            "tags": d.extra.get("tags", []), "options": {}, "links": {"self": _link(request, f"domains/{d.id}")}}


def project(request, p):
    return {"id": p.id, "name": p.name, "domain_id": p.domain_id, "description": p.description,
            "enabled": p.enabled, "parent_id": p.parent_id or p.domain_id, "is_domain": p.is_domain,
            "tags": p.tags, "options": {}, **p.extra, "links": {"self": _link(request, f"projects/{p.id}")}}


def user(request, u):
    body = {"id": u.id, "name": u.name, "domain_id": u.domain_id, "enabled": u.enabled,
            "password_expires_at": u.password_expires_at.strftime("%Y-%m-%dT%H:%M:%S.%f")
            if u.password_expires_at else None, "options": u.options, **u.extra,
            "links": {"self": _link(request, f"users/{u.id}")}}
    if u.default_project_id:
        body["default_project_id"] = u.default_project_id
    if u.description:
        body["description"] = u.description
    if u.email:
        body["email"] = u.email
    return body


def role(request, r):
    return {"id": r.id, "name": r.name, "domain_id": r.domain_id, "description": r.description,
            "options": r.options, "links": {"self": _link(request, f"roles/{r.id}")}}


def region(request, r):
    return {"id": r.id, "description": r.description, "parent_region_id": r.parent_region_id,
            "links": {"self": _link(request, f"regions/{r.id}")}}


def service(request, s):
    return {"id": s.id, "type": s.type, "name": s.name, "description": s.description, "enabled": s.enabled,
            "links": {"self": _link(request, f"services/{s.id}")}}


def endpoint(request, e):
    return {"id": e.id, "interface": e.interface, "region": e.region_id, "region_id": e.region_id,
            "service_id": e.service_id, "url": e.url, "enabled": e.enabled,
            "links": {"self": _link(request, f"endpoints/{e.id}")}}


def role_assignment(request, entry, names=None):
    actor_kind, actor_id = entry["actor"]
    scope_kind, target_id = entry["scope"]
    role_obj = entry["role"]
    body = {"role": {"id": role_obj.id}, actor_kind: {"id": actor_id}}
    if scope_kind == "system":
        body["scope"] = {"system": {"all": True}}
    else:
        body["scope"] = {scope_kind: {"id": target_id}}
    if entry["inherited"]:
        body["scope"]["OS-INHERIT:inherited_to"] = "projects"
    via = entry.get("via")
    src_actor_kind = "user" if (via.type.startswith("User") if via else actor_kind == "user") else "group"
    src_actor = via.actor_id if via else actor_id
    src_scope = scope_kind if not via else ("project" if via.type.endswith("Project") else
                                             "domain" if via.type.endswith("Domain") else "system")
    src_target = via.target_id if via else target_id
    prefix = "OS-INHERIT/" if (via.inherited if via else entry["inherited"]) else ""
    scope_path = "system" if src_scope == "system" else f"{src_scope}s/{src_target}"
    body["links"] = {"assignment": _link(
        request, f"{prefix}{scope_path}/{src_actor_kind}s/{src_actor}/roles/{role_obj.id}"
        + ("/inherited_to_projects" if prefix else ""))}
    if via is not None and via.type.startswith("Group"):
        body["links"]["membership"] = _link(request, f"groups/{via.actor_id}/users/{actor_id}")
    if names is not None:
        body["role"]["name"] = role_obj.name
        if role_obj.domain_id:
            d = names["domain"].get(role_obj.domain_id)
            body["role"]["domain"] = {"id": role_obj.domain_id, "name": d.name if d else None}
        actor = names[actor_kind].get(actor_id)
        if actor is not None:
            body[actor_kind].update({"name": actor.name, "domain": {"id": actor.domain_id, "name": actor.domain.name}})
        if scope_kind == "project":
            p = names["project"].get(target_id)
            if p is not None:
                body["scope"]["project"].update({"name": p.name, "domain": {"id": p.domain_id, "name": p.domain.name}})
        elif scope_kind == "domain":
            d = names["domain"].get(target_id)
            if d is not None:
                body["scope"]["domain"]["name"] = d.name
    return body
