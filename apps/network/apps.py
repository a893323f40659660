from django.apps import AppConfig


class NetworkConfig(AppConfig):
    name = "apps.network"
    label = "network"

    def ready(self):
        from . import handlers, policies  # noqa: F401  (result handlers of host steps; policy rules)
