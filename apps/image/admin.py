"""Django admin for images: browse, edit descriptive fields, delete through the service (so
the quota comes back and the data goes). Data, checksums and status are never edited here."""
from django.contrib import admin

from . import services
from .models import Image, ImageMember


class ImageMemberInline(admin.TabularInline):
    model = ImageMember
    extra = 0
    fields = ("member_id", "status", "created_at", "updated_at")
    readonly_fields = ("created_at", "updated_at")


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ("name", "id", "status", "visibility", "owner", "disk_format", "size", "protected",
                    "created_at")
    list_filter = ("status", "visibility", "disk_format", "container_format", "protected", "os_hidden")
    search_fields = ("name", "id", "owner", "checksum")
    date_hierarchy = "created_at"
    readonly_fields = ("id", "status", "size", "virtual_size", "checksum", "os_hash_algo", "os_hash_value",
                       "location", "staging_location", "quota_bytes", "created_at", "updated_at")
    fields = ("id", "name", "status", "visibility", "owner", "protected", "os_hidden", "disk_format",
              "container_format", "min_disk", "min_ram", "tags", "properties", "size", "virtual_size",
              "checksum", "os_hash_algo", "os_hash_value", "location", "staging_location", "quota_bytes",
              "created_at", "updated_at")
    inlines = [ImageMemberInline]
    actions = ["delete_through_service"]

    def has_add_permission(self, request):
        return False  # images are created with data, through the API

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_model(self, request, obj):
        services.image_purge(image=obj)

    @admin.action(description="Delete selected images (data and quota too)", permissions=["delete"])
    def delete_through_service(self, request, queryset):
        for image in queryset:
            services.image_purge(image=image)


@admin.register(ImageMember)
class ImageMemberAdmin(admin.ModelAdmin):
    list_display = ("image", "member_id", "status", "created_at", "updated_at")
    list_filter = ("status",)
    search_fields = ("member_id", "image__id", "image__name")
