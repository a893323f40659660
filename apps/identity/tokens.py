"""Token machinery: Fernet payloads, the per-process validation cache, and revocation.

A token is a Fernet message carrying only ids and times (who, how, which scope, when);
validation decrypts it and rebuilds roles and catalog from the database, then keeps the
result in a per-process cache. Revocations are "not before" events: every process holds
an index of them, learns of new ones by a Redis push (and acknowledges it, so a
revoking request returns only once every process knows), and checks each cached
token against the index on every use.
"""
import base64
import json
import logging
import os
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timezone

from cryptography.fernet import InvalidToken
from django.conf import settings

from . import fernet

log = logging.getLogger(__name__)

CHANNEL = "monostack:identity"
ACK_TIMEOUT = 1.0


def new_audit_id():
    # Keystone's audit ids: 16 random bytes, urlsafe base64 without padding (22 chars).
    return base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()


def format_time(ts):
    """Keystone's timestamp format: microseconds and a Z."""
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ---------------------------------------------------------------- payloads

@dataclass
class Payload:
    user_id: str
    methods: list
    expires_at: float
    issued_at: float
    audit_ids: list
    project_id: str = None
    domain_id: str = None
    system: bool = False
    app_cred_id: str = None

    def encode(self):
        data = {"u": self.user_id, "m": self.methods, "x": self.expires_at, "i": self.issued_at,
                "a": self.audit_ids}
        if self.project_id:
            data["p"] = self.project_id
        if self.domain_id:
            data["d"] = self.domain_id
        if self.system:
            data["s"] = 1
        if self.app_cred_id:
            data["c"] = self.app_cred_id
        raw = json.dumps(data, separators=(",", ":")).encode()
        # Fernet's own base64 padding carries nothing; Keystone strips it too.
        return fernet.crypto().encrypt(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token):
        if not token or len(token) > 1024:
            return None
        padded = token + "=" * (-len(token) % 4)
        try:
            data = json.loads(fernet.crypto().decrypt(padded.encode()))
            return cls(user_id=data["u"], methods=data["m"], expires_at=data["x"], issued_at=data["i"],
                       audit_ids=data["a"], project_id=data.get("p"), domain_id=data.get("d"),
                       system=bool(data.get("s")), app_cred_id=data.get("c"))
        except (InvalidToken, ValueError, KeyError, TypeError):
            return None


# ---------------------------------------------------------------- validated tokens

@dataclass
class TokenInfo:
    """A validated token: what every service's authentication layer hands to views and policy."""

    token: str
    payload: Payload
    user: dict            # {"id", "name", "domain": {"id", "name"}, "password_expires_at"}
    project: dict = None  # {"id", "name", "domain": {...}, "is_domain"}
    domain: dict = None
    roles: list = field(default_factory=list)  # [{"id", "name"}]
    body: bytes = b""            # the rendered {"token": ...} with catalog
    body_nocatalog: bytes = b""
    generation: int = 0
    is_authenticated = True

    # -- convenience for views and policy
    @property
    def user_id(self):
        return self.payload.user_id

    @property
    def project_id(self):
        return self.payload.project_id

    @property
    def domain_id(self):
        return self.payload.domain_id

    @property
    def system_scoped(self):
        return self.payload.system

    @property
    def role_names(self):
        return [r["name"] for r in self.roles]

    @property
    def expires_at(self):
        return self.payload.expires_at

    def credentials(self):
        """The dict policy checks read (oslo.policy's creds)."""
        creds = getattr(self, "_creds", None)
        if creds is None:
            creds = {
                "user_id": self.user_id,
                "user_domain_id": self.user["domain"]["id"],
                "project_id": self.project_id,
                "project_domain_id": self.project["domain"]["id"] if self.project else None,
                "domain_id": self.domain_id,
                "system_scope": "all" if self.system_scoped else None,
                "roles": self.role_names,
                "is_admin_project": True,
                "token": {"audit_ids": self.payload.audit_ids},
            }
            self._creds = creds
        return creds


# ---------------------------------------------------------------- revocation index

REVOCATION_FIELDS = ("user_id", "project_id", "domain_id", "audit_id", "audit_chain_id", "application_credential_id")


def _token_values(info):
    """Values of a token for each revocation field (domain_id may match several domains)."""
    p = info.payload
    domains = {info.user["domain"]["id"]}
    if info.project:
        domains.add(info.project["domain"]["id"])
    if p.domain_id:
        domains.add(p.domain_id)
    return {
        "user_id": (p.user_id,),
        "project_id": (p.project_id,) if p.project_id else (),
        "domain_id": tuple(domains),
        "audit_id": (p.audit_ids[0],),
        "audit_chain_id": (p.audit_ids[-1],),
        "application_credential_id": (p.app_cred_id,) if p.app_cred_id else (),
    }


class RevocationIndex:
    """Events grouped by which fields they set; each group maps the tuple of values to the
    latest revoked_at. A check is a handful of dict lookups, whatever the number of events."""

    def __init__(self):
        self._groups = {}  # tuple(field names) -> {tuple(values): revoked_at}
        self._lock = threading.Lock()

    def add(self, event):
        fields = tuple(f for f in REVOCATION_FIELDS if event.get(f))
        if not fields:
            return
        key = tuple(event[f] for f in fields)
        with self._lock:
            group = self._groups.setdefault(fields, {})
            if group.get(key, 0) < event["revoked_at"]:
                group[key] = event["revoked_at"]

    def replace(self, events):
        fresh = RevocationIndex()
        for e in events:
            fresh.add(e)
        with self._lock:
            self._groups = fresh._groups

    def is_revoked(self, info):
        groups = self._groups
        if not groups:
            return False
        values = _token_values(info)
        issued = info.payload.issued_at
        for fields, group in groups.items():
            for key in _combinations([values[f] for f in fields]):
                at = group.get(key)
                if at is not None and issued <= at:
                    return True
        return False


def _combinations(lists):
    if len(lists) == 1:
        return [(v,) for v in lists[0]]
    out = [()]
    for values in lists:
        out = [prefix + (v,) for prefix in out for v in values]
    return out


# ---------------------------------------------------------------- per-process state

class TokenCache:
    """Validated tokens, bounded (the oldest entry goes first), invalidated wholesale by
    bumping ``generation`` when identity data that token bodies show (names, roles, catalog)
    changes. Expiry and revocation are checked on every use, not here."""

    def __init__(self, size):
        self.size = size
        self.generation = 0
        self._items = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token):
        info = self._items.get(token)
        if info is not None and info.generation != self.generation:
            return None
        return info

    def put(self, info):
        with self._lock:
            self._items[info.token] = info
            if len(self._items) > self.size:
                self._items.popitem(last=False)

    def flush(self):
        with self._lock:
            self.generation += 1
            self._items.clear()


class _State:
    def __init__(self):
        self.pid = None
        self.cache = None
        self.revocations = RevocationIndex()
        # Until the listener has subscribed and loaded events, revocation is read from the DB.
        self.synced = False
        self.listener = None
        self.lock = threading.Lock()


_state = _State()


def _redis():
    import redis

    return redis.Redis.from_url(settings.MONOSTACK["broker"]["pubsub_url"], socket_timeout=5,
                                socket_connect_timeout=2, health_check_interval=30)


def state(load_events):
    """This process's state; (re)started after a fork, with a listener thread."""
    s = _state
    if s.pid == os.getpid():
        return s
    with s.lock:
        if s.pid != os.getpid():
            s.cache = TokenCache(settings.MONOSTACK["identity"]["cache_size"])
            s.revocations = RevocationIndex()
            s.synced = False
            s.pid = os.getpid()
            if settings.PROCESS == "test":  # one process: revocations apply locally, nothing to listen to
                s.synced = True
                return s
            s.listener = threading.Thread(target=_listen, args=(s, load_events), daemon=True,
                                          name="identity-revocations")
            s.listener.start()
    return s


def _listen(s, load_events):
    """Subscribe, then load the events from the database (so none falls between), then apply pushes."""
    backoff = 0.5
    while s.pid == os.getpid():
        try:
            client = _redis()
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(CHANNEL)
            s.revocations.replace(load_events())
            s.cache.flush()
            s.synced = True
            backoff = 0.5
            for message in pubsub.listen():
                _apply(s, client, json.loads(message["data"]))
        except Exception as e:  # the broker went away: fall back to DB checks, then resync
            s.synced = False
            log.warning("revocation listener lost its connection (%s); retrying", e)
            time.sleep(backoff)
            backoff = min(backoff * 2, 10)


def _apply(s, client, message):
    if message.get("kind") == "revoke":
        s.revocations.add(message["event"])
    elif message.get("kind") == "flush":
        s.cache.flush()
    if message.get("ack"):
        client.incr(message["ack"])
        client.expire(message["ack"], 60)


def publish(message, wait=True):
    """Tell every process; with ``wait``, return once all subscribers applied it (or on timeout)."""
    ack = f"monostack:ack:{uuid.uuid4().hex}"
    message = dict(message, ack=ack)
    try:
        client = _redis()
        receivers = client.publish(CHANNEL, json.dumps(message))
        deadline = time.monotonic() + ACK_TIMEOUT
        while wait and receivers and time.monotonic() < deadline:
            if int(client.get(ack) or 0) >= receivers:
                break
            time.sleep(0.002)
        else:
            if wait and receivers:
                log.warning("only part of %d processes acknowledged %s in time", receivers, message["kind"])
    except Exception as e:
        # Processes that missed it are disconnected too, so they check the database.
        log.warning("could not publish %s: %s", message.get("kind"), e)
