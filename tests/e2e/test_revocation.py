"""A revoked token is refused at once by every API worker process (DESIGN §4: the revocation is
pushed to every process, so no worker's validation cache serves it afterwards)."""
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from .conftest import API_WORKERS

pytestmark = pytest.mark.e2e

ROUNDS = 16 * API_WORKERS  # fresh connections, answered by whichever worker accepts them


def statuses(url, headers, rounds=ROUNDS):
    def one(_):
        # A new connection each time (no session, Connection: close): spreads over the workers.
        return requests.get(url, headers={**headers, "Connection": "close"}, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, range(rounds)))


def test_a_revoked_token_is_refused_by_every_worker(cloud):
    admin = cloud.issue_token()
    subject = cloud.issue_token()
    url = f"{cloud.identity_url}/auth/tokens"
    # Every worker validates (and caches) the token first.
    assert set(statuses(url, {"X-Auth-Token": admin, "X-Subject-Token": subject})) == {200}
    assert set(statuses(url, {"X-Auth-Token": subject, "X-Subject-Token": subject})) == {200}

    resp = requests.delete(url, headers={"X-Auth-Token": admin, "X-Subject-Token": subject}, timeout=30)
    assert resp.status_code == 204, resp.text

    # At once, not eventually: no retry, no sleep.
    assert set(statuses(url, {"X-Auth-Token": admin, "X-Subject-Token": subject})) == {404}
    assert set(statuses(url, {"X-Auth-Token": subject, "X-Subject-Token": admin})) == {401}
    # The admin's other token is untouched.
    assert set(statuses(url, {"X-Auth-Token": admin, "X-Subject-Token": admin}, rounds=API_WORKERS * 4)) == {200}
