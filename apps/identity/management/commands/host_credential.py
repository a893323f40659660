"""`manage.py host_credential [--hostname H] [--file PATH]`: a host's own service account.

Hosts hold no database credentials; they reach controller data (image downloads, snapshot
uploads) over HTTP with this account (DESIGN §1). The password is generated once and kept in
a root-only JSON file that the host agent reads; running it again keeps the password.
"""
import json
import os
import secrets

from django.conf import settings
from django.core.management.base import BaseCommand

from apps.identity import services


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--hostname", default=None, help="The host (default: this one, [DEFAULT] hostname).")
        parser.add_argument("--file", default=None, help="Where to write it (default: [agent] credential_file).")

    def handle(self, *args, hostname=None, file=None, **options):
        conf = settings.MONOSTACK
        hostname = hostname or conf["DEFAULT"]["hostname"]
        path = file or conf["agent"]["credential_file"]
        existing = {}
        if os.path.exists(path):
            with open(path) as f:
                existing = json.load(f)
        password = existing.get("password") or secrets.token_urlsafe(24)
        username = f"host-{hostname}"
        services.service_user_ensure(name=username, password=password)
        credential = {"auth_url": conf["DEFAULT"]["public_url"].rstrip("/") + "/identity", "username": username,
                      "password": password, "user_domain_id": "default", "project_name": "service",
                      "project_domain_id": "default"}
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        tmp = f"{path}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(credential, f, indent=2)
        os.replace(tmp, path)
        self.stdout.write(f"host credential for {hostname}: user {username}, written to {path}")
