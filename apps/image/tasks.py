"""Celery entry points of the image service; thin: decode, call one service."""
from celery import shared_task


@shared_task(name="image.import_image", acks_late=True)
def image_import_task(image_id, method, uri=None):
    from .services import image_import_run

    return image_import_run(image_id=image_id, method=method, uri=uri)
