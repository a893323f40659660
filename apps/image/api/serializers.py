"""Glance v2 JSON shapes: an image is a flat object with its extra properties beside the core
ones, links relative to the service root (/v2/...)."""

CORE = ("name", "disk_format", "container_format", "visibility", "size", "virtual_size", "status",
        "checksum", "protected", "min_ram", "min_disk", "owner", "os_hidden", "os_hash_algo",
        "os_hash_value")


def isotime(value):
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def image_view(image):
    view = dict(image.properties)
    for key in CORE:
        view[key] = getattr(image, key)
    image_id = str(image.pk)
    view.update({
        "id": image_id,
        "created_at": isotime(image.created_at),
        "updated_at": isotime(image.updated_at),
        "tags": list(image.tags),
        "self": f"/v2/images/{image_id}",
        "file": f"/v2/images/{image_id}/file",
        "schema": "/v2/schemas/image",
    })
    return view


def member_view(member):
    return {
        "member_id": member.member_id,
        "image_id": str(member.image_id),
        "status": member.status,
        "created_at": isotime(member.created_at),
        "updated_at": isotime(member.updated_at),
        "schema": "/v2/schemas/member",
    }
