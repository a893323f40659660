"""Django admin for identity rows. Secrets (password hashes) are never shown or editable here;
changes that must revoke tokens go through the API, which calls the services."""
from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin

from .models import (AccessRule, ApplicationCredential, AuditRecord, Credential, Domain, Endpoint, Group,
                     ImpliedRole, Project, Region, Role, RoleAssignment, Service, User)


@admin.register(Domain)
class DomainAdmin(ReadOnlyAdmin):
    list_display = ("name", "id", "enabled", "created_at")
    search_fields = ("name", "id")


@admin.register(Project)
class ProjectAdmin(ReadOnlyAdmin):
    list_display = ("name", "id", "domain", "enabled", "created_at")
    list_filter = ("enabled", "domain")
    search_fields = ("name", "id")


@admin.register(User)
class UserAdmin(ReadOnlyAdmin):
    list_display = ("name", "id", "domain", "enabled", "password_expires_at", "last_active_at")
    list_filter = ("enabled", "domain")
    search_fields = ("name", "id", "email")
    exclude = ("password_hash",)
    readonly_fields = ("failed_auth_count", "failed_auth_at", "password_created_at")


@admin.register(Group)
class GroupAdmin(ReadOnlyAdmin):
    list_display = ("name", "id", "domain", "member_count")
    list_filter = ("domain",)
    search_fields = ("name", "id")
    filter_horizontal = ("users",)

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).annotate(_members=Count("users"))

    @admin.display(description="members", ordering="_members")
    def member_count(self, obj):
        return obj._members


@admin.register(ImpliedRole)
class ImpliedRoleAdmin(ReadOnlyAdmin):
    list_display = ("prior_role", "implied_role")
    list_select_related = ("prior_role", "implied_role")


@admin.register(ApplicationCredential)
class ApplicationCredentialAdmin(ReadOnlyAdmin):
    """The secret is only ever a hash here, and the hash is not shown either."""

    list_display = ("name", "id", "user", "project_id", "unrestricted", "expires_at", "created_at")
    list_filter = ("unrestricted",)
    list_select_related = ("user",)
    search_fields = ("name", "id", "user__name", "project_id")
    exclude = ("secret_hash",)


@admin.register(AccessRule)
class AccessRuleAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "service", "method", "path")
    list_select_related = ("user",)


@admin.register(Credential)
class CredentialAdmin(ReadOnlyAdmin):
    """Blobs (EC2 secrets among them) stay encrypted and out of sight."""

    list_display = ("id", "type", "user", "project_id", "created_at")
    list_filter = ("type",)
    list_select_related = ("user",)
    search_fields = ("id", "user__name", "project_id")
    exclude = ("encrypted_blob", "key_hash")


@admin.register(Role)
class RoleAdmin(ReadOnlyAdmin):
    list_display = ("name", "id", "domain")
    search_fields = ("name", "id")


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(ReadOnlyAdmin):
    list_display = ("type", "actor_id", "target_id", "role", "inherited")
    list_filter = ("type", "inherited")
    search_fields = ("actor_id", "target_id")


@admin.register(Region)
class RegionAdmin(ReadOnlyAdmin):
    list_display = ("id", "description", "parent_region")


@admin.register(Service)
class ServiceAdmin(ReadOnlyAdmin):
    list_display = ("type", "name", "id", "enabled")


@admin.register(Endpoint)
class EndpointAdmin(ReadOnlyAdmin):
    list_display = ("service", "interface", "region", "url", "enabled")


@admin.register(AuditRecord)
class AuditRecordAdmin(ReadOnlyAdmin):
    list_display = ("at", "action", "target_type", "target_id", "initiator_user_id", "request_id")
    list_filter = ("action",)
    search_fields = ("target_id", "initiator_user_id", "request_id")
