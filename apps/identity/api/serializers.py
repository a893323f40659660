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
    """Keystone's shape, links included: the assignment a row comes from (through a group, an
    inherited grant or a prior role) and the membership that gave it."""
    actor_kind, actor_id = entry["actor"]
    scope_kind, target_id = entry["scope"]
    role_obj = entry["role"]
    indirect = entry.get("indirect") or {}
    body = {"role": {"id": role_obj.id}, actor_kind: {"id": actor_id}, "links": {}}
    if scope_kind == "system":
        body["scope"] = {"system": {"all": True}}
        link = "system"
    else:
        body["scope"] = {scope_kind: {"id": target_id}}
        link = f"{scope_kind}s/{target_id}"
    inherited = entry["inherited"]
    if "domain_id" in indirect:
        link = f"domains/{indirect['domain_id']}"
    elif "project_id" in indirect:
        link = f"projects/{indirect['project_id']}"
    if actor_kind == "user" and "group_id" in indirect:
        body["links"]["membership"] = _link(request, f"groups/{indirect['group_id']}/users/{actor_id}")
        link += f"/groups/{indirect['group_id']}"
    else:
        link += f"/{actor_kind}s/{actor_id}"
    if "role_id" in indirect:
        link += f"/roles/{indirect['role_id']}"
        body["links"]["prior_role"] = _link(request, f"prior_role/{role_obj.id}/implies/{indirect['role_id']}")
    else:
        link += f"/roles/{role_obj.id}"
    if inherited:
        body["scope"]["OS-INHERIT:inherited_to"] = "projects"
        link = f"OS-INHERIT/{link}/inherited_to_projects"
    body["links"]["assignment"] = _link(request, link)
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


def domain_as_project(request, d):
    """A domain seen through /v3/projects (is_domain=true): Keystone's flat case."""
    return {"id": d.id, "name": d.name, "domain_id": None, "description": d.description, "enabled": d.enabled,
            "parent_id": None, "is_domain": True, "tags": d.extra.get("tags", []), "options": {},
            "links": {"self": _link(request, f"projects/{d.id}")}}


def group(request, g):
    return {"id": g.id, "name": g.name, "domain_id": g.domain_id, "description": g.description,
            "links": {"self": _link(request, f"groups/{g.id}")}}


def role_ref(request, r):
    return {"id": r.id, "name": r.name, "links": {"self": _link(request, f"roles/{r.id}")}}


def role_inference(request, prior, implied):
    return {"prior_role": role_ref(request, prior), "implies": role_ref(request, implied)}


def _time(value):
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") if value else None


def access_rule(request, r):
    return {"id": r.id, "service": r.service, "path": r.path, "method": r.method,
            "links": {"self": _link(request, f"users/{r.user_id}/access_rules/{r.id}")}}


def application_credential(request, c, secret=None):
    body = {"id": c.id, "name": c.name, "description": c.description or None, "user_id": c.user_id,
            "project_id": c.project_id, "expires_at": _time(c.expires_at), "unrestricted": c.unrestricted,
            "system": None,
            "roles": [{"id": r.id, "name": r.name, "domain_id": r.domain_id}
                      for r in sorted(c.roles.all(), key=lambda r: r.name)],
            "access_rules": [{"id": r.id, "service": r.service, "path": r.path, "method": r.method}
                             for r in c.access_rules.all()],
            "links": {"self": _link(request, f"application_credentials/{c.id}")}}
    if secret is not None:
        body["secret"] = secret
    return body


def credential(request, c, blob):
    return {"id": c.id, "user_id": c.user_id, "project_id": c.project_id, "type": c.type, "blob": blob,
            **c.extra, "links": {"self": _link(request, f"credentials/{c.id}")}}


def ec2_credential(request, c, blob):
    return {"user_id": c.user_id, "tenant_id": c.project_id, "access": blob.get("access"),
            "secret": blob.get("secret"), "trust_id": blob.get("trust_id"),
            "links": {"self": _link(request, f"users/{c.user_id}/credentials/OS-EC2/{blob.get('access')}")}}
