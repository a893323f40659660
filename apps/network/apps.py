from django.apps import AppConfig


class NetworkConfig(AppConfig):
    name = "apps.network"
    label = "network"

    def ready(self):
        from . import handlers, policies, tasks  # noqa: F401  (result handlers, policy rules, host tasks)
