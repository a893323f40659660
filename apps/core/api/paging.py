"""limit/marker paging for list endpoints: one SQL query per page, keyset seek (no OFFSET).

    page = paginate(request, Server.objects.filter(project_id=pid), marker_lookup="uuid",
                    max_limit=1000, sort_keys_allowed={"display_name": "name", "created_at": "created_at"},
                    default_sort=[("created_at", "desc")])
    body = {"servers": [view(s) for s in page.items], **page.nova_links("servers")}

The marker's sort values are read by scalar subqueries inside the page query itself, so
a page is one statement whatever its position. Rows are ordered by the requested keys
and then the primary key, so equal keys never make a row appear twice or vanish between
pages. ``limit + 1`` rows are fetched to know whether a next page exists.
"""
import re
from dataclasses import dataclass, field

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import Exists, F, Q, Subquery
from django.db.models.lookups import IsNull

from apps.core import exceptions as exc

SORT_DIRS = ("asc", "desc")
_DIGITS = re.compile(r"^\s*[0-9]+\s*$")


def _query_params(request):
    params = getattr(request, "query_params", None)
    return params if params is not None else request.GET


def parse_limit(params, *, default_limit=None, max_limit=1000):
    """The page size: absent or 0 means the default (or the maximum); above the maximum is
    clamped (nova and neutron do both); negative or non-integer is a 400."""
    raw = params.get("limit")
    if raw is None:
        return min(default_limit or max_limit, max_limit)
    if not _DIGITS.match(raw):
        raise exc.BadRequest(f"Limit must be an integer 0 or greater and not '{raw}'")
    limit = int(raw)
    return min(limit or default_limit or max_limit, max_limit)


def parse_sort(params, *, sort_keys_allowed, default_sort):
    """[(api_key, dir), ...] from nova-style repeated ``sort_key``/``sort_dir`` or
    glance/neutron-style ``sort=key:dir,key2`` (a key without a direction takes the
    default one). Unknown keys or directions are a 400."""
    default_dir = default_sort[0][1] if default_sort else "desc"
    sort_values = [v for v in _getlist(params, "sort") if v.strip()]
    keys = [k.strip() for k in _getlist(params, "sort_key") if k.strip()]
    dirs = [d.strip().lower() for d in _getlist(params, "sort_dir") if d.strip()]
    if sort_values and (keys or dirs):
        raise exc.BadRequest("Old and new sorting syntax cannot be combined")
    if sort_values:
        pairs = []
        for item in ",".join(sort_values).split(","):
            key, _, direction = item.strip().partition(":")
            if not key.strip():
                raise exc.BadRequest(f"Invalid sort value '{item}'")
            pairs.append((key.strip(), direction.strip().lower() or default_dir))
    else:
        if len(dirs) > len(keys):
            raise exc.BadRequest("Sort direction size exceeds sort key size")
        # Nova pads missing directions with the first one given (or the default).
        pad = dirs[0] if dirs else default_dir
        pairs = list(zip(keys, dirs + [pad] * (len(keys) - len(dirs))))
    if not pairs:
        return list(default_sort)
    for key, direction in pairs:
        if key not in sort_keys_allowed:
            valid = ", ".join(sorted(sort_keys_allowed))
            raise exc.BadRequest(f"'{key}' is not a valid sort key. Valid keys: {valid}")
        if direction not in SORT_DIRS:
            raise exc.BadRequest("Unknown sort direction, must be 'desc' or 'asc'")
    seen, unique = set(), []
    for key, direction in pairs:
        if key not in seen:
            seen.add(key)
            unique.append((key, direction))
    return unique


def _getlist(params, name):
    return params.getlist(name) if hasattr(params, "getlist") else (
        [params[name]] if params.get(name) else [])


def _nullable(model, path):
    """Whether a (possibly related, "a__b") field can be NULL; unknown counts as nullable."""
    try:
        for part in path.split("__")[:-1]:
            f = model._meta.get_field(part)
            if f.null:
                return True
            model = f.related_model
        f = model._meta.get_field(path.split("__")[-1])
        return bool(f.null)
    except (FieldDoesNotExist, AttributeError):
        return True


def _attr(obj, path):
    for part in path.split("__"):
        obj = getattr(obj, part)
    return obj


@dataclass
class Page:
    """One page of rows plus what the link builders need."""

    items: list
    request: object
    limit: int
    marker: str | None
    has_more: bool
    page_reverse: bool = False
    marker_attr: str = "pk"
    sort: list = field(default_factory=list)

    # Markers the next/previous links carry.
    @property
    def next_marker(self):
        return str(_attr(self.items[-1], self.marker_attr)) if self.items else None

    @property
    def previous_marker(self):
        return str(_attr(self.items[0], self.marker_attr)) if self.items else None

    @property
    def has_next(self):
        # Reading backwards, a page we came from lies ahead whenever we started at a marker.
        return bool(self.marker) if self.page_reverse else self.has_more

    @property
    def has_previous(self):
        return self.has_more if self.page_reverse else bool(self.marker)

    def _query(self, marker, *, reverse=False):
        params = _query_params(self.request).copy()
        params.pop("page_reverse", None)
        if marker is None:
            params.pop("marker", None)
        else:
            params["marker"] = marker
        if reverse:
            params["page_reverse"] = "True"
        return params.urlencode()

    def _url(self, query, path=None):
        base = self.request.build_absolute_uri(self.request.path) if path is None else path
        return f"{base}?{query}" if query else base

    def next_url(self, path=None):
        """Absolute URL of the next page (None on the last), other parameters kept."""
        if not (self.has_next and self.items):
            return None
        return self._url(self._query(self.next_marker), path)

    def previous_url(self, path=None):
        if not (self.has_previous and self.items):
            return None
        return self._url(self._query(self.previous_marker, reverse=True), path)

    def nova_links(self, collection):
        """``{"servers_links": [{"rel": "next", "href": ...}]}``, or {} on the last page
        (nova leaves the key out then)."""
        url = self.next_url()
        return {f"{collection}_links": [{"rel": "next", "href": url}]} if url else {}

    def neutron_links(self, collection):
        """``{"networks_links": [next, previous]}`` as neutron's pagination helper builds it."""
        links = []
        if (url := self.next_url()) is not None:
            links.append({"rel": "next", "href": url})
        if (url := self.previous_url()) is not None:
            links.append({"rel": "previous", "href": url})
        return {f"{collection}_links": links} if links else {}

    def glance_links(self, path=None):
        """``{"first": "/v2/images?...", "next": "/v2/images?marker=..."}``.

        Glance's links are relative to the service root (clients append them to the image
        endpoint), so by default the request path loses its first segment ("/image")."""
        if path is None:
            path = "/" + self.request.path.lstrip("/").partition("/")[2]
        first_query = self._query(None)
        links = {"first": f"{path}?{first_query}" if first_query else path}
        if self.has_more and self.items:
            links["next"] = f"{path}?{self._query(self.next_marker)}"
        return links


def paginate(request, queryset, *, marker_lookup="pk", default_limit=None, max_limit=1000,
             sort_keys_allowed=(), default_sort=(("created_at", "desc"),),
             marker_queryset=None, marker_not_found=None, allow_page_reverse=False):
    """Return the Page the request's ``limit``, ``marker`` and sort parameters select.

    - ``marker_lookup``: model field (or "a__b" path) the marker names, also read from the
      last row for the next link ("uuid", "id", ...).
    - ``sort_keys_allowed``: API sort keys, an iterable of field names or a dict
      API key -> field path ({"display_name": "name"}).
    - ``default_sort``: [(api key or field path, "asc"|"desc"), ...] when none is asked.
    - ``marker_queryset``: where the marker is looked up (defaults to ``queryset``): pass
      the unfiltered, project-scoped rows when a marker outside the filters must still be
      accepted, as nova does.
    - ``marker_not_found``: callable(marker) -> ApiError; default nova's
      400 "marker [x] not found".
    - ``allow_page_reverse``: honour neutron's ``page_reverse=True``.
    """
    params = _query_params(request)
    limit = parse_limit(params, default_limit=default_limit, max_limit=max_limit)
    if not isinstance(sort_keys_allowed, dict):
        sort_keys_allowed = {k: k for k in sort_keys_allowed}
    sort = parse_sort(params, sort_keys_allowed=sort_keys_allowed, default_sort=default_sort)
    marker = params.get("marker") or None
    page_reverse = allow_page_reverse and str(params.get("page_reverse", "")).lower() == "true"

    model = queryset.model
    pk_name = model._meta.pk.name
    # (field path, descending?, nullable?) with the primary key last as tie-breaker,
    # in the first key's direction (nova does the same with its "id" default key).
    keys = []
    for api_key, direction in sort:
        path = sort_keys_allowed.get(api_key, api_key)
        if path == "pk":
            path = pk_name
        keys.append((path, (direction == "desc") != page_reverse, _nullable(model, path)))
    if pk_name not in {path for path, _, _ in keys}:
        first_desc = keys[0][1] if keys else page_reverse
        keys.append((pk_name, first_desc, False))

    # PostgreSQL's own NULL placement (last ascending, first descending), stated so the
    # seek below can mirror it.
    ordering = [F(path).desc(nulls_first=True) if desc else F(path).asc(nulls_last=True)
                for path, desc, _ in keys]
    qs = queryset.order_by(*ordering)

    if marker is not None:
        source = (marker_queryset if marker_queryset is not None else queryset).order_by()
        not_found = marker_not_found or (lambda m: exc.BadRequest(f"marker [{m}] not found"))
        try:
            # A literal the field cannot hold (not a UUID, not a number) fails here.
            marker_rows = source.filter(**{marker_lookup: marker})
        except (ValidationError, ValueError, TypeError):
            raise not_found(marker)
        qs = qs.filter(_seek(keys, marker_rows) & Q(Exists(marker_rows)))

    rows = list(qs[: limit + 1])
    if marker is not None and not rows and not marker_rows.exists():
        # Only an empty page costs a second query: it may mean the marker is unknown.
        raise not_found(marker)
    has_more = len(rows) > limit
    rows = rows[:limit]
    if page_reverse:
        rows.reverse()
    return Page(items=rows, request=request, limit=limit, marker=marker, has_more=has_more,
                page_reverse=page_reverse, marker_attr=marker_lookup, sort=sort)


def _seek(keys, marker_rows):
    """Rows strictly after the marker row in the (k1, k2, ..., pk) ordering, written as
    (k1 after v1) OR (k1 = v1 AND k2 after v2) OR ..., with NULLs placed as ORDER BY does."""
    result = None
    equal_so_far = Q()
    for path, desc, nullable in keys:
        value = Subquery(marker_rows.values(path)[:1])
        after = Q(**{f"{path}__{'lt' if desc else 'gt'}": value})
        equal = Q(**{path: value})
        if nullable:
            value_null = Q(IsNull(value, True))
            if desc:  # NULLs come first: after a NULL marker value are all non-NULL rows
                after |= value_null & Q(**{f"{path}__isnull": False})
            else:  # NULLs come last: they follow any non-NULL marker value
                after |= ~value_null & Q(**{f"{path}__isnull": True})
            equal |= value_null & Q(**{f"{path}__isnull": True})
        term = equal_so_far & after
        result = term if result is None else result | term
        equal_so_far &= equal
    return result
