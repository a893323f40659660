"""Django admin lists identity rows and never shows a secret (hashes, encrypted blobs)."""
import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from apps.identity.models import ApplicationCredential, Credential, Group, User

from .conftest import Api, make_user, password_auth

pytestmark = pytest.mark.django_db


def test_admin_pages_list_identity_rows_without_secrets(cloud, admin, api):
    p = admin.post("projects", {"project": {"name": "adm-p"}}).json_body["project"]
    u = make_user(admin, "adm-u", "pw-adm-1234", project_id=p["id"])
    admin.post("groups", {"group": {"name": "adm-g"}})
    me = Api(api.post("auth/tokens", password_auth("adm-u", "pw-adm-1234", project="adm-p"))["X-Subject-Token"])
    cred = me.post(f"users/{u['id']}/application_credentials",
                   {"application_credential": {"name": "adm-ac", "secret": "the-secret-value"}})
    ec2 = me.post(f"users/{u['id']}/credentials/OS-EC2", {"tenant_id": p["id"]}).json_body["credential"]
    staff = get_user_model().objects.create_superuser("root", "root@example.invalid", "pw")
    client = Client()
    client.force_login(staff)
    secrets = [User.objects.get(id=u["id"]).password_hash, ApplicationCredential.objects.get(name="adm-ac").secret_hash,
               "the-secret-value", ec2["secret"], Credential.objects.get().encrypted_blob]
    pages = ["/admin/identity/user/", f"/admin/identity/user/{u['id']}/change/", "/admin/identity/group/",
             f"/admin/identity/group/{Group.objects.get(name='adm-g').id}/change/",
             "/admin/identity/applicationcredential/",
             f"/admin/identity/applicationcredential/{cred.json_body['application_credential']['id']}/change/",
             "/admin/identity/credential/", f"/admin/identity/credential/{Credential.objects.get().id}/change/",
             "/admin/identity/roleassignment/", "/admin/identity/project/", "/admin/identity/role/"]
    for page in pages:
        r = client.get(page)
        assert r.status_code == 200, page
        text = r.content.decode()
        assert not [s for s in secrets if s and s in text], page
    assert "adm-ac" in client.get("/admin/identity/applicationcredential/").content.decode()
    assert json.dumps("adm-g")[1:-1] in client.get("/admin/identity/group/").content.decode()
