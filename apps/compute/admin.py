from django.contrib import admin

from .models import ComputeNode, Flavor, KeyPair, Server

admin.site.register(Flavor)
admin.site.register(KeyPair)
admin.site.register(ComputeNode)


@admin.register(Server)
class ServerAdmin(admin.ModelAdmin):
    list_display = ("name", "uuid", "project_id", "vm_state", "task_state", "host", "created_at")
    readonly_fields = ("vm_state", "task_state", "power_state", "host")
