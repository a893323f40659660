from django.urls import path, re_path

from . import views as v

urlpatterns = [
    re_path(r"^/?$", v.VersionsView.as_view()),
    re_path(r"^/v3/?$", v.V3View.as_view()),
    path("/v3/auth/tokens", v.AuthTokensView.as_view()),
    path("/v3/auth/catalog", v.AuthCatalogView.as_view()),
    path("/v3/auth/projects", v.AuthProjectsView.as_view()),
    path("/v3/auth/domains", v.AuthDomainsView.as_view()),
    path("/v3/auth/system", v.AuthSystemView.as_view()),
    path("/v3/domains", v.DomainsView.as_view()),
    path("/v3/domains/<str:domain_id>", v.DomainView.as_view()),
    path("/v3/projects", v.ProjectsView.as_view()),
    path("/v3/projects/<str:project_id>", v.ProjectView.as_view()),
    path("/v3/users", v.UsersView.as_view()),
    path("/v3/users/<str:user_id>", v.UserView.as_view()),
    path("/v3/users/<str:user_id>/projects", v.UserProjectsView.as_view()),
    path("/v3/roles", v.RolesView.as_view()),
    path("/v3/roles/<str:role_id>", v.RoleView.as_view()),
    re_path(r"^/v3/(?P<target_kind>projects|domains)/(?P<target_id>[^/]+)/(?P<actor_kind>users|groups)/"
            r"(?P<actor_id>[^/]+)/roles(?:/(?P<role_id>[^/]+))?$", v.GrantView.as_view()),
    re_path(r"^/v3/(?P<target_kind>system)/(?P<actor_kind>users|groups)/(?P<actor_id>[^/]+)/roles"
            r"(?:/(?P<role_id>[^/]+))?$", v.GrantView.as_view()),
    path("/v3/role_assignments", v.RoleAssignmentsView.as_view()),
    path("/v3/regions", v.RegionsView.as_view()),
    path("/v3/regions/<str:pk>", v.RegionView.as_view()),
    path("/v3/services", v.ServicesView.as_view()),
    path("/v3/services/<str:pk>", v.ServiceView.as_view()),
    path("/v3/endpoints", v.EndpointsView.as_view()),
    path("/v3/endpoints/<str:pk>", v.EndpointView.as_view()),
]
