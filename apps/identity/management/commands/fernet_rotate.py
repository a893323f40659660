from django.core.management.base import BaseCommand

from apps.identity import fernet


class Command(BaseCommand):
    help = "Rotate the Fernet keys: promote the staged key, stage a new one, drop the oldest."

    def handle(self, *args, **options):
        self.stdout.write(f"new primary key: {fernet.rotate()}")
