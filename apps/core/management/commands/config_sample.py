"""Writes the commented sample configuration (every option with its default and help)."""
from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Write the sample configuration (from the option table in cloud/config.py) to stdout or to PATH."
    requires_system_checks = []  # renders a table of options; needs no URLs, models or database

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", help="file to write; stdout when omitted")

    def handle(self, *args, path=None, **options):
        text = settings.CONF.sample()
        if path:
            with open(path, "w") as f:
                f.write(text)
        else:
            self.stdout.write(text, ending="")
