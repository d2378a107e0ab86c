"""Settings from ``HOOKLINE_*`` variables, then overrides."""

from __future__ import annotations

import dataclasses

import pytest

from hookline.config import PREFIX, Settings

DEFAULT = Settings()


def test_prefix() -> None:
    assert PREFIX == "HOOKLINE_"


def test_empty_environment_gives_defaults() -> None:
    assert Settings.from_env({}) == DEFAULT
    assert DEFAULT.database_url == "sqlite:///./hookline.db"
    assert DEFAULT.port == 8080
    assert DEFAULT.entitlements is False


def test_unrelated_variables_ignored() -> None:
    assert (
        Settings.from_env({"PORT": "1", "hookline_port": "2", "HOOKLINE_NOPE": "3", "HOOKLINEPORT": "4"})
        == DEFAULT
    )


def test_strings() -> None:
    settings = Settings.from_env(
        {
            "HOOKLINE_DATABASE_URL": "postgresql://u@db/hookline",
            "HOOKLINE_HOST": "0.0.0.0",
            "HOOKLINE_OPERATOR_KEY": " spaced key ",
            "HOOKLINE_LOG_LEVEL": "DEBUG",
        }
    )
    assert settings.database_url == "postgresql://u@db/hookline"
    assert settings.host == "0.0.0.0"
    assert settings.operator_key == " spaced key "
    assert settings.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("True", True),
        ("TRUE", True),
        ("1", True),
        ("yes", True),
        ("Yes", True),
        ("on", True),
        (" true ", True),
        ("false", False),
        ("False", False),
        ("0", False),
        ("no", False),
        ("NO", False),
        ("off", False),
        ("no\n", False),
    ],
)
def test_bools(raw: str, expected: bool) -> None:
    for name in ("allow_private_targets", "require_https", "entitlements", "log_json"):
        settings = Settings.from_env({f"HOOKLINE_{name.upper()}": raw})
        assert getattr(settings, name) is expected


def test_bool_false_overrides_a_true_default() -> None:
    # Every bool defaults to False today; make sure "false" is really False, not just "unset".
    settings = Settings.from_env({"HOOKLINE_LOG_JSON": "1"})
    assert settings.log_json is True
    assert Settings.from_env({"HOOKLINE_LOG_JSON": "0"}).log_json is False


def test_ints() -> None:
    settings = Settings.from_env(
        {
            "HOOKLINE_PORT": "9000",
            "HOOKLINE_CONCURRENCY": "8",
            "HOOKLINE_PER_TARGET_CONCURRENCY": "2",
            "HOOKLINE_CLAIM_BATCH": " 50 ",
            "HOOKLINE_RESPONSE_BODY_LIMIT": "0",
            "HOOKLINE_POOL_SIZE": "3",
        }
    )
    assert (settings.port, settings.concurrency, settings.per_target_concurrency) == (9000, 8, 2)
    assert (settings.claim_batch, settings.response_body_limit, settings.pool_size) == (50, 0, 3)
    assert isinstance(settings.port, int)


def test_floats() -> None:
    assert Settings.from_env({"HOOKLINE_POLL_INTERVAL_S": "0.25"}).poll_interval_s == 0.25
    settings = Settings.from_env({"HOOKLINE_POLL_INTERVAL_S": "10"})
    assert settings.poll_interval_s == 10.0
    assert isinstance(settings.poll_interval_s, float)
    assert Settings.from_env({"HOOKLINE_POLL_INTERVAL_S": " 1e-1 "}).poll_interval_s == 0.1


@pytest.mark.parametrize("name", [f.name for f in dataclasses.fields(Settings)])
def test_empty_value_leaves_the_default(name: str) -> None:
    assert Settings.from_env({f"HOOKLINE_{name.upper()}": ""}) == DEFAULT


def test_every_field_readable_from_its_variable() -> None:
    samples = {"str": "x", "int": "7", "float": "2.5", "bool": "yes"}
    for f in dataclasses.fields(Settings):
        kind = f.type if isinstance(f.type, str) else f.type.__name__
        settings = Settings.from_env({f"HOOKLINE_{f.name.upper()}": samples[kind]})
        assert getattr(settings, f.name) != getattr(DEFAULT, f.name), f.name


def test_overrides_win_and_none_is_ignored() -> None:
    env = {"HOOKLINE_PORT": "9000", "HOOKLINE_HOST": "0.0.0.0", "HOOKLINE_LOG_JSON": "true"}
    settings = Settings.from_env(env, port=7000, host=None, log_json=False, database_url=None)
    assert settings.port == 7000
    assert settings.host == "0.0.0.0"
    assert settings.log_json is False
    assert settings.database_url == DEFAULT.database_url


def test_overrides_without_environment_values() -> None:
    assert Settings.from_env({}, entitlements=True).entitlements is True
    assert Settings.from_env({}, port=None) == DEFAULT


def test_falsy_overrides_still_win() -> None:
    settings = Settings.from_env(
        {"HOOKLINE_OPERATOR_KEY": "k", "HOOKLINE_POOL_SIZE": "5"}, operator_key="", pool_size=0
    )
    assert settings.operator_key == ""
    assert settings.pool_size == 0


def test_reads_the_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKLINE_PORT", "8181")
    assert Settings.from_env().port == 8181
    assert Settings.from_env({}).port == 8080


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("HOOKLINE_PORT", "eighty"),
        ("HOOKLINE_PORT", "80.5"),
        ("HOOKLINE_CONCURRENCY", "1e3"),
        ("HOOKLINE_POLL_INTERVAL_S", "fast"),
        ("HOOKLINE_POLL_INTERVAL_S", "1,5"),
        ("HOOKLINE_ENTITLEMENTS", "maybe"),
        ("HOOKLINE_REQUIRE_HTTPS", "2"),
        ("HOOKLINE_LOG_JSON", "y"),
    ],
)
def test_invalid_values_exit_naming_the_variable(name: str, raw: str) -> None:
    with pytest.raises(SystemExit) as caught:
        Settings.from_env({name: raw})
    message = str(caught.value.code)
    assert name in message
    assert raw in message


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT.port = 1  # type: ignore[misc]
