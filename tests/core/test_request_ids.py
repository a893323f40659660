import logging
import re
import uuid

from django.test import Client

from apps.core.context import RequestIdLogFilter, request_id_var

REQ = re.compile(r"^req-[0-9a-f-]{36}$")


def test_every_response_has_our_own_request_id(db):
    r = Client().get("/identity/v3")
    rid = r["X-Openstack-Request-Id"]
    assert REQ.match(rid)
    assert Client().get("/identity/v3")["X-Openstack-Request-Id"] != rid
    assert "X-Compute-Request-Id" not in r


def test_inbound_id_is_kept_as_global_never_as_ours(db, caplog):
    inbound = f"req-{uuid.uuid4()}"
    r = Client().get("/identity/v3", HTTP_X_OPENSTACK_REQUEST_ID=inbound)
    assert r["X-Openstack-Request-Id"] != inbound
    # A malformed inbound id is ignored rather than trusted into logs.
    r = Client().get("/identity/v3", HTTP_X_OPENSTACK_REQUEST_ID="evil\nlog-line")
    assert REQ.match(r["X-Openstack-Request-Id"])


def test_compute_paths_also_answer_x_compute_request_id(db):
    r = Client().get("/compute/nothing")
    assert r.status_code == 404
    assert r["X-Compute-Request-Id"] == r["X-Openstack-Request-Id"]
    assert r.json() == {"itemNotFound": {"code": 404, "message": "The resource could not be found."}}


def test_log_records_carry_request_ids():
    token = request_id_var.set("req-00000000-0000-0000-0000-000000000000")
    try:
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
        RequestIdLogFilter().filter(record)
        assert record.request_id == "req-00000000-0000-0000-0000-000000000000"
        assert record.global_request_id == "-"
    finally:
        request_id_var.reset(token)


def test_a_task_restores_the_callers_request_ids(settings):
    from celery import shared_task

    @shared_task(name="tests.seen_request_id")
    def seen():
        return request_id_var.get()

    outer = "req-11111111-1111-1111-1111-111111111111"
    token = request_id_var.set(outer)
    try:
        assert seen.apply().get() == outer  # an eager task runs under its caller's ids
    finally:
        request_id_var.reset(token)
    inner = seen.apply().get()
    assert REQ.match(inner)                  # a task with no caller's ids gets its own
    assert request_id_var.get() is None      # and leaves nothing behind for the next
