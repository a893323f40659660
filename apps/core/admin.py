from django.contrib import admin, messages

from . import services
from .models import Action, Host


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by services: admin shows them, never edits them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Host)
class HostAdmin(ReadOnlyAdmin):
    list_display = ("hostname", "state", "disabled", "hypervisor_type", "cpus", "memory_mb", "disk_gb",
                    "last_heartbeat")
    list_filter = ("disabled", "hypervisor_type")
    search_fields = ("hostname",)
    actions = ("disable_hosts", "enable_hosts")

    def _set_disabled(self, request, queryset, disabled):
        for host in queryset:
            services.host_set_disabled(hostname=host.hostname, disabled=disabled)
        self.message_user(request, f"{queryset.count()} host(s) updated.", messages.SUCCESS)

    def has_operate_permission(self, request):
        return request.user.is_superuser

    @admin.action(description="Disable selected hosts (no new work)", permissions=["operate"])
    def disable_hosts(self, request, queryset):
        self._set_disabled(request, queryset, True)

    @admin.action(description="Enable selected hosts", permissions=["operate"])
    def enable_hosts(self, request, queryset):
        self._set_disabled(request, queryset, False)


@admin.register(Action)
class ActionAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "resource_type", "resource_id", "host", "generation", "status",
                    "request_id")
    list_filter = ("status", "kind", "host")
    search_fields = ("=id", "=resource_id", "=request_id", "=global_request_id", "=project_id")
    date_hierarchy = "created_at"
