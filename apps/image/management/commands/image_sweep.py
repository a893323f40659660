"""Remove image data nothing refers to: partial writes of killed processes and files no image
row names (older than --older-than seconds). Safe to run at any time, e.g. from cron."""
from django.core.management.base import BaseCommand

from apps.image import services


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=int, default=3600, help="Seconds (default 3600).")
        parser.add_argument("--dry-run", action="store_true", help="Only list what would go.")

    def handle(self, *args, older_than, dry_run, **options):
        result = services.image_store_sweep(older_than=older_than, dry_run=dry_run)
        verb = "would remove" if dry_run else "removed"
        for location in result["orphans"]:
            self.stdout.write(f"{verb} orphan {location}")
        self.stdout.write(f"{verb} {len(result['orphans'])} orphan(s), {result['partials']} partial write(s)")
