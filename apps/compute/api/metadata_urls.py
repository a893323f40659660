"""Mounted at /metadata (cloud/urls.py): where the network's metadata proxy forwards guests."""
from django.urls import re_path

from . import views

urlpatterns = [re_path(r"^/?(?P<path>.*)$", views.metadata_view)]
