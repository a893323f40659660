from django.core.management.base import BaseCommand

from apps.identity import fernet


class Command(BaseCommand):
    help = "Create the Fernet key repository if it has no keys (idempotent)."

    def handle(self, *args, **options):
        fernet.setup()
        self.stdout.write(f"key repository ready: {fernet.repository()}")
