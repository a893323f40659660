#!/usr/bin/env python3
"""GET /v2/images with 10,000 images, pages of 1,000: latency per page and SQL per page.

    MONOSTACK_CONFIG=<the cloud's config> .venv/bin/python bench/image_list.py [--cloud monostack]
        [--images 10000] [--limit 1000] [--rounds 5]

Against a running cloud (`./stack up`). The images are inserted straight into the cloud's
database (owned by the admin's project, a third of them shared with another project and
accepted, some with tags and properties), then the admin walks every page over HTTP
`--rounds` times; p50/p95/max per page are printed, with the SQL statements one page costs
(counted in-process through the same selector) and the machine. The rows are removed at the end.
"""
import argparse
import json
import os
import statistics
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from image_common import load_cloud, machine, token_and_image_url  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cloud.settings")


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cloud", default="monostack")
    p.add_argument("--images", type=int, default=10000)
    p.add_argument("--limit", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from apps.identity import services as identity
    from apps.image import selectors
    from apps.image.models import Image, ImageMember

    token, url = token_and_image_url(load_cloud(args.cloud))
    info = identity.token_validate(token)
    owner = info.project_id
    tag = "bench-list"
    rows = [Image(name=f"bench-{i:05d}", owner=owner, status="active", disk_format="qcow2",
                  container_format="bare", size=1 << 20, virtual_size=1 << 30, checksum="0" * 32,
                  os_hash_algo="sha512", os_hash_value="0" * 128, visibility="shared" if i % 3 else "private",
                  tags=[tag, f"t{i % 7}"], properties={"os_distro": "debian", "hw_disk_bus": "virtio",
                                                       "bench": "1"}, location="")
            for i in range(args.images)]
    Image.objects.bulk_create(rows, batch_size=2000)
    ImageMember.objects.bulk_create([ImageMember(image=r, member_id="bench-other-project", status="accepted")
                                     for r in rows[1::3]], batch_size=2000)
    try:
        times, pages = [], 0
        for _ in range(args.rounds):
            next_url = f"{url}/v2/images?limit={args.limit}&bench=1"
            while next_url:
                req = urllib.request.Request(next_url, headers={"X-Auth-Token": token})
                t0 = time.perf_counter()
                with urllib.request.urlopen(req) as r:
                    body = json.loads(r.read())
                times.append(time.perf_counter() - t0)
                pages += 1
                nxt = body.get("next")
                next_url = f"{url}{nxt}" if nxt else None
        request = Request(APIRequestFactory().get("/image/v2/images", {"limit": str(args.limit), "bench": "1"}))
        page = selectors.image_list(info, request)
        request = Request(APIRequestFactory().get("/image/v2/images", {"limit": str(args.limit), "bench": "1",
                                                                       "marker": str(page.items[-1].pk)}))
        with CaptureQueriesContext(connection) as ctx:
            selectors.image_list(info, request)
        sql = len(ctx.captured_queries)
        # A project that owns none of them but is an accepted member of a third: the
        # visibility test (owner, public/community, or membership) runs inside the page query.
        from apps.image.api.serializers import image_view

        class Member:
            project_id = "bench-other-project"

            def credentials(self):
                return {"roles": ["reader", "member"], "project_id": self.project_id}

        member_times, member_rows, member_sql = [], 0, 0
        for _ in range(args.rounds):
            marker = None
            while True:
                query = {"limit": str(args.limit), "bench": "1", **({"marker": marker} if marker else {})}
                request = Request(APIRequestFactory().get("/image/v2/images", query))
                t0 = time.perf_counter()
                with CaptureQueriesContext(connection) as ctx:
                    page = selectors.image_list(Member(), request)
                    json.dumps([image_view(i) for i in page.items])
                member_times.append(time.perf_counter() - t0)
                member_sql = max(member_sql, len(ctx.captured_queries))
                member_rows += len(page.items)
                if not page.has_more:
                    break
                marker = str(page.items[-1].pk)
    finally:
        Image.objects.filter(owner=owner, tags__contains=[tag]).delete()

    print(f"machine: {machine()}")
    print(f"{args.images} images, limit {args.limit}: {pages} pages over {args.rounds} rounds")
    print(f"page latency: p50 {statistics.median(times) * 1000:.1f} ms, p95 {pct(times, 95) * 1000:.1f} ms, "
          f"max {max(times) * 1000:.1f} ms")
    print(f"SQL statements per page (a middle page, with marker and a property filter): {sql}")
    print(f"as a member project (sees {member_rows // args.rounds} shared images), in-process query + JSON: "
          f"p50 {statistics.median(member_times) * 1000:.1f} ms, p95 {pct(member_times, 95) * 1000:.1f} ms, "
          f"at most {member_sql} SQL statement(s) per page")


if __name__ == "__main__":
    main()
