"""Identity API policy, after Keystone's defaults (admin / manager / member / reader, system scope).
A project-scoped admin is an admin everywhere, as in Keystone without enforce_scope, which
is how clouds.yaml admins work. Any rule can be overridden in the [policy] config section."""

ADMIN = "rule:admin_required"
SYSTEM_READER = "rule:system_reader"

RULES = {
    "admin_required": ("role:admin", "Cloud administrator."),
    "service_role": ("role:service", "Other services' own users."),
    "system_reader": ("role:reader and system_scope:all", "Read-only on the whole system."),
    "token_subject": ("user_id:%(target.token.user_id)s", "The user the token belongs to."),

    "identity:validate_token": (f"{ADMIN} or rule:service_role or {SYSTEM_READER} or rule:token_subject",
                                "GET/HEAD /v3/auth/tokens"),
    "identity:revoke_token": (f"{ADMIN} or rule:service_role or rule:token_subject", "DELETE /v3/auth/tokens"),

    "identity:get_domain": (f"{ADMIN} or {SYSTEM_READER} or domain_id:%(target.domain.id)s "
                            "or project_domain_id:%(target.domain.id)s", "GET /v3/domains/{domain_id}"),
    "identity:list_domains": (f"{ADMIN} or {SYSTEM_READER}", "GET /v3/domains"),

    "identity:get_project": (f"{ADMIN} or {SYSTEM_READER} or (role:reader and domain_id:%(target.project.domain_id)s) "
                             "or project_id:%(target.project.id)s", "GET /v3/projects/{project_id}"),
    "identity:list_projects": (f"{ADMIN} or {SYSTEM_READER} or (role:reader and domain_id:%(target.domain_id)s)",
                               "GET /v3/projects"),
    "identity:list_user_projects": (f"{ADMIN} or {SYSTEM_READER} or (role:reader and "
                                    "domain_id:%(target.user.domain_id)s) or user_id:%(target.user.id)s",
                                    "GET /v3/users/{user_id}/projects"),
    "identity:create_project": (f"{ADMIN} or (role:manager and domain_id:%(target.project.domain_id)s)",
                                "POST /v3/projects"),
    "identity:update_project": (f"{ADMIN} or (role:manager and domain_id:%(target.project.domain_id)s)",
                                "PATCH /v3/projects/{project_id}"),
    "identity:delete_project": (f"{ADMIN} or (role:manager and domain_id:%(target.project.domain_id)s)",
                                "DELETE /v3/projects/{project_id}"),

    "identity:get_user": (f"{ADMIN} or {SYSTEM_READER} or (role:reader and domain_id:%(target.user.domain_id)s) "
                          "or user_id:%(target.user.id)s", "GET /v3/users/{user_id}"),
    "identity:list_users": (f"{ADMIN} or {SYSTEM_READER} or (role:reader and domain_id:%(target.domain_id)s)",
                            "GET /v3/users"),
    "identity:create_user": (f"{ADMIN} or (role:manager and domain_id:%(target.user.domain_id)s)", "POST /v3/users"),
    "identity:update_user": (f"{ADMIN} or (role:manager and domain_id:%(target.user.domain_id)s)",
                             "PATCH /v3/users/{user_id}"),
    "identity:delete_user": (f"{ADMIN} or (role:manager and domain_id:%(target.user.domain_id)s)",
                             "DELETE /v3/users/{user_id}"),

    "identity:get_role": (f"{ADMIN} or {SYSTEM_READER} or role:manager", "GET /v3/roles/{role_id}"),
    "identity:list_roles": (f"{ADMIN} or {SYSTEM_READER} or role:manager", "GET /v3/roles"),
    "identity:create_role": (ADMIN, "POST /v3/roles"),
    "identity:update_role": (ADMIN, "PATCH /v3/roles/{role_id}"),
    "identity:delete_role": (ADMIN, "DELETE /v3/roles/{role_id}"),
    "identity:list_implied_roles": (f"{ADMIN} or {SYSTEM_READER}", "GET /v3/roles/{prior}/implies"),
    "identity:create_implied_role": (ADMIN, "PUT /v3/roles/{prior}/implies/{implied}"),

    "identity:check_grant": (f"{ADMIN} or {SYSTEM_READER} or (role:reader and domain_id:%(target.domain_id)s)",
                             "HEAD/GET a grant"),
    "identity:list_grants": (f"{ADMIN} or {SYSTEM_READER} or (role:reader and domain_id:%(target.domain_id)s)",
                             "GET .../roles"),
    "identity:create_grant": (f"{ADMIN} or (role:manager and domain_id:%(target.domain_id)s)", "PUT a grant"),
    "identity:revoke_grant": (f"{ADMIN} or (role:manager and domain_id:%(target.domain_id)s)", "DELETE a grant"),
    "identity:list_role_assignments": (f"{ADMIN} or {SYSTEM_READER} or "
                                       "(role:reader and domain_id:%(target.domain_id)s)", "GET /v3/role_assignments"),

    "identity:get_region": ("", "GET /v3/regions/{region_id}"),
    "identity:list_regions": ("", "GET /v3/regions"),
    "identity:create_region": (ADMIN, "POST /v3/regions"),
    "identity:update_region": (ADMIN, "PATCH /v3/regions/{region_id}"),
    "identity:delete_region": (ADMIN, "DELETE /v3/regions/{region_id}"),
    "identity:get_service": (f"{ADMIN} or {SYSTEM_READER}", "GET /v3/services/{service_id}"),
    "identity:list_services": (f"{ADMIN} or {SYSTEM_READER}", "GET /v3/services"),
    "identity:create_service": (ADMIN, "POST /v3/services"),
    "identity:update_service": (ADMIN, "PATCH /v3/services/{service_id}"),
    "identity:delete_service": (ADMIN, "DELETE /v3/services/{service_id}"),
    "identity:get_endpoint": (f"{ADMIN} or {SYSTEM_READER}", "GET /v3/endpoints/{endpoint_id}"),
    "identity:list_endpoints": (f"{ADMIN} or {SYSTEM_READER}", "GET /v3/endpoints"),
    "identity:create_endpoint": (ADMIN, "POST /v3/endpoints"),
    "identity:update_endpoint": (ADMIN, "PATCH /v3/endpoints/{endpoint_id}"),
    "identity:delete_endpoint": (ADMIN, "DELETE /v3/endpoints/{endpoint_id}"),
}
