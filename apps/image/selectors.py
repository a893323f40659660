"""Reads: who sees which image (Glance's rules), lists with filters, members.

Visibility (glance/db/sqlalchemy/api.py): an admin sees every image; anyone else sees
public and community images, the images its project owns, and shared images its project is
a member of. Lists show shared images only when the membership has the asked
``member_status`` (accepted by default), and community images only when asked for
(``visibility=community`` or ``all``) unless the project owns them. Everything else is a 404.
"""
import re

from django.db.models import Exists, OuterRef, Q
from django.utils.dateparse import parse_datetime

from apps.core import policy
from apps.core.api.paging import paginate
from apps.core.api.validation import is_uuid_like
from apps.core.exceptions import BadRequest, NotFound

from .models import Image, ImageMember

SORT_KEYS = ("name", "status", "container_format", "disk_format", "size", "id", "created_at",
             "updated_at", "visibility", "min_disk", "min_ram", "virtual_size")
IN_FILTERS = ("name", "id", "status", "container_format", "disk_format")
TIME_FILTERS = ("created_at", "updated_at")
RANGE_FILTERS = ("size", "virtual_size", "min_disk", "min_ram")
EXACT_FILTERS = ("owner", "checksum", "os_hash_value", "os_hash_algo", "min_disk", "min_ram",
                 "size", "virtual_size")
PAGING_PARAMS = ("limit", "marker", "sort", "sort_key", "sort_dir", "member_status", "tag",
                 "visibility", "os_hidden", "protected")
TIME_OPS = {"gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte", "eq": "exact"}


def is_admin(ctx):
    return policy.authorize("image:context_is_admin", ctx.credentials(), {}, do_raise=False)


def is_service(ctx):
    return policy.authorize("image:service_api", ctx.credentials(), {}, do_raise=False)


def _member_exists(project_id, status=None):
    members = ImageMember.objects.filter(image=OuterRef("pk"), member_id=project_id)
    if status is not None:
        members = members.filter(status=status)
    return Exists(members)


def visible_images(ctx, *, member_status=None):
    """Images ``ctx`` may see at all; shared ones through a membership of ``member_status``
    (any status when None)."""
    qs = Image.objects.all()
    if is_admin(ctx) or is_service(ctx):
        return qs
    project = ctx.project_id
    if project is None:
        return qs.filter(visibility__in=("public", "community"))
    return qs.filter(Q(visibility__in=("public", "community")) | Q(owner=project)
                     | (Q(visibility="shared") & _member_exists(project, member_status)))


def access_image(ctx, image_id, *, for_update=False):
    """The image ``image_id`` if ``ctx`` can see it; NotFound for missing and hidden alike."""
    if not is_uuid_like(image_id):
        raise NotFound(f"No image found with ID {image_id}")
    qs = visible_images(ctx)
    if for_update:
        qs = qs.select_for_update(of=("self",))
    try:
        return qs.get(pk=image_id)
    except Image.DoesNotExist:
        raise NotFound(f"No image found with ID {image_id}") from None


def membership_of(ctx, image):
    """The caller's project's membership of ``image`` (None if it has none)."""
    if ctx.project_id is None or image.owner == ctx.project_id:
        return None
    return ImageMember.objects.filter(image=image, member_id=ctx.project_id).first()


def policy_target(ctx, image, *, member=None):
    if member is None:
        member = membership_of(ctx, image)
    return {"project_id": image.owner, "owner": image.owner, "visibility": image.visibility,
            "member_id": member.member_id if member else None}


# ------------------------------------------------------------------------- lists

def _split_op(expression):
    """Glance's split_filter_op: "gte:2020-01-01T00:00:00Z" -> ("gte", ...); an ISO time
    with colons and no operator is an equality."""
    left, sep, right = expression.partition(":")
    if sep and parse_datetime(expression) is None:
        return left, right
    return "eq", expression


def _split_in(value):
    """Comma-separated values, double quotes protecting commas (api-wg filtering)."""
    if value.count('"') % 2:
        raise BadRequest("Invalid filter value %s. The quote is not closed." % value)
    return [a if a else b for a, b in re.findall(r'"((?:[^"\\]|\\.)*)",?|([^,]+),?', value)]


def _bool_param(params, name):
    value = params.get(name)
    if value is None:
        return None
    value = value.lower()
    if value not in ("true", "false"):
        raise BadRequest(f"Invalid value '{params.get(name)}' for '{name}' filter. "
                         "Valid values are 'true' or 'false'.")
    return value == "true"


def _filters(params):
    """Q for the list filters in ``params`` (the reference's names and operators)."""
    q = Q()
    for key in params:
        if key in PAGING_PARAMS:
            continue
        values = params.getlist(key)
        for value in values:
            if key in IN_FILTERS:
                op, arg = _split_op(value)
                if op == "in":
                    items = _split_in(arg)
                    if key == "id":
                        items = [i for i in items if is_uuid_like(i)]
                    q &= Q(**{f"{key}__in": items})
                elif op == "eq":
                    if key == "id" and not is_uuid_like(arg):
                        q &= Q(pk__in=[])
                    else:
                        q &= Q(**{key: arg})
                else:
                    raise BadRequest(f"Unable to filter by unknown operator '{op}'.")
            elif key in TIME_FILTERS:
                op, arg = _split_op(value)
                when = parse_datetime(arg)
                if when is None:
                    raise BadRequest(f'Bad "{key}" query filter format. Use ISO 8601 DateTime notation.')
                if op == "neq":
                    q &= ~Q(**{key: when})
                elif op in TIME_OPS:
                    q &= Q(**{f"{key}__{TIME_OPS[op]}": when})
                else:
                    raise BadRequest("Unable to filter on a unknown operator.")
            elif key.endswith(("_min", "_max")) and key[:-4] in RANGE_FILTERS:
                try:
                    bound = int(value)
                except ValueError:
                    raise BadRequest("Unable to filter on a range with a non-numeric value.") from None
                q &= Q(**{f"{key[:-4]}__{'gte' if key.endswith('_min') else 'lte'}": bound})
            elif key in EXACT_FILTERS:
                if key in ("min_disk", "min_ram", "size", "virtual_size"):
                    try:
                        value = int(value)
                    except ValueError:
                        raise BadRequest(f"Invalid value '{value}' for '{key}' filter.") from None
                q &= Q(**{key: value})
            else:  # an extra property: exact string match
                q &= Q(properties__contains={key: value})
    return q


def image_list(ctx, request, *, max_limit=1000, default_limit=25):
    """One page of the images ``ctx`` sees, filtered and sorted as the query asks (one query)."""
    params = request.query_params
    member_status = params.get("member_status", "accepted")
    if member_status not in ("pending", "accepted", "rejected", "all"):
        raise BadRequest(f"Invalid status: {member_status}")
    visibility = params.get("visibility")
    if visibility is not None and visibility not in ("community", "public", "private", "shared", "all"):
        raise BadRequest(f"Invalid visibility value: {visibility}")
    if "changes-since" in params:
        raise BadRequest('The "changes-since" filter is no longer available on v2.')
    os_hidden = _bool_param(params, "os_hidden")
    protected = _bool_param(params, "protected")

    base = visible_images(ctx, member_status=None if member_status == "all" else member_status)
    qs = base.exclude(status__in=Image.HIDDEN_STATUSES).filter(os_hidden=bool(os_hidden))
    if visibility is not None:
        if visibility != "all":
            qs = qs.filter(visibility=visibility)
    elif ctx.project_id is None:
        qs = qs.exclude(visibility="community")
    else:
        qs = qs.filter(~Q(visibility="community") | Q(owner=ctx.project_id))
    if protected is not None:
        qs = qs.filter(protected=protected)
    for tag in params.getlist("tag"):
        qs = qs.filter(tags__contains=[tag.strip()])
    qs = qs.filter(_filters(params))
    return paginate(request, qs, marker_lookup="id", default_limit=default_limit, max_limit=max_limit,
                    sort_keys_allowed={k: ("pk" if k == "id" else k) for k in SORT_KEYS},
                    default_sort=[("created_at", "desc")], marker_queryset=visible_images(ctx),
                    marker_not_found=lambda m: BadRequest(f"Marker {m} could not be found."))


# ------------------------------------------------------------------------- members

def member_list(ctx, image, *, sees_all):
    qs = ImageMember.objects.filter(image=image)
    if not sees_all:
        qs = qs.filter(member_id=ctx.project_id)
    return list(qs)


def access_member(image, member_id):
    try:
        return ImageMember.objects.get(image=image, member_id=member_id)
    except ImageMember.DoesNotExist:
        raise NotFound(f"{member_id} not found in the member list of the image {image.pk}.") from None
