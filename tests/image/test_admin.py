"""Django admin for images: list, change page, and deletion through the service."""
import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.image.models import Image

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    user = User.objects.create_superuser("operator", "op@example.com", "pw")
    client = Client()
    client.force_login(user)
    return client


def test_admin_pages(staff, u1, image_conf):
    import os

    image = u1.create(name="admin-visible", tags=["a"], os_distro="debian")
    u1.upload(image["id"], b"data")
    assert staff.get("/admin/image/image/").status_code == 200
    r = staff.get(f"/admin/image/image/{image['id']}/change/")
    assert r.status_code == 200 and b"admin-visible" in r.content
    assert staff.get("/admin/image/imagemember/").status_code == 200
    assert staff.get("/admin/image/image/add/").status_code == 403
    r = staff.post(f"/admin/image/image/{image['id']}/delete/", {"post": "yes"})
    assert r.status_code == 302
    assert not Image.objects.filter(pk=image["id"]).exists()
    assert os.listdir(image_conf["store_dir"]) == []
