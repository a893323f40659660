"""Mounted at /compute (cloud/urls.py): version documents, then /v2.1 (with and without a
project id in the path, as Nova's endpoints may carry one)."""
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt

from apps.core.api.versions import compute_version, compute_versions, version_view

from . import views

V = {"min_version": views.MIN_VERSION, "max_version": views.MAX_VERSION}

api = [
    path("flavors", views.FlavorsApi.as_view()),
    path("flavors/detail", views.FlavorsDetailApi.as_view()),
    path("flavors/<str:flavor_id>", views.FlavorApi.as_view()),
    path("flavors/<str:flavor_id>/os-flavor-access", views.FlavorAccessApi.as_view()),
    path("flavors/<str:flavor_id>/action", views.FlavorActionApi.as_view()),
    path("flavors/<str:flavor_id>/os-extra_specs", views.ExtraSpecsApi.as_view()),
    path("flavors/<str:flavor_id>/os-extra_specs/<str:key>", views.ExtraSpecApi.as_view()),
    path("os-keypairs", views.KeypairsApi.as_view()),
    path("os-keypairs/<str:name>", views.KeypairApi.as_view()),
    path("os-availability-zone", views.AvailabilityZonesApi.as_view()),
    path("os-availability-zone/detail", views.AvailabilityZonesDetailApi.as_view()),
    path("limits", views.LimitsApi.as_view()),
    path("os-quota-sets/<str:project_id>", views.QuotaSetApi.as_view()),
    path("os-quota-sets/<str:project_id>/detail", views.QuotaSetDetailApi.as_view()),
    path("os-quota-sets/<str:project_id>/defaults", views.QuotaSetDefaultsApi.as_view()),
    path("servers", views.ServersApi.as_view()),
    path("servers/detail", views.ServersDetailApi.as_view()),
    path("servers/<str:server_id>", views.ServerApi.as_view()),
    path("servers/<str:server_id>/action", views.ServerActionApi.as_view()),
    path("servers/<str:server_id>/ips", views.ServerIpsApi.as_view()),
    path("servers/<str:server_id>/ips/<str:network>", views.ServerIpsApi.as_view()),
]

urlpatterns = [
    path("", version_view(compute_versions, **V)),
    path("/", version_view(compute_versions, **V)),
    path("/v2.1", version_view(compute_version, **V)),
    path("/v2.1/", version_view(compute_version, **V)),
    path("/v2", version_view(compute_version, legacy_v2=True, **V)),
    path("/v2/", version_view(compute_version, legacy_v2=True, **V)),
    path("/host-data/images/<str:image_id>", views.host_image_data),
    re_path(r"^/v2\.1/(?P<project_id>[0-9a-f]{32})/", include(api)),
    path("/v2.1/", include(api)),
]
