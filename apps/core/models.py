"""Rows of the shared machinery: hosts, Action rows of long work, quota usage and limits.

Core imports no other app, so users and projects are named by their string ids.
"""
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Host(models.Model):
    """A node running a host agent; it registers itself and heartbeats on the reports queue."""

    UP, DOWN = "up", "down"

    hostname = models.CharField(max_length=255, unique=True)
    cpus = models.PositiveIntegerField(default=0)
    memory_mb = models.PositiveBigIntegerField(default=0)
    disk_gb = models.PositiveBigIntegerField(default=0)
    hypervisor_type = models.CharField(max_length=64, blank=True)
    registered_at = models.DateTimeField(auto_now_add=True)
    last_heartbeat = models.DateTimeField(null=True, blank=True)
    # Operator switch (os-services disable): the host keeps running but gets no new work.
    disabled = models.BooleanField(default=False)

    class Meta:
        ordering = ["hostname"]

    def __str__(self):
        return self.hostname

    @staticmethod
    def alive_since():
        """Oldest heartbeat that still counts as up; state is derived, never stored."""
        return timezone.now() - timedelta(seconds=settings.MONOSTACK["agent"]["dead_after"])

    @property
    def state(self):
        if self.last_heartbeat and self.last_heartbeat >= self.alive_since():
            return self.UP
        return self.DOWN


class Action(models.Model):
    """One host step of long work (DESIGN §5): who asked, where it runs, how it ended.

    ``kind`` is the host task's name (``core.host_probe``). ``generation`` grows per resource,
    so neither the host nor the conductor lets an older step overtake a newer one.
    """

    PENDING, RUNNING, SUCCEEDED, FAILED = "pending", "running", "succeeded", "failed"
    STATUS_CHOICES = [(s, s) for s in (PENDING, RUNNING, SUCCEEDED, FAILED)]
    OPEN = (PENDING, RUNNING)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=128)
    resource_type = models.CharField(max_length=64)
    resource_id = models.CharField(max_length=255)
    host = models.CharField(max_length=255, db_index=True)  # a hostname: history outlives hosts
    generation = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=STATUS_CHOICES, default=PENDING)
    # The DTO sent to the host, kept so the reaper can re-send the very same step.
    payload = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    global_request_id = models.CharField(max_length=64, blank=True)
    user_id = models.CharField(max_length=64, blank=True)
    project_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    result = models.JSONField(null=True, blank=True)
    redrive_count = models.PositiveIntegerField(default=0)
    timeout = models.PositiveIntegerField(help_text="Seconds each send of the step may take.")
    deadline = models.DateTimeField()

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["resource_type", "resource_id", "generation"],
                                    name="core_action_resource_generation"),
        ]
        indexes = [
            # The reaper's query: open actions by deadline; finished rows stay out of the index.
            models.Index(fields=["deadline"], name="core_action_open_deadline",
                         condition=Q(status__in=["pending", "running"])),
            models.Index(fields=["project_id", "created_at"], name="core_action_project"),
        ]

    def __str__(self):
        return f"{self.kind} {self.resource_type}/{self.resource_id} g{self.generation} ({self.status})"

    @property
    def finished(self):
        return self.status in (self.SUCCEEDED, self.FAILED)


class QuotaUsage(models.Model):
    """What a project uses of one resource; the row locked (FOR UPDATE) while consuming."""

    project_id = models.CharField(max_length=64)
    resource = models.CharField(max_length=64)
    in_use = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project_id", "resource"], name="core_quotausage_unique")]

    def __str__(self):
        return f"{self.project_id} {self.resource}={self.in_use}"


class QuotaLimit(models.Model):
    """A project's explicit limit for one resource; -1 means unlimited."""

    project_id = models.CharField(max_length=64)
    resource = models.CharField(max_length=64)
    limit = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project_id", "resource"], name="core_quotalimit_unique")]

    def __str__(self):
        return f"{self.project_id} {self.resource}<={self.limit}"
