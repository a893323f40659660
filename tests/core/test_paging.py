import datetime
import itertools
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import RequestFactory, override_settings
from rest_framework.request import Request

from apps.core import exceptions as exc
from apps.core.api.paging import paginate, parse_limit, parse_sort

# API sort key -> User field; last_login is nullable, first_name has ties.
SORT_KEYS = {"name": "username", "first": "first_name", "last_login": "last_login",
             "created_at": "date_joined"}
T0 = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)


@pytest.fixture
def users(db):
    rows = [
        ("carol", "c", None), ("alice", "a", 3), ("bob", "b", None), ("dave", "a", 1),
        ("erin", "b", 2), ("frank", "a", None), ("grace", "c", 3),
    ]
    User.objects.all().delete()  # guardian's AnonymousUser would join every page
    made = []
    for i, (username, first, login) in enumerate(rows):
        made.append(User.objects.create(
            username=username, first_name=first,
            last_login=None if login is None else T0 + datetime.timedelta(days=login),
            date_joined=T0 + datetime.timedelta(hours=i % 3)))  # ties on date_joined too
    return made


def _get(query="", path="/compute/v2.1/servers", **extra):
    return RequestFactory().get(f"{path}?{query}" if query else path, **extra)


def _page(query="", **kwargs):
    kwargs.setdefault("sort_keys_allowed", SORT_KEYS)
    kwargs.setdefault("default_sort", [("created_at", "desc")])
    return paginate(_get(query, kwargs.pop("path", "/compute/v2.1/servers")),
                    User.objects.all(), marker_lookup=kwargs.pop("marker_lookup", "username"),
                    **kwargs)


def _expected(users, sort):
    """The order SQL must give: NULLs last ascending / first descending, pk tie-breaker
    in the first key's direction."""
    def key_for(field, desc):
        def k(u):
            v = getattr(u, field)
            # None after every value; sorting in reverse then puts it first, as SQL does.
            return (v is None, v if v is not None else 0)
        return k, desc

    items = list(users)
    items.sort(key=lambda u: u.pk, reverse=sort[0][1] == "desc")
    for api_key, direction in reversed(sort):
        k, desc = key_for(SORT_KEYS[api_key], direction == "desc")
        items.sort(key=k, reverse=desc)
    return [u.username for u in items]


def _walk(query, limit, **kwargs):
    """Follow next links to the end, as a client does; returns usernames in order."""
    seen, q = [], f"{query}&limit={limit}" if query else f"limit={limit}"
    for _ in range(20):
        page = _page(q, **kwargs)
        assert len(page.items) <= limit
        seen += [u.username for u in page.items]
        url = page.next_url()
        if url is None:
            return seen
        q = urlsplit(url).query
    raise AssertionError("paging does not end")


SORTS = [
    [("created_at", "desc")],
    [("created_at", "asc")],
    [("first", "asc")],
    [("first", "desc"), ("name", "asc")],
    [("last_login", "asc")],
    [("last_login", "desc")],
    [("last_login", "asc"), ("first", "desc")],
    [("first", "asc"), ("last_login", "desc")],
]


@pytest.mark.django_db
@pytest.mark.parametrize("sort,limit", list(itertools.product(SORTS, [1, 2, 3, 7, 50])))
def test_walking_every_page_gives_each_row_once_in_order(users, sort, limit):
    query = "&".join(f"sort_key={k}&sort_dir={d}" for k, d in sort)
    if sort == [("created_at", "desc")]:
        query = ""  # the default sort
    assert _walk(query, limit) == _expected(users, sort)


@pytest.mark.django_db
def test_glance_sort_syntax(users):
    assert _walk("sort=first:asc,last_login", 2) == _expected(users, [("first", "asc"), ("last_login", "desc")])


@pytest.mark.django_db
def test_a_page_is_one_query(users, django_assert_num_queries):
    with django_assert_num_queries(1):
        first = _page("limit=2&sort_key=last_login&sort_dir=asc")
    with django_assert_num_queries(1):
        second = _page(urlsplit(first.next_url()).query)
    assert len(second.items) == 2


@pytest.mark.django_db
def test_limit_plus_one_tells_whether_a_next_page_exists(users):
    assert _page("limit=7").next_url() is None
    assert _page("limit=6").next_url() is not None
    assert _page("").next_url() is None  # default: max_limit 1000


@pytest.mark.django_db
def test_limit_is_clamped_and_zero_means_default(users):
    assert len(_page("limit=100", max_limit=3).items) == 3
    assert len(_page("limit=0", max_limit=4).items) == 4
    assert len(_page("", default_limit=2).items) == 2


@pytest.mark.parametrize("bad", ["-1", "abc", "1.5", "", " ", "1e3", "٣"])
def test_bad_limit_is_400(bad):
    with pytest.raises(exc.BadRequest, match="Limit must be an integer 0 or greater"):
        parse_limit({"limit": bad})


@pytest.mark.django_db
def test_unknown_marker_is_nova_400(users):
    with pytest.raises(exc.BadRequest, match=r"^marker \[nobody\] not found$"):
        _page("marker=nobody")


@pytest.mark.django_db
def test_marker_of_the_wrong_type_is_not_found_too(users):
    with pytest.raises(exc.BadRequest, match=r"marker \[abc\] not found"):
        _page("marker=abc", marker_lookup="id")


@pytest.mark.django_db
def test_marker_error_can_be_neutron_404(users):
    def not_found(marker):
        return exc.NotFound(f"Network {marker} could not be found.", type_name="NetworkNotFound")
    with pytest.raises(exc.NotFound, match="Network nobody could not be found."):
        _page("marker=nobody", marker_not_found=not_found)


@pytest.mark.django_db
def test_marker_on_the_last_row_gives_an_empty_last_page(users):
    last = _expected(users, [("created_at", "desc")])[-1]
    page = _page(f"marker={last}")
    assert page.items == [] and page.next_url() is None


@pytest.mark.django_db
def test_marker_outside_the_filter_can_be_accepted(users):
    request = _get("marker=carol&sort_key=name&sort_dir=asc")
    rows = User.objects.filter(first_name="a")
    with pytest.raises(exc.BadRequest):
        paginate(request, rows, marker_lookup="username", sort_keys_allowed=SORT_KEYS)
    page = paginate(request, rows, marker_lookup="username", sort_keys_allowed=SORT_KEYS,
                    marker_queryset=User.objects.all())
    assert [u.username for u in page.items] == ["dave", "frank"]


# --- sort parameters --------------------------------------------------------------------

def _sort(query, default=(("created_at", "desc"),)):
    return parse_sort(_get(query).GET, sort_keys_allowed=SORT_KEYS, default_sort=list(default))


def test_sort_defaults_and_nova_padding():
    assert _sort("") == [("created_at", "desc")]
    assert _sort("sort_key=name") == [("name", "desc")]
    assert _sort("sort_key=name&sort_key=first&sort_dir=asc") == [("name", "asc"), ("first", "asc")]
    assert _sort("sort_key=name&sort_key=first&sort_dir=asc&sort_dir=desc") == [
        ("name", "asc"), ("first", "desc")]
    assert _sort("sort_key=name&sort_key=name&sort_dir=asc") == [("name", "asc")]


def test_sort_glance_style():
    assert _sort("sort=name:asc,first") == [("name", "asc"), ("first", "desc")]
    assert _sort("sort=name:DESC") == [("name", "desc")]


@pytest.mark.parametrize("query,message", [
    ("sort_key=password", "'password' is not a valid sort key"),
    ("sort_key=name&sort_dir=up", "Unknown sort direction, must be 'desc' or 'asc'"),
    ("sort_key=name&sort_dir=asc&sort_dir=desc", "Sort direction size exceeds sort key size"),
    ("sort_dir=asc", "Sort direction size exceeds sort key size"),
    ("sort=name:asc&sort_key=first", "Old and new sorting syntax cannot be combined"),
    ("sort=name:sideways", "Unknown sort direction"),
    ("sort=:asc", "Invalid sort value"),
])
def test_bad_sort_is_400(query, message):
    with pytest.raises(exc.BadRequest, match=message):
        _sort(query)


# --- links ------------------------------------------------------------------------------

@pytest.mark.django_db
def test_nova_links_keep_other_parameters(users):
    page = _page("status=ACTIVE&limit=2&sort_key=name&sort_dir=asc&sort_key=first")
    links = page.nova_links("servers")
    (link,) = links["servers_links"]
    assert link["rel"] == "next"
    url = urlsplit(link["href"])
    assert (url.scheme, url.netloc, url.path) == ("http", "testserver", "/compute/v2.1/servers")
    assert parse_qs(url.query) == {"status": ["ACTIVE"], "limit": ["2"], "marker": ["bob"],
                                   "sort_key": ["name", "first"], "sort_dir": ["asc"]}
    assert _page("limit=7").nova_links("servers") == {}


@pytest.mark.django_db
@override_settings(USE_X_FORWARDED_HOST=True, SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
def test_links_follow_the_proxy_when_django_is_told(users):
    request = _get("limit=1", HTTP_X_FORWARDED_HOST="cloud.example.com", HTTP_X_FORWARDED_PROTO="https")
    page = paginate(request, User.objects.all(), marker_lookup="username", sort_keys_allowed=SORT_KEYS)
    assert page.next_url().startswith("https://cloud.example.com/compute/v2.1/servers?")


def _neutron_links(page):
    return {link["rel"]: urlsplit(link["href"]).query
            for link in page.neutron_links("networks").get("networks_links", [])}


@pytest.mark.django_db
def test_neutron_links_with_page_reverse(users):
    kwargs = {"allow_page_reverse": True, "path": "/network/v2.0/networks"}
    first = _page("limit=2&sort_key=name&sort_dir=asc", **kwargs)
    assert [u.username for u in first.items] == ["alice", "bob"]
    assert set(_neutron_links(first)) == {"next"}  # nothing before the first page

    second = _page(_neutron_links(first)["next"], **kwargs)
    assert [u.username for u in second.items] == ["carol", "dave"]
    previous = _neutron_links(second)["previous"]
    assert parse_qs(previous)["page_reverse"] == ["True"]

    back = _page(previous, **kwargs)
    assert [u.username for u in back.items] == ["alice", "bob"]  # read backwards, shown in order
    assert set(_neutron_links(back)) == {"next"}  # reading backwards we reached the start

    forward = _page(_neutron_links(back)["next"], **kwargs)
    assert [u.username for u in forward.items] == ["carol", "dave"]


@pytest.mark.django_db
def test_page_reverse_ignored_unless_allowed(users):
    page = _page("limit=2&sort_key=name&sort_dir=asc&marker=dave&page_reverse=True")
    assert [u.username for u in page.items] == ["erin", "frank"]


@pytest.mark.django_db
def test_glance_links_are_relative_to_the_service_root(users):
    page = _page("limit=3&sort=name:asc&visibility=public", path="/image/v2/images")
    links = page.glance_links()
    assert links["first"] == "/v2/images?limit=3&sort=name%3Aasc&visibility=public"
    assert links["next"] == "/v2/images?limit=3&sort=name%3Aasc&visibility=public&marker=carol"
    last = _page("sort=name:asc", path="/image/v2/images")
    assert last.glance_links() == {"first": "/v2/images?sort=name%3Aasc"}
    assert _page("", path="/image/v2/images").glance_links() == {"first": "/v2/images"}


@pytest.mark.django_db
def test_drf_requests_work_too(users):
    request = Request(_get("limit=1&sort_key=name&sort_dir=asc"))
    page = paginate(request, User.objects.all(), marker_lookup="username", sort_keys_allowed=SORT_KEYS)
    assert [u.username for u in page.items] == ["alice"]
    assert "marker=alice" in page.next_url()


@pytest.mark.django_db
def test_marker_the_field_cannot_hold_is_not_found(users):
    # Django refuses the literal with ValidationError (UUID, date) or ValueError (int).
    with pytest.raises(exc.BadRequest, match=r"marker \[yesterday\] not found"):
        _page("marker=yesterday", marker_lookup="date_joined")
