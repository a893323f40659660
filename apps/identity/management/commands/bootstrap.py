"""`manage.py bootstrap`: what keystone-manage bootstrap does, plus the admin's client files.

Idempotent: run by every `./stack up`. The admin password is generated once into a
root-only file; clouds.yaml keeps other clouds and replaces only the `monostack` entry.
"""
import os
import secrets

import yaml
from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand

from apps.identity import fernet, services

# (config section, app that serves it, service type, service name, path under public_url)
CATALOG = (
    (None, "identity", "identity", "keystone", "/identity"),
    ("compute", "compute", "compute", "nova", "/compute/v2.1"),
    ("compute", "compute", "placement", "placement", "/placement"),
    ("network", "network", "network", "neutron", "/network"),
    ("image", "image", "image", "glance", "/image"),
    ("volume", "block", "block-storage", "cinder", "/volume/v3/$(project_id)s"),
)


def _write_private(path, text):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = f"{path}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


class Command(BaseCommand):
    help = "Create the Default domain, standard roles, admin project/user, catalog; write clouds.yaml and openrc."

    def handle(self, *args, **options):
        conf = settings.MONOSTACK["DEFAULT"]
        password_file = conf["admin_password_file"]
        if os.path.exists(password_file):
            with open(password_file) as f:
                password = f.read().strip()
        else:
            password = secrets.token_urlsafe(18)
            _write_private(password_file, password + "\n")
        fernet.setup()
        base = conf["public_url"].rstrip("/")
        region = conf["region"]
        catalog = [(stype, name, region, base + path) for section, app, stype, name, path in CATALOG
                   if (section is None or settings.MONOSTACK[section]["enabled"]) and apps.is_installed(f"apps.{app}")]
        services.bootstrap(admin_password=password, catalog=catalog)

        auth_url = base + "/identity"
        cloud = {"auth": {"auth_url": auth_url, "username": "admin", "password": password, "project_name": "admin",
                          "user_domain_name": "Default", "project_domain_name": "Default"},
                 "region_name": region, "identity_api_version": 3, "interface": "public"}
        clouds_path = conf["clouds_yaml"]
        existing = {}
        if os.path.exists(clouds_path):
            with open(clouds_path) as f:
                existing = yaml.safe_load(f) or {}
        existing.setdefault("clouds", {})["monostack"] = cloud
        _write_private(clouds_path, yaml.safe_dump(existing, default_flow_style=False))
        _write_private(conf["admin_openrc"], "".join(f"export {k}={v}\n" for k, v in (
            ("OS_AUTH_URL", auth_url), ("OS_USERNAME", "admin"), ("OS_PASSWORD", password),
            ("OS_PROJECT_NAME", "admin"), ("OS_USER_DOMAIN_NAME", "Default"), ("OS_PROJECT_DOMAIN_NAME", "Default"),
            ("OS_REGION_NAME", region), ("OS_IDENTITY_API_VERSION", "3"), ("OS_INTERFACE", "public"))))
        self.stdout.write(f"bootstrapped: admin credentials in {clouds_path} (cloud 'monostack') "
                          f"and {conf['admin_openrc']}")
