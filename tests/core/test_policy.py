import logging

import pytest
from django.conf import settings
from django.test import override_settings

from apps.core import exceptions as exc
from apps.core import policy
from apps.core.policy import (
    PolicyNotRegistered, PolicySyntaxError, RuleDefault, authorize, check, check_rules,
    register_rules, registered_rules,
)

ADMIN = {"user_id": "u-admin", "project_id": "p1", "domain_id": None, "roles": ["admin", "member", "reader"]}
MEMBER = {"user_id": "u1", "project_id": "p1", "project_domain_id": "d1", "roles": ["member", "reader"]}
READER = {"user_id": "u2", "project_id": "p2", "roles": ["reader"]}
SYSTEM_READER = {"user_id": "u3", "project_id": None, "system_scope": "all", "roles": ["reader"]}
DOMAIN_MANAGER = {"user_id": "u4", "domain_id": "d1", "roles": ["manager", "member", "reader"]}


@pytest.fixture(autouse=True)
def isolated_registry():
    saved = dict(policy._registry)
    yield
    policy._registry.clear()
    policy._registry.update(saved)
    policy.reset_cache()


def _override(rules):
    return override_settings(MONOSTACK={**settings.MONOSTACK, "policy": rules})


# --- the language -----------------------------------------------------------------------

@pytest.mark.parametrize("check_str,creds,expected", [
    ("", READER, True),
    ("@", READER, True),
    ("!", ADMIN, False),
    ("role:admin", ADMIN, True),
    ("role:admin", MEMBER, False),
    ("role:ADMIN", ADMIN, True),  # roles compare case-insensitively
    ("role:member", {"roles": ["Member"]}, True),
    ("role:member", {}, False),
    ("not role:admin", MEMBER, True),
    ("not role:admin", ADMIN, False),
    ("not not role:admin", ADMIN, True),
    ("role:admin or role:reader", READER, True),
    ("role:admin and role:reader", READER, False),
    ("role:admin AND role:member", ADMIN, True),
    ("role:admin or role:member and role:nope", MEMBER, False),  # and binds tighter
    ("role:member and role:nope or role:reader", MEMBER, True),
    ("(role:admin or role:member) and role:nope", MEMBER, False),
    ("((role:admin)) or ((role:member and (role:reader)))", MEMBER, True),
    ("not (role:admin or role:member)", READER, True),
    ("system_scope:all", SYSTEM_READER, True),
    ("system_scope:all", MEMBER, False),
    ("role:reader and system_scope:all", SYSTEM_READER, True),
    ("is_admin_project:True", {"is_admin_project": True}, True),
    ("is_admin_project:True", {"is_admin_project": False}, False),
    ("token.is_admin_project:True", {"token": {"is_admin_project": True}}, True),
    ("token.roles.name:admin", {"token": {"roles": [{"name": "member"}, {"name": "admin"}]}}, True),
    ("token.roles.name:admin", {"token": {"roles": [{"name": "member"}]}}, False),
    ("project_id:p1", MEMBER, True),
    ("project_id:p1", READER, False),
])
def test_check_strings(check_str, creds, expected):
    assert check(check_str, creds) is expected


@pytest.mark.parametrize("check_str,target,expected", [
    ("project_id:%(project_id)s", {"project_id": "p1"}, True),
    ("project_id:%(project_id)s", {"project_id": "p2"}, False),
    ("project_id:%(project_id)s", {}, False),  # missing target path: the check fails
    ("project_id:%(target.project.id)s", {"target.project.id": "p1"}, True),  # keystone's flat keys
    ("project_id:%(target.project.id)s", {"target": {"project": {"id": "p1"}}}, True),  # nested
    ("project_id:%(target.project.id)s", {"target": {"project": {}}}, False),
    ("user_id:%(target.user.id)s", {"target": {"user": {"id": "u1"}}}, True),
    ("project_domain_id:%(target.domain_id)s", {"target": {"domain_id": "d1"}}, True),
    ("role:%(role)s", {"role": "Member"}, True),
    ("True:%(user.enabled)s", {"user": {"enabled": True}}, True),
    ("True:%(user.enabled)s", {"user": {"enabled": False}}, False),
    ("'member':%(role.name)s", {"role.name": "member"}, True),
    ("'member':%(role.name)s", {"role.name": "admin"}, False),
    ("project_id:%(a)s-%(b)s", {"a": "p", "b": "1"}, False),
    ("user_id:%(a)s", {"a": "u1"}, True),
])
def test_target_references(check_str, target, expected):
    assert check(check_str, MEMBER, target) is expected


def test_none_never_matches():
    # oslo would compare "None" == "None" and let a project-less token at a project-less target.
    assert check("project_id:%(project_id)s", SYSTEM_READER, {"project_id": None}) is False
    assert check("domain_id:%(domain_id)s", MEMBER, {"domain_id": None}) is False
    assert check("project_id:None", SYSTEM_READER) is False


@pytest.mark.parametrize("bad", ["role:a or", "(role:a", "role:a)", "and role:a", "role",
                                 "role:a role:b", "not", "()"])
def test_syntax_errors(bad):
    with pytest.raises(PolicySyntaxError):
        policy.compile_check(bad)


def test_parsed_once(monkeypatch):
    register_rules({"test:once": "role:admin or project_id:%(project_id)s"})
    calls = []
    real = policy._parse
    monkeypatch.setattr(policy, "_parse", lambda s: calls.append(s) or real(s))
    policy.reset_cache()
    policy._check_fns.clear()
    for _ in range(100):
        authorize("test:once", MEMBER, {"project_id": "p1"})
    assert calls == ["role:admin or project_id:%(project_id)s"]


# --- rules ------------------------------------------------------------------------------

def test_register_every_form_and_authorize():
    register_rules({
        "test:admin": "role:admin",
        "test:owner": ("project_id:%(target.project.id)s", "Owner of the project."),
        "test:get": ("rule:test:admin or rule:test:owner", "Show it.",
                     [{"method": "GET", "path": "/v3/things/{id}"}]),
        "test:dict": {"check_str": "role:reader", "description": "Read."},
    })
    register_rules([RuleDefault("test:obj", "rule:test:get", "Object form.")])
    target = {"target": {"project": {"id": "p1"}}}
    assert authorize("test:get", ADMIN, {"target": {"project": {"id": "other"}}})
    assert authorize("test:get", MEMBER, target)
    assert authorize("test:obj", MEMBER, target)
    assert authorize("test:dict", READER)
    assert not authorize("test:get", READER, target, do_raise=False)
    rule = registered_rules()["test:get"]
    assert rule.description == "Show it." and rule.operations == ({"method": "GET", "path": "/v3/things/{id}"},)


def test_refusal_raises_forbidden_with_keystones_message():
    register_rules({"test:list_users": "role:admin"})  # identity's own rule may be registered
    with pytest.raises(exc.Forbidden) as e:
        authorize("test:list_users", READER, {})
    assert e.value.status == 403
    assert e.value.message == ("You are not authorized to perform the requested action: "
                               "test:list_users.")


def test_other_services_messages():
    register_rules({"test:servers:index": "role:admin"})
    with pytest.raises(exc.Forbidden, match="Policy doesn't allow test:servers:index to be performed."):
        authorize("test:servers:index", READER, message=policy.NOVA_MESSAGE)


def test_reregistering_the_same_rule_is_harmless_but_a_clash_raises():
    register_rules({"test:a": "role:admin"})
    register_rules({"test:a": "role:admin"})
    with pytest.raises(ValueError, match="already registered"):
        register_rules({"test:a": "role:member"})


def test_syntax_error_in_code_raises_at_registration():
    with pytest.raises(PolicySyntaxError):
        register_rules({"test:broken": "role:admin or"})
    assert "test:broken" not in registered_rules()


def test_unregistered_rule_is_a_programming_error():
    with pytest.raises(PolicyNotRegistered):
        authorize("test:never", ADMIN)


def test_rule_reference_to_nothing_denies():
    register_rules({"test:dangling": "rule:test:nothing or role:nope"})
    assert not authorize("test:dangling", ADMIN, do_raise=False)


def test_config_overrides_a_rule_and_can_define_new_ones():
    register_rules({"test:list": "role:admin", "test:show": "rule:test:list"})
    assert not authorize("test:list", READER, do_raise=False)
    with _override({"test:list": "rule:test:readers", "test:readers": "role:reader"}):
        assert authorize("test:list", READER)
        assert authorize("test:show", READER)  # references follow the override
    assert not authorize("test:list", READER, do_raise=False)  # cache dropped with the setting


def test_invalid_override_fails_closed(caplog):
    register_rules({"test:list": "@"})
    with _override({"test:list": "role:admin or"}), caplog.at_level(logging.ERROR):
        assert not authorize("test:list", ADMIN, do_raise=False)
    assert "invalid check string" in caplog.text


def test_scope_types_refuse_other_scopes():
    register_rules([RuleDefault("test:system_only", "role:reader", scope_types=("system",)),
                    RuleDefault("test:project_or_domain", "role:manager or role:member",
                                scope_types=("project", "domain"))])
    assert authorize("test:system_only", SYSTEM_READER)
    assert not authorize("test:system_only", READER, do_raise=False)
    assert authorize("test:project_or_domain", MEMBER)
    assert authorize("test:project_or_domain", DOMAIN_MANAGER)
    assert not authorize("test:project_or_domain", {**SYSTEM_READER, "roles": ["member"]}, do_raise=False)


def test_check_rules_reports_dangling_references_and_cycles():
    register_rules({"test:x": "rule:test:y", "test:y": "rule:test:x or role:a",
                    "test:z": "rule:test:missing"})
    problems = check_rules()
    assert "test:z: rule:test:missing is not defined" in problems
    assert any(p.startswith("cycle: test:x -> test:y -> test:x") for p in problems)
    with _override({"test:bad": "role:a or"}):
        assert any(p.startswith("test:bad:") for p in check_rules())

