"""Compute's policy rules, with Nova's names and defaults (secure RBAC)."""
from apps.core import policy

ADMIN = "rule:compute:context_is_admin"
MEMBER = "rule:compute:project_member_or_admin"
READER = "rule:compute:project_reader_or_admin"
ANY_READER = "role:reader or role:admin"

RULES = {
    "compute:context_is_admin": "role:admin",
    "compute:project_member_or_admin": "(role:member and project_id:%(project_id)s) or role:admin",
    "compute:project_reader_or_admin": "(role:reader and project_id:%(project_id)s) or role:admin",
    "compute:user_or_admin": "user_id:%(user_id)s or role:admin",
    "os_compute_api:servers:index": READER,
    "os_compute_api:servers:index:get_all_tenants": ADMIN,
    "os_compute_api:servers:detail": READER,
    "os_compute_api:servers:detail:get_all_tenants": ADMIN,
    "os_compute_api:servers:show": READER,
    "os_compute_api:servers:create": MEMBER,
    "os_compute_api:servers:create:forced_host": ADMIN,
    "os_compute_api:servers:update": MEMBER,
    "os_compute_api:servers:delete": MEMBER,
    "os_compute_api:os-deferred-delete:force": MEMBER,
    "os_compute_api:servers:reboot": MEMBER,
    "os_compute_api:servers:start": MEMBER,
    "os_compute_api:servers:stop": MEMBER,
    "os_compute_api:os-console-output": MEMBER,
    "os_compute_api:ips:index": READER,
    "os_compute_api:ips:show": READER,
    "os_compute_api:os-extended-server-attributes": ADMIN,
    "os_compute_api:os-flavor-manage:create": ADMIN,
    "os_compute_api:os-flavor-manage:update": ADMIN,
    "os_compute_api:os-flavor-manage:delete": ADMIN,
    "os_compute_api:os-flavor-access": ADMIN,
    "os_compute_api:os-flavor-access:add_tenant_access": ADMIN,
    "os_compute_api:os-flavor-access:remove_tenant_access": ADMIN,
    "os_compute_api:os-flavor-extra-specs:index": ANY_READER,
    "os_compute_api:os-flavor-extra-specs:show": ANY_READER,
    "os_compute_api:os-flavor-extra-specs:create": ADMIN,
    "os_compute_api:os-flavor-extra-specs:update": ADMIN,
    "os_compute_api:os-flavor-extra-specs:delete": ADMIN,
    "os_compute_api:os-keypairs:index": "rule:compute:user_or_admin",
    "os_compute_api:os-keypairs:show": "rule:compute:user_or_admin",
    "os_compute_api:os-keypairs:create": "rule:compute:user_or_admin",
    "os_compute_api:os-keypairs:delete": "rule:compute:user_or_admin",
    "os_compute_api:os-availability-zone:list": ANY_READER,
    "os_compute_api:os-availability-zone:detail": ADMIN,
    "os_compute_api:limits": "@",
    "os_compute_api:limits:other_project": ADMIN,
    "os_compute_api:os-quota-sets:show": READER,
    "os_compute_api:os-quota-sets:update": ADMIN,
    "os_compute_api:os-quota-sets:delete": ADMIN,
    "os_compute_api:os-quota-sets:defaults": "@",
}

policy.register_rules(RULES)


def authorize(request_or_creds, rule, target=None, *, do_raise=True):
    creds = request_or_creds if isinstance(request_or_creds, dict) else request_or_creds.credentials()
    return policy.authorize(rule, creds, target or {}, do_raise=do_raise, message=policy.NOVA_MESSAGE)


def is_admin(token):
    return authorize(token, "compute:context_is_admin", do_raise=False)
