"""Glance v2 API: parse, authorise, call one service or selector, render."""
import json
import re

from django.http import FileResponse, HttpResponse, StreamingHttpResponse

from apps.core import policy
from apps.core.api.validation import compile_schema, validate
from apps.core.api.views import OpenStackAPIView
from apps.core.exceptions import ApiError, BadRequest, UnsupportedMediaType
from apps.identity.authentication import require_token

from .. import selectors, services
from . import schemas
from .serializers import image_view, member_view

PATCH_TYPES = {"application/openstack-images-v2.0-json-patch": 4,
               "application/openstack-images-v2.1-json-patch": 10}
PATCH_OPS = ("add", "remove", "replace")
DOWNLOAD_CHUNK = 1 << 20


class RangeNotSatisfiable(ApiError):
    status, title = 416, "Requested Range Not Satisfiable"


class ImageView(OpenStackAPIView):
    service = "image"

    def perform_content_negotiation(self, request, force=False):
        # Views answer JSON or raw bytes themselves; an Accept of application/octet-stream
        # (image data) must not become a 406.
        return super().perform_content_negotiation(request, force=True)

    def ctx(self):
        return require_token(self.request)

    def body(self, schema):
        validate(schema, self.request.data)
        return self.request.data


def _json(body, status=200):
    return HttpResponse(json.dumps(body, ensure_ascii=False), status=status, content_type="application/json")


# ------------------------------------------------------------------------- images

class ImagesView(ImageView):
    def get(self, request):
        ctx = self.ctx()
        policy.authorize("image:get_images", ctx.credentials(), {"project_id": ctx.project_id},
                         message="Policy doesn't allow %(action)s to be performed.")
        page = selectors.image_list(ctx, request)
        body = {"images": [image_view(i) for i in page.items], **page.glance_links(),
                "schema": "/v2/schemas/images"}
        return _json(body)

    def post(self, request):
        ctx = self.ctx()
        image = services.image_create(ctx=ctx, data=self.body(schemas.IMAGE_CREATE))
        response = _json(image_view(image), 201)
        response["Location"] = request.build_absolute_uri(f"/image/v2/images/{image.pk}")
        response["OpenStack-image-import-methods"] = ",".join(services.import_methods())
        return response


class ImageDetailView(ImageView):
    def get(self, request, image_id):
        ctx = self.ctx()
        image = selectors.access_image(ctx, image_id)
        policy.authorize("image:get_image", ctx.credentials(), selectors.policy_target(ctx, image),
                         message="Policy doesn't allow %(action)s to be performed.")
        return _json(image_view(image))

    def patch(self, request, image_id):
        ctx = self.ctx()
        content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip()
        if content_type not in PATCH_TYPES:
            allowed = ", ".join(sorted(PATCH_TYPES))
            raise UnsupportedMediaType(f"Image PATCH expects Content-Type one of: {allowed}",
                                       headers={"Accept-Patch": allowed})
        changes = parse_patch(request.body, PATCH_TYPES[content_type])
        image = services.image_update(ctx=ctx, image_id=image_id, changes=changes,
                                      validate_value=validate_property)
        return _json(image_view(image))

    def delete(self, request, image_id):
        services.image_delete(ctx=self.ctx(), image_id=image_id)
        return HttpResponse(status=204)


def validate_property(name, value):
    schema = schemas.IMAGE_PROPERTIES.get(name, schemas.EXTRA_PROPERTY)
    validate({"type": "object", "properties": {name: schema}} if name in schemas.IMAGE_PROPERTIES
             else {"type": "object", "additionalProperties": schema}, {name: value})


_POINTER_BAD = (re.compile(r"/\s*?/"), re.compile(r"~[^01]"))


def _decode_pointer(pointer):
    """Glance's restricted JSON pointers: one level, "/name" (with ~0 ~1 escapes)."""
    if not isinstance(pointer, str):
        raise BadRequest("Pointer must be a string.")
    if not pointer.startswith("/"):
        raise BadRequest(f'Pointer `{pointer}` does not start with "/".')
    if _POINTER_BAD[0].search(pointer[1:]):
        raise BadRequest(f'Pointer `{pointer}` contains adjacent "/".')
    if len(pointer) > 1 and pointer.endswith("/"):
        raise BadRequest(f'Pointer `{pointer}` end with "/".')
    if pointer[1:].strip() == "/" or not pointer[1:].strip():
        raise BadRequest(f"Pointer `{pointer}` does not contains valid token.")
    if _POINTER_BAD[1].search(pointer) or pointer.endswith("~"):
        raise BadRequest(f'Pointer `{pointer}` contains "~" not part of a recognized escape sequence.')
    return [p.replace("~1", "/").replace("~0", "~").strip() for p in pointer.lstrip("/").split("/")]


def parse_patch(raw, draft):
    try:
        body = json.loads(raw.decode("utf-8") if raw else "")
    except (ValueError, UnicodeDecodeError) as e:
        raise BadRequest(f"Malformed JSON in request body: {e}") from None
    if not isinstance(body, list):
        raise BadRequest("Request body must be a JSON array of operation objects.")
    changes = []
    for raw_change in body:
        if not isinstance(raw_change, dict):
            raise BadRequest("Operations must be JSON objects.")
        if draft == 10:
            op = raw_change.get("op")
            if op is None:
                raise BadRequest("Unable to find `op` in JSON Schema change. It must be one of the "
                                 f"following: {', '.join(PATCH_OPS)}.")
            if op not in PATCH_OPS:
                raise BadRequest(f"Invalid operation: `{op}`. It must be one of the following: "
                                 f"{', '.join(PATCH_OPS)}.")
            if "path" not in raw_change:
                raise BadRequest("Unable to find 'path' in JSON Schema change")
            path = raw_change["path"]
        else:
            ops = [k for k in PATCH_OPS if k in raw_change]
            if len(ops) != 1:
                raise BadRequest('Operation objects must contain exactly one member named "add", '
                                 '"remove", or "replace".')
            op = ops[0]
            path = raw_change[op]
        parts = _decode_pointer(path)
        if len(parts) != 1:
            raise BadRequest(f"Invalid JSON pointer for this resource: '/{'/'.join(parts)}'")
        root = parts[0]
        if root in services.READ_ONLY:
            raise ApiError(f"Attribute '{root}' is read-only.", status=403, title="Forbidden")
        if root in services.RESERVED or root.startswith(services.RESERVED_PREFIX):
            raise ApiError(f"Attribute '{root}' is reserved.", status=403, title="Forbidden")
        change = {"op": op, "path": parts, "draft": draft}
        if op != "remove":
            if "value" not in raw_change:
                raise BadRequest(f'Operation "{op}" requires a member named "value".')
            change["value"] = raw_change["value"]
        changes.append(change)
    return changes


class ImageActionView(ImageView):
    def post(self, request, image_id, action):
        ctx = self.ctx()
        if action == "deactivate":
            services.image_deactivate(ctx=ctx, image_id=image_id)
        else:
            services.image_reactivate(ctx=ctx, image_id=image_id)
        return HttpResponse(status=204)


class ImageTagView(ImageView):
    def put(self, request, image_id, tag):
        services.image_tag_add(ctx=self.ctx(), image_id=image_id, tag=tag)
        return HttpResponse(status=204)

    def delete(self, request, image_id, tag):
        services.image_tag_delete(ctx=self.ctx(), image_id=image_id, tag=tag)
        return HttpResponse(status=204)


# ------------------------------------------------------------------------- data

def _content_length(request):
    """(Content-Length or None when the body is chunked, x-openstack-image-size or None)."""
    meta = request.META
    chunked = "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower()
    raw = meta.get("CONTENT_LENGTH") or ""
    length = None
    if not chunked and raw.strip():
        if not raw.strip().isdigit():
            raise BadRequest(f"Invalid Content-Length {raw!r}.")
        length = int(raw)
    declared = meta.get("HTTP_X_OPENSTACK_IMAGE_SIZE")
    if declared is not None:
        if not declared.strip().isdigit():
            raise BadRequest("Invalid or missing image size in request headers.")
        declared = int(declared)
    if length is None and not chunked:
        length = 0
    return length, declared


def _octet_stream(request):
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip()
    if content_type and content_type != "application/octet-stream":
        raise UnsupportedMediaType(f"Content type {content_type} is not supported; "
                                   "send application/octet-stream.")


class ImageFileView(ImageView):
    def put(self, request, image_id):
        ctx = self.ctx()
        _octet_stream(request)
        length, declared = _content_length(request)
        # The raw WSGI input: Django's request.stream is empty for a chunked body.
        services.image_upload(ctx=ctx, image_id=image_id, stream=request.META["wsgi.input"],
                              content_length=length, declared_size=declared)
        return HttpResponse(status=204)

    def get(self, request, image_id):
        image, f = services.image_download(ctx=self.ctx(), image_id=image_id)
        if f is None:
            return HttpResponse(status=204)
        size = image.size
        byte_range = parse_range(request.META.get("HTTP_RANGE"), size)
        if byte_range is None:
            response = FileResponse(f, content_type="application/octet-stream")
            response["Content-Length"] = str(size)
            if image.checksum:
                response["Content-MD5"] = image.checksum
            return response
        start, end = byte_range
        f.seek(start)
        response = StreamingHttpResponse(_read_range(f, end - start + 1), status=206,
                                         content_type="application/octet-stream")
        response["Content-Length"] = str(end - start + 1)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        return response


def _read_range(f, length):
    try:
        while length > 0:
            chunk = f.read(min(DOWNLOAD_CHUNK, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk
    finally:
        f.close()


def parse_range(header, size):
    """(first, last) byte of a single "bytes=" range, None for no range; 416 when it cannot be
    satisfied or parsed (RFC 7233; one range only, as Glance)."""
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        raise RangeNotSatisfiable("Requested range not satisfiable", headers={"Content-Range": f"bytes */{size}"})
    first, dash, last = spec.strip().partition("-")
    try:
        if not dash:
            raise ValueError
        if first == "":
            suffix = int(last)
            if suffix <= 0:
                raise ValueError
            start, end = max(0, size - suffix), size - 1
        else:
            start = int(first)
            end = int(last) if last else size - 1
            end = min(end, size - 1)
        if start < 0 or start > end or start >= size:
            raise ValueError
    except ValueError:
        raise RangeNotSatisfiable("Requested range not satisfiable",
                                  headers={"Content-Range": f"bytes */{size}"}) from None
    return start, end


class ImageStageView(ImageView):
    def put(self, request, image_id):
        ctx = self.ctx()
        _octet_stream(request)
        length, declared = _content_length(request)
        services.image_stage(ctx=ctx, image_id=image_id, stream=request.META["wsgi.input"],
                             content_length=length, declared_size=declared)
        return HttpResponse(status=204)


class ImageImportView(ImageView):
    def post(self, request, image_id):
        ctx = self.ctx()
        body = self.body(schemas.IMPORT)
        if body.get("stores") or body.get("all_stores"):
            raise BadRequest("This cloud has a single store: 'stores' and 'all_stores' are not supported.")
        method = body["method"]
        services.image_import(ctx=ctx, image_id=image_id, method=method["name"], uri=method.get("uri"))
        return HttpResponse(status=202)


# ------------------------------------------------------------------------- members

class MembersView(ImageView):
    def get(self, request, image_id):
        members = services.member_list(ctx=self.ctx(), image_id=image_id)
        return _json({"members": [member_view(m) for m in members], "schema": "/v2/schemas/members"})

    def post(self, request, image_id):
        ctx = self.ctx()
        data = self.request.data
        if "member" not in data:
            raise BadRequest("Member to be added not specified")
        if not data.get("member"):
            raise BadRequest("Member can't be empty")
        validate(schemas.MEMBER_CREATE, data)
        member = services.member_create(ctx=ctx, image_id=image_id, member_id=data["member"])
        return _json(member_view(member))


class MemberView(ImageView):
    def get(self, request, image_id, member_id):
        return _json(member_view(services.member_show(ctx=self.ctx(), image_id=image_id, member_id=member_id)))

    def put(self, request, image_id, member_id):
        ctx = self.ctx()
        data = self.request.data
        if "status" not in data:
            raise BadRequest("Status not specified")
        validate(schemas.MEMBER_UPDATE, data)
        member = services.member_update(ctx=ctx, image_id=image_id, member_id=member_id, status=data["status"])
        return _json(member_view(member))

    def delete(self, request, image_id, member_id):
        services.member_delete(ctx=self.ctx(), image_id=image_id, member_id=member_id)
        return HttpResponse(status=204)


# ------------------------------------------------------------------------- schemas and info

SCHEMAS = {"image": schemas.image_schema, "images": schemas.images_schema,
           "member": schemas.member_schema, "members": schemas.members_schema}


class SchemaView(ImageView):
    def get(self, request, name):
        self.ctx()
        return _json(SCHEMAS[name]())


class ImportInfoView(ImageView):
    def get(self, request):
        self.ctx()
        return _json({"import-methods": {"description": "Import methods available.", "type": "array",
                                         "value": services.import_methods()}})


for _schema in (schemas.IMAGE_CREATE, schemas.MEMBER_CREATE, schemas.MEMBER_UPDATE, schemas.IMPORT):
    compile_schema(_schema)
