"""The Celery app shared by the conductor, beat and every host agent."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cloud.settings")

app = Celery("cloud")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
