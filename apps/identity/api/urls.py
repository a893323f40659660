from django.urls import path, re_path

from . import views as v

_ID = r"[^/]+"

urlpatterns = [
    re_path(r"^/?$", v.VersionsView.as_view()),
    re_path(r"^/v3/?$", v.V3View.as_view()),
    path("/v3/auth/tokens", v.AuthTokensView.as_view()),
    path("/v3/auth/catalog", v.AuthCatalogView.as_view()),
    path("/v3/auth/projects", v.AuthProjectsView.as_view()),
    path("/v3/auth/domains", v.AuthDomainsView.as_view()),
    path("/v3/auth/system", v.AuthSystemView.as_view()),
    path("/v3/ec2tokens", v.Ec2TokensView.as_view()),
    path("/v3/domains", v.DomainsView.as_view()),
    path("/v3/domains/<str:domain_id>", v.DomainView.as_view()),
    path("/v3/projects", v.ProjectsView.as_view()),
    path("/v3/projects/<str:project_id>", v.ProjectView.as_view()),
    path("/v3/projects/<str:project_id>/tags", v.ProjectTagsView.as_view()),
    path("/v3/projects/<str:project_id>/tags/<str:tag>", v.ProjectTagView.as_view()),
    path("/v3/users", v.UsersView.as_view()),
    path("/v3/users/<str:user_id>", v.UserView.as_view()),
    path("/v3/users/<str:user_id>/password", v.UserPasswordView.as_view()),
    path("/v3/users/<str:user_id>/projects", v.UserProjectsView.as_view()),
    path("/v3/users/<str:user_id>/groups", v.UserGroupsView.as_view()),
    path("/v3/users/<str:user_id>/application_credentials", v.ApplicationCredentialsView.as_view()),
    path("/v3/users/<str:user_id>/application_credentials/<str:cred_id>", v.ApplicationCredentialView.as_view()),
    path("/v3/users/<str:user_id>/access_rules", v.AccessRulesView.as_view()),
    path("/v3/users/<str:user_id>/access_rules/<str:rule_id>", v.AccessRuleView.as_view()),
    path("/v3/users/<str:user_id>/credentials/OS-EC2", v.Ec2CredentialsView.as_view()),
    path("/v3/users/<str:user_id>/credentials/OS-EC2/<str:access>", v.Ec2CredentialView.as_view()),
    path("/v3/groups", v.GroupsView.as_view()),
    path("/v3/groups/<str:group_id>", v.GroupView.as_view()),
    path("/v3/groups/<str:group_id>/users", v.GroupUsersView.as_view()),
    path("/v3/groups/<str:group_id>/users/<str:user_id>", v.GroupUserView.as_view()),
    path("/v3/roles", v.RolesView.as_view()),
    path("/v3/roles/<str:role_id>", v.RoleView.as_view()),
    path("/v3/roles/<str:prior_id>/implies", v.ImpliedRolesView.as_view()),
    path("/v3/roles/<str:prior_id>/implies/<str:implied_id>", v.ImpliedRoleView.as_view()),
    path("/v3/role_inferences", v.RoleInferencesView.as_view()),
    re_path(rf"^/v3/(?P<target_kind>projects|domains)/(?P<target_id>{_ID})/(?P<actor_kind>users|groups)/"
            rf"(?P<actor_id>{_ID})/roles(?:/(?P<role_id>{_ID}))?$", v.GrantView.as_view()),
    re_path(rf"^/v3/(?P<target_kind>system)/(?P<actor_kind>users|groups)/(?P<actor_id>{_ID})/roles"
            rf"(?:/(?P<role_id>{_ID}))?$", v.GrantView.as_view()),
    re_path(rf"^/v3/OS-INHERIT/(?P<target_kind>projects|domains)/(?P<target_id>{_ID})/(?P<actor_kind>users|groups)/"
            rf"(?P<actor_id>{_ID})/roles(?:/(?P<role_id>{_ID}))?/inherited_to_projects$",
            v.InheritedGrantView.as_view()),
    path("/v3/role_assignments", v.RoleAssignmentsView.as_view()),
    path("/v3/regions", v.RegionsView.as_view()),
    path("/v3/regions/<str:pk>", v.RegionView.as_view()),
    path("/v3/services", v.ServicesView.as_view()),
    path("/v3/services/<str:pk>", v.ServiceView.as_view()),
    path("/v3/endpoints", v.EndpointsView.as_view()),
    path("/v3/endpoints/<str:pk>", v.EndpointView.as_view()),
    path("/v3/credentials", v.CredentialsView.as_view()),
    path("/v3/credentials/<str:cred_id>", v.CredentialView.as_view()),
]
