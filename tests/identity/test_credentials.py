"""Application credentials (auth method, token block, role subset, expiry, revocation), the generic
/v3/credentials API and EC2 credentials with /v3/ec2tokens."""
import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest

from apps.identity import ec2
from apps.identity.models import ApplicationCredential, Credential, Role

from .conftest import Api, make_user, password_auth

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(cloud, admin, api):
    """A user with member (so reader too) on a project, a project-scoped client and ids."""
    p = admin.post("projects", {"project": {"name": "ac-p"}}).json_body["project"]
    u = make_user(admin, "ac-u", "pw-ac-u-123", project_id=p["id"], role="member")
    tok = api.post("auth/tokens", password_auth("ac-u", "pw-ac-u-123", project="ac-p"))["X-Subject-Token"]
    return {"project": p, "user": u, "api": Api(tok)}


def app_cred_auth(cred_id, secret, **extra):
    return {"auth": {"identity": {"methods": ["application_credential"],
                                  "application_credential": {"id": cred_id, "secret": secret, **extra}}}}


def test_app_cred_secret_once_hashed_and_token_block(owner, api, admin):
    me, uid = owner["api"], owner["user"]["id"]
    r = me.post(f"users/{uid}/application_credentials",
                {"application_credential": {"name": "ci", "description": "robot",
                                            "roles": [{"name": "reader"}],
                                            "access_rules": [{"service": "compute", "method": "GET",
                                                              "path": "/v2.1/servers"}]}})
    assert r.status_code == 201, r.content
    cred = r.json_body["application_credential"]
    assert set(cred) >= {"id", "name", "secret", "project_id", "roles", "unrestricted", "expires_at",
                         "access_rules", "user_id", "links"}
    assert cred["project_id"] == owner["project"]["id"] and [x["name"] for x in cred["roles"]] == ["reader"]
    row = ApplicationCredential.objects.get(id=cred["id"])
    assert cred["secret"] not in row.secret_hash and row.secret_hash.startswith("$2")
    shown = me.get(f"users/{uid}/application_credentials/{cred['id']}").json_body["application_credential"]
    assert "secret" not in shown and shown["name"] == "ci"
    assert [x["id"] for x in me.get(f"users/{uid}/application_credentials").json_body[
        "application_credentials"]] == [cred["id"]]
    assert len(me.get(f"users/{uid}/access_rules").json_body["access_rules"]) == 1

    r = api.post("auth/tokens", app_cred_auth(cred["id"], cred["secret"]))
    assert r.status_code == 201, r.content
    token = r.json_body["token"]
    assert token["methods"] == ["application_credential"]
    assert token["project"]["id"] == owner["project"]["id"]
    assert [x["name"] for x in token["roles"]] == ["reader"]  # not member: only the credential's roles
    assert token["application_credential"]["id"] == cred["id"]
    assert token["application_credential"]["restricted"] is True
    assert token["application_credential"]["access_rules"][0]["service"] == "compute"
    # by name and user too
    r = api.post("auth/tokens", {"auth": {"identity": {"methods": ["application_credential"],
                                                       "application_credential": {
                                                           "name": "ci", "secret": cred["secret"],
                                                           "user": {"name": "ac-u",
                                                                    "domain": {"id": "default"}}}}}})
    assert r.status_code == 201
    assert api.post("auth/tokens", app_cred_auth(cred["id"], "wrong")).status_code == 401
    assert api.post("auth/tokens", app_cred_auth("nope", "wrong")).status_code == 401
    scoped = app_cred_auth(cred["id"], cred["secret"])
    scoped["auth"]["scope"] = {"project": {"id": owner["project"]["id"]}}
    assert api.post("auth/tokens", scoped).status_code == 401

    # a restricted credential's token cannot make more credentials
    ac_token = Api(api.post("auth/tokens", app_cred_auth(cred["id"], cred["secret"]))["X-Subject-Token"])
    assert ac_token.post(f"users/{uid}/application_credentials",
                         {"application_credential": {"name": "more"}}).status_code == 403


def test_app_cred_supplied_secret_roles_subset_expiry_unrestricted(owner, api):
    me, uid = owner["api"], owner["user"]["id"]
    base = f"users/{uid}/application_credentials"
    r = me.post(base, {"application_credential": {"name": "mine", "secret": "my-own-secret", "unrestricted": True}})
    assert r.status_code == 201 and r.json_body["application_credential"]["secret"] == "my-own-secret"
    assert r.json_body["application_credential"]["unrestricted"] is True
    assert {x["name"] for x in r.json_body["application_credential"]["roles"]} == {"member", "reader"}
    assert me.post(base, {"application_credential": {"name": "mine"}}).status_code == 409
    # a role the user does not hold
    assert me.post(base, {"application_credential": {"name": "esc", "roles": [{"name": "admin"}]}}).status_code == 400
    past = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    assert me.post(base, {"application_credential": {"name": "old", "expires_at": past}}).status_code == 400
    soon = (datetime.now(timezone.utc) + timedelta(seconds=120)).strftime("%Y-%m-%dT%H:%M:%S")
    r = me.post(base, {"application_credential": {"name": "soon", "expires_at": soon}})
    assert r.status_code == 201
    token = api.post("auth/tokens", app_cred_auth(r.json_body["application_credential"]["id"],
                                                  r.json_body["application_credential"]["secret"])).json_body["token"]
    assert token["expires_at"] <= soon + ".999999Z"
    ApplicationCredential.objects.filter(name="soon").update(expires_at=datetime.now(timezone.utc))
    assert api.post("auth/tokens", app_cred_auth(r.json_body["application_credential"]["id"],
                                                 r.json_body["application_credential"]["secret"])).status_code == 401
    assert me.post("users/nope/application_credentials", {"application_credential": {"name": "z"}}).status_code == 404


def test_app_cred_tokens_die_with_the_credential_or_the_role(owner, api, admin):
    me, uid, pid = owner["api"], owner["user"]["id"], owner["project"]["id"]
    made = me.post(f"users/{uid}/application_credentials", {"application_credential": {"name": "a"}}).json_body[
        "application_credential"]
    tok = api.post("auth/tokens", app_cred_auth(made["id"], made["secret"]))["X-Subject-Token"]
    assert admin.head("auth/tokens", headers={"X-Subject-Token": tok}).status_code == 200
    assert me.delete(f"users/{uid}/application_credentials/{made['id']}").status_code == 204
    assert admin.head("auth/tokens", headers={"X-Subject-Token": tok}).status_code == 404
    assert api.post("auth/tokens", app_cred_auth(made["id"], made["secret"])).status_code == 401

    made = me.post(f"users/{uid}/application_credentials", {"application_credential": {"name": "b"}}).json_body[
        "application_credential"]
    tok = api.post("auth/tokens", app_cred_auth(made["id"], made["secret"]))["X-Subject-Token"]
    member = Role.objects.get(name="member").id
    assert admin.delete(f"projects/{pid}/users/{uid}/roles/{member}").status_code == 204
    assert admin.head("auth/tokens", headers={"X-Subject-Token": tok}).status_code == 404
    assert api.post("auth/tokens", app_cred_auth(made["id"], made["secret"])).status_code == 401
    assert not ApplicationCredential.objects.filter(id=made["id"]).exists()


def test_generic_credentials_encrypted_and_owner_only(owner, admin, api):
    me, uid = owner["api"], owner["user"]["id"]
    r = me.post("credentials", {"credential": {"type": "totp", "blob": "very-secret-seed", "user_id": uid}})
    assert r.status_code == 201, r.content
    c = r.json_body["credential"]
    assert c["blob"] == "very-secret-seed" and c["user_id"] == uid and c["type"] == "totp"
    row = Credential.objects.get(id=c["id"])
    assert "very-secret-seed" not in row.encrypted_blob
    assert me.get(f"credentials/{c['id']}").json_body["credential"]["blob"] == "very-secret-seed"
    assert [x["id"] for x in me.get("credentials").json_body["credentials"]] == [c["id"]]
    assert me.patch(f"credentials/{c['id']}", {"credential": {"blob": "new"}}).json_body["credential"]["blob"] == "new"
    # for someone else: refused
    assert me.post("credentials", {"credential": {"type": "totp", "blob": "x",
                                                  "user_id": cloud_admin_id(admin)}}).status_code == 403
    admin_cred = admin.post("credentials", {"credential": {"type": "x", "blob": "b",
                                                           "user_id": cloud_admin_id(admin)}}).json_body["credential"]
    assert me.get(f"credentials/{admin_cred['id']}").status_code == 403
    assert admin_cred["id"] not in {x["id"] for x in me.get("credentials").json_body["credentials"]}
    # ec2 type: blob must be JSON with an access key, id is its hash
    r = admin.post("credentials", {"credential": {"type": "ec2", "user_id": uid, "project_id": owner["project"]["id"],
                                                  "blob": json.dumps({"access": "AK", "secret": "SK"})}})
    assert r.status_code == 201 and r.json_body["credential"]["id"] == hashlib.sha256(b"AK").hexdigest()
    assert admin.post("credentials", {"credential": {"type": "ec2", "user_id": uid, "blob": "not json",
                                                     "project_id": owner["project"]["id"]}}).status_code == 400
    assert me.delete(f"credentials/{c['id']}").status_code == 204
    assert me.get(f"credentials/{c['id']}").status_code == 404


def cloud_admin_id(admin):
    return admin.get("auth/tokens", headers={"X-Subject-Token": admin.token}).json_body["token"]["user"]["id"]


def sign_v2(secret, params, verb, host, path):
    params = dict(params, SignatureVersion="2", SignatureMethod="HmacSHA256")
    qs = "&".join(f"{quote(k, safe='')}={quote(v, safe='-_~')}" for k, v in sorted(params.items()))
    digest = hmac.new(secret.encode(), f"{verb}\n{host}\n{path}\n{qs}".encode(), hashlib.sha256).digest()
    return params, base64.b64encode(digest).decode()


def test_ec2_credentials_and_ec2tokens(owner, api, admin):
    me, uid, pid = owner["api"], owner["user"]["id"], owner["project"]["id"]
    r = me.post(f"users/{uid}/credentials/OS-EC2", {"tenant_id": pid})
    assert r.status_code == 201, r.content
    c = r.json_body["credential"]
    assert set(c) >= {"user_id", "tenant_id", "access", "secret", "trust_id", "links"} and c["tenant_id"] == pid
    listed = me.get(f"users/{uid}/credentials/OS-EC2").json_body["credentials"]
    assert [x["access"] for x in listed] == [c["access"]]
    assert me.get(f"users/{uid}/credentials/OS-EC2/{c['access']}").json_body["credential"]["secret"] == c["secret"]
    assert me.post(f"users/{uid}/credentials/OS-EC2", {"tenant_id": "nope"}).status_code == 404

    params, signature = sign_v2(c["secret"], {"Action": "DescribeInstances", "AWSAccessKeyId": c["access"],
                                              "Timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")},
                                "GET", "cloud.test:8080", "/")
    body = {"credentials": {"access": c["access"], "signature": signature, "host": "cloud.test:8080", "verb": "GET",
                            "path": "/", "params": params, "headers": {}, "body_hash": ""}}
    r = api.post("ec2tokens", body)
    assert r.status_code == 200, r.content
    assert r["X-Subject-Token"] and r.json_body["token"]["project"]["id"] == pid
    assert r.json_body["token"]["methods"] == ["ec2credential"]
    body["credentials"]["signature"] = "bogus"
    assert api.post("ec2tokens", body).status_code == 401
    body["credentials"]["access"] = "unknown"
    assert api.post("ec2tokens", body).status_code == 404
    assert api.post("ec2tokens", {}).status_code == 400

    # v4, Authorization header
    amz_date = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    headers = {"Host": "cloud.test", "X-Amz-Date": amz_date}
    creds = {"access": c["access"], "host": "cloud.test", "verb": "GET", "path": "/bucket", "params": {},
             "body_hash": hashlib.sha256(b"").hexdigest(),
             "headers": dict(headers, Authorization=f"AWS4-HMAC-SHA256 Credential={c['access']}/{amz_date[:8]}/"
                                                    "RegionOne/s3/aws4_request, SignedHeaders=host;x-amz-date, "
                                                    "Signature=x")}
    creds["signature"] = ec2.signature(c["secret"], creds)
    assert api.post("ec2tokens", {"credentials": creds}).status_code == 200
    creds["verb"] = "PUT"
    assert api.post("ec2tokens", {"credentials": creds}).status_code == 401

    assert me.delete(f"users/{uid}/credentials/OS-EC2/{c['access']}").status_code == 204
    assert me.get(f"users/{uid}/credentials/OS-EC2").json_body["credentials"] == []


def test_ec2_signature_v4_known_vector():
    """AWS's documented example (GET iam ListUsers, 2015-08-30) through our signer."""
    creds = {"verb": "GET", "path": "/", "host": "iam.amazonaws.com",
             "params": {"Action": "ListUsers", "Version": "2010-05-08"},
             "headers": {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                         "Host": "iam.amazonaws.com", "X-Amz-Date": "20150830T123600Z",
                         "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
                                          "SignedHeaders=content-type;host;x-amz-date, Signature=x"},
             "body_hash": hashlib.sha256(b"").hexdigest()}
    assert ec2.signature("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", creds) == \
        "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
