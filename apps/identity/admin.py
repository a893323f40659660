"""Django admin for identity rows. Secrets (password hashes) are never shown or editable here;
changes that must revoke tokens go through the API, which calls the services."""
from django.contrib import admin

from .models import AuditRecord, Domain, Endpoint, Group, Project, Region, Role, RoleAssignment, Service, User


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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


@admin.register(Group)
class GroupAdmin(ReadOnlyAdmin):
    list_display = ("name", "id", "domain")
    search_fields = ("name", "id")


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
