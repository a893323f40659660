"""A host's own service account, and the host-side client that uses it over real HTTP."""
import hashlib
import json
import os

import pytest
from django.core.management import call_command

from apps.core.hostagent.controller import ControllerClient, ControllerError
from apps.identity.models import RoleAssignment, User

from .conftest import CATALOG


@pytest.fixture
def live_cloud(transactional_db, live_server, tmp_path, settings, monkeypatch):
    from apps.identity import services

    services.bootstrap(admin_password="secret-admin", catalog=CATALOG)
    monkeypatch.setitem(settings.MONOSTACK, "DEFAULT", dict(settings.MONOSTACK["DEFAULT"],
                                                            public_url=live_server.url, hostname="node-1"))
    path = tmp_path / "host-credential.json"
    monkeypatch.setitem(settings.MONOSTACK, "agent", dict(settings.MONOSTACK["agent"], credential_file=str(path)))
    return path


def test_host_credential_is_a_service_account_kept_across_runs(live_cloud):
    call_command("host_credential")
    first = json.loads(live_cloud.read_text())
    assert oct(os.stat(live_cloud).st_mode & 0o777) == "0o600"
    assert first["username"] == "host-node-1" and first["project_name"] == "service"
    call_command("host_credential")
    assert json.loads(live_cloud.read_text())["password"] == first["password"]
    user = User.objects.get(name="host-node-1")
    roles = RoleAssignment.objects.filter(actor_id=user.id).values_list("role__name", flat=True)
    assert list(roles) == ["service"]


def test_controller_client_authenticates_and_downloads_verified(live_cloud, tmp_path):
    call_command("host_credential")
    client = ControllerClient()
    token = client.token()
    assert token and client.token() == token  # cached
    dest = tmp_path / "catalog.json"
    with client.open("/identity/v3/auth/catalog") as r:
        body = r.read()
    md5 = hashlib.md5(body).hexdigest()
    assert client.download("/identity/v3/auth/catalog", str(dest), md5=md5)["md5"] == md5
    assert json.loads(dest.read_text())["catalog"]
    with pytest.raises(ControllerError, match="checksum mismatch"):
        client.download("/identity/v3/auth/catalog", str(tmp_path / "bad"), md5="0" * 32)
    assert not (tmp_path / "bad").exists() and not list(tmp_path.glob("bad.part*"))
    with pytest.raises(ControllerError, match="404"):
        client.download("/identity/v3/nothing", str(tmp_path / "x"))
