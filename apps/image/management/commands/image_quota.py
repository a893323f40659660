"""Show or set a project's image quotas: image_count_total (images) and image_bytes_total
(bytes of image data, staged data included); -1 is unlimited. Without a limit option it shows
usage and limits."""
from django.core.management.base import BaseCommand

from apps.core.quotas import quota_set_limit, quota_usage
from apps.image import services


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("project_id")
        parser.add_argument("--images", type=int, help="Limit of images the project may own.")
        parser.add_argument("--bytes", type=int, help="Limit of bytes of image data.")

    def handle(self, *args, project_id, images, bytes, **options):
        for resource, limit in ((services.QUOTA_COUNT, images), (services.QUOTA_BYTES, bytes)):
            if limit is not None:
                quota_set_limit(project_id=project_id, resource=resource, limit=limit)
        usage = quota_usage(project_id, limits_default=services._quota_defaults(),
                            resources=[services.QUOTA_COUNT, services.QUOTA_BYTES])
        for resource, row in usage.items():
            self.stdout.write(f"{resource}: {row['in_use']} in use, limit {row['limit']}")
