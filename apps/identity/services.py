"""Writes of identity: authentication, tokens, and the Keystone resources."""
import json
import logging
import secrets
import time
from datetime import timedelta

import bcrypt
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.context import current_request_id
from apps.core.exceptions import BadRequest, Conflict, Forbidden, NotFound, Unauthorized

from . import selectors, tokens
from .models import (AuditRecord, Domain, Endpoint, ImpliedRole, Project, Region, RevocationEvent, Role,
                     RoleAssignment, Service, User)

log = logging.getLogger(__name__)
RA = RoleAssignment

AUTH_FAILED = "The request you have made requires authentication."
# A failed login costs one bcrypt check whether or not the user exists (no user enumeration by timing).
_DUMMY_HASH = None


# ---------------------------------------------------------------- passwords

def password_hash(password):
    rounds = settings.MONOSTACK["identity"]["password_hash_rounds"]
    # bcrypt looks at 72 bytes at most; longer passwords are refused at the API.
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()


def password_check(password, hashed):
    global _DUMMY_HASH
    if not hashed:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = password_hash(secrets.token_hex(8))
        hashed, password = _DUMMY_HASH, password + "x"
        bcrypt.checkpw(password.encode()[:72], hashed.encode())
        return False
    try:
        return bcrypt.checkpw(password.encode()[:72], hashed.encode())
    except ValueError:
        return False


# ---------------------------------------------------------------- token state for this process

def _state():
    return tokens.state(selectors.revocation_events)


def _on_commit_flush():
    """Token bodies show names, roles and the catalog: after a change, every process rebuilds."""
    def flush():
        _state().cache.flush()
        if settings.PROCESS != "test":
            tokens.publish({"kind": "flush"}, wait=False)
    transaction.on_commit(flush)


def revoke(**fields):
    """Record a "not before" event, apply it here at once and push it to every process."""
    now = timezone.now()
    ttl = settings.MONOSTACK["identity"]["token_expiration"]
    row = RevocationEvent.objects.create(revoked_at=now, expires_at=now + timedelta(seconds=ttl), **fields)
    event = selectors._event_dict({f: getattr(row, f) for f in tokens.REVOCATION_FIELDS} | {"revoked_at": now})

    def push():
        _state().revocations.add(event)
        if settings.PROCESS != "test":
            tokens.publish({"kind": "revoke", "event": event})
    transaction.on_commit(push)


def audit(action, target_type, target_id, actor=None, **details):
    AuditRecord.objects.create(
        action=action, target_type=target_type, target_id=target_id,
        initiator_user_id=getattr(actor, "user_id", None), initiator_project_id=getattr(actor, "project_id", None),
        request_id=current_request_id(), details=details)


# ---------------------------------------------------------------- authentication

def _find_user(ref):
    if not isinstance(ref, dict):
        raise BadRequest("Invalid input for field 'identity/password/user': not an object.")
    if ref.get("id"):
        return User.objects.select_related("domain").filter(id=ref["id"]).first()
    if not ref.get("name"):
        raise BadRequest("Invalid input for field 'identity/password/user': needs id or name.")
    domain = ref.get("domain")
    if not isinstance(domain, dict) or not (domain.get("id") or domain.get("name")):
        raise BadRequest("Invalid input for field 'identity/password/user/domain': a user given by name "
                         "needs a domain id or name.")
    filters = {"domain_id": domain["id"]} if domain.get("id") else {"domain__name": domain["name"]}
    return User.objects.select_related("domain").filter(name=ref["name"], **filters).first()


def authenticate_password(password_ref):
    user_ref = password_ref.get("user") if isinstance(password_ref, dict) else None
    user = _find_user(user_ref)
    password = user_ref.get("password") if isinstance(user_ref, dict) else None
    if not isinstance(password, str):
        raise BadRequest("Invalid input for field 'identity/password/user/password'.")
    if not password_check(password, user.password_hash if user else ""):
        raise Unauthorized(AUTH_FAILED)
    if not user.enabled or not user.domain.enabled:
        raise Unauthorized(AUTH_FAILED)
    if user.password_expires_at and user.password_expires_at <= timezone.now():
        raise Unauthorized(f"The password is expired and needs to be changed for user: {user.id}.")
    return user


def _resolve_scope(scope, user, token_info=None):
    """Returns (project, domain, system) for the requested scope, checking the user has a role there."""
    if scope == "unscoped":
        return None, None, False
    if scope is None:
        if token_info is not None:  # a token exchanged without scope keeps none (Keystone rescoping)
            return None, None, False
        project = Project.objects.select_related("domain").filter(id=user.default_project_id).first() \
            if user.default_project_id else None
        if project and project.enabled and selectors.assignment_role_ids(user_id=user.id, project=project):
            return project, None, False
        return None, None, False
    if not isinstance(scope, dict) or len(scope) != 1 and not ("OS-TRUST:trust" in scope):
        raise BadRequest("Specify exactly one of project, domain or system as scope.")
    if "system" in scope:
        if scope["system"] != {"all": True}:
            raise BadRequest("Invalid system scope: only {'all': true} is supported.")
        if not selectors.user_has_system_role(user.id):
            raise Unauthorized(f"User {user.id} has no access to the system.")
        return None, None, True
    if "domain" in scope:
        domain = selectors.find_domain(scope["domain"])
        if domain is None or not domain.enabled:
            raise Unauthorized(f"Could not find domain: {scope['domain'].get('id') or scope['domain'].get('name')}.")
        if not selectors.assignment_role_ids(user_id=user.id, domain_id=domain.id):
            raise Unauthorized(f"User {user.id} has no access to domain {domain.id}.")
        return None, domain, False
    if "project" in scope:
        ref = scope["project"]
        if not isinstance(ref, dict):
            raise BadRequest("Invalid project scope.")
        if ref.get("id"):
            project = Project.objects.select_related("domain").filter(id=ref["id"]).first()
        elif ref.get("name"):
            domain = selectors.find_domain(ref.get("domain"))
            if domain is None:
                raise Unauthorized(f"Could not find project: {ref['name']}.")
            project = Project.objects.select_related("domain").filter(name=ref["name"], domain=domain).first()
        else:
            raise BadRequest("A project scope needs an id, or a name and a domain.")
        if project is None or not project.enabled or not project.domain.enabled:
            raise Unauthorized(f"Could not find project: {ref.get('id') or ref.get('name')}.")
        if not selectors.assignment_role_ids(user_id=user.id, project=project):
            raise Unauthorized(f"User {user.id} has no access to project {project.id}.")
        return project, None, False
    raise BadRequest("Specify exactly one of project, domain or system as scope.")


def token_issue(*, auth):
    """POST /v3/auth/tokens: returns the validated TokenInfo of the new token."""
    if not isinstance(auth, dict):
        raise BadRequest("Invalid input for field 'auth': not an object.")
    identity = auth.get("identity")
    if not isinstance(identity, dict) or not isinstance(identity.get("methods"), list) or not identity["methods"]:
        raise BadRequest("Invalid input for field 'identity/methods': a non-empty list is required.")
    methods = identity["methods"]
    for m in methods:
        if m not in ("password", "token"):
            raise Unauthorized("Attempted to authenticate with an unsupported method.")
        if m not in identity:
            raise BadRequest(f"Invalid input for field 'identity/{m}': missing.")
    now = time.time()
    ttl = settings.MONOSTACK["identity"]["token_expiration"]
    prior = None
    if "token" in methods:
        ref = identity["token"]
        if not isinstance(ref, dict) or not isinstance(ref.get("id"), str):
            raise BadRequest("Invalid input for field 'identity/token/id'.")
        prior = token_validate(ref["id"], allow_expired=False, unauthorized=True)
        user = User.objects.select_related("domain").get(id=prior.user_id)
        if prior.payload.project_id or prior.payload.domain_id or prior.payload.system:
            if not settings.MONOSTACK["identity"]["allow_rescope_scoped_token"] and "scope" in auth:
                raise Forbidden("Rescoping a scoped token is disabled.")
    if "password" in methods:
        user = authenticate_password(identity["password"])
        if prior is not None and prior.user_id != user.id:
            raise Unauthorized(AUTH_FAILED)
    project, domain, system = _resolve_scope(auth.get("scope"), user, prior)
    if prior is not None:
        expires, audit_ids = prior.payload.expires_at, [tokens.new_audit_id(), prior.payload.audit_ids[-1]]
        methods = list(dict.fromkeys(prior.payload.methods + [m for m in methods if m != "token"]))
    else:
        expires, audit_ids = now + ttl, [tokens.new_audit_id()]
    payload = tokens.Payload(user_id=user.id, methods=methods, expires_at=expires, issued_at=now,
                             audit_ids=audit_ids, project_id=project.id if project else None,
                             domain_id=domain.id if domain else None, system=system)
    User.objects.filter(pk=user.pk).update(last_active_at=timezone.now())
    return token_validate(payload.encode())


def _render(payload, user, project, domain, roles, catalog):
    token = {
        "methods": payload.methods,
        "user": {"domain": {"id": user.domain_id, "name": user.domain.name}, "id": user.id, "name": user.name,
                 "password_expires_at": user.password_expires_at.strftime("%Y-%m-%dT%H:%M:%S.%f")
                 if user.password_expires_at else None},
        "audit_ids": payload.audit_ids,
        "expires_at": tokens.format_time(payload.expires_at),
        "issued_at": tokens.format_time(payload.issued_at),
    }
    if payload.system:
        token["roles"] = roles
        token["system"] = {"all": True}
    elif domain is not None:
        token["domain"] = {"id": domain.id, "name": domain.name}
        token["roles"] = roles
    elif project is not None:
        token["project"] = {"domain": {"id": project.domain_id, "name": project.domain.name},
                            "id": project.id, "name": project.name}
        token["is_domain"] = project.is_domain
        token["roles"] = roles
    without = json.dumps({"token": token}, separators=(",", ":")).encode()
    if payload.project_id or payload.domain_id or payload.system:
        token["catalog"] = catalog
        return json.dumps({"token": token}, separators=(",", ":")).encode(), without
    return without, without


def _build(token, payload, generation):
    """Rebuild a token's roles and body from the database; refuse what is no longer valid."""
    user = User.objects.select_related("domain").filter(id=payload.user_id).first()
    if user is None or not user.enabled or not user.domain.enabled:
        return None
    project = domain = None
    if payload.project_id:
        project = Project.objects.select_related("domain").filter(id=payload.project_id).first()
        if project is None or not project.enabled or not project.domain.enabled:
            return None
    if payload.domain_id:
        domain = Domain.objects.filter(id=payload.domain_id, enabled=True).first()
        if domain is None:
            return None
    roles = []
    if project or domain or payload.system:
        roles = selectors.effective_roles(user_id=user.id, project=project, domain_id=payload.domain_id,
                                          system=payload.system)
        if not roles:
            return None
    body, body_nocatalog = _render(payload, user, project, domain, roles,
                                   selectors.catalog(payload.project_id) if (project or domain or payload.system)
                                   else [])
    user_ref = {"id": user.id, "name": user.name, "domain": {"id": user.domain_id, "name": user.domain.name}}
    project_ref = {"id": project.id, "name": project.name, "is_domain": project.is_domain,
                   "domain": {"id": project.domain_id, "name": project.domain.name}} if project else None
    domain_ref = {"id": domain.id, "name": domain.name} if domain else None
    return tokens.TokenInfo(token=token, payload=payload, user=user_ref, project=project_ref, domain=domain_ref,
                            roles=roles, body=body, body_nocatalog=body_nocatalog, generation=generation)


def token_validate(token, *, allow_expired=False, unauthorized=False):
    """The hot path: cached TokenInfo, expiry and revocation checked on every call.
    Raises NotFound (or Unauthorized for the caller's own token) when invalid."""
    state = _state()
    info = state.cache.get(token)
    error = Unauthorized if unauthorized else NotFound
    if info is None:
        payload = tokens.Payload.decode(token)
        if payload is None:
            raise error("Failed to validate token" if not unauthorized else AUTH_FAILED)
        generation = state.cache.generation
        info = _build(token, payload, generation)
        if info is None:
            raise error("Failed to validate token" if not unauthorized else AUTH_FAILED)
        state.cache.put(info)
    if not allow_expired and info.payload.expires_at <= time.time():
        raise error("Failed to validate token" if not unauthorized else AUTH_FAILED)
    revoked = state.revocations.is_revoked(info) if state.synced or settings.PROCESS == "test" \
        else selectors.revoked_in_db(info)
    if revoked:
        raise error("Failed to validate token" if not unauthorized else AUTH_FAILED)
    return info


def token_revoke(*, token):
    info = token_validate(token)
    revoke(audit_id=info.payload.audit_ids[0])
    return info


# ---------------------------------------------------------------- resources

def _save(obj, what):
    try:
        with transaction.atomic():
            obj.full_clean(validate_unique=False, validate_constraints=False)
            obj.save()
    except IntegrityError:
        raise Conflict(f"Conflict occurred attempting to store {what} - Duplicate entry found with name "
                       f"{getattr(obj, 'name', obj.pk)}.")
    except Exception as e:
        from django.core.exceptions import ValidationError

        if isinstance(e, ValidationError):
            raise BadRequest("; ".join(f"{k}: {' '.join(v)}" for k, v in e.message_dict.items()))
        raise


def _domain_or_400(domain_id):
    domain = Domain.objects.filter(id=domain_id).first()
    if domain is None:
        raise BadRequest(f"Could not find domain: {domain_id}.") if domain_id else BadRequest("domain_id is required.")
    return domain


@transaction.atomic
def project_create(*, actor, data):
    domain = _domain_or_400(data.get("domain_id") or (actor.domain_id if actor and actor.domain_id else "default"))
    parent = None
    if data.get("parent_id"):
        parent = Project.objects.filter(id=data["parent_id"]).first()
        if parent is None:
            raise NotFound(f"Could not find project: {data['parent_id']}.")
    if data.get("is_domain"):
        raise BadRequest("Projects acting as domains are not supported; create a domain.")
    project = Project(name=data["name"], domain=domain, parent=parent, description=data.get("description") or "",
                      enabled=data.get("enabled", True), tags=data.get("tags", []),
                      extra=data.get("extra", {}))
    _save(project, "project")
    audit("created.project", "project", project.id, actor)
    return project


@transaction.atomic
def project_update(*, actor, project, data):
    disabling = project.enabled and data.get("enabled") is False
    for key in ("name", "description", "enabled", "tags"):
        if key in data:
            setattr(project, key, data[key] if data[key] is not None else "")
    project.extra.update(data.get("extra", {}))
    _save(project, "project")
    if disabling:
        revoke(project_id=project.id)
    _on_commit_flush()
    audit("updated.project", "project", project.id, actor)
    return project


@transaction.atomic
def project_delete(*, actor, project):
    if project.children.exists():
        raise Forbidden("Cannot delete a project that has child projects.")
    RA.objects.filter(type__in=[RA.USER_PROJECT, RA.GROUP_PROJECT], target_id=project.id).delete()
    pk = project.pk
    project.delete()
    revoke(project_id=pk)
    _on_commit_flush()
    audit("deleted.project", "project", pk, actor)


@transaction.atomic
def user_create(*, actor, data):
    domain = _domain_or_400(data.get("domain_id") or (actor.domain_id if actor and actor.domain_id else "default"))
    user = User(name=data["name"], domain=domain, enabled=data.get("enabled", True),
                default_project_id=data.get("default_project_id"), description=data.get("description") or "",
                email=data.get("email") or "", options=data.get("options", {}), extra=data.get("extra", {}))
    if data.get("password") is not None:
        user.password_hash = password_hash(data["password"])
        user.password_created_at = timezone.now()
    _save(user, "user")
    audit("created.user", "user", user.id, actor)
    return user


@transaction.atomic
def user_update(*, actor, user, data):
    disabling = user.enabled and data.get("enabled") is False
    for key in ("name", "enabled", "default_project_id", "description", "email"):
        if key in data:
            setattr(user, key, data[key] if data[key] is not None or key == "default_project_id" else "")
    if "options" in data:
        user.options.update(data["options"])
    user.extra.update(data.get("extra", {}))
    if data.get("password") is not None:
        user.password_hash = password_hash(data["password"])
        user.password_created_at = timezone.now()
        revoke(user_id=user.id)
    _save(user, "user")
    if disabling:
        revoke(user_id=user.id)
    _on_commit_flush()
    audit("updated.user", "user", user.id, actor)
    return user


@transaction.atomic
def user_delete(*, actor, user):
    RA.objects.filter(type__in=[RA.USER_PROJECT, RA.USER_DOMAIN, RA.USER_SYSTEM], actor_id=user.id).delete()
    pk = user.pk
    user.delete()
    revoke(user_id=pk)
    audit("deleted.user", "user", pk, actor)


@transaction.atomic
def role_create(*, actor, data):
    domain = _domain_or_400(data["domain_id"]) if data.get("domain_id") else None
    role = Role(name=data["name"], domain=domain, description=data.get("description") or "",
                options=data.get("options", {}))
    _save(role, "role")
    audit("created.role", "role", role.id, actor)
    return role


@transaction.atomic
def role_update(*, actor, role, data):
    for key in ("name", "description"):
        if key in data:
            setattr(role, key, data[key] or "")
    _save(role, "role")
    _on_commit_flush()
    audit("updated.role", "role", role.id, actor)
    return role


@transaction.atomic
def role_delete(*, actor, role):
    for a in role.assignments.all():
        _revoke_for_assignment(a)
    pk = role.pk
    role.delete()
    _on_commit_flush()
    audit("deleted.role", "role", pk, actor)


def implied_role_create(*, actor, prior, implied):
    if prior.id == implied.id:
        raise BadRequest("A role cannot imply itself.")
    obj, _ = ImpliedRole.objects.get_or_create(prior_role=prior, implied_role=implied)
    _on_commit_flush()
    return obj


def _revoke_for_assignment(a):
    """Tokens that carried this grant must go (Keystone revokes them the same way)."""
    if a.type == RA.USER_PROJECT:
        revoke(user_id=a.actor_id, project_id=a.target_id)
    elif a.type == RA.USER_DOMAIN:
        revoke(user_id=a.actor_id, domain_id=a.target_id) if not a.inherited else revoke(user_id=a.actor_id)
    elif a.type == RA.USER_SYSTEM:
        revoke(user_id=a.actor_id)
    else:  # a group grant: every member's tokens
        for uid in User.objects.filter(groups__id=a.actor_id).values_list("id", flat=True):
            revoke(user_id=uid)


ASSIGNMENT_TYPES = {("user", "project"): RA.USER_PROJECT, ("group", "project"): RA.GROUP_PROJECT,
                    ("user", "domain"): RA.USER_DOMAIN, ("group", "domain"): RA.GROUP_DOMAIN,
                    ("user", "system"): RA.USER_SYSTEM, ("group", "system"): RA.GROUP_SYSTEM}


@transaction.atomic
def role_grant(*, actor, actor_kind, actor_id, target_kind, target_id, role, inherited=False):
    RA.objects.get_or_create(type=ASSIGNMENT_TYPES[(actor_kind, target_kind)], actor_id=actor_id,
                             target_id=target_id, role=role, inherited=inherited)
    _on_commit_flush()
    audit("created.role_assignment", "role", role.id, actor, grantee=actor_id, target=target_id)


@transaction.atomic
def role_revoke(*, actor, actor_kind, actor_id, target_kind, target_id, role, inherited=False):
    rows = list(RA.objects.filter(type=ASSIGNMENT_TYPES[(actor_kind, target_kind)], actor_id=actor_id,
                                  target_id=target_id, role=role, inherited=inherited))
    if not rows:
        raise NotFound(f"Could not find role assignment with role: {role.id}, {actor_kind}: {actor_id}, "
                       f"{target_kind}: {target_id}.")
    for a in rows:
        _revoke_for_assignment(a)
        a.delete()
    _on_commit_flush()
    audit("deleted.role_assignment", "role", role.id, actor, grantee=actor_id, target=target_id)


@transaction.atomic
def region_create(*, actor, data):
    region_id = data.get("id") or secrets.token_hex(16)
    if Region.objects.filter(id=region_id).exists():
        raise Conflict(f"Conflict occurred attempting to store region - Duplicate ID, {region_id}.")
    parent = None
    if data.get("parent_region_id"):
        parent = Region.objects.filter(id=data["parent_region_id"]).first()
        if parent is None:
            raise BadRequest(f"Could not find region: {data['parent_region_id']}.")
    region = Region(id=region_id, description=data.get("description") or "", parent_region=parent)
    _save(region, "region")
    audit("created.region", "region", region.id, actor)
    return region


@transaction.atomic
def region_delete(*, actor, region):
    if region.children.exists() or region.endpoints.exists():
        raise Forbidden("Cannot delete a region that has child regions or endpoints.")
    pk = region.pk
    region.delete()
    audit("deleted.region", "region", pk, actor)


@transaction.atomic
def service_create(*, actor, data):
    service = Service(type=data["type"], name=data.get("name") or "", description=data.get("description") or "",
                      enabled=data.get("enabled", True))
    _save(service, "service")
    _on_commit_flush()
    audit("created.service", "service", service.id, actor)
    return service


@transaction.atomic
def service_update(*, actor, service, data):
    for key in ("type", "name", "description", "enabled"):
        if key in data:
            setattr(service, key, data[key] if data[key] is not None else "")
    _save(service, "service")
    _on_commit_flush()
    return service


@transaction.atomic
def service_delete(*, actor, service):
    pk = service.pk
    service.delete()
    _on_commit_flush()
    audit("deleted.service", "service", pk, actor)


@transaction.atomic
def endpoint_create(*, actor, data):
    service = Service.objects.filter(id=data["service_id"]).first()
    if service is None:
        raise BadRequest(f"Could not find service: {data['service_id']}.")
    region_id = data.get("region_id") or data.get("region")
    region = None
    if region_id:
        # Keystone creates the region named by an endpoint if it does not exist yet.
        region, _ = Region.objects.get_or_create(id=region_id)
    endpoint = Endpoint(service=service, interface=data["interface"], region=region, url=data["url"],
                        enabled=data.get("enabled", True))
    _save(endpoint, "endpoint")
    _on_commit_flush()
    audit("created.endpoint", "endpoint", endpoint.id, actor)
    return endpoint


@transaction.atomic
def endpoint_update(*, actor, endpoint, data):
    if "service_id" in data:
        endpoint.service = Service.objects.filter(id=data["service_id"]).first() or endpoint.service
    if "region_id" in data:
        endpoint.region = Region.objects.get_or_create(id=data["region_id"])[0] if data["region_id"] else None
    for key in ("interface", "url", "enabled"):
        if key in data:
            setattr(endpoint, key, data[key])
    _save(endpoint, "endpoint")
    _on_commit_flush()
    return endpoint


@transaction.atomic
def endpoint_delete(*, actor, endpoint):
    pk = endpoint.pk
    endpoint.delete()
    _on_commit_flush()
    audit("deleted.endpoint", "endpoint", pk, actor)


# ---------------------------------------------------------------- bootstrap

BOOTSTRAP_ROLES = ("reader", "member", "manager", "admin", "service")
IMPLIED = (("admin", "manager"), ("manager", "member"), ("member", "reader"))


@transaction.atomic
def bootstrap(*, admin_password, catalog):
    """What `keystone-manage bootstrap` does, idempotently: the Default domain, the standard roles
    with admin -> manager -> member -> reader, an admin project and user with admin on the project
    and the system, and the catalog. ``catalog`` is [(type, name, region, url)]."""
    domain, _ = Domain.objects.get_or_create(id="default", defaults={"name": "Default",
                                                                     "description": "The default domain"})
    roles = {name: Role.objects.get_or_create(name=name, domain=None)[0] for name in BOOTSTRAP_ROLES}
    for prior, implied in IMPLIED:
        ImpliedRole.objects.get_or_create(prior_role=roles[prior], implied_role=roles[implied])
    project, _ = Project.objects.get_or_create(name="admin", domain=domain,
                                               defaults={"description": "Bootstrap project for the cloud"})
    user, created = User.objects.get_or_create(name="admin", domain=domain)
    if created or not password_check(admin_password, user.password_hash):
        user.password_hash = password_hash(admin_password)
        user.password_created_at = timezone.now()
    user.enabled = True
    user.default_project_id = project.id
    user.save()
    for kind, target in ((RA.USER_PROJECT, project.id), (RA.USER_SYSTEM, RA.SYSTEM_TARGET)):
        RA.objects.get_or_create(type=kind, actor_id=user.id, target_id=target, role=roles["admin"], inherited=False)
    wanted = set()
    for service_type, name, region_id, url in catalog:
        region, _ = Region.objects.get_or_create(id=region_id)
        service = Service.objects.filter(type=service_type).first() or Service.objects.create(
            type=service_type, name=name)
        for interface in ("public", "internal", "admin"):
            endpoint = Endpoint.objects.filter(service=service, interface=interface, region=region).first()
            if endpoint is None:
                endpoint = Endpoint.objects.create(service=service, interface=interface, region=region, url=url)
            elif endpoint.url != url:
                endpoint.url = url
                endpoint.save(update_fields=["url"])
            wanted.add(endpoint.id)
    _on_commit_flush()
    return {"domain": domain, "project": project, "user": user, "roles": roles}
