"""Settings from KLANTROEF_* variables: defaults, parsing, and clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from klantroef_app.settings import GIB, S3Settings, Settings, SettingsError
from klantroef_core.domain.rates import Rate


def test_no_variables_at_all_give_the_embedded_default() -> None:
    settings = Settings.from_env({})
    assert settings.data_dir == Path("var")
    assert settings.database_url == "sqlite:///var/klantroef.db"
    assert settings.redis_url is None
    assert settings.media_dir == Path("var/media")
    assert settings.max_upload_bytes == 2 * GIB
    assert settings.view_rate == Rate(30, 60)
    assert settings.login_rate == Rate(10, 60)
    assert settings.stream_link_ttl == 600
    assert settings.signup_open is False


def test_variables_are_read_and_parsed() -> None:
    settings = Settings.from_env(
        {
            "KLANTROEF_DATA_DIR": "/srv/k",
            "KLANTROEF_REDIS_URL": "redis://cache:6379/0",
            "KLANTROEF_TRUSTED_PROXIES": "10.0.0.0/8, ::1",
            "KLANTROEF_VIEW_RATE": "100/5minutes",
            "KLANTROEF_SIGNUP": "OPEN",
            "KLANTROEF_PUBLIC_BASE_URL": "https://media.example.com/",
        }
    )
    assert settings.database_url == "sqlite:////srv/k/klantroef.db"
    assert settings.trusted_proxies == ("10.0.0.0/8", "::1")
    assert settings.view_rate == Rate(100, 300)
    assert settings.signup_open is True
    assert settings.public_base_url == "https://media.example.com"
    assert settings.cors_origins == ()


def test_cors_origins_are_a_comma_list_of_origins() -> None:
    raw = " https://Admin.example.com/, http://127.0.0.1:5173,,http://[::1]:8080"
    settings = Settings.from_env({"KLANTROEF_CORS_ORIGINS": raw})
    assert settings.cors_origins == (
        "https://admin.example.com",
        "http://127.0.0.1:5173",
        "http://[::1]:8080",
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KLANTROEF_MAX_UPLOAD_BYTES", "lots"),
        ("KLANTROEF_MAX_UPLOAD_BYTES", "0"),
        ("KLANTROEF_VIEW_RATE", "thirty"),
        ("KLANTROEF_SIGNUP", "maybe"),
        ("KLANTROEF_IP_STORAGE", "md5"),
        ("KLANTROEF_ARGON2_MEMORY_COST", "8"),  # 8 KiB with the default 4 lanes
        ("KLANTROEF_DB_TIMEOUT", "soon"),
        ("KLANTROEF_DB_TIMEOUT", "0"),
        ("KLANTROEF_REDIS_TIMEOUT", "-1"),
        ("KLANTROEF_S3_TIMEOUT", "inf"),
        ("KLANTROEF_CORS_ORIGINS", "*"),
        ("KLANTROEF_CORS_ORIGINS", "https://admin.example.com/console"),
        ("KLANTROEF_CORS_ORIGINS", "admin.example.com"),
    ],
)
def test_unusable_values_are_refused_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_timeouts_are_seconds_with_bounded_defaults() -> None:
    defaults = Settings.from_env({})
    assert (defaults.db_timeout, defaults.redis_timeout, defaults.s3_timeout) == (5.0, 2.0, 10.0)

    tuned = Settings.from_env(
        {
            "KLANTROEF_DB_TIMEOUT": "1.5",
            "KLANTROEF_REDIS_TIMEOUT": "0.5",
            "KLANTROEF_S3_TIMEOUT": "30",
        }
    )
    assert (tuned.db_timeout, tuned.redis_timeout, tuned.s3_timeout) == (1.5, 0.5, 30.0)


S3_ENV = {
    "KLANTROEF_DATABASE_URL": "mysql+aiomysql://k@db.invalid:3306/k",
    "KLANTROEF_S3_BUCKET": "klantroef-media",
}


def test_without_a_bucket_media_stay_in_local_files() -> None:
    assert Settings.from_env({}).s3 is None


def test_the_s3_variables_are_read_and_the_secret_is_never_shown() -> None:
    settings = Settings.from_env(
        {
            **S3_ENV,
            "KLANTROEF_S3_ENDPOINT": "http://127.0.0.1:8333/",
            "KLANTROEF_S3_REGION": "eu-west-3",
            "KLANTROEF_S3_ACCESS_KEY_ID": "AKIDEXAMPLE",
            "KLANTROEF_S3_SECRET_ACCESS_KEY": "wJalrXUtnFEMI-very-secret",
            "KLANTROEF_S3_PREFIX": "media/",
        }
    )

    assert settings.s3 == S3Settings(
        bucket="klantroef-media",
        endpoint="http://127.0.0.1:8333",
        region="eu-west-3",
        access_key_id="AKIDEXAMPLE",
        secret_access_key="wJalrXUtnFEMI-very-secret",
        prefix="media/",
    )
    assert "wJalrXUtnFEMI" not in repr(settings)


def test_a_bucket_alone_uses_aws_defaults() -> None:
    s3 = Settings.from_env(S3_ENV).s3

    assert s3 == S3Settings(bucket="klantroef-media")
    assert (s3.endpoint, s3.region, s3.access_key_id, s3.prefix) == (None, "us-east-1", None, "")


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"KLANTROEF_S3_BUCKET": "Not_A_Bucket"}, "KLANTROEF_S3_BUCKET"),
        ({"KLANTROEF_S3_BUCKET": "ab"}, "KLANTROEF_S3_BUCKET"),
        ({"KLANTROEF_S3_BUCKET": "a..b"}, "KLANTROEF_S3_BUCKET"),
        ({"KLANTROEF_S3_ENDPOINT": "127.0.0.1:8333"}, "KLANTROEF_S3_ENDPOINT"),
        ({"KLANTROEF_S3_ENDPOINT": "ftp://store"}, "KLANTROEF_S3_ENDPOINT"),
        ({"KLANTROEF_S3_ACCESS_KEY_ID": "AKIDEXAMPLE"}, "KLANTROEF_S3_SECRET_ACCESS_KEY"),
        ({"KLANTROEF_S3_SECRET_ACCESS_KEY": "s3cr3t"}, "KLANTROEF_S3_ACCESS_KEY_ID"),
        ({"KLANTROEF_S3_REGION": "EU West"}, "KLANTROEF_S3_REGION"),
        ({"KLANTROEF_S3_PREFIX": "/media"}, "KLANTROEF_S3_PREFIX"),
        ({"KLANTROEF_S3_PREFIX": "a b"}, "KLANTROEF_S3_PREFIX"),
        ({"KLANTROEF_DATABASE_URL": "memory://"}, "memory://"),
        ({"KLANTROEF_S3_REDIRECT": "sometimes"}, "KLANTROEF_S3_REDIRECT"),
    ],
)
def test_unusable_s3_settings_are_refused_naming_the_variable(
    extra: dict[str, str], named: str
) -> None:
    with pytest.raises(SettingsError, match=named) as refused:
        Settings.from_env({**S3_ENV, **extra})

    assert "s3cr3t" not in str(refused.value)


@pytest.mark.parametrize(
    ("raw", "redirect"), [("1", True), ("true", True), ("0", False), ("", False)]
)
def test_redirect_mode_is_a_flag_of_the_s3_settings(raw: str, redirect: bool) -> None:
    s3 = Settings.from_env({**S3_ENV, "KLANTROEF_S3_REDIRECT": raw}).s3

    assert s3 is not None
    assert s3.redirect is redirect


@pytest.mark.parametrize(
    "name", ["KLANTROEF_S3_ENDPOINT", "KLANTROEF_S3_PREFIX", "KLANTROEF_S3_REDIRECT"]
)
def test_an_s3_setting_without_a_bucket_is_refused(name: str) -> None:
    with pytest.raises(SettingsError, match=f"{name} is set but KLANTROEF_S3_BUCKET is not"):
        Settings.from_env({name: "x"})
