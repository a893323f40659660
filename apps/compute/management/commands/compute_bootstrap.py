"""`manage.py compute_bootstrap`: Nova's default flavors m1.tiny..m1.xlarge ("1".."5"); idempotent."""
from django.core.management.base import BaseCommand

from apps.compute.services import flavors_bootstrap


class Command(BaseCommand):
    help = "Create the default flavors (idempotent)."

    def handle(self, *args, **options):
        made = flavors_bootstrap()
        self.stdout.write(f"compute bootstrap: {made} flavor(s) created")
