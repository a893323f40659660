"""The one place that routes the network service's own messages (host steps go through
apps.core's action_start): data plane refreshes to the conductor."""
import json

from celery import current_app

CONDUCTOR_QUEUE = "conductor"
REFRESH_TASK = "network.refresh"


def send_refresh(step, args):
    """Ask the conductor to build a data plane step from committed rows and start it.
    In eager mode (unit tests) it runs here, after a JSON round trip of its arguments."""
    app = current_app
    if app.conf.task_always_eager:
        step, args = json.loads(json.dumps([step, args]))
        app.tasks[REFRESH_TASK].apply(args=[step, args])
        return
    app.send_task(REFRESH_TASK, args=[step, args], queue=CONDUCTOR_QUEUE)
