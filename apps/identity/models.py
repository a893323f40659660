"""Keystone v3 rows. Ids are 32-char hex uuids as Keystone makes them ("default" for the Default domain)."""
import uuid

from django.db import models
from django.db.models import Q


def new_id():
    return uuid.uuid4().hex


class Domain(models.Model):
    id = models.CharField(primary_key=True, max_length=64, default=new_id)
    name = models.CharField(max_length=64, unique=True)
    description = models.TextField(blank=True, default="")
    enabled = models.BooleanField(default=True)
    extra = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.name


class Project(models.Model):
    id = models.CharField(primary_key=True, max_length=64, default=new_id)
    name = models.CharField(max_length=64)
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="projects")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    description = models.TextField(blank=True, default="")
    enabled = models.BooleanField(default=True)
    is_domain = models.BooleanField(default=False)
    tags = models.JSONField(default=list, blank=True)
    extra = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["domain", "name"], name="project_unique_name_in_domain")]

    def __str__(self):
        return self.name


class User(models.Model):
    id = models.CharField(primary_key=True, max_length=64, default=new_id)
    name = models.CharField(max_length=255)
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="users")
    enabled = models.BooleanField(default=True)
    password_hash = models.CharField(max_length=128, blank=True, default="")
    password_created_at = models.DateTimeField(null=True, blank=True)
    password_expires_at = models.DateTimeField(null=True, blank=True)
    default_project_id = models.CharField(max_length=64, null=True, blank=True)
    description = models.TextField(blank=True, default="")
    email = models.CharField(max_length=255, blank=True, default="")
    options = models.JSONField(default=dict, blank=True)
    extra = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_active_at = models.DateTimeField(null=True, blank=True)
    # [security_compliance]: failed logins in a row and when the last one was; whether the current
    # password was set by its owner (minimum_password_age applies only then).
    failed_auth_count = models.IntegerField(default=0)
    failed_auth_at = models.DateTimeField(null=True, blank=True)
    password_self_service = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["domain", "name"], name="user_unique_name_in_domain")]

    def __str__(self):
        return self.name


class Role(models.Model):
    id = models.CharField(primary_key=True, max_length=64, default=new_id)
    name = models.CharField(max_length=255)
    # Null for global roles; a domain-specific role never appears in tokens by itself.
    domain = models.ForeignKey(Domain, null=True, blank=True, on_delete=models.CASCADE, related_name="roles")
    description = models.TextField(blank=True, default="")
    options = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["name"], condition=Q(domain__isnull=True), name="role_unique_global_name"),
            models.UniqueConstraint(fields=["domain", "name"], name="role_unique_name_in_domain"),
        ]

    def __str__(self):
        return self.name


class ImpliedRole(models.Model):
    prior_role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="implies")
    implied_role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="implied_by")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["prior_role", "implied_role"], name="implied_role_unique")]


class Group(models.Model):
    id = models.CharField(primary_key=True, max_length=64, default=new_id)
    name = models.CharField(max_length=64)
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="groups")
    description = models.TextField(blank=True, default="")
    users = models.ManyToManyField(User, related_name="groups", blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["domain", "name"], name="group_unique_name_in_domain")]


class RoleAssignment(models.Model):
    """One grant of a role to an actor (user or group) on a target (project, domain or the system)."""

    USER_PROJECT, GROUP_PROJECT = "UserProject", "GroupProject"
    USER_DOMAIN, GROUP_DOMAIN = "UserDomain", "GroupDomain"
    USER_SYSTEM, GROUP_SYSTEM = "UserSystem", "GroupSystem"
    TYPES = [(t, t) for t in (USER_PROJECT, GROUP_PROJECT, USER_DOMAIN, GROUP_DOMAIN, USER_SYSTEM, GROUP_SYSTEM)]
    SYSTEM_TARGET = "system"

    type = models.CharField(max_length=16, choices=TYPES)
    actor_id = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="assignments")
    inherited = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["type", "actor_id", "target_id", "role", "inherited"],
                                               name="assignment_unique")]
        indexes = [models.Index(fields=["actor_id", "target_id"]), models.Index(fields=["target_id"])]


class Region(models.Model):
    id = models.CharField(primary_key=True, max_length=255)
    description = models.TextField(blank=True, default="")
    parent_region = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    extra = models.JSONField(default=dict, blank=True)


class Service(models.Model):
    id = models.CharField(primary_key=True, max_length=64, default=new_id)
    type = models.CharField(max_length=255)
    name = models.CharField(max_length=255, blank=True, default="")
    description = models.TextField(blank=True, default="")
    enabled = models.BooleanField(default=True)
    extra = models.JSONField(default=dict, blank=True)


class Endpoint(models.Model):
    INTERFACES = [("public", "public"), ("internal", "internal"), ("admin", "admin")]

    id = models.CharField(primary_key=True, max_length=64, default=new_id)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="endpoints")
    interface = models.CharField(max_length=8, choices=INTERFACES)
    region = models.ForeignKey(Region, null=True, blank=True, on_delete=models.PROTECT, related_name="endpoints")
    url = models.TextField()
    enabled = models.BooleanField(default=True)
    extra = models.JSONField(default=dict, blank=True)


class RevocationEvent(models.Model):
    """A "not before" for tokens: every token matching all set fields and issued at or
    before ``revoked_at`` is refused (Keystone's revoke model, compared to the microsecond)."""

    user_id = models.CharField(max_length=64, null=True, blank=True)
    project_id = models.CharField(max_length=64, null=True, blank=True)
    domain_id = models.CharField(max_length=64, null=True, blank=True)
    audit_id = models.CharField(max_length=32, null=True, blank=True)
    audit_chain_id = models.CharField(max_length=32, null=True, blank=True)
    application_credential_id = models.CharField(max_length=64, null=True, blank=True)
    revoked_at = models.DateTimeField(db_index=True)
    expires_at = models.DateTimeField(db_index=True, help_text="After this no token it matches can still be valid.")


class AuditRecord(models.Model):
    """Who changed what in identity, with the request id that did it."""

    action = models.CharField(max_length=64)  # e.g. "created.user", "deleted.project"
    target_type = models.CharField(max_length=32)
    target_id = models.CharField(max_length=64)
    initiator_user_id = models.CharField(max_length=64, null=True, blank=True)
    initiator_project_id = models.CharField(max_length=64, null=True, blank=True)
    request_id = models.CharField(max_length=64, null=True, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    details = models.JSONField(default=dict, blank=True)


class PasswordHistory(models.Model):
    """Earlier password hashes of a user, newest last, for [security_compliance] unique_last_password_count."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="password_history")
    password_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]


class AccessRule(models.Model):
    """What an application credential may call: a service type, an HTTP method and a path (glob)."""

    id = models.CharField(primary_key=True, max_length=64, default=new_id)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="access_rules")
    service = models.CharField(max_length=64)
    path = models.CharField(max_length=128)
    method = models.CharField(max_length=16)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "service", "path", "method"],
                                               name="access_rule_unique")]


class ApplicationCredential(models.Model):
    """A user's delegation of (a subset of) their roles on one project to an application.
    Only a hash of the secret is kept; the secret is shown once, in the create response."""

    id = models.CharField(primary_key=True, max_length=64, default=new_id)
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="application_credentials")
    project_id = models.CharField(max_length=64, db_index=True)
    secret_hash = models.CharField(max_length=128)
    expires_at = models.DateTimeField(null=True, blank=True)
    unrestricted = models.BooleanField(default=False)
    roles = models.ManyToManyField(Role, related_name="application_credentials", blank=True)
    access_rules = models.ManyToManyField(AccessRule, related_name="application_credentials", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="app_cred_unique_name_per_user")]

    def __str__(self):
        return self.name


class Credential(models.Model):
    """Keystone's generic credential (``/v3/credentials``; EC2 key pairs are type "ec2", their id the
    sha256 of the access key). The blob is kept encrypted; ``key_hash`` names the key that did it."""

    id = models.CharField(primary_key=True, max_length=64, default=new_id)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="credentials")
    project_id = models.CharField(max_length=64, null=True, blank=True, db_index=True)
    type = models.CharField(max_length=255)
    encrypted_blob = models.TextField()
    key_hash = models.CharField(max_length=64)
    extra = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
