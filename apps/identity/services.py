"""Writes of identity: authentication, tokens, and the Keystone resources."""
import base64
import hashlib
import json
import logging
import re
import secrets
import time
import uuid
from datetime import timedelta, timezone as dt_timezone

import bcrypt
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from apps.core.context import current_request_id
from apps.core.exceptions import BadRequest, Conflict, Forbidden, NotFound, Unauthorized

from . import credential_keys, ec2, selectors, tokens
from .models import (AccessRule, ApplicationCredential, AuditRecord, Credential, Domain, Endpoint, Group,
                     ImpliedRole, PasswordHistory, Project, Region, RevocationEvent, Role, RoleAssignment, Service,
                     User)

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


def security_compliance():
    """The [security_compliance] options (Keystone's names; 0 or "" where Keystone leaves them unset)."""
    defaults = {"lockout_failure_attempts": 0, "lockout_duration": 1800, "unique_last_password_count": 0,
                "minimum_password_age": 0, "password_expires_days": 0, "password_regex": "",
                "password_regex_description": "", "change_password_upon_first_use": False}
    return defaults | dict(settings.MONOSTACK.get("security_compliance") or {})


def _is_locked(user, now):
    sc = security_compliance()
    if user.options.get("ignore_lockout_failure_attempts") is True:
        return False
    attempts, limit = user.failed_auth_count or 0, sc["lockout_failure_attempts"]
    if not limit or attempts < limit:
        return False
    if not sc["lockout_duration"]:
        return True
    return user.failed_auth_at is not None and user.failed_auth_at + timedelta(seconds=sc["lockout_duration"]) > now


def password_is_expired(user, now=None):
    if user.options.get("ignore_password_expiry") is True:
        return False
    return bool(user.password_expires_at and user.password_expires_at <= (now or timezone.now()))


def _record_failed_auth(user_id, now):
    """One UPDATE whether or not the user exists (an id that names nothing matches no row), so a
    failed login costs the same either way: one bcrypt check and one write."""
    from django.db.models import F

    User.objects.filter(pk=user_id or "").update(failed_auth_count=F("failed_auth_count") + 1, failed_auth_at=now)


def _check_user_password(user, password):
    """Keystone's identity authenticate(): lockout, password, enabled, expiry, in that order.
    Returns (user, error) where error is the exception to raise; the bcrypt check always runs."""
    now = timezone.now()
    ok = password_check(password, user.password_hash if user else "")
    if user is None:
        _record_failed_auth(None, now)
        return Unauthorized(AUTH_FAILED)
    if _is_locked(user, now):
        return Unauthorized(f"The account is locked for user: {user.id}.")
    if not ok:
        _record_failed_auth(user.id, now)
        return Unauthorized(AUTH_FAILED)
    if not user.enabled or not user.domain.enabled:
        return Unauthorized(AUTH_FAILED)
    if password_is_expired(user, now):
        return Unauthorized(f"The password is expired and needs to be changed for user: {user.id}.")
    if user.failed_auth_count:
        User.objects.filter(pk=user.pk).update(failed_auth_count=0, failed_auth_at=None)
    return None


def authenticate_password(password_ref):
    user_ref = password_ref.get("user") if isinstance(password_ref, dict) else None
    user = _find_user(user_ref)
    password = user_ref.get("password") if isinstance(user_ref, dict) else None
    if not isinstance(password, str):
        raise BadRequest("Invalid input for field 'identity/password/user/password'.")
    error = _check_user_password(user, password)
    if error is not None:
        raise error
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


AUTH_METHODS = ("password", "token", "application_credential")


def token_issue(*, auth):
    """POST /v3/auth/tokens: returns the validated TokenInfo of the new token."""
    if not isinstance(auth, dict):
        raise BadRequest("Invalid input for field 'auth': not an object.")
    identity = auth.get("identity")
    if not isinstance(identity, dict) or not isinstance(identity.get("methods"), list) or not identity["methods"]:
        raise BadRequest("Invalid input for field 'identity/methods': a non-empty list is required.")
    methods = identity["methods"]
    for m in methods:
        if m not in AUTH_METHODS:
            raise Unauthorized("Attempted to authenticate with an unsupported method.")
        if m not in identity:
            raise BadRequest(f"Invalid input for field 'identity/{m}': missing.")
    now = time.time()
    ttl = settings.MONOSTACK["identity"]["token_expiration"]
    if "application_credential" in methods:
        return _token_issue_app_cred(auth, identity, methods, now, ttl)
    prior = None
    if "token" in methods:
        ref = identity["token"]
        if not isinstance(ref, dict) or not isinstance(ref.get("id"), str):
            raise BadRequest("Invalid input for field 'identity/token/id'.")
        prior = token_validate(ref["id"], allow_expired=False, unauthorized=True)
        if prior.payload.app_cred_id:
            raise Forbidden("You are not authorized to perform the requested action: rescoping a token "
                            "issued for an application credential.")
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


APP_CRED_AUTH_ERROR = "Error authenticating with application credential: {}"


def _find_app_cred(ref):
    if not isinstance(ref, dict):
        raise BadRequest("Invalid input for field 'identity/application_credential': not an object.")
    if not isinstance(ref.get("secret"), str) or not ref["secret"]:
        raise BadRequest("Invalid input for field 'identity/application_credential/secret': required.")
    if ref.get("id"):
        if not isinstance(ref["id"], str):
            raise BadRequest("Invalid input for field 'identity/application_credential/id'.")
        return ApplicationCredential.objects.select_related("user", "user__domain").filter(id=ref["id"]).first()
    if not isinstance(ref.get("name"), str) or not ref["name"]:
        raise BadRequest("Invalid input for field 'identity/application_credential': needs an id, or a name "
                         "and a user.")
    user_ref = ref.get("user")
    if not isinstance(user_ref, dict) or not (user_ref.get("id") or user_ref.get("name")):
        raise BadRequest("Invalid input for field 'identity/application_credential/user': a credential given by "
                         "name needs its user's id, or name and domain.")
    if user_ref.get("id"):
        owner = Q(user_id=user_ref["id"])
    else:
        domain = user_ref.get("domain")
        if not isinstance(domain, dict) or not (domain.get("id") or domain.get("name")):
            raise BadRequest("Invalid input for field 'identity/application_credential/user/domain'.")
        owner = Q(user__name=user_ref["name"]) & (Q(user__domain_id=domain["id"]) if domain.get("id")
                                                   else Q(user__domain__name=domain["name"]))
    return (ApplicationCredential.objects.select_related("user", "user__domain")
            .filter(owner, name=ref["name"]).first())


def _token_issue_app_cred(auth, identity, methods, now, ttl):
    if methods != ["application_credential"]:
        raise Unauthorized(APP_CRED_AUTH_ERROR.format("application credentials cannot be combined with "
                                                      "other methods."))
    if auth.get("scope") is not None:
        raise Unauthorized(APP_CRED_AUTH_ERROR.format("Application credentials cannot request a scope."))
    cred = _find_app_cred(identity["application_credential"])
    ok = password_check(_secret_digest(identity["application_credential"]["secret"]), cred.secret_hash if cred else "")
    if not ok or cred.expires_at is not None and cred.expires_at <= timezone.now():
        raise Unauthorized(AUTH_FAILED)
    user = cred.user
    if not user.enabled or not user.domain.enabled:
        raise Unauthorized(AUTH_FAILED)
    project = Project.objects.select_related("domain").filter(id=cred.project_id).first()
    if project is None or not project.enabled or not project.domain.enabled:
        raise Unauthorized(AUTH_FAILED)
    expires = now + ttl
    if cred.expires_at is not None:
        expires = min(expires, cred.expires_at.timestamp())
    payload = tokens.Payload(user_id=user.id, methods=["application_credential"], expires_at=expires,
                             issued_at=now, audit_ids=[tokens.new_audit_id()], project_id=project.id,
                             app_cred_id=cred.id)
    try:
        return token_validate(payload.encode(), unauthorized=True)
    except Unauthorized:  # the user no longer holds any of the credential's roles on the project
        raise Unauthorized(AUTH_FAILED)


def _render(payload, user, project, domain, roles, catalog, app_cred=None, methods=None):
    token = {
        "methods": methods or payload.methods,
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
    if app_cred is not None:
        token["application_credential"] = app_cred
    without = json.dumps({"token": token}, separators=(",", ":")).encode()
    if payload.project_id or payload.domain_id or payload.system:
        token["catalog"] = catalog
        return json.dumps({"token": token}, separators=(",", ":")).encode(), without
    return without, without


def _app_cred_for_token(payload, user_id):
    """(token block, role ids) of a live application credential, or None when it is gone or expired."""
    cred = ApplicationCredential.objects.filter(id=payload.app_cred_id, user_id=user_id,
                                                project_id=payload.project_id).first()
    if cred is None or cred.expires_at is not None and cred.expires_at.timestamp() <= time.time():
        return None
    block = {"id": cred.id, "name": cred.name, "restricted": not cred.unrestricted}
    rules = [{"id": r.id, "service": r.service, "path": r.path, "method": r.method}
             for r in cred.access_rules.all().order_by("id")]
    if rules:
        block["access_rules"] = rules
    return block, set(cred.roles.values_list("id", flat=True))


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
    app_cred = None
    if payload.app_cred_id:
        found = _app_cred_for_token(payload, user.id)
        if found is None or project is None:
            return None
        app_cred, cred_roles = found
    roles = []
    if project or domain or payload.system:
        roles = selectors.effective_roles(user_id=user.id, project=project, domain_id=payload.domain_id,
                                          system=payload.system)
        if app_cred is not None:  # only the credential's roles the user still holds
            roles = [r for r in roles if r["id"] in cred_roles]
        if not roles:
            return None
    body, body_nocatalog = _render(payload, user, project, domain, roles,
                                   selectors.catalog(payload.project_id) if (project or domain or payload.system)
                                   else [], app_cred=app_cred)
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


# ---------------------------------------------------------------- domains

@transaction.atomic
def domain_create(*, actor, data):
    extra = dict(data.get("extra") or {})
    if data.get("tags") is not None:
        extra["tags"] = data["tags"]
    domain = Domain(name=data["name"], description=data.get("description") or "", enabled=data.get("enabled", True),
                    extra=extra)
    _save(domain, "domain")
    audit("created.domain", "domain", domain.id, actor)
    return domain


@transaction.atomic
def domain_update(*, actor, domain, data):
    disabling = domain.enabled and data.get("enabled") is False
    for key in ("name", "description", "enabled"):
        if key in data:
            setattr(domain, key, data[key] if data[key] is not None else "")
    domain.extra.update(data.get("extra") or {})
    if "tags" in data:
        domain.extra["tags"] = data["tags"] or []
    _save(domain, "domain")
    if disabling:  # every token of its users and of its projects, and its domain-scoped tokens
        revoke(domain_id=domain.id)
    _on_commit_flush()
    audit("updated.domain", "domain", domain.id, actor)
    return domain


@transaction.atomic
def domain_delete(*, actor, domain):
    """Keystone deletes a disabled domain with everything in it."""
    if domain.enabled:
        raise Forbidden("Cannot delete a domain that is enabled, please disable it first.")
    projects = list(Project.objects.filter(domain=domain).values_list("id", flat=True))
    users = User.objects.filter(domain=domain).values("id")
    groups = Group.objects.filter(domain=domain).values("id")
    RA.objects.filter(Q(target_id__in=projects + [domain.id]) | Q(actor_id__in=users) | Q(actor_id__in=groups)
                      ).exclude(type__in=[RA.USER_SYSTEM, RA.GROUP_SYSTEM], target_id__in=projects).delete()
    ApplicationCredential.objects.filter(project_id__in=projects).delete()
    Credential.objects.filter(project_id__in=projects).delete()
    # Children before parents: PROTECT on parent holds until the leaves are gone.
    remaining = Project.objects.filter(domain=domain)
    while remaining.exists():
        remaining.exclude(id__in=Project.objects.filter(parent__isnull=False, domain=domain)
                          .values("parent_id")).delete()
    Group.objects.filter(domain=domain).delete()
    User.objects.filter(domain=domain).delete()
    pk = domain.pk
    domain.delete()
    revoke(domain_id=pk)
    _on_commit_flush()
    audit("deleted.domain", "domain", pk, actor)


# ---------------------------------------------------------------- projects

@transaction.atomic
def project_create(*, actor, data):
    parent = None
    parent_id = data.get("parent_id")
    domain_id = data.get("domain_id")
    if parent_id:
        parent = Project.objects.filter(id=parent_id).first()
        if parent is None:
            parent_domain = Domain.objects.filter(id=parent_id).first()
            if parent_domain is None:
                raise NotFound(f"Could not find project: {parent_id}.")
            if domain_id and domain_id != parent_domain.id:
                raise BadRequest(f"Cannot create project, the parent ({parent_id}) is in a different domain.")
            domain_id = parent_domain.id
        else:
            if domain_id and domain_id != parent.domain_id:
                raise BadRequest(f"Cannot create project, the parent ({parent_id}) is in a different domain.")
            domain_id = parent.domain_id
    if data.get("is_domain"):
        # A project acting as a domain is a domain (the flat case: no parent, no domain of its own).
        if parent is not None or data.get("parent_id"):
            raise BadRequest("A project acting as a domain cannot have a parent.")
        return domain_create(actor=actor, data=data)
    domain = _domain_or_400(domain_id or (actor.domain_id if actor and actor.domain_id else "default"))
    project = Project(name=data["name"], domain=domain, parent=parent, description=data.get("description") or "",
                      enabled=data.get("enabled", True), tags=data.get("tags") or [],
                      extra=data.get("extra", {}))
    _save(project, "project")
    audit("created.project", "project", project.id, actor)
    return project


@transaction.atomic
def project_update(*, actor, project, data):
    disabling = project.enabled and data.get("enabled") is False
    for key in ("name", "description", "enabled", "tags"):
        if key in data:
            setattr(project, key, data[key] if data[key] is not None else ([] if key == "tags" else ""))
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
        raise Forbidden(f"Cannot delete the project {project.id} since it is not a leaf in the hierarchy. "
                        "Use the cascade option if you want to delete a whole subtree.")
    RA.objects.filter(type__in=[RA.USER_PROJECT, RA.GROUP_PROJECT], target_id=project.id).delete()
    ApplicationCredential.objects.filter(project_id=project.id).delete()
    Credential.objects.filter(project_id=project.id).delete()
    pk = project.pk
    project.delete()
    revoke(project_id=pk)
    _on_commit_flush()
    audit("deleted.project", "project", pk, actor)


MAX_TAGS = 80


@transaction.atomic
def project_tags_set(*, actor, project, tags):
    project = Project.objects.select_for_update().get(pk=project.pk)
    project.tags = list(dict.fromkeys(tags))
    project.save(update_fields=["tags"])
    audit("updated.project", "project", project.id, actor, tags=project.tags)
    return project


@transaction.atomic
def project_tag_add(*, actor, project, tag):
    project = Project.objects.select_for_update().get(pk=project.pk)
    if tag not in project.tags:
        if len(project.tags) >= MAX_TAGS:
            raise BadRequest(f"Invalid input for field 'tags': a project has at most {MAX_TAGS} tags.")
        project.tags = project.tags + [tag]
        project.save(update_fields=["tags"])
        audit("updated.project", "project", project.id, actor, tags=project.tags)
    return project


@transaction.atomic
def project_tag_delete(*, actor, project, tag):
    project = Project.objects.select_for_update().get(pk=project.pk)
    if tag not in project.tags:
        raise NotFound(f"Tag {tag} not found for project {project.id}.")
    project.tags = [t for t in project.tags if t != tag]
    project.save(update_fields=["tags"])
    audit("updated.project", "project", project.id, actor, tags=project.tags)
    return project


# ---------------------------------------------------------------- users and passwords

def password_validate(password):
    """[security_compliance] password_regex; Keystone's 400 with the description."""
    sc = security_compliance()
    if sc["password_regex"] and not re.match(sc["password_regex"], password or ""):
        detail = sc["password_regex_description"] or "the password does not match the configured pattern"
        raise BadRequest(f"The password does not match the requirements: {detail}.")


def _password_history_check(user, password):
    unique = security_compliance()["unique_last_password_count"]
    if unique <= 0:
        return
    # Keystone compares with the user's last N passwords, the current one included.
    hashes = ([user.password_hash] if user.password_hash else []) + list(
        user.password_history.order_by("-created_at", "-id").values_list("password_hash", flat=True)[:max(unique - 1, 0)])
    for hashed in hashes[:unique]:
        if password_check(password, hashed):
            raise BadRequest("The new password cannot be identical to a previous password. The total number "
                             f"which includes the new password must be unique is {unique}.")


def _set_password(user, password, *, self_service):
    """Store a new password: history kept for unique_last_password_count, expiry from
    password_expires_days, or at once when an administrator set it and the first use must change it."""
    sc = security_compliance()
    now = timezone.now()
    if user.password_hash and user.pk:
        keep = sc["unique_last_password_count"]
        if keep > 1:
            PasswordHistory.objects.create(user=user, password_hash=user.password_hash,
                                           created_at=user.password_created_at or now)
            stale = user.password_history.order_by("-created_at", "-id").values_list("id", flat=True)[keep - 1:]
            PasswordHistory.objects.filter(id__in=list(stale)).delete()
    user.password_hash = password_hash(password)
    user.password_created_at = now
    user.password_self_service = self_service
    user.password_expires_at = None
    if (not self_service and sc["change_password_upon_first_use"]
            and user.options.get("ignore_change_password_upon_first_use") is not True):
        user.password_expires_at = now
    elif sc["password_expires_days"] and user.options.get("ignore_password_expiry") is not True:
        user.password_expires_at = now + timedelta(days=sc["password_expires_days"])


USER_OPTIONS = ("ignore_change_password_upon_first_use", "ignore_password_expiry", "ignore_lockout_failure_attempts",
                "lock_password", "multi_factor_auth_enabled", "multi_factor_auth_rules", "ignore_user_inactivity")


def _check_options(options):
    for key in options or {}:
        if key not in USER_OPTIONS:
            raise BadRequest(f"Invalid input for field 'options': unknown option {key}.")


@transaction.atomic
def user_create(*, actor, data):
    _check_options(data.get("options"))
    domain = _domain_or_400(data.get("domain_id") or (actor.domain_id if actor and actor.domain_id else "default"))
    user = User(name=data["name"], domain=domain, enabled=data.get("enabled", True),
                default_project_id=data.get("default_project_id"), description=data.get("description") or "",
                email=data.get("email") or "", options={k: v for k, v in (data.get("options") or {}).items()
                                                        if v is not None},
                extra=data.get("extra", {}))
    if data.get("password") is not None:
        password_validate(data["password"])
        _set_password(user, data["password"], self_service=False)
    _save(user, "user")
    audit("created.user", "user", user.id, actor)
    return user


@transaction.atomic
def user_update(*, actor, user, data):
    _check_options(data.get("options"))
    disabling = user.enabled and data.get("enabled") is False
    for key in ("name", "enabled", "default_project_id", "description", "email"):
        if key in data:
            setattr(user, key, data[key] if data[key] is not None or key == "default_project_id" else "")
    if data.get("enabled") is True:
        user.failed_auth_count, user.failed_auth_at = 0, None  # enabling unlocks, as in Keystone
    for key, value in (data.get("options") or {}).items():
        if value is None:
            user.options.pop(key, None)  # Keystone: null removes an option
        else:
            user.options[key] = value
    user.extra.update(data.get("extra", {}))
    if data.get("password") is not None:
        password_validate(data["password"])
        _set_password(user, data["password"], self_service=False)
        revoke(user_id=user.id)
    _save(user, "user")
    if disabling:
        revoke(user_id=user.id)
    _on_commit_flush()
    audit("updated.user", "user", user.id, actor)
    return user


def user_password_change(*, user_id, original_password, password):
    """POST /v3/users/{id}/password: the owner, proving the original password (no token needed, so an
    expired password can be replaced). Lockout counts here as in a login."""
    user = User.objects.select_related("domain").filter(id=user_id).first()
    error = _check_user_password(user, original_password)
    if error is not None and not (user is not None and password_is_expired(user)
                                  and error.message.startswith("The password is expired")):
        raise error  # Keystone's own words: generic, or the lockout
    with transaction.atomic():
        user = User.objects.select_for_update().select_related("domain").get(pk=user.pk)
        if user.options.get("lock_password") is True:
            raise BadRequest("You cannot change your password at this time due to password policy disallowing "
                             "password changes. Please contact your administrator to reset your password.")
        min_age = security_compliance()["minimum_password_age"]
        if min_age and user.password_self_service and user.password_created_at:
            ready = user.password_created_at + timedelta(days=min_age)
            if timezone.now() < ready:
                days_left = (ready - timezone.now()).days
                raise BadRequest(
                    "You cannot change your password at this time due to the minimum password age. Once you "
                    f"change your password, it must be used for {min_age} day(s) before it can be changed. "
                    f"Please try again in {days_left} day(s) or contact your administrator to reset your "
                    "password.")
        password_validate(password)
        _password_history_check(user, password)
        _set_password(user, password, self_service=True)
        user.failed_auth_count, user.failed_auth_at = 0, None
        user.save()
        revoke(user_id=user.id)
        _on_commit_flush()
        audit("updated.user", "user", user.id, None, password_changed=True)
    return user


@transaction.atomic
def user_delete(*, actor, user):
    RA.objects.filter(type__in=[RA.USER_PROJECT, RA.USER_DOMAIN, RA.USER_SYSTEM], actor_id=user.id).delete()
    pk = user.pk
    user.delete()  # application credentials, credentials, access rules and history go with it
    revoke(user_id=pk)
    audit("deleted.user", "user", pk, actor)


# ---------------------------------------------------------------- groups

@transaction.atomic
def group_create(*, actor, data):
    domain = _domain_or_400(data.get("domain_id") or (actor.domain_id if actor and actor.domain_id else "default"))
    group = Group(name=data["name"], domain=domain, description=data.get("description") or "")
    _save(group, "group")
    audit("created.group", "group", group.id, actor)
    return group


@transaction.atomic
def group_update(*, actor, group, data):
    for key in ("name", "description"):
        if key in data:
            setattr(group, key, data[key] or "")
    _save(group, "group")
    _on_commit_flush()
    audit("updated.group", "group", group.id, actor)
    return group


def _revoke_members(group_id):
    for uid in User.objects.filter(groups__id=group_id).values_list("id", flat=True):
        revoke(user_id=uid)


@transaction.atomic
def group_delete(*, actor, group):
    if RA.objects.filter(type__in=[RA.GROUP_PROJECT, RA.GROUP_DOMAIN, RA.GROUP_SYSTEM], actor_id=group.id).exists():
        _revoke_members(group.id)
        RA.objects.filter(type__in=[RA.GROUP_PROJECT, RA.GROUP_DOMAIN, RA.GROUP_SYSTEM], actor_id=group.id).delete()
    pk = group.pk
    group.delete()
    _on_commit_flush()
    audit("deleted.group", "group", pk, actor)


@transaction.atomic
def group_add_user(*, actor, group, user):
    group.users.add(user)
    _on_commit_flush()
    audit("added.membership", "group", group.id, actor, user=user.id)


@transaction.atomic
def group_remove_user(*, actor, group, user):
    if not group.users.filter(pk=user.pk).exists():
        raise NotFound(f"Could not find user: {user.id} in group: {group.id}.")
    group.users.remove(user)
    revoke(user_id=user.id)  # roles held through the group go with the membership
    _on_commit_flush()
    audit("removed.membership", "group", group.id, actor, user=user.id)


# ---------------------------------------------------------------- roles

@transaction.atomic
def role_create(*, actor, data):
    domain = _domain_or_400(data["domain_id"]) if data.get("domain_id") else None
    role = Role(name=data["name"], domain=domain, description=data.get("description") or "",
                options=data.get("options") or {})
    _save(role, "role")
    audit("created.role", "role", role.id, actor)
    return role


def _immutable(role):
    if role.options.get("immutable") is True:
        raise Forbidden(f"You are not authorized to perform the requested action: role {role.id} is immutable.")


@transaction.atomic
def role_update(*, actor, role, data):
    if not ("options" in data and (data["options"] or {}).get("immutable") is False):
        _immutable(role)
    for key in ("name", "description"):
        if key in data:
            setattr(role, key, data[key] or "")
    for key, value in (data.get("options") or {}).items():
        if value is None:
            role.options.pop(key, None)
        else:
            role.options[key] = value
    _save(role, "role")
    _on_commit_flush()
    audit("updated.role", "role", role.id, actor)
    return role


@transaction.atomic
def role_delete(*, actor, role):
    _immutable(role)
    for a in role.assignments.all():
        _revoke_for_assignment(a)
        if a.type == RA.USER_PROJECT:
            _app_creds_drop(user_id=a.actor_id, project_id=a.target_id)
    for cred_id in role.application_credentials.values_list("id", flat=True):
        revoke(application_credential_id=cred_id)
    pk = role.pk
    role.delete()
    _on_commit_flush()
    audit("deleted.role", "role", pk, actor)


PROHIBITED_IMPLIED = ("admin",)  # Keystone's [assignment] prohibited_implied_role


@transaction.atomic
def implied_role_create(*, actor, prior, implied):
    if prior.id == implied.id:
        raise Forbidden(f"{implied.id} cannot be an implied roles.")
    if implied.name in PROHIBITED_IMPLIED and implied.domain_id is None:
        raise Forbidden(f"{implied.id} cannot be an implied roles.")
    if prior.domain_id is None and implied.domain_id is not None:
        raise Forbidden("Global role cannot imply a domain-specific role")
    _, implies = selectors.role_graph()
    if prior.id in selectors.expand_implied([implied.id], implies):
        raise Forbidden(f"{implied.id} cannot be an implied roles: {implied.id} already implies {prior.id}.")
    obj, _ = ImpliedRole.objects.get_or_create(prior_role=prior, implied_role=implied)
    _on_commit_flush()
    audit("created.implied_role", "role", prior.id, actor, implies=implied.id)
    return obj


@transaction.atomic
def implied_role_delete(*, actor, prior, implied):
    deleted, _ = ImpliedRole.objects.filter(prior_role=prior, implied_role=implied).delete()
    if not deleted:
        raise NotFound(f"{prior.id} does not imply {implied.id}.")
    # Tokens that carried the implied role through this rule: their holders' tokens go.
    for a in RA.objects.filter(role__in=[prior]):
        _revoke_for_assignment(a)
    _on_commit_flush()
    audit("deleted.implied_role", "role", prior.id, actor, implies=implied.id)


def _revoke_for_assignment(a):
    """Tokens that carried this grant must go (Keystone revokes them the same way)."""
    if a.type == RA.USER_PROJECT:
        if a.inherited:
            revoke(user_id=a.actor_id)
        else:
            revoke(user_id=a.actor_id, project_id=a.target_id)
    elif a.type == RA.USER_DOMAIN:
        revoke(user_id=a.actor_id, domain_id=a.target_id) if not a.inherited else revoke(user_id=a.actor_id)
    elif a.type == RA.USER_SYSTEM:
        revoke(user_id=a.actor_id)
    else:  # a group grant: every member's tokens
        _revoke_members(a.actor_id)


ASSIGNMENT_TYPES = {("user", "project"): RA.USER_PROJECT, ("group", "project"): RA.GROUP_PROJECT,
                    ("user", "domain"): RA.USER_DOMAIN, ("group", "domain"): RA.GROUP_DOMAIN,
                    ("user", "system"): RA.USER_SYSTEM, ("group", "system"): RA.GROUP_SYSTEM}


def _check_role_domain(role, target_kind, target_id, target_domain_id):
    if role.domain_id is None:
        return
    if target_kind == "system":
        raise BadRequest(f"Role {role.id} is a domain-specific role and cannot be granted on the system.")
    if role.domain_id != target_domain_id:
        raise Forbidden(f"Project {target_id} must be in the same domain as the role {role.id} being assigned."
                        if target_kind == "project" else
                        f"Domain {target_id} must be the domain of the role {role.id} being assigned.")


@transaction.atomic
def role_grant(*, actor, actor_kind, actor_id, target_kind, target_id, role, inherited=False, target_domain_id=None):
    _check_role_domain(role, target_kind, target_id, target_domain_id)
    RA.objects.get_or_create(type=ASSIGNMENT_TYPES[(actor_kind, target_kind)], actor_id=actor_id,
                             target_id=target_id, role=role, inherited=inherited)
    _on_commit_flush()
    audit("created.role_assignment", "role", role.id, actor, grantee=actor_id, target=target_id, inherited=inherited)


def _app_creds_drop(*, user_id, project_id):
    """Keystone deletes a user's application credentials on a project when a role of theirs there goes."""
    for cred_id in ApplicationCredential.objects.filter(user_id=user_id, project_id=project_id) \
            .values_list("id", flat=True):
        revoke(application_credential_id=cred_id)
    ApplicationCredential.objects.filter(user_id=user_id, project_id=project_id).delete()


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
    if actor_kind == "user" and target_kind == "project" and not inherited:
        _app_creds_drop(user_id=actor_id, project_id=target_id)
    _on_commit_flush()
    audit("deleted.role_assignment", "role", role.id, actor, grantee=actor_id, target=target_id, inherited=inherited)


# ---------------------------------------------------------------- application credentials

def _secret_digest(secret):
    # Secrets are longer than bcrypt's 72 bytes: hash a digest of the whole secret instead.
    return base64.b64encode(hashlib.sha256(secret.encode()).digest()).decode()


def new_app_cred_secret():
    # Keystone's: 64 random bytes, urlsafe base64 without padding.
    return base64.urlsafe_b64encode(secrets.token_bytes(64)).rstrip(b"=").decode()


def _forbid_restricted_app_cred(token):
    if token.payload.app_cred_id:
        cred = ApplicationCredential.objects.filter(id=token.payload.app_cred_id).first()
        if cred is None or not cred.unrestricted:
            raise Forbidden("You are not authorized to perform the requested action: Using method "
                            "'application_credential' is not allowed for managing additional application "
                            "credentials.")


@transaction.atomic
def application_credential_create(*, token, user, data):
    """For the token's own user on the token's project; roles default to the token's, and may only be
    a subset of them (implied roles added, as Keystone does)."""
    _forbid_restricted_app_cred(token)
    if token.user_id != user.id:
        raise Forbidden("You are not authorized to perform the requested action: Cannot create an application "
                        "credential for another user.")
    if not token.project_id:
        raise BadRequest("Invalid application credential: an application credential needs a project-scoped "
                         "token.")
    held = {r["id"]: r for r in token.roles}
    if data.get("roles"):
        roles_by_id, roles_by_name = {}, {}
        wanted = []
        for ref in data["roles"]:
            if ref.get("id"):
                role = Role.objects.filter(id=ref["id"]).first()
            else:
                matches = list(Role.objects.filter(name=ref.get("name"), domain__isnull=True)[:2]) or \
                    list(Role.objects.filter(name=ref.get("name"))[:2])
                if len(matches) > 1:
                    raise Conflict(f"Multiple roles named {ref.get('name')}; give the role by id.")
                role = matches[0] if matches else None
            if role is None:
                raise NotFound(f"Could not find role: {ref.get('id') or ref.get('name')}.")
            wanted.append(role)
        roles_by_id, implies = selectors.role_graph()
        ids = selectors.expand_implied([r.id for r in wanted], implies)
        roles = [roles_by_id[i] for i in ids if i in roles_by_id]
        if any(r.id not in held for r in roles):
            raise BadRequest("Invalid application credential: Cannot create an application credential with "
                             "unassigned role")
    else:
        roles = list(Role.objects.filter(id__in=list(held)))
    expires_at = data.get("expires_at")
    if expires_at is not None:
        from django.utils.dateparse import parse_datetime

        parsed = parse_datetime(expires_at) if isinstance(expires_at, str) else None
        if parsed is None:
            raise BadRequest(f"Invalid input for field 'expires_at': {expires_at!r} is not a date and time.")
        if timezone.is_naive(parsed):
            parsed = parsed.replace(tzinfo=dt_timezone.utc)
        if parsed <= timezone.now():
            raise BadRequest("Invalid input for field 'expires_at': the expiration time is in the past.")
        expires_at = parsed
    secret = data.get("secret") or new_app_cred_secret()
    cred = ApplicationCredential(name=data["name"], description=data.get("description") or "", user=user,
                                 project_id=token.project_id, secret_hash=password_hash(_secret_digest(secret)),
                                 expires_at=expires_at, unrestricted=bool(data.get("unrestricted")))
    if ApplicationCredential.objects.filter(user=user, name=cred.name).exists():
        raise Conflict(f"Conflict occurred attempting to store application_credential - Duplicate entry found "
                       f"with name {cred.name}.")
    _save(cred, "application_credential")
    cred.roles.set(roles)
    rules = []
    for rule in data.get("access_rules") or []:
        if rule.get("id") and set(rule) == {"id"}:
            obj = AccessRule.objects.filter(id=rule["id"], user=user).first()
            if obj is None:
                raise NotFound(f"Could not find access rule: {rule['id']}.")
        else:
            obj, _ = AccessRule.objects.get_or_create(user=user, service=rule["service"], path=rule["path"],
                                                      method=rule["method"])
        rules.append(obj)
    cred.access_rules.set(rules)
    audit("created.application_credential", "application_credential", cred.id, token)
    cred.secret = secret  # shown once, in the create response
    return cred


@transaction.atomic
def application_credential_delete(*, token, cred):
    _forbid_restricted_app_cred(token)
    pk = cred.pk
    cred.delete()
    revoke(application_credential_id=pk)
    _on_commit_flush()
    audit("deleted.application_credential", "application_credential", pk, token)


@transaction.atomic
def access_rule_delete(*, token, rule):
    if rule.application_credentials.exists():
        raise Forbidden(f"Cannot delete access rule {rule.id}: an application credential still uses it.")
    pk = rule.pk
    rule.delete()
    audit("deleted.access_rule", "access_rule", pk, token)


# ---------------------------------------------------------------- credentials (generic and EC2)

EC2 = "ec2"


def hash_access_key(access):
    return hashlib.sha256(access.encode()).hexdigest()


def credential_blob(cred):
    try:
        return credential_keys.decrypt(cred.encrypted_blob, cred.key_hash)
    except credential_keys.CredentialKeyMismatch as e:
        log.error("credential %s: %s", cred.id, e)
        raise


def _ec2_blob(blob):
    try:
        data = json.loads(blob)
    except (TypeError, ValueError):
        raise BadRequest("Invalid blob in credential: an ec2 credential's blob must be JSON.")
    if not isinstance(data, dict) or not isinstance(data.get("access"), str) or not data["access"]:
        raise BadRequest("Invalid blob in credential: an ec2 credential's blob needs an access key.")
    return data


@transaction.atomic
def credential_create(*, actor, data):
    user = User.objects.filter(id=data["user_id"]).first()
    if user is None:
        raise BadRequest(f"Could not find user: {data['user_id']}.")
    project_id = data.get("project_id")
    if project_id and not Project.objects.filter(id=project_id).exists():
        raise BadRequest(f"Could not find project: {project_id}.")
    cred_id = None
    if data["type"] == EC2:
        blob = _ec2_blob(data["blob"])
        if not project_id:
            raise BadRequest("Invalid input for field 'project_id': an ec2 credential needs a project_id.")
        cred_id = hash_access_key(blob["access"])
    ciphertext, key_hash = credential_keys.encrypt(data["blob"])
    cred = Credential(user=user, project_id=project_id, type=data["type"], encrypted_blob=ciphertext,
                      key_hash=key_hash, extra=data.get("extra") or {})
    if cred_id:
        if Credential.objects.filter(id=cred_id).exists():
            raise Conflict("Conflict occurred attempting to store credential - Duplicate ID, "
                           f"{cred_id}.")
        cred.id = cred_id
    _save(cred, "credential")
    audit("created.credential", "credential", cred.id, actor)
    return cred


@transaction.atomic
def credential_update(*, actor, cred, data):
    if "type" in data:
        cred.type = data["type"]
    if "project_id" in data:
        if data["project_id"] and not Project.objects.filter(id=data["project_id"]).exists():
            raise BadRequest(f"Could not find project: {data['project_id']}.")
        cred.project_id = data["project_id"]
    if "user_id" in data:
        if not User.objects.filter(id=data["user_id"]).exists():
            raise BadRequest(f"Could not find user: {data['user_id']}.")
        cred.user_id = data["user_id"]
    blob = data.get("blob")
    if cred.type == EC2:
        access = _ec2_blob(blob if blob is not None else credential_blob(cred))["access"]
        if hash_access_key(access) != cred.id:
            raise BadRequest("Invalid blob in credential: the access key of an ec2 credential cannot change.")
        if not cred.project_id:
            raise BadRequest("Invalid input for field 'project_id': an ec2 credential needs a project_id.")
    if blob is not None:
        cred.encrypted_blob, cred.key_hash = credential_keys.encrypt(blob)
    cred.extra.update(data.get("extra") or {})
    _save(cred, "credential")
    audit("updated.credential", "credential", cred.id, actor)
    return cred


@transaction.atomic
def credential_delete(*, actor, cred):
    pk = cred.pk
    cred.delete()
    audit("deleted.credential", "credential", pk, actor)


def ec2_credential_create(*, token, user, project_id):
    _forbid_restricted_app_cred(token)
    if not isinstance(project_id, str) or not Project.objects.filter(id=project_id).exists():
        raise NotFound(f"Could not find project: {project_id}.")
    blob = {"access": uuid.uuid4().hex, "secret": uuid.uuid4().hex, "trust_id": None}
    if token.payload.app_cred_id:
        blob["app_cred_id"] = token.payload.app_cred_id
    return credential_create(actor=token, data={"user_id": user.id, "project_id": project_id, "type": EC2,
                                                "blob": json.dumps(blob)})


def ec2_token_issue(*, credentials):
    """POST /v3/ec2tokens: a project-scoped token for the owner of the access key, if the
    request signature (v2 or v4) was made with its secret."""
    if not isinstance(credentials, dict) or not isinstance(credentials.get("access"), str):
        raise Unauthorized("EC2 Signature not supplied")
    cred = Credential.objects.filter(id=hash_access_key(credentials["access"]), type=EC2).first()
    if cred is None:
        raise NotFound("EC2 access key not found.")
    blob = json.loads(credential_blob(cred))
    if not credentials.get("signature"):
        raise Unauthorized("EC2 signature not supplied.")
    candidates = [credentials]
    host = credentials.get("host") or ""
    if ":" in host:  # some clients sign without the port
        candidates.append(dict(credentials, host=host.rsplit(":", 1)[0]))
    ok = False
    for candidate in candidates:
        try:
            expected = ec2.signature(blob["secret"], candidate)
        except (ec2.SignatureError, TypeError, AttributeError) as e:
            raise Unauthorized(f"Invalid EC2 signature: {e}" if isinstance(e, ec2.SignatureError)
                               else "Invalid EC2 signature.")
        ok = ok or ec2.signatures_equal(credentials["signature"], expected)
    if not ok:
        raise Unauthorized("Invalid EC2 signature.")
    _ec2_check_timestamp(credentials)
    user = User.objects.select_related("domain").filter(id=cred.user_id).first()
    project = Project.objects.select_related("domain").filter(id=cred.project_id).first()
    if user is None or project is None or not user.enabled or not user.domain.enabled or not project.enabled:
        raise Unauthorized(AUTH_FAILED)
    now = time.time()
    payload = tokens.Payload(user_id=user.id, methods=["ec2credential"], issued_at=now,
                             expires_at=now + settings.MONOSTACK["identity"]["token_expiration"],
                             audit_ids=[tokens.new_audit_id()], project_id=project.id,
                             app_cred_id=blob.get("app_cred_id"))
    try:
        return token_validate(payload.encode(), unauthorized=True)
    except Unauthorized:
        raise Unauthorized("User not valid for project.")


EC2_AUTH_TTL = 15 * 60  # Keystone's [credential] auth_ttl, in seconds


def _ec2_check_timestamp(credentials):
    params, headers = credentials.get("params") or {}, credentials.get("headers") or {}
    stamp = params.get("Timestamp") or headers.get("X-Amz-Date") or params.get("X-Amz-Date")
    if not stamp:
        return
    from datetime import datetime

    parsed = None
    for fmt in ("%Y%m%dT%H%M%SZ", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%S"):
        try:
            parsed = datetime.strptime(stamp, fmt).replace(tzinfo=dt_timezone.utc)
            break
        except (TypeError, ValueError):
            continue
    if parsed is None:
        raise Unauthorized(f"Credential timestamp is invalid: {stamp}")
    if timezone.now() > parsed + timedelta(seconds=EC2_AUTH_TTL):
        raise Unauthorized("Credential is expired")


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
def region_update(*, actor, region, data):
    if "parent_region_id" in data:
        parent_id = data["parent_region_id"]
        if parent_id:
            parent = Region.objects.filter(id=parent_id).first()
            if parent is None:
                raise BadRequest(f"Could not find region: {parent_id}.")
            ancestor = parent
            while ancestor is not None:
                if ancestor.id == region.id:
                    raise BadRequest(f"The specified parent region {parent_id} would cause a circular region "
                                     "hierarchy.")
                ancestor = ancestor.parent_region
        region.parent_region_id = parent_id or None
    if "description" in data:
        region.description = data["description"] or ""
    _save(region, "region")
    _on_commit_flush()
    audit("updated.region", "region", region.id, actor)
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
    audit("updated.service", "service", service.id, actor)
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
        endpoint.service = Service.objects.filter(id=data["service_id"]).first()
        if endpoint.service is None:
            raise BadRequest(f"Could not find service: {data['service_id']}.")
    if "region" in data and "region_id" not in data:
        data = dict(data, region_id=data["region"])
    if "region_id" in data:
        endpoint.region = Region.objects.get_or_create(id=data["region_id"])[0] if data["region_id"] else None
    for key in ("interface", "url", "enabled"):
        if key in data:
            setattr(endpoint, key, data[key])
    _save(endpoint, "endpoint")
    _on_commit_flush()
    audit("updated.endpoint", "endpoint", endpoint.id, actor)
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


def revocations_prune():
    """Drop "not before" events no live token can match any more (beat runs this hourly)."""
    deleted, _ = RevocationEvent.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted


@transaction.atomic
def service_user_ensure(*, name, password):
    """A service account (a host's own credential, like Nova's `nova` user): a user in the
    Default domain with the `service` role on the `service` project, password (re)set."""
    domain = Domain.objects.get(id="default")
    project, _ = Project.objects.get_or_create(name="service", domain=domain,
                                               defaults={"description": "Service accounts of the cloud's hosts"})
    role, _ = Role.objects.get_or_create(name="service", domain=None)
    user, created = User.objects.get_or_create(name=name, domain=domain)
    if created or not password_check(password, user.password_hash):
        user.password_hash = password_hash(password)
        user.password_created_at = timezone.now()
    user.enabled = True
    user.default_project_id = project.id
    # A machine account: never locked out or forced to change its password.
    user.options = dict(user.options, ignore_lockout_failure_attempts=True, ignore_password_expiry=True,
                        ignore_change_password_upon_first_use=True)
    user.save()
    RA.objects.get_or_create(type=RA.USER_PROJECT, actor_id=user.id, target_id=project.id, role=role,
                             inherited=False)
    _on_commit_flush()
    return user, project
