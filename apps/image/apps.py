from django.apps import AppConfig


class ImageConfig(AppConfig):
    name = "apps.image"
    label = "image"
    verbose_name = "Image (Glance v2)"

    def ready(self):
        from apps.core import policy

        from .policies import RULES

        policy.register_rules({name: check for name, (check, _desc) in RULES.items()})
