"""The e2e tier: a second, isolated all-in-one started with `./stack up` beside the default one.

The instance has its own config under a temp dir: its own port, database (monostack_e2e,
dropped at the start), Redis databases 10-12, state/log/run dirs, Fernet keys, clouds.yaml,
openrc and admin password file. Clients get OS_CLIENT_CONFIG_FILE=<its clouds.yaml> and
OS_CLOUD=monostack. `./stack down` stops it at the end; its logs stay in the temp dir.
"""
import fcntl
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "stack"
OPENSTACK = ROOT / ".venv" / "bin" / "openstack"
BASE = Path(tempfile.gettempdir()) / "monostack-e2e"
DB_NAME = "monostack_e2e"
REDIS_DBS = (10, 11, 12)
API_WORKERS = 3  # several: the revocation test needs every worker to learn of a revocation
CLI_TIMEOUT = 180
STACK_TIMEOUT = 900


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


def free_port(preferred=18080):
    for port in (preferred, 0):
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError("no free port")


def without(environ, *prefixes):
    return {k: v for k, v in environ.items() if not k.startswith(prefixes)}


class Cloud:
    """The running e2e instance and helpers to drive it like an operator and a user would."""

    def __init__(self, base, port):
        self.base = base
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.identity_url = f"{self.url}/identity/v3"
        self.config = base / "monostack.conf"
        self.clouds_yaml = base / "clouds.yaml"
        self.openrc = base / "admin-openrc"
        self.password_file = base / "admin-password"
        self.log_dir = base / "log"
        # ./stack sees only this instance's config: no MONOSTACK_* overrides leak in.
        self.stack_env = {**without(os.environ, "MONOSTACK_"), "MONOSTACK_CONFIG": str(self.config)}
        # Clients see only the written clouds.yaml.
        self.env = {**without(os.environ, "OS_", "MONOSTACK_"),
                    "OS_CLIENT_CONFIG_FILE": str(self.clouds_yaml), "OS_CLOUD": "monostack"}

    def write_config(self):
        self.config.write_text(f"""\
[DEFAULT]
secret_key = {secrets.token_urlsafe(48)}
public_url = {self.url}
log_dir = {self.base / "log"}
state_dir = {self.base / "state"}
run_dir = {self.base / "run"}
clouds_yaml = {self.clouds_yaml}
admin_openrc = {self.openrc}
admin_password_file = {self.password_file}

[api]
bind = 127.0.0.1:{self.port}
workers = {API_WORKERS}

[database]
name = {DB_NAME}
user = {DB_NAME}
password = {secrets.token_urlsafe(24)}

[broker]
url = redis://127.0.0.1:6379/{REDIS_DBS[0]}
result_backend = redis://127.0.0.1:6379/{REDIS_DBS[1]}
pubsub_url = redis://127.0.0.1:6379/{REDIS_DBS[2]}

[identity]
key_repository = {self.base / "fernet-keys"}

[agent]
credential_file = {self.base / "host-credential.json"}
""")
        self.config.chmod(0o600)

    def stack(self, *args, check=True):
        proc = subprocess.run([str(STACK), *args], env=self.stack_env, cwd=ROOT, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=STACK_TIMEOUT)
        if check and proc.returncode != 0:
            pytest.fail(f"./stack {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{self.log_tails()}")
        return proc

    def log_tails(self, lines=30):
        out = []
        for log in sorted(self.log_dir.glob("*.log")):
            tail = log.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {log.name} ---\n" + "\n".join(tail))
        return "\n".join(out)

    def openstack(self, *args, env=None, check=True):
        proc = subprocess.run([str(OPENSTACK), *args], env=env or self.env, text=True,
                              capture_output=True, timeout=CLI_TIMEOUT, stdin=subprocess.DEVNULL)
        if check and proc.returncode != 0:
            pytest.fail(f"openstack {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def openstack_json(self, *args, env=None):
        return json.loads(self.openstack(*args, "-f", "json", env=env).stdout)

    def user_env(self, username, password, project):
        """OS_* variables for a user, as an openrc sets them (no clouds.yaml)."""
        return {**without(self.env, "OS_"),
                "OS_AUTH_URL": self.identity_url, "OS_IDENTITY_API_VERSION": "3",
                "OS_USERNAME": username, "OS_PASSWORD": password, "OS_PROJECT_NAME": project,
                "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default"}

    def admin_password(self):
        return self.password_file.read_text().strip()

    def issue_token(self, username="admin", password=None, project="admin"):
        """POST /v3/auth/tokens (password method, project scope); returns the token id."""
        body = {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": username, "domain": {"id": "default"},
                "password": password if password is not None else self.admin_password()}}},
            "scope": {"project": {"name": project, "domain": {"id": "default"}}},
        }}
        resp = requests.post(f"{self.identity_url}/auth/tokens", json=body, timeout=30)
        assert resp.status_code == 201, resp.text
        return resp.headers["X-Subject-Token"]


def drop_database():
    sql = f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'
    subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                    "-d", "postgres", "-c", sql], cwd="/", check=True, timeout=120)


def postgres_up():
    return shutil.which("pg_isready") and subprocess.run(["pg_isready", "-q"], timeout=30).returncode == 0


def flush_redis():
    import redis

    for db in REDIS_DBS:
        try:
            redis.Redis(host="127.0.0.1", port=6379, db=db).flushdb()
        except redis.ConnectionError:
            return


@pytest.fixture(scope="session")
def cloud():
    """A clean isolated all-in-one, up for the whole session; one e2e session at a time."""
    BASE.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{BASE}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stale = Cloud(BASE, 0)
        if stale.config.exists():  # a previous session that did not get to `./stack down`
            stale.stack("down", check=False)
        shutil.rmtree(BASE, ignore_errors=True)
        BASE.mkdir(mode=0o700)
        c = Cloud(BASE, free_port())
        c.write_config()
        # ./stack up installs what is missing (PostgreSQL and Redis among it) before it uses
        # them; the clean slate needs them now, so only clean what is there.
        if postgres_up():
            drop_database()
        flush_redis()
        c.stack("up")
        try:
            yield c
        finally:
            c.stack("down", check=False)
