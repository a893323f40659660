"""The one INI config: defaults, parsing and types, environment overrides, the sample file."""
import io
import socket
from pathlib import Path

import pytest
from django.core.management import call_command

from cloud.config import DEFAULT_PATH, OPTIONS, Config, sample

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path, text):
    path = tmp_path / "monostack.conf"
    path.write_text(text)
    return str(path)


def test_defaults_when_the_file_is_absent(tmp_path):
    conf = Config(path=str(tmp_path / "missing.conf"), environ={})
    assert conf["DEFAULT"]["public_url"] == "http://127.0.0.1:8080"
    assert conf["DEFAULT"]["log_dir"] == "/var/log/monostack"
    assert conf["DEFAULT"]["clouds_yaml"] == "/etc/openstack/clouds.yaml"
    assert conf["api"]["bind"] == "0.0.0.0:8080"
    assert conf["api"]["workers"] == 3
    assert conf["database"]["name"] == "monostack"
    assert conf["DEFAULT"]["debug"] is False
    assert conf["DEFAULT"]["hostname"] == socket.gethostname()
    assert conf["policy"] == {}


def test_every_declared_option_has_a_value_of_its_type(tmp_path):
    conf = Config(path=str(tmp_path / "missing.conf"), environ={})
    for section, opts in OPTIONS.items():
        for opt in opts:
            assert isinstance(conf[section][opt.name], opt.type), (section, opt.name)


def test_the_path_comes_from_monostack_config_else_the_default(tmp_path):
    path = write(tmp_path, "[database]\nname = fromfile\n")
    assert Config(environ={"MONOSTACK_CONFIG": path})["database"]["name"] == "fromfile"
    assert Config(environ={"MONOSTACK_CONFIG": path}).path == path
    assert Config(environ={}).path == DEFAULT_PATH


def test_file_values_are_parsed_to_their_types(tmp_path):
    path = write(tmp_path, """
[DEFAULT]
debug = yes
hostname = node7
state_dir = /srv/state
[api]
bind = 127.0.0.1:18080
workers = 5
[database]
password = p%ss=w;rd
port = 5433
[compute]
enabled = false
""")
    conf = Config(path=path, environ={})
    assert conf["DEFAULT"]["debug"] is True
    assert conf["DEFAULT"]["hostname"] == "node7"
    assert conf["DEFAULT"]["state_dir"] == "/srv/state"
    assert conf["api"]["bind"] == "127.0.0.1:18080"
    assert conf["api"]["workers"] == 5
    assert conf["database"]["port"] == 5433
    assert conf["database"]["password"] == "p%ss=w;rd"  # no interpolation
    assert conf["compute"]["enabled"] is False
    assert conf["api"]["threads"] == 4  # untouched options keep their defaults


def test_environment_overrides_the_file(tmp_path):
    path = write(tmp_path, "[api]\nworkers = 5\n[DEFAULT]\nlog_dir = /from/file\n")
    conf = Config(path=path, environ={
        "MONOSTACK_API_WORKERS": "7",
        "MONOSTACK_DEFAULT_LOG_DIR": "/from/env",
        "MONOSTACK_BROKER_URL": "redis://127.0.0.1:6379/10",
        "MONOSTACK_IDENTITY_ALLOW_RESCOPE_SCOPED_TOKEN": "off",
    })
    assert conf["api"]["workers"] == 7
    assert conf["DEFAULT"]["log_dir"] == "/from/env"
    assert conf["broker"]["url"] == "redis://127.0.0.1:6379/10"
    assert conf["identity"]["allow_rescope_scoped_token"] is False


def test_a_bad_integer_is_an_error(tmp_path):
    path = write(tmp_path, "[api]\nworkers = many\n")
    with pytest.raises(ValueError):
        Config(path=path, environ={})


def test_policy_overrides_from_the_environment(tmp_path):
    conf = Config(path=str(tmp_path / "none"), environ={"MONOSTACK_POLICY_IDENTITY__GET_USER": "role:reader"})
    assert conf["policy"] == {"identity:get_user": "role:reader"}


def test_policy_overrides_from_the_file(tmp_path):
    path = write(tmp_path, "[DEFAULT]\nregion = R2\n[policy]\nidentity:list_users = role:admin\n")
    conf = Config(path=path, environ={"MONOSTACK_POLICY_IDENTITY__GET_USER": "role:reader"})
    assert conf["policy"] == {"identity:list_users": "role:admin", "identity:get_user": "role:reader"}


def test_sample_lists_every_option_with_its_default():
    text = sample()
    for section, opts in OPTIONS.items():
        assert f"[{section}]" in text
        for opt in opts:
            default = str(opt.default).lower() if opt.type is bool else opt.default
            assert f"#{opt.name} = {default}" in text


def test_sample_parses_back_to_the_defaults(tmp_path):
    path = write(tmp_path, sample())
    assert Config(path=path, environ={}).as_dict() == Config(path=str(tmp_path / "none"), environ={}).as_dict()


def test_the_sample_in_the_repository_is_current():
    """etc/monostack.conf.sample is generated: `manage.py config_sample etc/monostack.conf.sample`."""
    assert (ROOT / "etc" / "monostack.conf.sample").read_text() == sample()


def test_config_sample_command_writes_stdout_or_a_path(tmp_path):
    out = io.StringIO()
    call_command("config_sample", stdout=out)
    assert out.getvalue() == sample()
    call_command("config_sample", str(tmp_path / "s.conf"))
    assert (tmp_path / "s.conf").read_text() == sample()
