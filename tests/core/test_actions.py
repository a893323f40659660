"""Action lifecycle (conductor side) and the host-step runtime (host side), Celery eager."""
import os
import threading
import time
import uuid
from datetime import timedelta

import pytest
from celery import current_app
from django.utils import timezone

from apps.core import rpc, selectors, services
from apps.core.context import global_request_id_var, request_id_var
from apps.core.hostagent import host_task
from apps.core.hostagent.runtime import StepStore
from apps.core.models import Action, Host
from apps.core.tasks import host_report_task

CALLS = []


@host_task("tests.echo")
def echo_task(dto):
    CALLS.append(dto)
    if dto.get("fail"):
        raise RuntimeError(dto["fail"])
    return {"echo": dto.get("value"), "resource_id": dto["resource_id"]}


@pytest.fixture(autouse=True)
def _clear_calls():
    CALLS.clear()


@pytest.fixture
def outcomes(handlers):
    """Records what the result/failure handlers of "tests.echo" receive."""
    seen = {"results": [], "failures": []}
    services.register_result_handler("tests.echo", lambda action, data: seen["results"].append((action.id, data)))
    services.register_failure_handler("tests.echo", lambda action, error: seen["failures"].append((action.id, error)))
    return seen


@pytest.fixture
def sent(monkeypatch):
    """Host steps handed to rpc, not run (the host never answers)."""
    calls = []
    monkeypatch.setattr(rpc, "send_host_task", lambda host, name, dto: calls.append((host, name, dto)))
    return calls


def start(value="x", resource_id="r1", **payload):
    return services.action_start(kind="tests.echo", resource_type="thing", resource_id=resource_id, host="node1",
                                 payload={"value": value, **payload}, user_id="u1", project_id="p1")


# --- conductor side --------------------------------------------------------------------

@pytest.mark.django_db
def test_action_start_records_and_sends_only_on_commit(django_capture_on_commit_callbacks, sent):
    rid, gid = f"req-{uuid.uuid4()}", f"req-{uuid.uuid4()}"
    t1, t2 = request_id_var.set(rid), global_request_id_var.set(gid)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            action = start()
    finally:
        request_id_var.reset(t1)
        global_request_id_var.reset(t2)
    assert sent == []
    action.refresh_from_db()
    assert (action.status, action.generation, action.request_id, action.global_request_id) == \
        (Action.PENDING, 1, rid, gid)
    assert (action.user_id, action.project_id, action.host) == ("u1", "p1", "node1")
    assert action.deadline > timezone.now()
    for callback in callbacks:
        callback()
    action.refresh_from_db()
    assert action.status == Action.RUNNING and action.started_at is not None
    assert sent == [("node1", "tests.echo", {"value": "x", "action_id": str(action.id), "kind": "tests.echo",
                                             "resource_type": "thing", "resource_id": "r1", "generation": 1})]


@pytest.mark.django_db
def test_generation_grows_per_resource(sent):
    assert [start(resource_id="a").generation for _ in range(3)] == [1, 2, 3]
    assert start(resource_id="b").generation == 1


@pytest.mark.django_db
def test_payload_cannot_override_dto_keys():
    with pytest.raises(ValueError, match="generation"):
        services.action_start(kind="tests.echo", resource_type="thing", resource_id="r1", host="node1",
                              payload={"generation": 99})


def test_send_host_task_routes_to_the_host_queue_with_expires(monkeypatch, settings):
    sent = []
    current_app.conf.task_always_eager = False  # the conftest fixture restores it
    monkeypatch.setattr(current_app, "send_task", lambda name, **kw: sent.append((name, kw)))
    rpc.send_host_task(Host(hostname="node9"), "tests.echo", {"action_id": "a"})
    rpc.send_result({"action_id": "a"}, sender_host="node9")
    rpc.send_report({"type": "heartbeat"}, expires=20)
    expires = settings.MONOSTACK["broker"]["task_expires"]
    assert sent == [
        ("tests.echo", {"args": [{"action_id": "a"}], "kwargs": None, "queue": "host.node9", "expires": expires}),
        ("core.apply_result", {"args": (), "kwargs": {"result": {"action_id": "a"}, "sender_host": "node9"},
                               "queue": "conductor"}),
        ("core.host_report", {"args": [{"type": "heartbeat"}], "kwargs": None, "queue": "reports", "expires": 20}),
    ]


@pytest.mark.django_db
def test_whole_chain_succeeds_and_applies_the_result(django_capture_on_commit_callbacks, outcomes):
    with django_capture_on_commit_callbacks(execute=True):
        action = start(value="hello")
    action.refresh_from_db()
    assert action.status == Action.SUCCEEDED and action.finished_at and action.error == ""
    assert action.result == {"echo": "hello", "resource_id": "r1"}
    assert outcomes == {"results": [(action.id, {"echo": "hello", "resource_id": "r1"})], "failures": []}


@pytest.mark.django_db
def test_host_failure_fails_the_action_through_the_failure_handler(django_capture_on_commit_callbacks, outcomes):
    with django_capture_on_commit_callbacks(execute=True):
        action = start(fail="disk on fire")
    action.refresh_from_db()
    assert action.status == Action.FAILED
    assert action.error == "RuntimeError: disk on fire"
    assert outcomes == {"results": [], "failures": [(action.id, "RuntimeError: disk on fire")]}


@pytest.mark.django_db
def test_result_is_applied_once(sent, outcomes):
    action = start()
    result = {"action_id": str(action.id), "generation": 1, "ok": True, "error": "", "data": {"n": 1}}
    assert services.action_apply_result(result=result, sender_host="node1") is not None
    assert services.action_apply_result(result=result, sender_host="node1") is None
    failed = {**result, "ok": False, "error": "late"}
    assert services.action_apply_result(result=failed, sender_host="node1") is None
    action.refresh_from_db()
    assert action.status == Action.SUCCEEDED and action.result == {"n": 1}
    assert len(outcomes["results"]) == 1 and outcomes["failures"] == []


@pytest.mark.django_db
def test_result_from_another_host_is_refused(sent, outcomes, caplog):
    action = start()
    result = {"action_id": str(action.id), "generation": 1, "ok": True, "error": "", "data": {}}
    assert services.action_apply_result(result=result, sender_host="intruder") is None
    action.refresh_from_db()
    assert action.status == Action.PENDING and outcomes["results"] == []
    assert "refused" in caplog.text and "intruder" in caplog.text


@pytest.mark.django_db
def test_results_for_other_generations_or_unknown_actions_are_ignored(sent, outcomes):
    action = start()
    other = {"action_id": str(action.id), "generation": 7, "ok": True, "error": "", "data": {}}
    assert services.action_apply_result(result=other, sender_host="node1") is None
    unknown = {**other, "action_id": str(uuid.uuid4())}
    assert services.action_apply_result(result=unknown, sender_host="node1") is None
    assert services.action_apply_result(result={"action_id": "nonsense"}, sender_host="node1") is None
    action.refresh_from_db()
    assert action.status == Action.PENDING and outcomes["results"] == []


@pytest.mark.django_db
def test_superseded_result_is_not_applied(sent, outcomes):
    old, new = start(), start()
    result = {"action_id": str(old.id), "generation": old.generation, "ok": True, "error": "", "data": {}}
    services.action_apply_result(result=result, sender_host="node1")
    old.refresh_from_db()
    assert old.status == Action.FAILED and "superseded by generation 2" in old.error
    assert outcomes == {"results": [], "failures": []}
    new_result = {**result, "action_id": str(new.id), "generation": new.generation}
    services.action_apply_result(result=new_result, sender_host="node1")
    assert [a for a, _ in outcomes["results"]] == [new.id]


@pytest.mark.django_db
def test_broken_result_handler_fails_the_action(sent, handlers):
    failures = []

    def explode(action, data):
        Host.objects.create(hostname="half-written")  # rolled back with the handler's savepoint
        raise KeyError("missing")

    services.register_result_handler("tests.echo", explode)
    services.register_failure_handler("tests.echo", lambda action, error: failures.append(error))
    action = start()
    services.action_apply_result(result={"action_id": str(action.id), "generation": 1, "ok": True, "data": {}},
                                 sender_host="node1")
    action.refresh_from_db()
    assert action.status == Action.FAILED and action.error.startswith("applying the result failed: KeyError")
    assert failures == [action.error]
    assert not Host.objects.filter(hostname="half-written").exists()


def test_a_kind_has_one_handler(handlers):
    services.register_result_handler("tests.once", print)
    services.register_result_handler("tests.once", print)  # same function again: fine
    with pytest.raises(Exception, match="already registered"):
        services.register_result_handler("tests.once", repr)


@pytest.mark.django_db
def test_reaper_redrives_once_then_fails(django_capture_on_commit_callbacks, sent, outcomes, settings):
    assert settings.MONOSTACK["conductor"]["max_redrives"] == 1
    action = start()
    past = timezone.now() - timedelta(seconds=1)
    assert services.actions_reap() == {"redriven": 0, "failed": 0}  # not due yet

    Action.objects.filter(pk=action.pk).update(deadline=past)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.actions_reap() == {"redriven": 1, "failed": 0}
    action.refresh_from_db()
    assert action.redrive_count == 1 and action.deadline > timezone.now()
    assert action.status == Action.RUNNING
    assert [(name, dto["action_id"], dto["generation"]) for _, name, dto in sent] == \
        [("tests.echo", str(action.id), 1)]

    Action.objects.filter(pk=action.pk).update(deadline=past)
    assert services.actions_reap() == {"redriven": 0, "failed": 1}
    action.refresh_from_db()
    assert action.status == Action.FAILED and "no result from host node1" in action.error
    assert outcomes["failures"] == [(action.id, action.error)]

    # A result arriving after all that changes nothing.
    late = {"action_id": str(action.id), "generation": 1, "ok": True, "error": "", "data": {}}
    assert services.action_apply_result(result=late, sender_host="node1") is None
    assert outcomes["results"] == []


@pytest.mark.django_db
def test_redrive_carries_the_request_ids_of_the_action(django_capture_on_commit_callbacks, monkeypatch):
    ids = []
    monkeypatch.setattr(rpc, "send_host_task",
                        lambda host, name, dto: ids.append((request_id_var.get(), global_request_id_var.get())))
    rid, gid = f"req-{uuid.uuid4()}", f"req-{uuid.uuid4()}"
    t1, t2 = request_id_var.set(rid), global_request_id_var.set(gid)
    try:
        action = start()
    finally:
        request_id_var.reset(t1)
        global_request_id_var.reset(t2)
    Action.objects.filter(pk=action.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        services.actions_reap()  # runs with the reaper's own ids (none here)
    assert ids == [(rid, gid)] and request_id_var.get() is None


@pytest.mark.django_db
def test_redrive_is_served_from_the_host_record(django_capture_on_commit_callbacks, outcomes, monkeypatch):
    # The host ran the step but its result was lost on the way: the re-sent step must not
    # run again, only report again.
    deliver, lost = rpc.send_result, []

    def lose_first(result, sender_host):
        if not lost:
            lost.append(result)
            return
        deliver(result, sender_host=sender_host)

    monkeypatch.setattr(rpc, "send_result", lose_first)
    with django_capture_on_commit_callbacks(execute=True):
        action = start(value="once")
    assert len(CALLS) == 1 and len(lost) == 1
    Action.objects.filter(pk=action.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        services.actions_reap()
    action.refresh_from_db()
    assert action.status == Action.SUCCEEDED and len(CALLS) == 1
    assert outcomes["results"] == [(action.id, {"echo": "once", "resource_id": "r1"})]


# --- hosts -----------------------------------------------------------------------------

FACTS = {"cpus": 4, "memory_mb": 8192, "disk_gb": 100, "hypervisor_type": "QEMU"}


@pytest.mark.django_db
def test_host_reports_register_and_heartbeat():
    host_report_task.delay({"type": "register", "hostname": "node1", "facts": FACTS})
    host = Host.objects.get(hostname="node1")
    assert (host.cpus, host.memory_mb, host.disk_gb, host.state) == (4, 8192, 100, Host.UP)
    Host.objects.filter(pk=host.pk).update(last_heartbeat=timezone.now() - timedelta(hours=1), disabled=True)
    assert selectors.host_list(state=Host.DOWN).get() == host
    host_report_task.delay({"type": "heartbeat", "hostname": "node1", "facts": FACTS})
    assert list(selectors.host_list(state=Host.UP)) == [host]
    host_report_task.delay({"type": "register", "hostname": "node1", "facts": {**FACTS, "cpus": 8}})
    host.refresh_from_db()
    assert host.cpus == 8 and host.disabled  # an operator's disable survives a restart
    assert list(selectors.host_list(enabled=True)) == []


@pytest.mark.django_db
def test_heartbeat_of_unknown_host_registers_it():
    services.host_heartbeat(hostname="node2", facts=FACTS)
    assert Host.objects.get(hostname="node2").state == Host.UP
    services.host_heartbeat(hostname="node3")  # no facts: nothing to register
    assert not Host.objects.filter(hostname="node3").exists()


@pytest.mark.django_db
def test_host_probe_refreshes_the_host_row(django_capture_on_commit_callbacks):
    services.host_register(hostname="node1", cpus=1, memory_mb=1, disk_gb=1, hypervisor_type="QEMU")
    with django_capture_on_commit_callbacks(execute=True):
        action = services.host_probe(hostname="node1")
    action.refresh_from_db()
    assert action.status == Action.SUCCEEDED, action.error
    host = Host.objects.get(hostname="node1")
    assert host.cpus == os.cpu_count() and host.memory_mb > 1 and host.disk_gb >= 0
    assert action.result["memory_available_mb"] > 0


# --- host side: the runtime of host_task -------------------------------------------------

@pytest.fixture
def results(monkeypatch):
    sent = []
    monkeypatch.setattr(rpc, "send_result", lambda result, sender_host: sent.append((sender_host, result)))
    return sent


def dto(resource_id="r1", generation=1, action_id=None, **extra):
    return {"action_id": action_id or str(uuid.uuid4()), "resource_id": resource_id, "generation": generation,
            **extra}


@pytest.mark.parametrize("bad", [None, {}, {"action_id": "x"}, "text", {"action_id": str(uuid.uuid4())},
                                 {"action_id": str(uuid.uuid4()), "resource_id": "../etc", "generation": 1},
                                 {"action_id": str(uuid.uuid4()), "resource_id": "r", "generation": "two"}])
def test_host_task_never_raises_on_bad_input(results, bad):
    result = echo_task(bad)
    assert result["ok"] is False and result["error"]
    assert results == [("node1", result)] and CALLS == []


def test_host_task_turns_exceptions_into_results(results):
    step = dto(fail="boom")
    assert echo_task(step) == {"action_id": step["action_id"], "generation": 1, "ok": False,
                               "error": "RuntimeError: boom", "data": None}


def test_host_task_survives_a_broker_outage(monkeypatch):
    def down(result, sender_host):
        raise ConnectionError("broker down")

    monkeypatch.setattr(rpc, "send_result", down)
    assert echo_task(dto())["ok"] is True


def test_host_task_replays_the_recorded_result(results):
    step = dto(value="v")
    first, again = echo_task(step), echo_task(dict(step))
    assert first == again and first["ok"] and len(CALLS) == 1
    assert [r for _, r in results] == [first, first]


def test_host_task_refuses_an_older_generation(results):
    assert echo_task(dto(generation=2))["ok"]
    refused = echo_task(dto(generation=1))
    assert not refused["ok"] and "older than generation 2" in refused["error"]
    assert echo_task(dto(generation=2))["ok"]  # the same generation again: a re-drive after a crash
    assert echo_task(dto(resource_id="r2", generation=1))["ok"]  # other resources keep their own order
    assert len(CALLS) == 3
    assert StepStore().last_generation("r1") == 2


def test_one_step_per_resource_at_a_time(results, handlers):
    started, release = {}, threading.Event()

    @host_task("tests.slow")
    def slow_task(step):
        started[step["value"]] = time.monotonic()
        if step["value"] == "first":
            assert release.wait(5)
        return step["value"]

    runs = [threading.Thread(target=slow_task, args=(dto(value="first"),))]
    runs[0].start()
    while "first" not in started:
        time.sleep(0.01)
    runs += [threading.Thread(target=slow_task, args=(dto(value=v, resource_id=r),))
             for v, r in (("second", "r1"), ("other", "r2"))]
    for thread in runs[1:]:
        thread.start()
    runs[2].join(5)
    time.sleep(0.2)
    assert "other" in started and "second" not in started  # r1 is locked, r2 is not
    release.set()
    for thread in runs:
        thread.join(5)
    assert started["second"] >= started["first"]
    assert sorted(r["data"] for _, r in results) == ["first", "other", "second"]


def test_host_query_never_raises_and_round_trips_json(db):
    from apps.core.hostagent.runtime import run_host_query

    assert run_host_query(lambda dto: {"a": dto["x"]}, {"x": 1}) == {"ok": True, "error": "", "data": {"a": 1}}
    failed = run_host_query(lambda dto: 1 / 0, {})
    assert failed["ok"] is False and failed["error"].startswith("ZeroDivisionError")
    assert run_host_query(lambda dto: object(), {})["ok"] is False  # not JSON: a failure, not a crash
