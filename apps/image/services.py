"""Writes of the image service: create, update (JSON patch), delete, data upload and staging,
interoperable import, deactivate/reactivate, tags and members.

Data never passes through memory whole: upload and import stream chunks from the source
through the digests and the quota into the store. Status moves by compare-and-swap
UPDATEs (queued -> saving -> active; queued -> uploading -> importing -> active), so two
uploads to one image cannot both proceed; any failure puts the image back to ``queued``,
removes what was written and returns the bytes counted against the quota.
"""
import functools
import hashlib
import logging
import os
import queue
import threading

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.core import policy
from apps.core.drivers import load_driver
from apps.core.exceptions import (ApiError, BadRequest, Conflict, Forbidden, NotFound, OverQuota,
                                  PayloadTooLarge, UnsupportedMediaType)
from apps.core.quotas import quota_consume, quota_release

from . import format_inspector, selectors
from .drivers.base import ImageToolDriver, ImageToolError
from .models import Image, ImageMember
from .stores.base import ImageStore, StoreError, StoreFull, StoreNotFound

log = logging.getLogger(__name__)

CHUNK_SIZE = 1 << 20
# Bytes reserved against the quota at a time while data of unknown size arrives.
QUOTA_STEP = 64 << 20
QUOTA_COUNT = "image_count_total"
QUOTA_BYTES = "image_bytes_total"
HASH_ALGO = "sha512"

BASE_ATTRIBUTES = ("name", "visibility", "protected", "os_hidden", "min_disk", "min_ram",
                   "disk_format", "container_format", "owner", "tags", "id")
READ_ONLY = ("created_at", "updated_at", "status", "checksum", "size", "virtual_size", "direct_url",
             "self", "file", "schema", "id", "os_hash_algo", "os_hash_value", "locations", "stores")
# Refused outright on create, as Glance's _disallowed_properties.
DISALLOWED = ("direct_url", "self", "file", "schema", "stores", "locations")
RESERVED = ("location", "deleted", "deleted_at")
RESERVED_PREFIX = "os_glance"


class Gone(ApiError):
    status, title = 410, "Gone"


# ------------------------------------------------------------------------- backends

def conf():
    return settings.MONOSTACK["image"]


def _dir(option, default_name):
    return conf()[option] or os.path.join(settings.MONOSTACK["DEFAULT"]["state_dir"], default_name)


@functools.lru_cache(maxsize=8)
def _load_store(path, directory):
    return load_driver(path, ImageStore, directory)


def image_store():
    return _load_store(conf()["store_driver"], _dir("store_dir", "images"))


def staging_store():
    return _load_store(conf()["store_driver"], _dir("staging_dir", "images-staging"))


@functools.lru_cache(maxsize=4)
def _load_tool(path, cpu, memory):
    return load_driver(path, ImageToolDriver, cpu_seconds=cpu, memory_mb=memory)


def image_tool():
    c = conf()
    return _load_tool(c["image_tool_driver"], c["qemu_img_cpu_seconds"], c["qemu_img_memory_mb"])


def import_methods():
    return [m.strip() for m in conf()["enabled_import_methods"].split(",") if m.strip()]


def _quota_defaults():
    return {QUOTA_COUNT: conf()["default_image_count_total"], QUOTA_BYTES: conf()["default_image_bytes_total"]}


def _authorize(ctx, rule, target):
    policy.authorize(rule, ctx.credentials(), target, message="Policy doesn't allow %(action)s to be performed.")


# ------------------------------------------------------------------------- create / update / delete

def _check_extra_properties(extra, *, limit=True):
    for key in extra:
        if len(key) > 255:
            raise BadRequest("Custom property should not be greater than 255 characters.")
        if key in RESERVED or key.startswith(RESERVED_PREFIX):
            raise Forbidden(f"Attribute '{key}' is reserved.")
    if limit and len(extra) > conf()["max_properties"]:
        raise PayloadTooLarge(f"Maximum number of properties exceeded: {len(extra)} of {conf()['max_properties']}.")


def _check_tags(tags):
    if len(set(tags)) > conf()["max_tags"]:
        raise PayloadTooLarge(f"Maximum number of tags exceeded: {len(set(tags))} of {conf()['max_tags']}.")


def _check_visibility_change(ctx, image, visibility):
    if visibility == "public":
        _authorize(ctx, "image:publicize_image", selectors.policy_target(ctx, image, member=False))
    elif visibility == "community":
        _authorize(ctx, "image:communitize_image", selectors.policy_target(ctx, image, member=False))


def _unique(tags):
    seen = []
    for tag in tags:
        if tag not in seen:
            seen.append(tag)
    return seen


def image_create(*, ctx, data):
    """A queued image from a validated POST /v2/images body."""
    data = dict(data)
    for key in DISALLOWED:
        if key in data:
            raise Forbidden(f"Attribute '{key}' is read-only.")
    for key in READ_ONLY:
        if key in data and key != "id":
            raise Forbidden(f"Attribute '{key}' is read-only.")
    tags = _unique(data.pop("tags", None) or [])
    core = {k: data.pop(k) for k in BASE_ATTRIBUTES if k in data and k != "tags"}
    extra = data
    _check_extra_properties(extra)
    _check_tags(tags)
    owner = core.pop("owner", None) or ctx.project_id
    image = Image(owner=owner, tags=tags, properties=extra, status=Image.QUEUED,
                  visibility=core.pop("visibility", "shared"))
    if "id" in core:
        image.pk = core.pop("id")
    for key, value in core.items():
        setattr(image, key, value)
    _authorize(ctx, "image:add_image", {"owner": owner, "project_id": owner})
    if owner != ctx.project_id and not selectors.is_admin(ctx):
        raise Forbidden("You are not permitted to create images owned by another project.")
    _check_visibility_change(ctx, image, image.visibility)
    with transaction.atomic():
        if Image.objects.filter(pk=image.pk).exists():
            raise Conflict(f"Image with identifier {image.pk} already exists!")
        if owner:
            quota_consume(project_id=owner, deltas={QUOTA_COUNT: 1}, limits_default=_quota_defaults())
        image.save(force_insert=True)
    return image


def image_update(*, ctx, image_id, changes, validate_value):
    """Apply JSON-patch ``changes`` ([{"op", "path": [parts], "value"}]) to the image, as
    Glance's images controller does; ``validate_value(name, value)`` checks a value against
    the image schema (400)."""
    with transaction.atomic():
        image = selectors.access_image(ctx, image_id, for_update=True)
        _authorize(ctx, "image:modify_image", selectors.policy_target(ctx, image))
        admin = selectors.is_admin(ctx)
        for change in changes:
            op, path = change["op"], change["path"]
            root = path[0]
            if op == "remove":
                if root in BASE_ATTRIBUTES:
                    raise Forbidden(f"Property {root} may not be removed.")
                if root not in image.properties:
                    raise Conflict(f"Property {root} does not exist.")
                del image.properties[root]
                continue
            value = change["value"]
            validate_value(root, value)
            if root in BASE_ATTRIBUTES:
                if root == "owner" and not admin:
                    raise Forbidden("Owner can't be updated by non admin.")
                if root in ("disk_format", "container_format") and image.status not in (Image.QUEUED, Image.IMPORTING):
                    raise Forbidden(f"Attribute {root} can be only replaced for a queued image.")
                if root == "visibility" and value != image.visibility:
                    _check_visibility_change(ctx, image, value)
                if root == "tags":
                    value = _unique(value)
                    _check_tags(value)
                setattr(image, root, value)
            else:
                if op == "replace" and root not in image.properties:
                    raise Conflict(f"Property {root} does not exist.")
                if op == "add" and change.get("draft") == 4 and root in image.properties:
                    raise Conflict(f"Property {root} already present.")
                image.properties[root] = value
        _check_extra_properties(image.properties)
        if changes:
            image.save()
    return image


def image_delete(*, ctx, image_id):
    with transaction.atomic():
        image = selectors.access_image(ctx, image_id, for_update=True)
        _authorize(ctx, "image:delete_image", selectors.policy_target(ctx, image))
        if image.protected:
            raise Forbidden(f"Image {image.pk} is protected and cannot be deleted.")
        image_purge(image=image)


def image_purge(*, image):
    """Remove the row, give back its quota and (after commit) its data. The caller checked
    permissions (the API's policy, or Django admin's own)."""
    with transaction.atomic():
        location, staged = image.location, image.staging_location
        if image.owner:
            quota_release(project_id=image.owner, deltas={QUOTA_COUNT: 1, QUOTA_BYTES: image.quota_bytes})
        image.delete()
        transaction.on_commit(lambda: _remove_data(location, staged))


def _remove_data(location, staged):
    if location:
        image_store().delete(location)
    if staged:
        staging_store().delete(staged)


def image_deactivate(*, ctx, image_id):
    _set_active(ctx, image_id, deactivate=True)


def image_reactivate(*, ctx, image_id):
    _set_active(ctx, image_id, deactivate=False)


def _set_active(ctx, image_id, *, deactivate):
    with transaction.atomic():
        image = selectors.access_image(ctx, image_id, for_update=True)
        _authorize(ctx, "image:deactivate" if deactivate else "image:reactivate",
                   selectors.policy_target(ctx, image))
        source, target = (Image.ACTIVE, Image.DEACTIVATED) if deactivate else (Image.DEACTIVATED, Image.ACTIVE)
        if image.status == target:
            return
        if image.status != source:
            verb = "deactivate" if deactivate else "reactivate"
            raise Forbidden(f"Not allowed to {verb} image in status '{image.status}'")
        image.status = target
        image.save(update_fields=["status", "updated_at"])


# ------------------------------------------------------------------------- tags

def image_tag_add(*, ctx, image_id, tag):
    if len(tag) > 255:
        raise BadRequest("Tag is longer than 255 characters.")
    with transaction.atomic():
        image = selectors.access_image(ctx, image_id, for_update=True)
        _authorize(ctx, "image:modify_image", selectors.policy_target(ctx, image))
        if tag not in image.tags:
            _check_tags(image.tags + [tag])
            image.tags = image.tags + [tag]
            image.save(update_fields=["tags", "updated_at"])


def image_tag_delete(*, ctx, image_id, tag):
    with transaction.atomic():
        image = selectors.access_image(ctx, image_id, for_update=True)
        _authorize(ctx, "image:modify_image", selectors.policy_target(ctx, image))
        if tag not in image.tags:
            raise NotFound(f"Tag {tag} not found.")
        image.tags = [t for t in image.tags if t != tag]
        image.save(update_fields=["tags", "updated_at"])


# ------------------------------------------------------------------------- members

def _shared_only(image):
    if image.visibility != "shared":
        raise Forbidden("Only shared images have members.")


def member_create(*, ctx, image_id, member_id):
    with transaction.atomic():
        image = selectors.access_image(ctx, image_id, for_update=True)
        _shared_only(image)
        _authorize(ctx, "image:add_member", selectors.policy_target(ctx, image))
        if ImageMember.objects.filter(image=image, member_id=member_id).exists():
            raise Conflict(f"Member {member_id} is duplicated for image {image.pk}")
        if ImageMember.objects.filter(image=image).count() >= conf()["max_members"]:
            raise PayloadTooLarge(f"Image member limit exceeded for image {image.pk}.")
        return ImageMember.objects.create(image=image, member_id=member_id)


def _member_for(ctx, image_id, member_id):
    image = selectors.access_image(ctx, image_id)
    _shared_only(image)
    member = selectors.access_member(image, member_id)
    return image, member


def member_update(*, ctx, image_id, member_id, status):
    with transaction.atomic():
        image, member = _member_for(ctx, image_id, member_id)
        target = selectors.policy_target(ctx, image, member=member)
        if not policy.authorize("image:get_member", ctx.credentials(), target, do_raise=False):
            raise NotFound(f"{member_id} not found in the member list of the image {image.pk}.")
        _authorize(ctx, "image:modify_member", target)
        member.status = status
        member.save(update_fields=["status", "updated_at"])
        return member


def member_delete(*, ctx, image_id, member_id):
    with transaction.atomic():
        image, member = _member_for(ctx, image_id, member_id)
        _authorize(ctx, "image:delete_member", selectors.policy_target(ctx, image, member=False))
        member.delete()


def member_show(*, ctx, image_id, member_id):
    image = selectors.access_image(ctx, image_id)
    if image.visibility != "shared":
        raise NotFound("Only shared images have members.")
    member = selectors.access_member(image, member_id)
    target = selectors.policy_target(ctx, image, member=member)
    if not policy.authorize("image:get_member", ctx.credentials(), target, do_raise=False):
        raise NotFound(f"{member_id} not found in the member list of the image {image.pk}.")
    return member


def member_list(*, ctx, image_id):
    image = selectors.access_image(ctx, image_id)
    _shared_only(image)
    target = selectors.policy_target(ctx, image)
    _authorize(ctx, "image:get_members", target)
    sees_all = selectors.is_admin(ctx) or image.owner == ctx.project_id
    return selectors.member_list(ctx, image, sees_all=sees_all)


# ------------------------------------------------------------------------- data

class Digests:
    """md5 (``checksum``) and sha512 (``os_hash_value``) of a stream, computed in two threads
    beside the one that reads and writes (hashlib drops the GIL on large buffers), with a
    bounded queue each so memory stays flat."""

    DEPTH = 4

    def __init__(self):
        self._hashes = [hashlib.md5(), hashlib.new(HASH_ALGO)]
        self._queues = [queue.Queue(self.DEPTH) for _ in self._hashes]
        self._threads = [threading.Thread(target=self._run, args=(h, q), daemon=True)
                         for h, q in zip(self._hashes, self._queues)]
        for t in self._threads:
            t.start()

    @staticmethod
    def _run(h, q):
        while True:
            chunk = q.get()
            if chunk is None:
                return
            h.update(chunk)

    def update(self, chunk):
        for q in self._queues:
            q.put(chunk)

    def finish(self):
        for q in self._queues:
            q.put(None)
        for t in self._threads:
            t.join()
        return self._hashes[0].hexdigest(), self._hashes[1].hexdigest()

    def abort(self):
        for q in self._queues:
            try:
                while True:
                    q.get_nowait()
            except queue.Empty:
                pass
            q.put(None)


class Receiver:
    """Iterates the chunks of ``source`` (an iterable of bytes), counting, hashing and
    reserving quota as they pass; raises OverQuota (413) past the project's quota or the size
    cap and BadRequest when the data ends before its declared size."""

    def __init__(self, source, *, project_id, declared_size=None):
        self.source = source
        self.project_id = project_id
        self.declared_size = declared_size
        self.size = 0
        self.reserved = 0
        self.max_size = conf()["max_image_size"]
        if declared_size is not None:
            if declared_size > self.max_size:
                raise PayloadTooLarge(f"The incoming image is too large: {declared_size} bytes exceeds "
                                      f"the limit of {self.max_size} bytes.")
            self._reserve(declared_size)
        self.digests = Digests()

    def _reserve(self, amount, *, exact=None):
        if not self.project_id or amount <= 0:
            self.reserved += max(amount, 0)
            return
        try:
            quota_consume(project_id=self.project_id, deltas={QUOTA_BYTES: amount},
                          limits_default=_quota_defaults())
        except OverQuota:
            if exact is None or exact >= amount:
                raise
            quota_consume(project_id=self.project_id, deltas={QUOTA_BYTES: exact},
                          limits_default=_quota_defaults())
            amount = exact
        self.reserved += amount

    def __iter__(self):
        for chunk in self.source:
            if not chunk:
                continue
            self.size += len(chunk)
            if self.size > self.max_size:
                raise PayloadTooLarge(f"The incoming image is too large: it exceeds the limit of "
                                      f"{self.max_size} bytes.")
            if self.declared_size is not None and self.size > self.declared_size:
                raise BadRequest(f"Image data is larger than its declared size {self.declared_size}.")
            if self.size > self.reserved:
                need = self.size - self.reserved
                self._reserve(max(need, min(QUOTA_STEP, self.max_size - self.reserved)), exact=need)
            self.digests.update(chunk)
            yield chunk
        if self.declared_size is not None and self.size != self.declared_size:
            raise BadRequest(f"Image data ended after {self.size} of its declared {self.declared_size} bytes.")

    def settle(self, keep):
        """Give back the reserved bytes beyond ``keep``."""
        extra = self.reserved - keep
        if extra > 0 and self.project_id:
            quota_release(project_id=self.project_id, deltas={QUOTA_BYTES: extra})
        self.reserved = keep


def read_stream(stream, content_length):
    """Chunks of a WSGI input: exactly ``content_length`` bytes when known (a short read means
    the client went away), else until the end of a chunked body."""
    remaining = content_length
    while remaining is None or remaining > 0:
        try:
            chunk = stream.read(CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining))
        except Exception as e:  # the client's connection failed (reset, bad chunked framing)
            raise BadRequest(f"Reading image data from the client failed: {e}") from e
        if not chunk:
            if remaining:
                raise BadRequest("The client closed the connection before sending all image data.")
            return
        if remaining is not None:
            remaining -= len(chunk)
        yield chunk


def _cas(image_id, source, target, **fields):
    updated = Image.objects.filter(pk=image_id, status__in=source).update(
        status=target, updated_at=timezone.now(), **fields)
    return updated == 1


def _need_formats(image):
    missing = [k for k in ("disk_format", "container_format") if not getattr(image, k)]
    if missing:
        raise BadRequest(f"Propert{'ies' if len(missing) > 1 else 'y'} {', '.join(missing)} "
                         f"must be set prior to saving data.")


def _status_conflict(image_id, wanted):
    current = Image.objects.filter(pk=image_id).values_list("status", flat=True).first()
    if current is None:
        raise NotFound(f"No image found with ID {image_id}")
    raise Conflict(f"Image status transition from {current} to {wanted} is not allowed")


def _inspect(store, location, image, size):
    """Header inspection, then (only if it passed) qemu-img under limits; returns virtual_size.
    Raises BadRequest/UnsupportedMediaType on unsafe or mismatched data."""
    if image.container_format not in (None, "bare"):
        return None
    try:
        with store.open(location) as f:
            info = format_inspector.inspect(f, disk_format=image.disk_format, size=size)
    except format_inspector.SafetyCheckFailed as e:
        log.warning("Image %s refused: %s", image.pk, e)
        raise BadRequest(f"Image failed safety checks: {e}") from e
    except format_inspector.ImageFormatError as e:
        raise UnsupportedMediaType(str(e)) from e
    virtual_size = info.virtual_size
    path = store.local_path(location)
    tool = image_tool()
    if path and info.format in tool.FORMATS and info.format != "raw" and info.format == image.disk_format:
        if not tool.available():
            log.warning("qemu-img is not installed: image %s checked by header inspection only", image.pk)
            return virtual_size
        try:
            found = tool.info(path, disk_format=info.format)
        except ImageToolError as e:
            raise BadRequest(f"Image data is not a valid {info.format} image: {e}") from e
        if found.backing_file or found.data_file:
            raise BadRequest("Image failed safety checks: it refers to other files")
        if found.format != info.format:
            raise UnsupportedMediaType(f"Image disk_format {image.disk_format} does not match stream data {found.format}")
        virtual_size = found.virtual_size or virtual_size
    return virtual_size


def _receive_into(store, key, source, *, project_id, declared_size):
    """Stream ``source`` into ``store``; returns (StoredData, Receiver). On any failure nothing
    stays in the store and the reserved quota is returned."""
    receiver = Receiver(source, project_id=project_id, declared_size=declared_size)
    try:
        stored = store.add(key, receiver)
    except BaseException:
        receiver.digests.abort()
        receiver.settle(0)
        raise
    return stored, receiver


def _store_error(e):
    if isinstance(e, StoreFull):
        return PayloadTooLarge(f"Image storage media is full: {e}")
    return ApiError(f"Image store failed: {e}", status=503, title="Service Unavailable")


def image_upload(*, ctx, image_id, stream, content_length, declared_size=None):
    """PUT /v2/images/{id}/file: queued -> saving -> active, or back to queued on any failure."""
    image = selectors.access_image(ctx, image_id)
    _authorize(ctx, "image:upload_image", selectors.policy_target(ctx, image))
    _need_formats(image)
    if declared_size is not None and content_length is not None and declared_size != content_length:
        raise BadRequest(f"Declared image size {declared_size} does not match Content-Length {content_length}.")
    if not _cas(image.pk, [Image.QUEUED], Image.SAVING):
        _status_conflict(image.pk, Image.SAVING)
    size = declared_size if declared_size is not None else content_length
    _store_data(image, read_stream(stream, content_length), size, restore=Image.QUEUED,
                source_status=Image.SAVING)
    image.refresh_from_db()
    return image


def _store_data(image, source, size, *, restore, source_status):
    """Stream into the image store, inspect, and make the image active; on failure the data
    goes, the quota comes back and the image returns to ``restore``."""
    store = image_store()
    receiver = None
    try:
        try:
            stored, receiver = _receive_into(store, str(image.pk), source, project_id=image.owner,
                                             declared_size=size)
        except StoreError as e:
            raise _store_error(e) from e
        checksum, hash_value = receiver.digests.finish()
        try:
            virtual_size = _inspect(store, stored.location, image, stored.size)
        except BaseException:
            store.delete(stored.location)
            receiver.settle(0)
            raise
        with transaction.atomic():
            done = _cas(image.pk, [source_status], Image.ACTIVE, size=stored.size, checksum=checksum,
                        os_hash_algo=HASH_ALGO, os_hash_value=hash_value, virtual_size=virtual_size,
                        location=stored.location, quota_bytes=stored.size)
            if done:
                receiver.settle(stored.size)
        if not done:
            # Deleted (or changed) while the data arrived: the upload has nothing to attach to.
            store.delete(stored.location)
            receiver.settle(0)
            raise Gone(f"Image {image.pk} could not be found after upload. The image may have been "
                       "deleted during the upload, cleaning up the chunks uploaded.")
    except BaseException:
        _cas(image.pk, [source_status], restore)
        raise


def image_download(*, ctx, image_id):
    """(image, open file) for GET /v2/images/{id}/file; (image, None) when it has no data."""
    image = selectors.access_image(ctx, image_id)
    admin = selectors.is_admin(ctx)
    if image.status == Image.DEACTIVATED and not admin:
        raise Forbidden("The requested image has been deactivated. Image data download is forbidden.")
    _authorize(ctx, "image:download_image", selectors.policy_target(ctx, image))
    if image.status not in (Image.ACTIVE, Image.DEACTIVATED) or not image.location:
        return image, None
    try:
        return image, image_store().open(image.location)
    except StoreNotFound:
        log.error("Image %s is %s but its data is missing from the store", image.pk, image.status)
        return image, None


def image_store_sweep(*, older_than=3600, dry_run=False):
    """Remove what a crashed process left in the stores: partial writes, and data no image row
    names (only when older than ``older_than`` seconds, so an upload between its last write and
    its commit is never touched). Returns {"partials": n, "orphans": [locations]}."""
    import time

    cutoff = time.time() - older_than
    result = {"partials": 0, "orphans": []}
    for store, field in ((image_store(), "location"), (staging_store(), "staging_location")):
        if not dry_run:
            result["partials"] += store.sweep_partials(older_than)
        locations = store.locations()
        known = set(Image.objects.filter(**{f"{field}__in": locations}).values_list(field, flat=True))
        for location in locations:
            modified = store.modified_at(location)
            if location in known or modified is None or modified > cutoff:
                continue
            result["orphans"].append(location)
            if not dry_run:
                store.delete(location)
                log.warning("Removed orphaned image data %s (no image names it)", location)
    return result


# ------------------------------------------------------------------------- interoperable import

def image_stage(*, ctx, image_id, stream, content_length, declared_size=None):
    """PUT /v2/images/{id}/stage: queued -> uploading with the data in the staging area."""
    if "glance-direct" not in import_methods():
        raise NotFound("'glance-direct' method is not available at this site.")
    image = selectors.access_image(ctx, image_id)
    _authorize(ctx, "image:upload_image", selectors.policy_target(ctx, image))
    if not _cas(image.pk, [Image.QUEUED], Image.UPLOADING):
        _status_conflict(image.pk, Image.UPLOADING)
    size = declared_size if declared_size is not None else content_length
    try:
        try:
            stored, receiver = _receive_into(staging_store(), str(image.pk),
                                             read_stream(stream, content_length),
                                             project_id=image.owner, declared_size=size)
        except StoreError as e:
            raise _store_error(e) from e
        receiver.digests.finish()
        # Staged bytes count against the owner's quota until the import replaces them.
        if not Image.objects.filter(pk=image.pk, status=Image.UPLOADING).update(
                staging_location=stored.location, quota_bytes=stored.size, size=stored.size,
                updated_at=timezone.now()):
            staging_store().delete(stored.location)
            receiver.settle(0)
            raise Gone(f"Image {image.pk} was deleted while its data was staged.")
        receiver.settle(stored.size)
    except BaseException:
        _cas(image.pk, [Image.UPLOADING], Image.QUEUED)
        raise


def image_import(*, ctx, image_id, method, uri=None):
    """POST /v2/images/{id}/import: checks, then the import runs on the conductor (202)."""
    from . import tasks, webdownload

    if method not in import_methods():
        raise BadRequest(f"Unknown import method name '{method}'.")
    image = selectors.access_image(ctx, image_id)
    _authorize(ctx, "image:upload_image", selectors.policy_target(ctx, image))
    if image.status == Image.ACTIVE:
        raise Conflict("Image with status active cannot be target for import")
    if not image.container_format:
        raise Conflict("'container_format' needs to be set before import")
    if not image.disk_format:
        raise Conflict("'disk_format' needs to be set before import")
    if method == "glance-direct":
        if not _cas(image.pk, [Image.UPLOADING], Image.IMPORTING):
            raise Conflict("Image needs to be staged before 'glance-direct' method can be used")
    elif method == "web-download":
        if not uri:
            raise BadRequest("Import method web-download requires a 'uri'.")
        webdownload.check_uri(uri)
        if not _cas(image.pk, [Image.QUEUED], Image.IMPORTING):
            raise Conflict(f"Image needs to be in 'queued' state to use '{method}' method")
    else:
        raise BadRequest(f"Unknown import method name '{method}'.")
    transaction.on_commit(lambda: tasks.image_import_task.delay(str(image.pk), method, uri))


def image_import_run(*, image_id, method, uri=None):
    """The import itself (on the conductor): staged data or a download into the store."""
    from . import webdownload

    image = Image.objects.filter(pk=image_id, status=Image.IMPORTING).first()
    if image is None:
        log.info("Import of image %s skipped: it is gone or no longer importing", image_id)
        return False
    staged = image.staging_location
    if staged and image.owner and image.quota_bytes:
        # The staged bytes stop counting now; the copy into the store reserves its own.
        with transaction.atomic():
            if Image.objects.filter(pk=image.pk, status=Image.IMPORTING,
                                    quota_bytes=image.quota_bytes).update(quota_bytes=0):
                quota_release(project_id=image.owner, deltas={QUOTA_BYTES: image.quota_bytes})
    try:
        if method == "glance-direct":
            staging = staging_store()
            with staging.open(staged) as f:
                size = staging.size(staged)
                _store_data(image, iter(lambda: f.read(CHUNK_SIZE), b""), size, restore=Image.QUEUED,
                            source_status=Image.IMPORTING)
        else:
            with webdownload.open_url(uri, timeout=conf()["web_download_timeout"]) as response:
                _store_data(image, response.chunks(CHUNK_SIZE), response.length, restore=Image.QUEUED,
                            source_status=Image.IMPORTING)
        return True
    except Exception as e:
        log.warning("Import of image %s by %s failed: %s", image_id, method, e)
        Image.objects.filter(pk=image.pk, status__in=[Image.IMPORTING, Image.QUEUED]).update(
            status=Image.QUEUED, size=None, updated_at=timezone.now())
        return False
    finally:
        if staged:
            staging_store().delete(staged)
            Image.objects.filter(pk=image.pk, staging_location=staged).update(staging_location="")
