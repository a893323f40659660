"""Identity API policy, after Keystone's defaults (admin / manager / member / reader, system scope).
A project-scoped admin is an admin everywhere, as in Keystone without enforce_scope, which
is how clouds.yaml admins work. Any rule can be overridden in the [policy] config section."""

ADMIN = "rule:admin_required"
SYSTEM_READER = "rule:system_reader"
OWNER = "user_id:%(target.user.id)s"
CRED_OWNER = "user_id:%(target.credential.user_id)s"


def _domain_reader(path):
    return f"(role:reader and domain_id:%(target.{path})s)"


def _domain_manager(*paths):
    return "(role:manager and " + " and ".join(f"domain_id:%(target.{p})s" for p in paths) + ")"


READ_ANY = f"{ADMIN} or {SYSTEM_READER}"

RULES = {
    "admin_required": ("role:admin", "Cloud administrator."),
    "service_role": ("role:service", "Other services' own users."),
    "system_reader": ("role:reader and system_scope:all", "Read-only on the whole system."),
    "token_subject": ("user_id:%(target.token.user_id)s", "The user the token belongs to."),
    "domain_managed_target_role": ("'manager':%(target.role.name)s or 'member':%(target.role.name)s or "
                                   "'reader':%(target.role.name)s",
                                   "Roles a domain manager may grant and revoke (nothing above manager)."),

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

    "identity:check_grant": (f"{READ_ANY} or {_domain_reader('domain_id')}", "HEAD/GET a grant"),
    "identity:list_grants": (f"{READ_ANY} or {_domain_reader('domain_id')}", "GET .../roles"),
    "identity:create_grant": (f"{ADMIN} or ({_domain_manager('domain_id', 'actor_domain_id')} "
                              "and rule:domain_managed_target_role)", "PUT a grant"),
    "identity:revoke_grant": (f"{ADMIN} or ({_domain_manager('domain_id', 'actor_domain_id')} "
                              "and rule:domain_managed_target_role)", "DELETE a grant"),
    "identity:list_role_assignments": (f"{READ_ANY} or {_domain_reader('domain_id')}", "GET /v3/role_assignments"),
    "identity:list_role_assignments_for_tree": (f"{READ_ANY} or {_domain_reader('domain_id')} or "
                                                "(role:admin and project_id:%(target.project.id)s)",
                                                "GET /v3/role_assignments?include_subtree"),

    "identity:create_domain": (ADMIN, "POST /v3/domains"),
    "identity:update_domain": (ADMIN, "PATCH /v3/domains/{domain_id}"),
    "identity:delete_domain": (ADMIN, "DELETE /v3/domains/{domain_id}"),

    "identity:list_project_tags": (f"{READ_ANY} or {_domain_reader('project.domain_id')} "
                                   "or project_id:%(target.project.id)s", "GET /v3/projects/{project_id}/tags"),
    "identity:get_project_tag": (f"{READ_ANY} or {_domain_reader('project.domain_id')} "
                                 "or project_id:%(target.project.id)s", "GET /v3/projects/{project_id}/tags/{tag}"),
    "identity:update_project_tags": (f"{ADMIN} or {_domain_manager('project.domain_id')}",
                                     "PUT /v3/projects/{project_id}/tags"),
    "identity:create_project_tag": (f"{ADMIN} or {_domain_manager('project.domain_id')}",
                                    "PUT /v3/projects/{project_id}/tags/{tag}"),
    "identity:delete_project_tags": (f"{ADMIN} or {_domain_manager('project.domain_id')}",
                                     "DELETE /v3/projects/{project_id}/tags"),
    "identity:delete_project_tag": (f"{ADMIN} or {_domain_manager('project.domain_id')}",
                                    "DELETE /v3/projects/{project_id}/tags/{tag}"),

    "identity:list_groups_for_user": (f"{READ_ANY} or {_domain_reader('user.domain_id')} or {OWNER}",
                                      "GET /v3/users/{user_id}/groups"),
    "identity:get_group": (f"{READ_ANY} or {_domain_reader('group.domain_id')}", "GET /v3/groups/{group_id}"),
    "identity:list_groups": (f"{READ_ANY} or {_domain_reader('domain_id')}", "GET /v3/groups"),
    "identity:create_group": (f"{ADMIN} or {_domain_manager('group.domain_id')}", "POST /v3/groups"),
    "identity:update_group": (f"{ADMIN} or {_domain_manager('group.domain_id')}", "PATCH /v3/groups/{group_id}"),
    "identity:delete_group": (f"{ADMIN} or {_domain_manager('group.domain_id')}", "DELETE /v3/groups/{group_id}"),
    "identity:list_users_in_group": (f"{READ_ANY} or {_domain_reader('group.domain_id')}",
                                     "GET /v3/groups/{group_id}/users"),
    "identity:check_user_in_group": (f"{READ_ANY} or (role:reader and domain_id:%(target.group.domain_id)s and "
                                     "domain_id:%(target.user.domain_id)s)",
                                     "HEAD /v3/groups/{group_id}/users/{user_id}"),
    "identity:add_user_to_group": (f"{ADMIN} or {_domain_manager('group.domain_id', 'user.domain_id')}",
                                   "PUT /v3/groups/{group_id}/users/{user_id}"),
    "identity:remove_user_from_group": (f"{ADMIN} or {_domain_manager('group.domain_id', 'user.domain_id')}",
                                        "DELETE /v3/groups/{group_id}/users/{user_id}"),

    "identity:get_implied_role": (READ_ANY, "GET /v3/roles/{prior}/implies/{implied}"),
    "identity:check_implied_role": (READ_ANY, "HEAD /v3/roles/{prior}/implies/{implied}"),
    "identity:delete_implied_role": (ADMIN, "DELETE /v3/roles/{prior}/implies/{implied}"),
    "identity:list_role_inference_rules": (READ_ANY, "GET /v3/role_inferences"),
    "identity:get_domain_role": (f"{READ_ANY} or {_domain_reader('role.domain_id')}", "a domain-specific role"),
    "identity:list_domain_roles": (f"{READ_ANY} or {_domain_reader('domain_id')}", "GET /v3/roles?domain_id="),
    "identity:create_domain_role": (ADMIN, "POST /v3/roles with a domain_id"),
    "identity:update_domain_role": (ADMIN, "PATCH a domain-specific role"),
    "identity:delete_domain_role": (ADMIN, "DELETE a domain-specific role"),

    "identity:get_application_credential": (f"{READ_ANY} or {OWNER}",
                                            "GET /v3/users/{user_id}/application_credentials/{id}"),
    "identity:list_application_credentials": (f"{READ_ANY} or {OWNER}",
                                              "GET /v3/users/{user_id}/application_credentials"),
    "identity:create_application_credential": (OWNER, "POST /v3/users/{user_id}/application_credentials"),
    "identity:delete_application_credential": (f"{ADMIN} or {OWNER}",
                                               "DELETE /v3/users/{user_id}/application_credentials/{id}"),
    "identity:get_access_rule": (f"{READ_ANY} or {OWNER}", "GET /v3/users/{user_id}/access_rules/{id}"),
    "identity:list_access_rules": (f"{READ_ANY} or {OWNER}", "GET /v3/users/{user_id}/access_rules"),
    "identity:delete_access_rule": (f"{ADMIN} or {OWNER}", "DELETE /v3/users/{user_id}/access_rules/{id}"),

    "identity:get_credential": (f"{READ_ANY} or {CRED_OWNER}", "GET /v3/credentials/{credential_id}"),
    "identity:list_credentials": (f"{READ_ANY} or {CRED_OWNER}", "GET /v3/credentials"),
    "identity:create_credential": (f"{ADMIN} or {CRED_OWNER}", "POST /v3/credentials"),
    "identity:update_credential": (f"{ADMIN} or {CRED_OWNER}", "PATCH /v3/credentials/{credential_id}"),
    "identity:delete_credential": (f"{ADMIN} or {CRED_OWNER}", "DELETE /v3/credentials/{credential_id}"),
    "identity:ec2_get_credential": (f"{READ_ANY} or {CRED_OWNER}",
                                    "GET /v3/users/{user_id}/credentials/OS-EC2/{access}"),
    "identity:ec2_list_credentials": (f"{READ_ANY} or {OWNER}", "GET /v3/users/{user_id}/credentials/OS-EC2"),
    "identity:ec2_create_credential": (f"{ADMIN} or (role:member and {CRED_OWNER})",
                                       "POST /v3/users/{user_id}/credentials/OS-EC2"),
    "identity:ec2_delete_credential": (f"{ADMIN} or (role:member and {CRED_OWNER})",
                                       "DELETE /v3/users/{user_id}/credentials/OS-EC2/{access}"),
    "identity:ec2tokens_validate": ("", "POST /v3/ec2tokens (the signature is the credential)"),

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
