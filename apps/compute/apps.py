from django.apps import AppConfig


class ComputeConfig(AppConfig):
    name = "apps.compute"
    label = "compute"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import handlers, policies, tasks  # noqa: F401  (result handlers, rules, task names)
        from celery import current_app
        from django.conf import settings

        conf = settings.MONOSTACK["compute"]
        schedule = current_app.conf.beat_schedule or {}
        schedule.setdefault("compute.power_sync", {"task": "compute.power_sync",
                                                   "schedule": float(conf["sync_power_state_interval"]),
                                                   "options": {"expires": float(conf["sync_power_state_interval"])}})
        schedule.setdefault("compute.servers_reap", {"task": "compute.servers_reap",
                                                     "schedule": float(settings.MONOSTACK["conductor"]["reaper_interval"]),
                                                     "options": {"expires": 30.0}})
        current_app.conf.beat_schedule = schedule
