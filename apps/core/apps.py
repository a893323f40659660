from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"

    def ready(self):
        from . import context  # noqa: F401  (Celery signal hooks carrying request ids)
