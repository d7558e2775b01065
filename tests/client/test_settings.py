"""Where the pool is and which token to use: arguments, environment, config file, embedded pool."""

import json

import pytest

from jupyter_fairshare import embedded
from jupyter_fairshare.client import errors
from jupyter_fairshare.client.settings import config_path, read_config, resolve


@pytest.fixture
def clean_settings(monkeypatch, tmp_path):
    monkeypatch.delenv("FAIRSHARE_URL", raising=False)
    monkeypatch.delenv("FAIRSHARE_TOKEN", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("FAIRSHARE_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def _write_config(body: str):
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    return path


def test_arguments_win_over_environment_and_config(clean_settings, monkeypatch):
    _write_config(json.dumps({"url": "http://cfg:2", "token": "cfg-token"}))
    monkeypatch.setenv("FAIRSHARE_URL", "http://env:1")
    monkeypatch.setenv("FAIRSHARE_TOKEN", "env-token")
    assert resolve("http://arg:1/", "arg-token").token == "arg-token"
    settings = resolve("http://arg:1/", None)
    assert (settings.url, settings.token, settings.source) == ("http://arg:1", "env-token", "argument")
    assert resolve().source == "environment"


def test_the_config_file_is_used_when_the_environment_is_empty(clean_settings):
    path = _write_config(json.dumps({"url": "http://cfg:2", "token": "cfg-token", "port": 3}))
    assert str(path).startswith(str(clean_settings))
    settings = resolve()
    assert (settings.url, settings.token, settings.source) == ("http://cfg:2", "cfg-token", str(path))
    assert read_config(path) == {"url": "http://cfg:2", "token": "cfg-token"}  # strings only


def test_an_unreadable_config_file_is_reported_with_its_path(clean_settings):
    _write_config("{not json")
    with pytest.raises(errors.FairshareError, match="config.json cannot be read"):
        resolve()


def test_a_config_file_that_is_not_an_object_says_what_it_must_hold(clean_settings):
    _write_config("[1, 2]")
    with pytest.raises(errors.FairshareError, match="must hold a JSON object with 'url' and 'token'"):
        resolve()


def test_without_starting_one_a_missing_pool_says_where_to_point(clean_settings):
    with pytest.raises(errors.FairshareError, match="no embedded pool runs.*FAIRSHARE_URL"):
        resolve(start=False)
    assert not embedded.state_path().exists()


def test_without_starting_one_a_running_embedded_pool_is_found_by_its_state_file(clean_settings, pool_server):
    state = embedded.state_path()
    state.parent.mkdir(parents=True)
    state.write_text(json.dumps({"url": pool_server.url, "token": "its-token", "pid": 0}))
    settings = resolve(start=False)
    assert (settings.url, settings.token, settings.source) == (pool_server.url, "its-token", "embedded")
