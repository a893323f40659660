import pytest
from celery import current_app

from apps.core import services


@pytest.fixture(autouse=True)
def host_state_dir(settings, tmp_path):
    """Host-side records (locks, generations, results) go to a per-test directory."""
    state_dir = tmp_path / "state"
    settings.MONOSTACK = {**settings.MONOSTACK, "DEFAULT": {**settings.MONOSTACK["DEFAULT"],
                                                            "state_dir": str(state_dir),
                                                            "hostname": "node1"}}
    return state_dir


@pytest.fixture(autouse=True)
def celery_eager():
    """Messages run in-process (apps.core.rpc JSON round-trips them first)."""
    conf = current_app.conf
    saved = conf.task_always_eager, conf.task_eager_propagates
    conf.task_always_eager, conf.task_eager_propagates = True, True
    yield
    conf.task_always_eager, conf.task_eager_propagates = saved


@pytest.fixture
def handlers(monkeypatch):
    """A private handler registry per test, so test kinds never leak between tests."""
    monkeypatch.setattr(services, "_result_handlers", dict(services._result_handlers))
    monkeypatch.setattr(services, "_failure_handlers", dict(services._failure_handlers))
