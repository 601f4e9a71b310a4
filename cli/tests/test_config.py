"""The profile file, contexts and the precedence flags > environment > context > defaults."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from concord_cli.config import ConfigError, Context, Profile, dumps, load, save
from concord_cli.settings import DEFAULT_BASE_URL, resolve
from tests.runner import Runner


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_round_trip_and_owner_only_permissions(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "config.toml"
    profile = Profile(
        {
            "a b": Context(base_url="http://x:1", api_key='k"ey\\'),
            "t": Context(token="jwt", timeout=5.0),
        },
        "a b",
    )
    save(path, profile)
    assert load(path) == profile
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert 'current_context = "a b"' in dumps(profile)


def test_bad_files_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown keys"):
        load(write(tmp_path / "c.toml", '[contexts.x]\nurl = "y"\n'))
    with pytest.raises(ConfigError):
        load(write(tmp_path / "d.toml", "not toml ["))
    assert load(tmp_path / "missing.toml") == Profile()


def test_precedence(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.toml",
        'current_context = "dev"\n'
        '[contexts.dev]\nbase_url = "http://dev:1"\napi_key = "dev-key"\ntimeout = 3\n'
        '[contexts.prod]\nbase_url = "http://prod:1"\ntoken = "prod-jwt"\n',
    )
    plain = resolve(Context(), None, path, env={})
    assert (plain.base_url, plain.api_key, plain.token, plain.timeout) == (
        "http://dev:1",
        "dev-key",
        None,
        3.0,
    )
    by_env = resolve(
        Context(), None, path, env={"CONCORD_BASE_URL": "http://env:1", "CONCORD_CONTEXT": "prod"}
    )
    assert (by_env.base_url, by_env.token, by_env.context) == ("http://env:1", "prod-jwt", "prod")
    # A key from a flag replaces the context's token (the pair comes from one layer).
    flagged = resolve(Context(api_key="flag-key"), "prod", path, env={"CONCORD_TOKEN": "env-jwt"})
    assert (flagged.api_key, flagged.token) == ("flag-key", None)
    env_token = resolve(Context(), None, path, env={"CONCORD_TOKEN": "env-jwt"})
    assert (env_token.api_key, env_token.token) == (None, "env-jwt")
    assert resolve(Context(), None, tmp_path / "none.toml", env={}).base_url == DEFAULT_BASE_URL
    with pytest.raises(ConfigError, match="no context named 'qa'"):
        resolve(Context(), "qa", path, env={})


def test_config_commands_drive_later_calls(cli: Runner) -> None:
    env = {"CONCORD_BASE_URL": None, "CONCORD_API_KEY": None}
    live = cli.live
    assert cli("config", "set", "bad", "--base-url", "http://127.0.0.1:9", env=env).code == 0
    assert (
        cli(
            "config", "set", "live", "--base-url", live.base_url, "--api-key", live.api_key, env=env
        ).code
        == 0
    )
    listed = cli("-o", "json", "config", "list", env=env).json()
    assert [(c["name"], c["current"]) for c in listed] == [("bad", True), ("live", False)]
    assert (
        cli("--timeout", "3", "locks", "list", env=env).code == 9
    )  # the current context: nothing there
    assert cli("config", "use", "live", env=env).code == 0
    assert cli("locks", "list", env=env).code == 0
    assert cli("--context", "bad", "--timeout", "3", "locks", "list", env=env).code == 9
    view = cli("-o", "json", "config", "view", env=env).json()
    assert view["context"] == "live" and view["base_url"] == live.base_url
    assert live.api_key not in str(view)
    assert cli("config", "use", "nope", env=env).code == 2
    assert cli("config", "delete", "bad", env=env).code == 0
    assert [c["name"] for c in cli("-o", "json", "config", "list", env=env).json()] == ["live"]
