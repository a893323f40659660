"""Celery entry points of the image service; thin: decode, call one service."""
from celery import shared_task


@shared_task(name="image.import_image", acks_late=True)
def image_import_task(image_id, method, uri=None):
    from .services import image_import_run

    return image_import_run(image_id=image_id, method=method, uri=uri)


@shared_task(name="image.store_sweep")
def image_store_sweep_task():
    """Hourly (beat): data of killed writes and files no image names. Runs where the store is
    mounted, which the conductor shares with the API (as the staging directory)."""
    from .services import image_store_sweep

    result = image_store_sweep(older_than=3600)
    return {"orphans": len(result["orphans"]), "partials": result["partials"]}
