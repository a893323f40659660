"""[security_compliance]: lockout, password history, minimum age, expiry, regex, first-use change,
and a failed login that costs the same whether or not the user exists."""
from datetime import timedelta

import bcrypt
import pytest
from django.conf import settings
from django.utils import timezone

from apps.identity import services
from apps.identity.models import User

from .conftest import Api, make_user, password_auth

pytestmark = pytest.mark.django_db


@pytest.fixture
def compliance(monkeypatch):
    def configure(**options):
        conf = dict(settings.MONOSTACK.get("security_compliance") or {}, **options)
        monkeypatch.setitem(settings.MONOSTACK, "security_compliance", conf)
    return configure


def login(api, name, password, **kw):
    return api.post("auth/tokens", password_auth(name, password, **kw))


def test_lockout_after_n_failures_and_unlock_after_duration(cloud, admin, api, compliance):
    compliance(lockout_failure_attempts=3, lockout_duration=60)
    u = make_user(admin, "lock", "pw-lock-1234")
    for _ in range(3):
        assert login(api, "lock", "wrong").status_code == 401
    r = login(api, "lock", "pw-lock-1234")
    assert r.status_code == 401
    assert r.json_body["error"]["message"] == f"The account is locked for user: {u['id']}."
    User.objects.filter(id=u["id"]).update(failed_auth_at=timezone.now() - timedelta(seconds=61))
    assert login(api, "lock", "pw-lock-1234").status_code == 201
    assert User.objects.get(id=u["id"]).failed_auth_count == 0
    # the option exempts a user; an administrator enabling the user unlocks
    for _ in range(3):
        login(api, "lock", "wrong")
    assert login(api, "lock", "pw-lock-1234").status_code == 401
    assert admin.patch(f"users/{u['id']}", {"user": {"enabled": True}}).status_code == 200
    assert login(api, "lock", "pw-lock-1234").status_code == 201
    admin.patch(f"users/{u['id']}", {"user": {"options": {"ignore_lockout_failure_attempts": True}}})
    for _ in range(4):
        login(api, "lock", "wrong")
    assert login(api, "lock", "pw-lock-1234").status_code == 201


def test_failed_login_costs_one_bcrypt_check_either_way(cloud, admin, api, monkeypatch, compliance):
    compliance(lockout_failure_attempts=1)
    make_user(admin, "timed", "pw-timed-123")
    calls = []
    real = bcrypt.checkpw
    monkeypatch.setattr(bcrypt, "checkpw", lambda p, h: calls.append(1) or real(p, h))
    for name in ("timed", "ghost", "timed"):  # the last one is locked: still one check
        calls.clear()
        assert login(api, name, "wrong").status_code == 401
        assert len(calls) == 1, name


def test_last_n_passwords_refused_and_minimum_age(cloud, admin, api, compliance):
    compliance(unique_last_password_count=3)
    u = make_user(admin, "hist", "pw-hist-0000")

    def change(old, new):
        return api.post(f"users/{u['id']}/password", {"user": {"original_password": old, "password": new}})

    assert change("pw-hist-0000", "pw-hist-1111").status_code == 204
    assert change("pw-hist-1111", "pw-hist-2222").status_code == 204
    for reused in ("pw-hist-2222", "pw-hist-1111", "pw-hist-0000"):
        r = change("pw-hist-2222", reused)
        assert r.status_code == 400, reused
        assert r.json_body["error"]["message"] == (
            "The new password cannot be identical to a previous password. The total number which includes "
            "the new password must be unique is 3.")
    assert change("pw-hist-2222", "pw-hist-3333").status_code == 204
    assert change("pw-hist-3333", "pw-hist-0000").status_code == 204  # fell out of the last 3

    compliance(unique_last_password_count=0, minimum_password_age=1)
    r = change("pw-hist-0000", "pw-hist-4444")
    assert r.status_code == 400 and "minimum password age" in r.json_body["error"]["message"]
    # an administrator may reset it whatever its age
    assert admin.patch(f"users/{u['id']}", {"user": {"password": "pw-admin-set"}}).status_code == 200
    assert change("pw-admin-set", "pw-hist-4444").status_code == 204


def test_expired_password_refused_with_keystones_error_then_changed(cloud, admin, api, compliance):
    compliance(password_expires_days=30)
    u = make_user(admin, "exp", "pw-exp-1234")
    row = User.objects.get(id=u["id"])
    assert row.password_expires_at and row.password_expires_at > timezone.now() + timedelta(days=29)
    assert admin.get(f"users/{u['id']}").json_body["user"]["password_expires_at"]
    User.objects.filter(id=u["id"]).update(password_expires_at=timezone.now() - timedelta(seconds=1))
    r = login(api, "exp", "pw-exp-1234")
    assert r.status_code == 401
    assert r.json_body["error"]["message"] == \
        f"The password is expired and needs to be changed for user: {u['id']}."
    assert login(api, "exp", "wrong").json_body["error"]["message"] == \
        "The request you have made requires authentication."
    r = api.post(f"users/{u['id']}/password", {"user": {"original_password": "pw-exp-1234",
                                                         "password": "pw-exp-5678"}})
    assert r.status_code == 204
    assert login(api, "exp", "pw-exp-5678").status_code == 201


def test_change_password_upon_first_use_and_regex(cloud, admin, api, compliance):
    compliance(change_password_upon_first_use=True, password_regex=r"^(?=.*\d)(?=.*[a-zA-Z]).{7,}$",
               password_regex_description="at least 7 characters with a letter and a digit")
    r = admin.post("users", {"user": {"name": "weak", "password": "short"}})
    assert r.status_code == 400
    assert r.json_body["error"]["message"] == ("The password does not match the requirements: at least 7 "
                                               "characters with a letter and a digit.")
    assert not User.objects.filter(name="weak").exists()
    u = make_user(admin, "first", "first-use-1")
    assert login(api, "first", "first-use-1").status_code == 401  # must change it first
    r = api.post(f"users/{u['id']}/password", {"user": {"original_password": "first-use-1", "password": "nodigits"}})
    assert r.status_code == 400
    r = api.post(f"users/{u['id']}/password", {"user": {"original_password": "first-use-1", "password": "mine-123"}})
    assert r.status_code == 204
    assert login(api, "first", "mine-123").status_code == 201
    svc = admin.post("users", {"user": {"name": "svc", "password": "svc-pass-1", "options": {
        "ignore_change_password_upon_first_use": True}}}).json_body["user"]
    assert svc["options"] == {"ignore_change_password_upon_first_use": True}
    assert login(api, "svc", "svc-pass-1").status_code == 201


def test_lock_password_option(cloud, admin, api):
    u = admin.post("users", {"user": {"name": "locked-pw", "password": "pw-lp-1234",
                                      "options": {"lock_password": True}}}).json_body["user"]
    r = api.post(f"users/{u['id']}/password", {"user": {"original_password": "pw-lp-1234", "password": "other-123"}})
    assert r.status_code == 400 and "disallowing password changes" in r.json_body["error"]["message"]
    assert admin.patch(f"users/{u['id']}", {"user": {"options": {"bogus_option": True}}}).status_code == 400
