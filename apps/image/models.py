"""Image rows (Glance v2): the image with its core attributes, free-form properties and tags,
and the projects it is shared with. No I/O here; data lives in a store (apps/image/stores)."""
import uuid

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models

DISK_FORMATS = ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop")
CONTAINER_FORMATS = ("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed")
VISIBILITIES = ("public", "private", "shared", "community")
MEMBER_STATUSES = ("pending", "accepted", "rejected")


class Image(models.Model):
    QUEUED, SAVING, UPLOADING, IMPORTING = "queued", "saving", "uploading", "importing"
    ACTIVE, DEACTIVATED, KILLED = "active", "deactivated", "killed"
    STATUSES = (QUEUED, SAVING, UPLOADING, IMPORTING, ACTIVE, DEACTIVATED, KILLED)
    # Statuses a list never shows (Glance hides killed images).
    HIDDEN_STATUSES = (KILLED,)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255, null=True, blank=True)
    status = models.CharField(max_length=16, choices=[(s, s) for s in STATUSES], default=QUEUED)
    visibility = models.CharField(max_length=16, choices=[(v, v) for v in VISIBILITIES], default="shared")
    owner = models.CharField(max_length=255, null=True, blank=True)
    protected = models.BooleanField(default=False)
    os_hidden = models.BooleanField(default=False)
    disk_format = models.CharField(max_length=16, null=True, blank=True,
                                   choices=[(f, f) for f in DISK_FORMATS])
    container_format = models.CharField(max_length=16, null=True, blank=True,
                                        choices=[(f, f) for f in CONTAINER_FORMATS])
    min_disk = models.PositiveIntegerField(default=0)
    min_ram = models.PositiveIntegerField(default=0)
    size = models.BigIntegerField(null=True, blank=True)
    virtual_size = models.BigIntegerField(null=True, blank=True)
    checksum = models.CharField(max_length=32, null=True, blank=True)
    os_hash_algo = models.CharField(max_length=64, null=True, blank=True)
    os_hash_value = models.CharField(max_length=128, null=True, blank=True)
    # Free-form string properties ("hw_disk_bus", "os_distro", "owner_specified.openstack.md5", ...).
    properties = models.JSONField(default=dict, blank=True)
    tags = ArrayField(models.CharField(max_length=255), default=list, blank=True)
    # Where the data is: the store's own key (never shown to users), and staged data of glance-direct.
    location = models.CharField(max_length=1024, blank=True, default="")
    staging_location = models.CharField(max_length=1024, blank=True, default="")
    # Bytes of this image counted against the owner's image_bytes_total quota right now.
    quota_bytes = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner", "created_at"], name="image_owner_created"),
            models.Index(fields=["visibility", "created_at"], name="image_visibility_created"),
            GinIndex(fields=["tags"], name="image_tags_gin"),
            GinIndex(fields=["properties"], name="image_properties_gin"),
        ]

    def __str__(self):
        return f"{self.name or '(unnamed)'} ({self.id})"


class ImageMember(models.Model):
    """A project the image is shared with, and whether it accepted (Glance image members)."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="members")
    member_id = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=[(s, s) for s in MEMBER_STATUSES], default="pending")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [models.UniqueConstraint(fields=["image", "member_id"], name="image_member_unique")]
        indexes = [models.Index(fields=["member_id", "status"], name="image_member_project")]

    def __str__(self):
        return f"{self.member_id} on {self.image_id} ({self.status})"
