from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("identity", include("apps.identity.api.urls")),
    path("network", include("apps.network.api.urls")),
    path("image", include("apps.image.api.urls")),
    path("compute", include("apps.compute.api.urls")),
    path("metadata", include("apps.compute.api.metadata_urls")),
    path("admin/", admin.site.urls),
    path("", include("apps.core.urls")),
]

handler404 = "apps.core.api.errors.handler404"
handler500 = "apps.core.api.errors.handler500"
